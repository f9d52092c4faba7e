/** The flags of `bucket create` (reused by `init`), their parsing into core options, and the result table. */
import {Flags} from '@oclif/core'
import {requireRegion} from '../lib/files/aws-config.js'
import {validateBucketOptions, DEFAULT_NONCURRENT_DAYS, type BucketOptions, type BucketResult} from '../lib/bucket/ensure.js'
import {parseDays} from '../lib/duration.js'
import {echo, NAME_SHAPE, plural} from '../lib/echo.js'
import {badInput} from '../lib/errors.js'
import {normalizePrefix} from '../lib/iam/policy.js'
import {bucket as bucketFlag} from './flags.js'
import {status as statusWord, table} from './style.js'

/** The flags of `bucket create` that `init` reuses. */
export const bucketFlags = {
  bucket: Flags.string({description: bucketFlag.description, helpValue: '<name>', required: true}),
  'kms-key': Flags.string({
    description:
      'Encrypt with SSE-KMS and this KMS key (key id, key ARN or alias/name), with the S3 bucket key on. Default: SSE-S3 (AES256). A bucket already on SSE-KMS keeps its key; psb refuses to switch it to another key.',
    helpValue: '<key>',
  }),
  'noncurrent-days': Flags.string({
    description: `Delete noncurrent (old) versions of state files after this many days (a number, or a duration in whole days such as 90d or 12w); 0 keeps them forever (no rule). Default: ${DEFAULT_NONCURRENT_DAYS} for a new rule; a psb rule already on the bucket keeps its days unless this flag is given.`,
    helpValue: '<days>',
  }),
  'history-days': Flags.string({
    description:
      'Expire Pulumi\'s update history (<prefix>/.pulumi/history/ and .pulumi/backups/) after this many days, with a lifecycle rule each (off by default: history is the audit trail; see docs/bucket.md). The current state is never expired. 0 removes psb\'s rules.',
    helpValue: '<days>',
  }),
  tag: Flags.string({
    description: 'A bucket tag as key=value; repeat for more. Merged with the tags already on the bucket; managed-by=psb is always added.',
    multiple: true,
    multipleNonGreedy: true,
    helpValue: '<key=value>',
  }),
}

export interface BucketFlagValues {
  bucket: string
  'kms-key'?: string
  'noncurrent-days'?: string | number
  'history-days'?: string | number
  prefix?: string
  tag?: string[]
  'dry-run'?: boolean
  region?: string
  'admin-profile'?: string
}

/** Parses repeatable `--tag key=value` flags; bad input (exit 2) on a malformed or conflicting one. */
export function parseTags(values: string[] | undefined): Record<string, string> | undefined {
  if (!values || values.length === 0) return undefined
  const tags: Record<string, string> = {}
  for (const v of values) {
    const eq = v.indexOf('=')
    if (eq <= 0) throw badInput(`--tag ${echo(v, {what: 'value'})} is not key=value.`, 'Write tags as --tag team=platform (repeat --tag for more).', 'TagInvalid')
    const key = v.slice(0, eq).trim()
    const value = v.slice(eq + 1).trim()
    if (key in tags && tags[key] !== value) throw badInput(`--tag ${echo(key, {what: 'tag key', shape: NAME_SHAPE})} is given twice with different values.`, 'Give each tag key once.', 'TagInvalid')
    tags[key] = value
  }
  return tags
}

/**
 * Parsed flags → core options (used by `bucket create` and `init`). Validates everything
 * before any AWS call. `region` defaults to the one resolved from the flags/environment.
 */
export function bucketOptionsFromFlags(flags: BucketFlagValues, region?: string): BucketOptions {
  const opts: BucketOptions = {
    bucket: flags.bucket,
    region: region ?? requireRegion(flags.region, flags['admin-profile']),
    kmsKey: flags['kms-key'],
    noncurrentDays: flags['noncurrent-days'] === undefined ? undefined : parseDays(flags['noncurrent-days'], {flag: '--noncurrent-days'}),
    historyDays: flags['history-days'] === undefined ? undefined : parseDays(flags['history-days'], {flag: '--history-days'}),
    statePrefix: normalizePrefix(flags.prefix),
    tags: parseTags(flags.tag),
    dryRun: Boolean(flags['dry-run']),
  }
  validateBucketOptions(opts)
  return opts
}

/** The SETTING / STATUS / DETAIL table of a bucket run and a one-line summary, through `say`. */
export function renderBucketResult(result: BucketResult, say: (line?: string) => void): void {
  const rows = result.changes.map((c) => [c.item, statusWord(c.status), c.detail ?? ''])
  say(table(['SETTING', 'STATUS', 'DETAIL'], rows))
  say()
  const changed = result.changes.filter((c) => c.status === 'created' || c.status === 'updated').length
  const planned = result.changes.filter((c) => c.status === 'planned').length
  const where = `${result.bucket} (${result.region})`
  if (result.dryRun) {
    say(planned === 0 ? `Dry run: ${where} is up to standard; nothing would change.` : `Dry run: ${plural(planned, 'setting')} of ${where} would change. Nothing was changed.`)
  } else if (result.created) {
    say(`Created ${where} and applied ${changed - 1} setting(s).`)
  } else {
    say(changed === 0 ? `${where} is up to standard; nothing changed.` : `Brought ${where} up to standard: ${changed} setting(s) changed.`)
  }
  if (result.warnings.length > 0) say(`${result.warnings.length} warning(s); see above.`)
}
