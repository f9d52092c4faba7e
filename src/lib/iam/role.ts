/**
 * The IAM role that Pulumi runs as (`psb role create`): no long-lived key anywhere. It gets the
 * tags managed-by=psb, psb-bucket=<bucket> (psb-prefix=<prefix>, psb-require-mfa=true when
 * asked), the inline state policy of the user minus self-rotation (role-policy.ts), a trust
 * policy built from `--trust` entries (trust.ts), an optional permissions boundary, managed
 * policies, and the account's GitHub OIDC provider when a `github:` entry needs it (created
 * with managed-by=psb when the account has none, reused when it has).
 *
 * Idempotent and never weakens: a second run makes no mutating call; trust statements psb did
 * not write are kept; a statement requiring MFA keeps requiring it; a role limited to a prefix
 * is not widened without `widenScope`; a role psb did not tag needs `adopt`.
 */
import type {AwsContext} from '../aws/client.js'
import {awsCall, awsCode, withBackoff} from '../aws/errors.js'
import {PREFIX_TAG, BUCKET_TAG} from '../aws/tags.js'
import {validateKmsKey} from '../bucket/options.js'
import {bucketNameProblem} from '../bucket/name.js'
import {MANAGED_BY_KEY, MANAGED_BY_VALUE} from '../bucket/settings/tags.js'
import {describeValue, echo, NAME_SHAPE} from '../echo.js'
import {badInput, EXIT, PsbError} from '../errors.js'
import {collectingLogger, silentLogger, withPartialChanges, type Change, type Logger} from '../types.js'
import {STATE_POLICY_NAME, broadPolicyWarning, normalizePrefix, type PolicyDocument} from './policy.js'
import {findGithubProvider, getRole, getRoleStatePolicy, listAttachedRolePolicies, type ExistingRole} from './role-calls.js'
import {buildRoleStatePolicy, roleArnOf} from './role-policy.js'
import {githubProviderArn, mergeTrust, parseTrust, trustKey, trustPolicyDocument, type TrustEntry} from './trust.js'
import {bucketKmsKeyArn, callerAccount, isAwsManagedKmsKey, kmsKeyToArn, validateIamPath, validatePolicyArn} from './user.js'
import {applyRole, type RoleRun} from './role-apply.js'

export {roleArnOf} from './role-policy.js'

/** Set on a role made with --require-mfa, so that `psb verify` checks its people still need MFA. */
export const REQUIRE_MFA_TAG = 'psb-require-mfa'
export const DEFAULT_ROLE = 'pulumi-state'
/** IAM's bounds of a role's maximum session duration. */
export const MIN_SESSION_SECONDS = 3600
export const MAX_SESSION_SECONDS = 43200

export interface RoleOptions {
  role: string
  path?: string
  permissionsBoundary?: string
  maxSessionSeconds: number
  bucket: string
  prefix?: string
  /** The bucket's customer KMS key (ARN, key id or alias); undefined: read from the bucket's default encryption. */
  kmsKeyArn?: string
  attachPolicies: string[]
  trust: TrustEntry[]
  requireMfa: boolean
  adopt: boolean
  dryRun: boolean
  /** Let this run change the prefix of a role limited to one (its psb-prefix tag). */
  widenScope?: boolean
  /** Remove psb's own trust statements that this run's entries do not name (statements psb did not write stay). */
  replaceTrust?: boolean
  /** When kmsKeyArn is undefined: read the bucket's default encryption (default true). */
  readBucketEncryption?: boolean
  /** How long to retry IAM's NoSuchEntity right after creating the role. Default 30 s (PSB_IAM_PROPAGATION_MS). */
  propagationMs?: number
}

export interface RoleResult {
  roleArn: string
  changes: Change[]
  oidcProviderArn?: string
  policy: PolicyDocument
  role: string
  path: string
  accountId: string
  policyName: string
  /** The trust policy after the run (in dry-run: as it would be). */
  trustPolicy: PolicyDocument
  attachedPolicies: string[]
  maxSessionSeconds: number
  requireMfa: boolean
  kmsKeyArn?: string
  created: boolean
  adopted: boolean
  dryRun: boolean
  warnings: string[]
}

const ROLE_NAME = /^[\w+=,.@-]{1,64}$/

