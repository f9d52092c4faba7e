import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import * as shared from '../../cli/flags.js'
import {out, status, table} from '../../cli/style.js'
import {createAwsContext, validateEndpoint, type AwsContext} from '../../lib/aws/client.js'
import {resolveRegion} from '../../lib/files/aws-config.js'
import {badInput, isPsbError} from '../../lib/errors.js'
import {preflight} from '../../lib/iam/preflight.js'
import {STATE_POLICY_NAME, summarizePolicy, type PolicyDocument} from '../../lib/iam/policy.js'
import {ACCOUNT_ID_PLACEHOLDER, ensureUser, previewStatePolicy, validateUserOptions, type UserOptions, type UserResult} from '../../lib/iam/user.js'
import type {Logger} from '../../lib/types.js'

/** The parsed flags `userOptionsFromFlags` reads (a subset of `psb user create`'s, reused by `psb init`). */
export interface UserFlags {
  user?: string
  path?: string
  bucket?: string
  prefix?: string
  'permissions-boundary'?: string
  'attach-policy'?: string[]
  adopt?: boolean
  'widen-scope'?: boolean
  'kms-key'?: string
  'account-id'?: string
  'dry-run'?: boolean
}

/**
 * The core options of `psb user create` from its parsed flags. Bad input: exit 2, before any
 * AWS call. `bucketNameRules: false` (for --print-policy) accepts any policy-safe bucket name.
 */
export function userOptionsFromFlags(flags: UserFlags, {bucketNameRules = true}: {bucketNameRules?: boolean} = {}): UserOptions {
  if (!flags.bucket) throw badInput('--bucket is required.', 'Pass the state bucket, e.g. --bucket acme-pulumi-state.', 'BucketMissing')
  const opts: UserOptions = {
    user: flags.user ?? 'pulumi',
    path: flags.path,
    bucket: flags.bucket,
    prefix: flags.prefix,
    permissionsBoundary: flags['permissions-boundary'],
    attachPolicies: flags['attach-policy'] ?? [],
    adopt: flags.adopt ?? false,
    widenScope: flags['widen-scope'] ?? false,
    kmsKeyArn: flags['kms-key'],
    expectAccountId: flags['account-id'],
    dryRun: flags['dry-run'] ?? false,
  }
  validateUserOptions(opts, {bucketNameRules})
  return opts
}

/** The managed policies the preflight checks exist: --attach-policy and --permissions-boundary. */
export function policiesToCheck(opts: UserOptions): {arn: string; flag: string}[] {
  return [
    ...(opts.attachPolicies ?? []).map((arn) => ({arn, flag: '--attach-policy'})),
    ...(opts.permissionsBoundary ? [{arn: opts.permissionsBoundary, flag: '--permissions-boundary'}] : []),
  ]
}

export default class UserCreate extends BaseCommand {
  static override summary = 'Create the IAM user Pulumi runs as, with a least-privilege policy for the state bucket.'

  static override description = `Creates (or brings up to date) the IAM user that Pulumi uses to read and write its state, instead of giving Pulumi an administrator key. The user gets:

  - the tags managed-by=psb and psb-bucket=<bucket> (and psb-prefix=<prefix> with --prefix);
  - an inline policy named ${STATE_POLICY_NAME}, generated from the bucket, the prefix and the bucket's encryption, with one statement per purpose, each with a Sid that says why:
    PulumiStateList: s3:ListBucket on the bucket (only under the prefix when one is given);
    PulumiStateObjects: s3:GetObject, PutObject, DeleteObject on bucket/<prefix>/* (or bucket/*);
    PulumiStateKms: kms:Decrypt, Encrypt, GenerateDataKey on the bucket's customer KMS key (SSE-KMS only);
    VerifyBucketSettings: read-only bucket settings that \`psb verify\` checks;
    VerifyOwnPermissions: read-only view of its own policies, for \`psb verify\`;
    SelfServiceKeyRotation: its own access keys only, so \`psb keys rotate\` can run from cron;
  - optionally a permissions boundary, and managed policies for what your Pulumi programs deploy (--attach-policy).

Run it again at any time: the inline policy is compared by meaning and rewritten only when it differs (a hand-edited policy is put back); policies psb did not add are kept; a second run changes nothing. A user that psb did not create is refused unless --adopt is given. A re-run never widens or moves a user's scope: for a user limited to a prefix (its psb-prefix tag), another --prefix or none is refused (exit 2, nothing changed) unless --widen-scope is given. An empty or slash-only --prefix (e.g. an unset $TEAM) is refused too.

The customer KMS key is read from the bucket's default encryption (or given with --kms-key). IAM is global: the region only matters for reading the bucket; without one, us-east-1 is used and psb follows the bucket to its region.

--print-policy prints the policy and creates nothing. The policy names the user's ARN, which holds the account id: psb asks STS for it, or takes --account-id (then no AWS call and no credentials are needed); with neither credentials nor --account-id, the ARNs show ACCOUNT_ID, with a warning.

Exit codes: 0 done (or nothing to do); 1 an AWS call failed, or the user exists but is not managed by psb (pass --adopt); 2 bad input, or a change of a user's prefix scope without --widen-scope (nothing was changed).`

