/**
 * The cli side of `psb role create` (reusable by `psb init --keyless`): its flags, the flags
 * turned into core options (every item of --trust and --attach-policy checked first, exit 2),
 * the --print-policy document and the human rendering.
 */
import {Flags} from '@oclif/core'
import type {AwsContext} from '../lib/aws/client.js'
import {parseDuration} from '../lib/duration.js'
import {badInput, isPsbError} from '../lib/errors.js'
import {DEFAULT_ROLE, previewRole, validateRoleOptions, type RoleOptions, type RolePreview, type RoleResult} from '../lib/iam/role.js'
import {parseTrusts} from '../lib/iam/trust.js'
import {ACCOUNT_ID_PLACEHOLDER} from '../lib/iam/user.js'
import type {PolicyDocument} from '../lib/iam/policy.js'
import type {Logger} from '../lib/types.js'
import {userFlags} from './flags.js'
import {out, status, table} from './style.js'
import {renderPolicySummary} from './user-create.js'

export const roleFlags = {
  role: Flags.string({description: 'Name of the IAM role Pulumi runs as (IAM rules: 1-64 characters of letters, digits and _+=,.@-).', helpValue: '<name>', default: DEFAULT_ROLE}),
  path: Flags.string({description: 'IAM path of a new role, e.g. /ci/ (IAM cannot move an existing role: it keeps its path).', helpValue: '<path>'}),
  bucket: Flags.string({description: 'Name of the S3 bucket that holds Pulumi state; the policy grants this bucket only.', helpValue: '<name>', required: true}),
  prefix: Flags.string({description: 'Limit the role to this key prefix of the bucket (state under <prefix>/.pulumi/).', helpValue: '<prefix>'}),
  'kms-key': Flags.string({description: 'The customer KMS key the bucket encrypts with (key ARN, key id or alias/<name>). Default: read from the bucket\'s default encryption.', helpValue: '<key>'}),
  trust: Flags.string({
    description:
      'Who may assume the role (repeatable): github:OWNER/REPO (any ref), github:OWNER/REPO:ref:refs/heads/main, github:OWNER/REPO:environment:prod, github:OWNER/REPO:pull_request, or aws:<role, user or account-root ARN>. Wildcards are refused.',
    helpValue: '<spec>',
    multiple: true,
    multipleNonGreedy: true,
  }),
  'require-mfa': Flags.boolean({description: 'aws: principals must have signed in with MFA (aws:MultiFactorAuthPresent). Recorded in the tag psb-require-mfa=true; later runs keep it.', default: false}),
  'replace-trust': Flags.boolean({description: 'Remove psb\'s own trust statements that this run\'s --trust does not name (statements psb did not write always stay). Default: psb only adds.', default: false}),
  'max-session': Flags.string({description: 'The role\'s maximum session duration, 1h to 12h (e.g. 1h, 2h30m).', helpValue: '<duration>', default: '1h'}),
  'permissions-boundary': Flags.string({description: 'ARN of a managed policy to set as the role\'s permissions boundary.', helpValue: '<arn>'}),
  'attach-policy': userFlags['attach-policy'],
  adopt: Flags.boolean({description: 'Manage an existing role that psb did not create: tag it managed-by=psb, add psb\'s trust statements and its inline policy (its other statements and policies stay).', default: false}),
  'widen-scope': Flags.boolean({description: 'Let this run change the prefix of a role limited to one (its psb-prefix tag). Without it psb refuses (exit 2).', default: false}),
  'print-policy': Flags.boolean({description: 'Print the inline policy and the trust policy as JSON, and create nothing.', default: false}),
  'account-id': Flags.string({description: 'AWS account id (12 digits), for --print-policy without any AWS call.', helpValue: '<id>'}),
}

export interface RoleFlagValues {
  role?: string
  path?: string
  bucket?: string
  prefix?: string
  'kms-key'?: string
  trust?: string[]
  'require-mfa'?: boolean
  'replace-trust'?: boolean
  'max-session'?: string
  'permissions-boundary'?: string
  'attach-policy'?: string[]
  adopt?: boolean
  'widen-scope'?: boolean
  'account-id'?: string
  'dry-run'?: boolean
}

