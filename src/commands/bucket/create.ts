import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {awsFlags, bucket as bucketFlag, dryRun as dryRunFlag} from '../../cli/flags.js'
import {status as statusWord, table, err as errStyle} from '../../cli/style.js'
import {requireRegion} from '../../lib/files/aws-config.js'
import {ensureBucket, validateBucketName, validateBucketOptions, DEFAULT_NONCURRENT_DAYS, type BucketOptions, type BucketResult} from '../../lib/bucket/ensure.js'
import {parseDays} from '../../lib/duration.js'
import {echo, NAME_SHAPE, plural} from '../../lib/echo.js'
import {badInput} from '../../lib/errors.js'
import {preflight} from '../../lib/iam/preflight.js'
import {redact} from '../../lib/redact.js'
import type {Logger} from '../../lib/types.js'

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
    tags: parseTags(flags.tag),
    dryRun: Boolean(flags['dry-run']),
  }
  validateBucketOptions(opts)
  return opts
}

export default class BucketCreate extends BaseCommand {
  static override summary = 'Create the S3 bucket for Pulumi state, or bring an existing one up to standard'

  static override description = `Creates the bucket in --region (or checks the one that exists) and makes sure it has:
  - versioning enabled (never suspended);
  - default encryption: SSE-S3, or SSE-KMS with --kms-key and the bucket key on (an existing SSE-KMS key is kept);
  - Block Public Access: all four switches on;
  - Object Ownership BucketOwnerEnforced (ACLs disabled);
  - a bucket policy statement that denies every request not using TLS, merged into any existing policy;
  - lifecycle rules: noncurrent versions expire after --noncurrent-days (default 90), incomplete multipart uploads are aborted after 7 days (existing rules are kept);
  - tags: managed-by=psb plus --tag key=value, merged with the existing tags.

Every setting is read first and changed only when something is missing, so running it again changes nothing. psb never weakens a setting: when a flag would need that (e.g. another KMS key than the bucket's), it stops and says so.

Bucket names are checked against the S3 naming rules before any AWS call (exit 2). A name owned by another account, or a bucket in another region, is a clear error with what to do instead.

With --endpoint (an S3-compatible store), a setting the store does not implement is skipped with a warning.

Exit codes: 0 done (or planned with --dry-run), 1 an AWS call failed or psb refused to weaken a setting, 2 bad input (nothing was called).`

  static override examples = [
    {description: 'Create a hardened bucket in eu-west-1', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --region eu-west-1'},
    {description: 'See what would change on an existing bucket, without changing it', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --region eu-west-1 --dry-run'},
    {
      description: 'Use SSE-KMS with your own key, keep old versions 30 days, add tags',
      command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --region us-east-1 --kms-key alias/pulumi-state --noncurrent-days 30 --tag team=platform --tag cost-center=42',
    },
    {description: 'Machine-readable result', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --region us-east-1 --json'},
  ]

  static override flags = {
    ...bucketFlags,
    'dry-run': dryRunFlag,
    ...awsFlags,
  }

  async run(): Promise<BucketResult> {
    const {flags} = await this.parse(BucketCreate)
    // Bad input first, before any AWS client exists.
    validateBucketName(flags.bucket)
    const ctx = this.awsContext(flags)
    const opts = bucketOptionsFromFlags(flags, ctx.options.region)
    const logger: Logger = {
      warn: (message) => this.note(message),
      info: (message) => {
        if (process.stderr.isTTY || process.env.DEBUG) process.stderr.write(errStyle.dim(`${redact(message)}\n`))
      },
    }
    await preflight(ctx, {logger})
    const result = await ensureBucket(ctx, {...opts, logger})
    if (!this.jsonEnabled()) this.render(result)
    return result
  }

  private render(result: BucketResult): void {
    const rows = result.changes.map((c) => [c.item, statusWord(c.status), c.detail ?? ''])
    this.say(table(['SETTING', 'STATUS', 'DETAIL'], rows))
    this.say()
    const changed = result.changes.filter((c) => c.status === 'created' || c.status === 'updated').length
    const planned = result.changes.filter((c) => c.status === 'planned').length
    const where = `${result.bucket} (${result.region})`
    if (result.dryRun) {
      this.say(planned === 0 ? `Dry run: ${where} is up to standard; nothing would change.` : `Dry run: ${plural(planned, 'setting')} of ${where} would change. Nothing was changed.`)
    } else if (result.created) {
      this.say(`Created ${where} and applied ${changed - 1} setting(s).`)
    } else {
      this.say(changed === 0 ? `${where} is up to standard; nothing changed.` : `Brought ${where} up to standard: ${changed} setting(s) changed.`)
    }
    if (result.warnings.length > 0) this.say(`${result.warnings.length} warning(s); see above.`)
  }
}