  static override examples = [
    {description: 'Create the user "pulumi" for a state bucket:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state'},
    {description: 'One user per team, each limited to its prefix of a shared bucket:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --prefix team-a --user pulumi-team-a'},
    {
      description: 'Also let Pulumi deploy anything (prints a warning: this grants the whole account):',
      command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --attach-policy arn:aws:iam::aws:policy/AdministratorAccess',
    },
    {description: 'Review the policy before anything is created (no credentials needed with --account-id):', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --print-policy --account-id 123456789012'},
    {description: 'Show what would change:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --dry-run'},
    {description: 'Take over an existing user that psb did not create:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --user deploy --adopt'},
  ]

  static override flags = {
    user: Flags.string({
      description: 'Name of the IAM user that Pulumi runs as (IAM rules: 1-64 characters of letters, digits and _+=,.@-).',
      helpValue: '<name>',
      default: 'pulumi',
    }),
    path: Flags.string({
      description: 'IAM path of the user, e.g. /ci/ (default: / for a new user; an existing user keeps its path unless this is given).',
      helpValue: '<path>',
    }),
    bucket: Flags.string({
      description: 'Name of the S3 bucket that holds Pulumi state (e.g. one made by `psb bucket create`); the policy grants this bucket only.',
      helpValue: '<name>',
      required: true,
    }),
    prefix: Flags.string({
      description: 'Limit the user to this key prefix of the bucket (state under <prefix>/.pulumi/), for several teams sharing one bucket.',
      helpValue: '<prefix>',
    }),
    'permissions-boundary': Flags.string({
      description: 'ARN of a managed policy to set as the user\'s permissions boundary (the most the user can ever be allowed).',
      helpValue: '<arn>',
    }),
    'attach-policy': Flags.string({
      description: 'ARN of a managed policy to attach, for what your Pulumi programs deploy (repeatable). psb never detaches policies.',
      helpValue: '<arn>',
      multiple: true,
      multipleNonGreedy: true,
    }),
    adopt: Flags.boolean({
      description: 'Manage an existing user that psb did not create: tag it managed-by=psb and put the state policy on it (its other policies stay).',
      default: false,
    }),
    'widen-scope': Flags.boolean({
      description: 'Let this run change the prefix of a user limited to one (its psb-prefix tag): another prefix, or none (the whole bucket). Without it psb refuses (exit 2); with it psb warns.',
      default: false,
    }),
    'kms-key': Flags.string({
      description: 'The customer KMS key the bucket encrypts with (key ARN, key id or alias/<name>), to grant it. Default: read from the bucket\'s default encryption.',
      helpValue: '<key>',
    }),
    'print-policy': Flags.boolean({
      description: 'Print the policy JSON and create nothing.',
      default: false,
    }),
    'account-id': Flags.string({
      description: 'AWS account id of the user (12 digits). With --print-policy: no AWS call is made. Otherwise: psb stops if the credentials belong to another account.',
      helpValue: '<id>',
    }),
    'dry-run': shared.dryRun,
    ...shared.awsFlags,
  }

  async run(): Promise<UserResult | PolicyDocument> {
    const {flags} = await this.parse(UserCreate)
    const opts = userOptionsFromFlags(flags, {bucketNameRules: !flags['print-policy']})
    const accountId = opts.expectAccountId
    const logger: Logger = {warn: (m) => this.note(m), info: (m) => this.logToStderr(m)}

    if (flags['print-policy']) return this.printPolicy(flags, opts, accountId, logger)

    const ctx = this.userAwsContext(flags)
    await preflight(ctx, {policies: policiesToCheck(opts), logger})
    const result = await ensureUser(ctx, {...opts, logger})
    if (this.jsonEnabled()) return result
    this.render(result)
    return result
  }

  private userAwsContext(flags: {region?: string; endpoint?: string; 'admin-profile'?: string}): AwsContext {
    const profile = flags['admin-profile']
    const endpoint = validateEndpoint(flags.endpoint)
    // IAM is global: without a region, us-east-1 (psb follows the bucket to its region).
    const region = resolveRegion(flags.region, profile) ?? 'us-east-1'
    return createAwsContext({region, endpoint, profile})
  }

  private async printPolicy(flags: {region?: string; endpoint?: string; 'admin-profile'?: string}, opts: UserOptions, accountId: string | undefined, logger: Logger): Promise<PolicyDocument> {
    let preview
    if (accountId) {
      preview = await previewStatePolicy(undefined, {...opts, accountId, region: resolveRegion(flags.region, flags['admin-profile'])})
      if (!opts.kmsKeyArn) logger.info('Offline (--account-id): the bucket\'s encryption was not read; pass --kms-key if it uses a customer-managed KMS key.')
    } else {
      try {
        preview = await previewStatePolicy(this.userAwsContext(flags), {...opts, logger})
      } catch (error) {
        if (isPsbError(error) && error.code === 'NoCredentials') {
          // A reviewer may read the policy before any credentials exist: print it, with the
          // account id visibly left to fill in.
          logger.warn(
            `No AWS credentials, so no account id: the ARNs below show it as ${ACCOUNT_ID_PLACEHOLDER}. Pass --account-id <12 digits> (or give credentials) for a policy you can apply as it is.`,
          )
          preview = await previewStatePolicy(undefined, {...opts, accountId: ACCOUNT_ID_PLACEHOLDER, region: resolveRegion(flags.region, flags['admin-profile'])})
        } else if (isPsbError(error) && error.code === 'BadCredentials') {
          throw badInput(
            `The policy names the user's ARN, which needs the AWS account id, and psb could not ask STS for it: ${error.message}`,
            'Pass --account-id <12 digits> to print the policy without AWS credentials, or give credentials (--admin-profile, AWS_PROFILE).',
            'AccountIdMissing',
          )
        } else throw error
      }
    }
    logger.info(`Policy ${STATE_POLICY_NAME} for ${preview.userArn}${accountId ? ' (account from --account-id)' : ''}:`)
    if (!this.jsonEnabled()) this.say(JSON.stringify(preview.policy, null, 2))
    return preview.policy
  }

  private render(r: UserResult): void {
    this.say(`${r.dryRun ? 'Plan for' : 'User'} ${r.user} (${r.arn})`)
    this.say(table(['ITEM', 'STATUS', 'DETAIL'], r.changes.map((c) => [c.item, status(c.status, out), c.detail ?? ''])))
    this.say('')
    this.say(`Policy ${r.policyName} (one statement per purpose):`)
    this.say(renderPolicySummary(r.policy))
    if (r.attachedPolicies.length > 0) this.say(`\nAttached policies: ${r.attachedPolicies.join(', ')}`)
    if (r.dryRun) {
      this.say('\nThe policy as JSON:')
      this.say(JSON.stringify(r.policy, null, 2))
      this.say('\nDry run: nothing was changed.')
    } else {
      const changed = r.changes.filter((c) => c.status !== 'unchanged').length
      this.say(changed === 0 ? '\nNothing to change: the user is up to date.' : `\n${changed} change${changed === 1 ? '' : 's'} made.`)
      if (r.created) this.say('Next: give Pulumi an access key of this user in an AWS profile (`psb init` does all steps; see `psb keys rotate --help`).')
    }
  }
}

/** A policy as a readable list: each Sid, then its actions (wrapped), resources and condition. */
export function renderPolicySummary(policy: PolicyDocument, width = 100): string {
  const rows = summarizePolicy(policy)
  const pad = Math.max(...rows.map((r) => r.sid.length)) + 4
  const indent = ' '.repeat(pad)
  const lines: string[] = []
  for (const r of rows) {
    const wrapped: string[] = []
    let line = ''
    for (const a of r.actions) {
      const next = line ? `${line}, ${a}` : a
      if (line && pad + next.length > width) {
        wrapped.push(line + ',')
        line = a
      } else line = next
    }
    wrapped.push(line)
    lines.push(`  ${out.bold(r.sid)}${' '.repeat(pad - 2 - r.sid.length)}${r.effect === 'Allow' ? '' : r.effect + ' '}${wrapped[0]}`)
    for (const w of wrapped.slice(1)) lines.push(indent + w)
    lines.push(`${indent}on ${r.resources.join(', ')}`)
    if (r.condition) lines.push(`${indent}if ${r.condition}`)
  }
  return lines.join('\n')
}
