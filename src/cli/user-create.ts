/**
 * The cli side of `psb user create` (reused by `psb init`): flags to core options, the AWS
 * context for IAM, the --print-policy document and the human rendering.
 */
import {createAwsContext, validateEndpoint, type AwsContext} from '../lib/aws/client.js'
import {resolveRegion} from '../lib/files/aws-config.js'
import {badInput, isPsbError} from '../lib/errors.js'
import {STATE_POLICY_NAME, summarizePolicy, type PolicyDocument} from '../lib/iam/policy.js'
import {ACCOUNT_ID_PLACEHOLDER, previewStatePolicy, validateUserOptions, type UserOptions, type UserResult} from '../lib/iam/user.js'
import type {Logger} from '../lib/types.js'
import {out, status, table} from './style.js'

type AwsFlags = {region?: string; endpoint?: string; 'admin-profile'?: string}

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

/** IAM is global: without a region, us-east-1 (psb follows the bucket to its region). */
export function userAwsContext(flags: AwsFlags): AwsContext {
  const profile = flags['admin-profile']
  const endpoint = validateEndpoint(flags.endpoint)
  // IAM is global: without a region, us-east-1 (psb follows the bucket to its region).
  const region = resolveRegion(flags.region, profile) ?? 'us-east-1'
  return createAwsContext({region, endpoint, profile})
}

/** The policy for --print-policy: offline with --account-id, else the account from STS (ACCOUNT_ID without credentials, with a warning). */
export async function printablePolicy(flags: AwsFlags, opts: UserOptions, accountId: string | undefined, logger: Logger): Promise<PolicyDocument> {
  let preview
  if (accountId) {
    preview = await previewStatePolicy(undefined, {...opts, accountId, region: resolveRegion(flags.region, flags['admin-profile'])})
    if (!opts.kmsKeyArn) logger.info('Offline (--account-id): the bucket\'s encryption was not read; pass --kms-key if it uses a customer-managed KMS key.')
  } else {
    try {
      preview = await previewStatePolicy(userAwsContext(flags), {...opts, logger})
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
  return preview.policy
}

/** What `psb user create` prints (the --json document is the core result). */
export function renderUserResult(r: UserResult, say: (line: string) => void): void {
  say(`${r.dryRun ? 'Plan for' : 'User'} ${r.user} (${r.arn})`)
  say(table(['ITEM', 'STATUS', 'DETAIL'], r.changes.map((c) => [c.item, status(c.status, out), c.detail ?? ''])))
  say('')
  say(`Policy ${r.policyName} (one statement per purpose):`)
  say(renderPolicySummary(r.policy))
  if (r.attachedPolicies.length > 0) say(`\nAttached policies: ${r.attachedPolicies.join(', ')}`)
  if (r.dryRun) {
    say('\nThe policy as JSON:')
    say(JSON.stringify(r.policy, null, 2))
    say('\nDry run: nothing was changed.')
  } else {
    const changed = r.changes.filter((c) => c.status !== 'unchanged').length
    say(changed === 0 ? '\nNothing to change: the user is up to date.' : `\n${changed} change${changed === 1 ? '' : 's'} made.`)
    if (r.created) say('Next: give Pulumi an access key of this user in an AWS profile (`psb init` does all steps; see `psb keys rotate --help`).')
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