/** IAM's rule for role names: 1-64 characters of letters, digits and `_+=,.@-`. Exit 2. */
export function validateRoleName(name: string): void {
  const hint = 'Pass --role <name> made of letters, digits and _+=,.@-, e.g. --role pulumi-state.'
  if (typeof name !== 'string' || name.length === 0) throw badInput('The IAM role name is empty.', hint, 'RoleNameInvalid')
  if (name.length > 64) throw badInput(`The IAM role name (${describeValue(name, 'value')}) is too long; IAM allows at most 64 characters.`, hint, 'RoleNameInvalid')
  if (!ROLE_NAME.test(name)) {
    const ch = [...name].find((c) => !/[\w+=,.@-]/.test(c)) ?? ''
    throw badInput(`The IAM role name ${echo(name, {what: 'value'})} contains ${JSON.stringify(ch)}; IAM role names may only contain letters, digits and _+=,.@-`, hint, 'RoleNameInvalid')
  }
}

/** Everything that can be checked without AWS, every item of every repeated option included. Exit 2. */
export function validateRoleOptions(o: RoleOptions): void {
  validateRoleName(o.role)
  if (o.path !== undefined) validateIamPath(o.path)
  if (!o.bucket) throw badInput('No bucket given.', 'Pass --bucket <name>: the S3 bucket that holds Pulumi state.', 'BucketMissing')
  const problem = bucketNameProblem(o.bucket)
  if (problem) {
    throw badInput(`The bucket name ${echo(o.bucket, {what: 'value', shape: NAME_SHAPE})} is not a valid S3 bucket name: it ${problem.rule.rule} (${problem.detail}).`, 'Give the name of the state bucket, e.g. --bucket acme-pulumi-state.', 'BucketNameInvalid')
  }
  normalizePrefix(o.prefix)
  const s = o.maxSessionSeconds
  if (!Number.isInteger(s) || s < MIN_SESSION_SECONDS || s > MAX_SESSION_SECONDS) {
    throw badInput(`--max-session is ${Number.isFinite(s) ? `${s} seconds` : 'not a number'}; IAM allows 1h to 12h.`, 'Give a duration from 1h to 12h, e.g. --max-session 1h or --max-session 2h30m.', 'MaxSessionInvalid')
  }
  if (o.permissionsBoundary !== undefined) validatePolicyArn(o.permissionsBoundary, '--permissions-boundary')
  for (const arn of o.attachPolicies) validatePolicyArn(arn)
  if (o.kmsKeyArn !== undefined && o.kmsKeyArn !== '') validateKmsKey(o.kmsKeyArn)
  for (const e of o.trust) {
    // An entry is what parseTrust makes of its spec (checked again: entries may be built by hand).
    if (trustKey(parseTrust(e.spec)) !== trustKey(e)) throw badInput(`The trust entry ${echo(e.spec, {what: 'value'})} does not match its own spec.`, 'Build entries with parseTrust().', 'TrustInvalid')
  }
}

function principalOf(ctx: AwsContext): string {
  return ctx.options.credentials ? 'the given credentials' : ctx.options.profile ? `profile ${ctx.options.profile}` : 'the default AWS credential chain'
}

/** The ARN of an existing role (iam:GetRole). Exit 2 when there is no such role. */
export async function roleArnFor(aws: AwsContext, role: string): Promise<string> {
  validateRoleName(role)
  const found = await getRole(aws, role, `role/${role}`, principalOf(aws))
  if (!found?.role.Arn) {
    throw new PsbError(`There is no IAM role ${role} in this account.`, {code: 'RoleNotFound', exitCode: EXIT.USAGE, hint: `Create it with \`psb role create --role ${role} --bucket <bucket> --trust …\`, or give its ARN.`})
  }
  return found.role.Arn
}

/** Creates the role or brings it up to date; one change per item (provider, role, trust, session, tags, boundary, policy, attachments). */
export async function ensureRole(aws: AwsContext, o: RoleOptions, log?: Logger): Promise<RoleResult> {
  return withPartialChanges((changes) => ensureRoleInto(aws, o, changes, log ?? silentLogger))
}

async function ensureRoleInto(aws: AwsContext, o: RoleOptions, changes: Change[], log: Logger): Promise<RoleResult> {
  validateRoleOptions(o)
  const warnings: string[] = []
  const logger = collectingLogger(warnings, log)
  const run = await planRole(aws, o, changes, logger)
  await applyRole(run)
  return {
    roleArn: run.arn,
    changes,
    ...(run.provider ? {oidcProviderArn: run.provider.arn} : {}),
    policy: run.policy,
    role: o.role,
    path: run.path,
    accountId: run.accountId,
    policyName: STATE_POLICY_NAME,
    trustPolicy: run.trust,
    attachedPolicies: run.attached,
    maxSessionSeconds: o.maxSessionSeconds,
    requireMfa: run.requireMfa,
    ...(run.kmsKeyArn ? {kmsKeyArn: run.kmsKeyArn} : {}),
    created: !run.existing && !o.dryRun,
    adopted: run.adopted,
    dryRun: o.dryRun,
    warnings,
  }
}

