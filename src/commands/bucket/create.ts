import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {bucketFlags, bucketOptionsFromFlags, renderBucketResult} from '../../cli/bucket.js'
import {awsFlags, dryRun as dryRunFlag} from '../../cli/flags.js'
import {bucketHookSettings, targetOf} from '../../cli/plugin-hooks.js'
import {err as errStyle} from '../../cli/style.js'
import {ensureBucket, validateBucketName, type BucketResult} from '../../lib/bucket/ensure.js'
import {preflight} from '../../lib/iam/preflight.js'
import {redact} from '../../lib/redact.js'
import type {Logger} from '../../lib/types.js'

export {bucketFlags, bucketOptionsFromFlags, parseTags, type BucketFlagValues} from '../../cli/bucket.js'

export default class BucketCreate extends BaseCommand {
  static override summary = 'Create the S3 bucket for Pulumi state, or bring an existing one up to standard'

  static override description = `Creates the bucket in --region (or checks the one that exists) and makes sure it has:
  - versioning enabled (never suspended);
  - default encryption: SSE-S3, or SSE-KMS with --kms-key and the bucket key on (an existing SSE-KMS key is kept);
  - Block Public Access: all four switches on;
  - Object Ownership BucketOwnerEnforced (ACLs disabled);
  - a bucket policy statement that denies every request not using TLS, merged into any existing policy;
  - lifecycle rules: noncurrent versions expire after --noncurrent-days (default 90), incomplete multipart uploads are aborted after 7 days (existing rules are kept); with --history-days D, the update history (<prefix>/.pulumi/history/ and backups/) expires after D days (off by default);
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
    prefix: Flags.string({description: 'The state prefix whose .pulumi/history/ and .pulumi/backups/ --history-days expires (default: the bucket\'s own .pulumi/).', helpValue: '<prefix>', dependsOn: ['history-days']}),
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
    const extraSettings = await bucketHookSettings(this.config, targetOf({...opts, profile: flags['admin-profile'], endpoint: ctx.options.endpoint}), (m) => this.note(m))
    const result = await ensureBucket(ctx, {...opts, extraSettings, logger})
    if (!this.jsonEnabled()) renderBucketResult(result, (line) => this.say(line))
    return result
  }
}