/** Parsed flags → core options. Bad input (any item of any flag): exit 2, before any AWS call. */
export function roleOptionsFromFlags(flags: RoleFlagValues): RoleOptions {
  if (!flags.bucket) throw badInput('--bucket is required.', 'Pass the state bucket, e.g. --bucket acme-pulumi-state.', 'BucketMissing')
  const opts: RoleOptions = {
    role: flags.role ?? DEFAULT_ROLE,
    path: flags.path,
    permissionsBoundary: flags['permissions-boundary'],
    maxSessionSeconds: Math.round(parseDuration(flags['max-session'] ?? '1h', {flag: '--max-session'}) / 1000),
    bucket: flags.bucket,
    prefix: flags.prefix,
    kmsKeyArn: flags['kms-key'],
    attachPolicies: flags['attach-policy'] ?? [],
    trust: parseTrusts(flags.trust ?? []),
    requireMfa: Boolean(flags['require-mfa']),
    replaceTrust: Boolean(flags['replace-trust']),
    adopt: Boolean(flags.adopt),
    widenScope: Boolean(flags['widen-scope']),
    dryRun: Boolean(flags['dry-run']),
  }
  if (flags['account-id'] !== undefined && !/^\d{12}$/.test(flags['account-id'])) {
    throw badInput(`--account-id must be 12 digits.`, 'Give the account id as 12 digits, e.g. --account-id 123456789012.', 'AccountIdInvalid')
  }
  validateRoleOptions(opts)
  return opts
}

/** The --print-policy document: offline with --account-id, else the account from STS (ACCOUNT_ID without credentials, with a warning). */
export async function printableRole(ctx: AwsContext, opts: RoleOptions, accountId: string | undefined, logger: Logger): Promise<RolePreview> {
  if (accountId) return previewRole(undefined, opts, {accountId, region: ctx.options.region})
  try {
    return await previewRole(ctx, opts)
  } catch (error) {
    if (!(isPsbError(error) && error.code === 'NoCredentials')) throw error
    logger.warn(`No AWS credentials, so no account id: the ARNs below show it as ${ACCOUNT_ID_PLACEHOLDER}. Pass --account-id <12 digits> (or give credentials) for policies you can apply as they are.`)
    return previewRole(undefined, opts, {accountId: ACCOUNT_ID_PLACEHOLDER, region: ctx.options.region})
  }
}

/** What `psb role create` prints (the --json document is the core result). */
export function renderRoleResult(r: RoleResult, say: (line: string) => void): void {
  say(`${r.dryRun ? 'Plan for' : 'Role'} ${r.role} (${r.roleArn})`)
  say(table(['ITEM', 'STATUS', 'DETAIL'], r.changes.map((c) => [c.item, status(c.status, out), c.detail ?? ''])))
  say('')
  say(`Policy ${r.policyName} (one statement per purpose):`)
  say(renderPolicySummary(r.policy))
  say('')
  say('Trust (who may assume the role):')
  say(renderTrustSummary(r.trustPolicy))
  if (r.attachedPolicies.length > 0) say(`\nAttached policies: ${r.attachedPolicies.join(', ')}`)
  if (r.dryRun) {
    say('\nDry run: nothing was changed.')
    return
  }
  const changed = r.changes.filter((c) => c.status !== 'unchanged').length
  say(changed === 0 ? '\nNothing to change: the role is up to date.' : `\n${changed} change${changed === 1 ? '' : 's'} made.`)
  say(`No access key exists for this role: whoever assumes it gets credentials for at most ${hours(r.maxSessionSeconds)}.`)
}

function hours(seconds: number): string {
  const h = Math.floor(seconds / 3600)
  const m = Math.round((seconds % 3600) / 60)
  return m === 0 ? `${h}h` : `${h}h${m}m`
}

/** A trust policy as a readable list: each Sid, who (principal), the action, and its conditions. */
export function renderTrustSummary(doc: PolicyDocument): string {
  const list = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]
  const lines: string[] = []
  for (const [i, s] of list.entries()) {
    const who = s.Principal && typeof s.Principal === 'object' ? Object.entries(s.Principal).map(([k, v]) => `${k} ${[v].flat().join(', ')}`).join('; ') : String(s.Principal ?? s.NotPrincipal ?? '?')
    lines.push(`  ${out.bold(s.Sid ?? `#${i + 1}`)}  ${s.Effect === 'Allow' ? '' : `${s.Effect} `}${[s.Action ?? s.NotAction].flat().join(', ')} by ${who}`)
    for (const [op, block] of Object.entries(s.Condition ?? {})) for (const [k, v] of Object.entries(block)) lines.push(`      if ${op} ${k} ${[v].flat().join(' | ')}`)
  }
  return lines.join('\n')
}