interface RoleTarget {
  principal: string
  accountId: string
  partition: string
  existing: ExistingRole | undefined
  adopted: boolean
  prefix: string | undefined
  path: string
  arn: string
}

/** Read calls only: who acts, and the role as it is (refused when not psb's without adopt, widened without widenScope, moved, or new without trust). */
async function roleTarget(aws: AwsContext, o: RoleOptions, logger: Logger): Promise<RoleTarget> {
  const principal = principalOf(aws)
  const {accountId, partition} = await callerAccount(aws)
  for (const arn of o.attachPolicies) {
    const w = broadPolicyWarning(arn, accountId)
    if (w) logger.warn(w)
  }
  const existing = await getRole(aws, o.role, roleArnOf(accountId, o.role, o.path ?? '/', partition), principal)
  const adopted = checkOwnership(o, existing)
  const prefix = normalizePrefix(o.prefix)
  if (existing) checkRoleScope(o, existing.tags[PREFIX_TAG] || undefined, prefix, logger)
  const path = existing?.role.Path ?? o.path ?? '/'
  if (existing && o.path !== undefined && o.path !== path) {
    throw badInput(`The IAM role ${o.role} has the path ${path}; IAM cannot move a role to ${o.path}. Nothing was changed.`, `Pass --path ${path} (or leave --path out), or choose another --role.`, 'RolePathFixed')
  }
  if (!existing && o.trust.length === 0) {
    throw badInput(
      `The IAM role ${o.role} does not exist yet, and no --trust says who may assume it. Nothing was changed.`,
      'Pass --trust at least once, e.g. --trust github:acme/infra or --trust aws:arn:aws:iam::123456789012:role/AWSReservedSSO_Admin_0123456789abcdef.',
      'TrustMissing',
    )
  }
  const arn = existing?.role.Arn ?? roleArnOf(accountId, o.role, path, partition)
  return {principal, accountId, partition, existing, adopted, prefix, path, arn}
}

/** Read calls only: everything the writing steps need (the KMS key, the provider, the merged trust, the current policy and attachments). */
async function planRole(aws: AwsContext, o: RoleOptions, changes: Change[], logger: Logger): Promise<RoleRun> {
  const t = await roleTarget(aws, o, logger)
  const {accountId, partition, existing, principal, arn} = t
  let kmsKeyArn: string | undefined
  if (o.kmsKeyArn) kmsKeyArn = isAwsManagedKmsKey(o.kmsKeyArn) ? undefined : kmsKeyToArn(o.kmsKeyArn, aws.options.region, accountId, partition)
  else if (o.kmsKeyArn === undefined && o.readBucketEncryption !== false) kmsKeyArn = await bucketKmsKeyArn(aws, o.bucket, {accountId, partition}, logger)
  const found = o.trust.some((e) => e.kind === 'github') ? ((await findGithubProvider(aws, principal)) ?? null) : undefined
  const requireMfa = o.requireMfa || existing?.tags[REQUIRE_MFA_TAG] === 'true'
  if (requireMfa && !o.requireMfa) logger.info(`The role ${o.role} was made with --require-mfa (its ${REQUIRE_MFA_TAG} tag): its aws: principals keep needing MFA.`)
  if (o.requireMfa && !existing && !o.trust.some((e) => e.kind === 'aws')) logger.warn('--require-mfa applies to aws: principals, and no --trust aws:… was given in this run.')
  const trustOpts = {partition, accountId, oidcProviderArn: found?.arn ?? githubProviderArn(partition, accountId), requireMfa}
  const merge = existing ? mergeTrust(existing.trust, o.trust, trustOpts, Boolean(o.replaceTrust)) : undefined
  for (const w of merge?.warnings ?? []) logger.warn(w)
  const wantTags: Record<string, string> = {[MANAGED_BY_KEY]: MANAGED_BY_VALUE, [BUCKET_TAG]: o.bucket}
  if (t.prefix) wantTags[PREFIX_TAG] = t.prefix
  if (requireMfa) wantTags[REQUIRE_MFA_TAG] = 'true'
  const run: RoleRun = {
    ...t, aws, o, changes, logger, kmsKeyArn, requireMfa, wantTags,
    iam: await aws.iam(),
    sdk: await import('@aws-sdk/client-iam'),
    provider: found === null ? {arn: trustOpts.oidcProviderArn, audiences: [], ours: true, missing: true} : found,
    trust: merge?.document ?? trustPolicyDocument(o.trust, trustOpts),
    trustMerge: merge,
    policy: buildRoleStatePolicy({bucket: o.bucket, prefix: t.prefix, kmsKeyArn, roleArn: arn}),
    current: existing ? await getRoleStatePolicy(aws, o.role, arn, principal) : undefined,
    attached: existing ? await listAttachedRolePolicies(aws, o.role, arn, principal) : [],
    fresh: false,
    propagationMs: propagationMs(o),
    done: (s) => (o.dryRun ? 'planned' : s),
    call: (action, fn) =>
      awsCall({action, resource: arn, principal}, () =>
        run.fresh ? withBackoff(fn, {maxMs: propagationMs(o), baseMs: 250, capMs: 2000, retryIf: (e) => awsCode(e) === 'NoSuchEntity'}) : fn(),
      ),
  }
  return run
}

