/** The flags of `kms create` (reused by `init --secrets kms`), their parsing into core options, and the result table. */
import {Flags} from '@oclif/core'
import {validateBucketName} from '../lib/bucket/name.js'
import {normalizePrefix} from '../lib/iam/policy.js'
import {validateSecretsKeyOptions, type Principal, type SecretsKeyOptions, type SecretsKeyResult} from '../lib/kms/key.js'
import {kmsEndpointEnv} from '../lib/kms/names.js'
import {plural} from '../lib/echo.js'
import {parseTags} from './bucket.js'
import {status as statusWord, table} from './style.js'

export const kmsFlags = {
  bucket: Flags.string({description: 'The state bucket the key is for (names the default alias and the psb-bucket tag).', helpValue: '<name>', required: true}),
  prefix: Flags.string({description: 'The key prefix (team) of the bucket the key is for: the default alias gets it, and the psb-prefix tag.', helpValue: '<prefix>'}),
  alias: Flags.string({description: 'The key\'s alias (default alias/pulumi-<bucket> or alias/pulumi-<bucket>-<prefix>).', helpValue: 'alias/<name>'}),
  description: Flags.string({description: 'The key\'s description (default: "Pulumi stack secrets for s3://<bucket>[/<prefix>] (psb)").', helpValue: '<text>'}),
  tag: Flags.string({description: 'A key tag as key=value; repeat for more. managed-by=psb, psb-bucket, psb-prefix and psb-purpose are always set.', multiple: true, multipleNonGreedy: true, helpValue: '<key=value>'}),
  'for-user': Flags.string({description: 'An IAM user allowed to use the key (e.g. the user Pulumi runs as); repeatable. It gets the inline policy psb-pulumi-secrets.', multiple: true, multipleNonGreedy: true, helpValue: '<user>'}),
  'for-role': Flags.string({description: 'An IAM role allowed to use the key (e.g. a CI role); repeatable. It gets the inline policy psb-pulumi-secrets.', multiple: true, multipleNonGreedy: true, helpValue: '<role>'}),
  adopt: Flags.boolean({description: 'Manage a key that psb did not create, when the alias already points at one (psb tags it, turns rotation on, adds its statements to the key policy; other statements stay).', default: false}),
}

export interface KmsFlagValues {
  bucket: string
  prefix?: string
  alias?: string
  description?: string
  tag?: string[]
  'for-user'?: string[]
  'for-role'?: string[]
  adopt?: boolean
  'dry-run'?: boolean
}

/** Parsed flags → core options; every item of a repeated flag is checked (exit 2) before any AWS call. */
export function kmsOptionsFromFlags(flags: KmsFlagValues, region: string): SecretsKeyOptions {
  validateBucketName(flags.bucket)
  const principals: Principal[] = [...(flags['for-user'] ?? []).map((name) => ({kind: 'user' as const, name})), ...(flags['for-role'] ?? []).map((name) => ({kind: 'role' as const, name}))]
  const opts: SecretsKeyOptions = {
    bucket: flags.bucket,
    prefix: normalizePrefix(flags.prefix),
    region,
    alias: flags.alias,
    description: flags.description,
    tags: parseTags(flags.tag),
    principals,
    adopt: Boolean(flags.adopt),
    dryRun: Boolean(flags['dry-run']),
  }
  validateSecretsKeyOptions(opts)
  return opts
}

/** The lines telling the user how to point Pulumi at the key. */
export function nextSteps(r: Pick<SecretsKeyResult, 'providerUrl'>, endpoint?: string): string[] {
  const env = kmsEndpointEnv(endpoint)
  return [
    'Next:',
    ...(env ? [`  export ${env}     # Pulumi's KMS client must reach the same endpoint`] : []),
    `  pulumi stack init <stack> --secrets-provider "${r.providerUrl}"`,
    `  pulumi stack change-secrets-provider "${r.providerUrl}"     # an existing stack (Pulumi re-encrypts its secrets)`,
    '  (or let psb run it: psb stack secrets --project <dir> --stack <stack> ...)',
  ]
}

export function renderKmsResult(r: SecretsKeyResult, say: (line?: string) => void, endpoint?: string): void {
  say(table(['ITEM', 'STATUS', 'DETAIL'], r.changes.map((c) => [c.item, statusWord(c.status), c.detail ?? ''])))
  say()
  const changed = r.changes.filter((c) => c.status === 'created' || c.status === 'updated').length
  const planned = r.changes.filter((c) => c.status === 'planned').length
  if (r.dryRun) say(planned === 0 ? `Dry run: ${r.alias} is up to date; nothing would change.` : `Dry run: ${plural(planned, 'change')} planned for ${r.alias}. Nothing was changed.`)
  else if (r.created) say(`Created ${r.alias} (${r.keyArn}) in ${r.region}.`)
  else say(changed === 0 ? `${r.alias} is up to date; nothing changed.` : `Brought ${r.alias} up to date: ${plural(changed, 'change')}.`)
  say(`Secrets provider: ${r.providerUrl}`)
  say()
  for (const line of nextSteps(r, endpoint)) say(line)
}