function propagationMs(o: RoleOptions): number {
  if (o.propagationMs !== undefined) return o.propagationMs
  const env = Number(process.env.PSB_IAM_PROPAGATION_MS)
  return Number.isFinite(env) && env >= 0 ? env : 30000
}

/** A role psb did not tag is refused unless adopt; true when it is adopted now. */
function checkOwnership(o: RoleOptions, existing: ExistingRole | undefined): boolean {
  if (!existing) return false
  if (existing.tags[MANAGED_BY_KEY] === MANAGED_BY_VALUE) return false
  if (o.adopt) return true
  throw new PsbError(`The IAM role ${o.role} already exists and was not created by psb (it has no ${MANAGED_BY_KEY}=${MANAGED_BY_VALUE} tag); psb will not change it.`, {
    code: 'RoleNotManaged',
    exitCode: EXIT.FAILED,
    data: {role: o.role, arn: existing.role.Arn},
    hint: `Pass --adopt to let psb manage it (psb tags it, adds its trust statements and puts its inline policy ${STATE_POLICY_NAME} on it; other statements and policies stay), or choose another --role.`,
  })
}

/** As for users: a role limited to a prefix keeps it unless widenScope (exit 2 before any write). */
function checkRoleScope(o: RoleOptions, had: string | undefined, want: string | undefined, logger: Logger): void {
  if (had === undefined || had === want) return
  const now = want === undefined ? 'the whole bucket' : `the prefix ${want}`
  if (!o.widenScope) {
    throw badInput(
      `The IAM role ${o.role} is limited to the prefix ${had} (its ${PREFIX_TAG} tag); this run would give it ${now} instead. Nothing was changed.`,
      want === undefined ? `Pass --prefix ${had} to keep its scope, or --widen-scope if ${o.role} should really reach the whole bucket.` : `Pass --prefix ${had} to keep its scope, use another --role for ${want}, or pass --widen-scope.`,
      'ScopeWidening',
    )
  }
  logger.warn(`--widen-scope: the IAM role ${o.role} was limited to the prefix ${had}; its policy now grants ${now}.`)
}


export interface RolePreview {
  roleArn: string
  accountId: string
  policyName: string
  policy: PolicyDocument
  trustPolicy: PolicyDocument
  kmsKeyArn?: string
}

/**
 * The policies ensureRole would put on a new role, for `--print-policy`: with `accountId` no
 * AWS call is made (pass kmsKeyArn: the bucket is not read); without it the account comes from
 * sts:GetCallerIdentity and the key from the bucket's default encryption.
 */
export async function previewRole(aws: AwsContext | undefined, o: RoleOptions, offline?: {accountId: string; partition?: string; region?: string}): Promise<RolePreview> {
  validateRoleOptions(o)
  const account = offline ? {accountId: offline.accountId, partition: offline.partition ?? 'aws'} : aws ? await callerAccount(aws) : undefined
  if (!account) throw badInput('No AWS account id to build the role ARN.', 'Pass --account-id <12 digits>.', 'AccountIdMissing')
  const {accountId, partition} = account
  const region = offline?.region ?? aws?.options.region ?? 'us-east-1'
  let kmsKeyArn: string | undefined
  if (o.kmsKeyArn) kmsKeyArn = isAwsManagedKmsKey(o.kmsKeyArn) ? undefined : kmsKeyToArn(o.kmsKeyArn, region, accountId, partition)
  else if (aws && !offline && o.kmsKeyArn === undefined && o.readBucketEncryption !== false) kmsKeyArn = await bucketKmsKeyArn(aws, o.bucket, account, silentLogger)
  const roleArn = roleArnOf(accountId, o.role, o.path ?? '/', partition)
  return {
    roleArn,
    accountId,
    policyName: STATE_POLICY_NAME,
    policy: buildRoleStatePolicy({bucket: o.bucket, prefix: o.prefix, kmsKeyArn, roleArn}),
    trustPolicy: trustPolicyDocument(o.trust, {partition, accountId, requireMfa: o.requireMfa}),
    ...(kmsKeyArn ? {kmsKeyArn} : {}),
  }
}
