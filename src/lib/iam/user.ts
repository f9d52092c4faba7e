/**
 * The iam/ domain: the least-privilege user (this file, entry point: ensureUser), its state
 * policy (policy.ts) and the preflight before the first write (preflight.ts).
 *
 * The IAM user that Pulumi runs as: created (or brought up to date) with the tags
 * `managed-by=psb` and `psb-bucket=<bucket>`, the least-privilege inline state policy
 * (src/lib/iam/policy.ts), an optional permissions boundary and extra managed policies.
 *
 * Idempotent: a second run with the same options makes no mutating call. Policies and
 * inline policies that psb did not add are never removed. A user without the
 * `managed-by=psb` tag is refused unless `adopt` is set.
 */
import type {User} from '@aws-sdk/client-iam'
import type {AwsContext} from '../aws/client.js'
import {awsCall, awsCode, httpStatus, isNotFound, responseHeader, translateAwsError, withBackoff} from '../aws/errors.js'
import {MANAGED_BY_KEY as MANAGED_BY_TAG, MANAGED_BY_VALUE, validateKmsKey} from '../bucket/ensure.js'
import {bucketNameProblem} from '../bucket/name.js'
import {describeValue, echo, NAME_SHAPE} from '../echo.js'
import {badInput, PsbError, EXIT} from '../errors.js'
import {
  STATE_POLICY_NAME,
  broadPolicyWarning,
  buildStatePolicy,
  checkBucketForPolicy,
  normalizePrefix,
  parseArn,
  parsePolicyDocument,
  policiesEquivalent,
  userArnFor,
  type PolicyDocument,
} from './policy.js'
import {collectingLogger, silentLogger, withPartialChanges, type Change, type Logger} from '../types.js'

export {STATE_POLICY_NAME} from './policy.js'

export {BUCKET_TAG, PREFIX_TAG} from '../aws/tags.js'
import {BUCKET_TAG, PREFIX_TAG} from '../aws/tags.js'

const USER_NAME = /^[\w+=,.@-]{1,64}$/

/** IAM's rule for user names: 1-64 characters of letters, digits and `_+=,.@-`. Exit 2. */
export function validateUserName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw badInput('The IAM user name is empty.', 'Pass --user <name>, e.g. --user pulumi.', 'UserNameInvalid')
  }
  if (name.length > 64) {
    throw badInput(`The IAM user name (${describeValue(name, 'value')}) is too long; IAM allows at most 64 characters.`, 'Choose a shorter --user name.', 'UserNameInvalid')
  }
  if (!USER_NAME.test(name)) {
    const bad = [...name].find((c) => !/[\w+=,.@-]/.test(c)) ?? ''
    throw badInput(
      `The IAM user name ${echo(name, {what: 'value'})} contains ${JSON.stringify(bad)}; IAM user names may only contain letters, digits and _+=,.@-`,
      'Choose a --user name made of those characters, e.g. pulumi or pulumi-ci.',
      'UserNameInvalid',
    )
  }
}

/**
 * IAM's rule for paths: `/` alone, or `/` + printable ASCII (U+0021-U+007E) + `/`, at most
 * 512 characters. psb also refuses `*`, `?` and `$`: the path is part of the user's ARN in
 * its own policy, where IAM would read them as wildcards or variables. Exit 2.
 */
export function validateIamPath(path: string): void {
  const hint = 'An IAM path starts and ends with "/", e.g. --path / or --path /ci/pulumi/.'
  if (typeof path !== 'string' || path.length === 0) throw badInput('The IAM path is empty.', hint, 'IamPathInvalid')
  if (path.length > 512) throw badInput(`The IAM path is ${path.length} characters long; IAM allows at most 512.`, hint, 'IamPathInvalid')
  if (!(path === '/' || /^\/[\u0021-\u007E]+\/$/.test(path))) {
    throw badInput(`The IAM path ${echo(path, {what: 'value', shape: /^\/[a-z0-9/_-]{0,100}$/})} is not a valid IAM path: it must be "/" or start and end with "/" and contain only printable ASCII characters (no spaces).`, hint, 'IamPathInvalid')
  }
  const wild = /[*?$]/.exec(path)
  if (wild) {
    throw badInput(`The IAM path ${echo(path, {what: 'value'})} contains ${JSON.stringify(wild[0])}, which would act as a wildcard or variable in the user's own policy.`, hint, 'IamPathInvalid')
  }
}

const MANAGED_POLICY_ARN = /^arn:aws[a-z-]*:iam::(aws|\d{12}):policy\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,128}$/

/** A managed policy ARN (for --attach-policy and --permissions-boundary). Exit 2. */
export function validatePolicyArn(arn: string, flag = '--attach-policy'): void {
  if (!MANAGED_POLICY_ARN.test(arn)) {
    throw badInput(
      `${flag} ${echo(arn, {what: 'value', shape: /^arn:[a-z0-9-]+:[a-z0-9-]*:[a-z0-9-]*:(\d{12}|aws)?:[\w+=,.@/:-]{1,200}$/})} is not a managed policy ARN.`,
      'A managed policy ARN looks like arn:aws:iam::aws:policy/AdministratorAccess or arn:aws:iam::123456789012:policy/pulumi-deploy.',
      'PolicyArnInvalid',
    )
  }
}

export interface UserOptions {
  user: string
  path?: string
  bucket: string
  prefix?: string
  permissionsBoundary?: string
  attachPolicies?: string[]
  adopt?: boolean
  /** The bucket's customer KMS key (ARN, key id or alias); when undefined, read from the bucket's default encryption. */
  kmsKeyArn?: string
  /**
   * When kmsKeyArn is undefined: read the bucket's default encryption (default true). false:
   * the policy gets no KMS statement and the bucket is not read.
   */
  readBucketEncryption?: boolean
  dryRun?: boolean
  logger?: Logger
  /** How long to retry IAM's NoSuchEntity right after creating the user (eventual consistency). Default 30 s. */
  propagationMs?: number
  /** When set, stop (exit 1, before any change) unless the credentials belong to this account. */
  expectAccountId?: string
  /** The user as checkUserScope read it moments before (a fleet's target): not read a second time. */
  known?: {user: ExistingUser | undefined}
  /**
   * Allow a re-run to change the prefix of a user whose psb-prefix tag names one (a wider or
   * another scope). Without it such a run is refused (exit 2, nothing changed); with it psb warns.
   */
  widenScope?: boolean
}

export interface UserResult {
  user: string
  arn: string
  accountId: string
  policyName: string
  policy: PolicyDocument
  /** Every managed policy attached to the user after the run (in dry-run: as it would be). */
  attachedPolicies: string[]
  changes: Change[]
  /** Added fields. */
  path: string
  created: boolean
  adopted: boolean
  /** The KMS key (or alias) ARN the policy grants, when the bucket uses a customer key. */
  kmsKeyArn?: string
  dryRun: boolean
  warnings: string[]
}

/**
 * Checks everything about the options that can be checked without AWS. Exit 2.
 * `bucketNameRules: false` (for printing a policy) only requires a name that is safe in a
 * policy ARN, instead of S3's naming rules.
 */
export function validateUserOptions(opts: UserOptions, {bucketNameRules = true}: {bucketNameRules?: boolean} = {}): void {
  validateUserName(opts.user)
  if (opts.path !== undefined) validateIamPath(opts.path)
  if (!opts.bucket) throw badInput('No bucket given.', 'Pass --bucket <name>: the S3 bucket that holds Pulumi state.', 'BucketMissing')
  const problem = bucketNameRules ? bucketNameProblem(opts.bucket) : undefined
  if (!bucketNameRules) checkBucketForPolicy(opts.bucket)
  if (problem) {
    throw badInput(`The bucket name ${echo(opts.bucket, {what: 'value', shape: NAME_SHAPE})} is not a valid S3 bucket name: it ${problem.rule.rule} (${problem.detail}).`, 'Give the name of the state bucket, e.g. --bucket acme-pulumi-state.', 'BucketNameInvalid')
  }
  normalizePrefix(opts.prefix)
  if (opts.expectAccountId !== undefined && !/^\d{12}$/.test(opts.expectAccountId)) {
    throw badInput(`--account-id ${echo(opts.expectAccountId, {what: 'value'})} is not a 12-digit AWS account id.`, 'Give the account id as 12 digits, e.g. --account-id 123456789012.', 'AccountIdInvalid')
  }
  if (opts.permissionsBoundary !== undefined) validatePolicyArn(opts.permissionsBoundary, '--permissions-boundary')
  for (const arn of opts.attachPolicies ?? []) validatePolicyArn(arn)
  if (opts.kmsKeyArn !== undefined && opts.kmsKeyArn !== '') validateKmsKey(opts.kmsKeyArn)
}

/** True for the AWS-managed S3 key (`aws/s3`), which needs no grant in the user's policy. */
export function isAwsManagedKmsKey(key: string): boolean {
  return /(^|:)alias\/aws\//.test(key)
}

/** A KMS key reference as an ARN (key ARN or alias ARN). */
export function kmsKeyToArn(key: string, region: string, accountId: string, partition = 'aws'): string {
  if (key.startsWith('arn:')) return key
  if (key.startsWith('alias/')) return `arn:${partition}:kms:${region}:${accountId}:${key}`
  return `arn:${partition}:kms:${region}:${accountId}:key/${key}`
}

function principalOf(ctx: AwsContext): string {
  return ctx.options.credentials ? 'the given credentials' : ctx.options.profile ? `profile ${ctx.options.profile}` : 'the default AWS credential chain'
}

/** The account and partition of the identity psb acts with (sts:GetCallerIdentity needs no permission). */
export async function callerAccount(ctx: AwsContext): Promise<{accountId: string; partition: string; arn: string}> {
  const {GetCallerIdentityCommand} = await import('@aws-sdk/client-sts')
  const sts = await ctx.sts()
  const id = await awsCall({action: 'sts:GetCallerIdentity', principal: principalOf(ctx)}, () => sts.send(new GetCallerIdentityCommand({})))
  const arn = id.Arn ?? ''
  return {accountId: id.Account ?? '', partition: parseArn(arn)?.partition ?? 'aws', arn}
}

const callerOnce = new WeakMap<AwsContext, ReturnType<typeof callerAccount>>()

/**
 * callerAccount, asked once per context: `psb init` asks whether an --endpoint store has
 * STS at all before its preflight asks who the administrator is; one call answers both.
 */
export function callerAccountOnce(ctx: AwsContext): ReturnType<typeof callerAccount> {
  if (!callerOnce.has(ctx)) callerOnce.set(ctx, callerAccount(ctx))
  return callerOnce.get(ctx)!
}

/**
 * What AWS already said about the identity of a context's credentials (sts:AssumeRole answers
 * the session's ARN, as sts:GetCallerIdentity would): callerAccountOnce answers it with no call.
 */
export function rememberCaller(ctx: AwsContext, arn: string): void {
  const a = parseArn(arn)
  if (a && /^\d{12}$/.test(a.account)) callerOnce.set(ctx, Promise.resolve({accountId: a.account, partition: a.partition, arn}))
}

const REDIRECT_CODES = new Set(['PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException', 'Redirect'])

function bucketRegionFromError(error: unknown): string | undefined {
  const code = awsCode(error)
  if (!(httpStatus(error) === 301 || (code !== undefined && REDIRECT_CODES.has(code)))) return undefined
  return responseHeader(error, 'x-amz-bucket-region') ?? ((error as {Region?: string}).Region || undefined)
}

/**
 * The customer KMS key the bucket encrypts with by default, as an ARN; undefined for
 * SSE-S3, the AWS-managed `aws/s3` key, no default encryption, or a bucket that does not
 * exist yet (with a warning: `psb init` creates the bucket and the user concurrently).
 * Follows the bucket to its region.
 */
export async function bucketKmsKeyArn(ctx: AwsContext, bucket: string, account: {accountId: string; partition: string}, logger: Logger = silentLogger): Promise<string | undefined> {
  const {GetBucketEncryptionCommand} = await import('@aws-sdk/client-s3')
  const resource = `arn:${account.partition}:s3:::${bucket}`
  let region = ctx.options.region
  let answer
  for (let hop = 0; ; hop++) {
    const s3 = await ctx.s3(region)
    try {
      answer = await s3.send(new GetBucketEncryptionCommand({Bucket: bucket}))
      break
    } catch (error) {
      const code = awsCode(error)
      const other = bucketRegionFromError(error)
      if (other && other !== region && hop === 0) {
        region = other
        continue
      }
      if (code === 'NoSuchBucket') {
        logger.warn(
          `The bucket ${bucket} does not exist (yet), so psb cannot read its encryption: the policy has no KMS statement. If the bucket will use a customer-managed KMS key, run \`psb user create\` again once it exists, or pass --kms-key.`,
        )
        return undefined
      }
      if (code === 'ServerSideEncryptionConfigurationNotFoundError') return undefined
      throw translateAwsError(error, {action: 's3:GetEncryptionConfiguration', resource, principal: principalOf(ctx)})
    }
  }
  const rules = answer.ServerSideEncryptionConfiguration?.Rules ?? []
  for (const rule of rules) {
    const d = rule.ApplyServerSideEncryptionByDefault
    if (!d?.SSEAlgorithm?.startsWith('aws:kms')) continue
    const key = d.KMSMasterKeyID
    if (!key || isAwsManagedKmsKey(key)) return undefined
    return kmsKeyToArn(key, region, account.accountId, account.partition)
  }
  return undefined
}

export interface ExistingUser {
  user: User
  tags: Record<string, string>
}

async function getUser(ctx: AwsContext, name: string, arnGuess: string): Promise<ExistingUser | undefined> {
  const {GetUserCommand, ListUserTagsCommand} = await import('@aws-sdk/client-iam')
  const iam = await ctx.iam()
  let user: User
  try {
    user = (await iam.send(new GetUserCommand({UserName: name}))).User!
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw translateAwsError(error, {action: 'iam:GetUser', resource: arnGuess, principal: principalOf(ctx)})
  }
  let tagList = user.Tags
  if (tagList === undefined) {
    // GetUser returns the tags on AWS; fall back to ListUserTags for stores that do not.
    const t = await awsCall({action: 'iam:ListUserTags', resource: user.Arn, principal: principalOf(ctx)}, () => iam.send(new ListUserTagsCommand({UserName: name})))
    tagList = t.Tags
  }
  const tags: Record<string, string> = {}
  for (const t of tagList ?? []) if (t.Key) tags[t.Key] = t.Value ?? ''
  return {user, tags}
}

async function listAttached(ctx: AwsContext, name: string, arn: string): Promise<string[]> {
  const {ListAttachedUserPoliciesCommand} = await import('@aws-sdk/client-iam')
  const iam = await ctx.iam()
  const out: string[] = []
  let marker: string | undefined
  do {
    const r = await awsCall({action: 'iam:ListAttachedUserPolicies', resource: arn, principal: principalOf(ctx)}, () =>
      iam.send(new ListAttachedUserPoliciesCommand({UserName: name, Marker: marker})),
    )
    for (const p of r.AttachedPolicies ?? []) if (p.PolicyArn) out.push(p.PolicyArn)
    marker = r.IsTruncated ? r.Marker : undefined
  } while (marker)
  return out
}

async function getInlinePolicy(ctx: AwsContext, name: string, arn: string): Promise<PolicyDocument | undefined> {
  const {GetUserPolicyCommand} = await import('@aws-sdk/client-iam')
  const iam = await ctx.iam()
  let text: string | undefined
  try {
    text = (await iam.send(new GetUserPolicyCommand({UserName: name, PolicyName: STATE_POLICY_NAME}))).PolicyDocument
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw translateAwsError(error, {action: 'iam:GetUserPolicy', resource: arn, principal: principalOf(ctx)})
  }
  if (!text) return undefined
  try {
    return parsePolicyDocument(text)
  } catch {
    // Not JSON (cannot happen on AWS): treat as different, so it gets rewritten.
    return {Statement: []}
  }
}

/**
 * A re-run never widens (or moves) a user's prefix scope unless asked: the user's psb-prefix
 * tag names its scope; another prefix, or none (the whole bucket), is refused with exit 2
 * before any write, unless `widenScope` is set, and then psb warns.
 */
function checkScope(user: string, had: string | undefined, want: string | undefined, opts: UserOptions, logger: Logger): void {
  if (had === undefined || had === want) return
  const now = want === undefined ? 'the whole bucket' : `the prefix ${want}`
  if (!opts.widenScope) {
    throw badInput(
      `The IAM user ${user} is limited to the prefix ${had} (its ${PREFIX_TAG} tag); this run would give it ${now} instead. Nothing was changed.`,
      want === undefined
        ? `Pass --prefix ${had} to keep its scope, or --widen-scope if ${user} should really reach the whole bucket.`
        : `Pass --prefix ${had} to keep its scope, use another --user for ${want}, or pass --widen-scope to move ${user} to ${want}.`,
      'ScopeWidening',
    )
  }
  logger.warn(`--widen-scope: the IAM user ${user} was limited to the prefix ${had}; its policy now grants ${now}.`)
}

/**
 * Read calls only: refuses (exit 2, checkScope's error) a run that would change the prefix
 * scope of an existing user without `widenScope`. `psb init` calls it before its first write.
 */
export async function checkUserScope(ctx: AwsContext, opts: UserOptions): Promise<{user: ExistingUser | undefined}> {
  const {accountId, partition} = await callerAccountOnce(ctx)
  const existing = await getUser(ctx, opts.user, userArnFor(accountId, opts.user, opts.path ?? '/', partition))
  if (existing) checkScope(opts.user, existing.tags[PREFIX_TAG] || undefined, normalizePrefix(opts.prefix), opts, silentLogger)
  return {user: existing}
}

function propagationMs(opts: UserOptions): number {
  if (opts.propagationMs !== undefined) return opts.propagationMs
  const env = Number(process.env.PSB_IAM_PROPAGATION_MS)
  return Number.isFinite(env) && env >= 0 ? env : 30000
}

/**
 * Creates the user or brings it up to date. See the module comment for the rules; the
 * result lists one change per item (user, tags, boundary, inline policy, each attached policy).
 */
export async function ensureUser(ctx: AwsContext, opts: UserOptions): Promise<UserResult> {
  return withPartialChanges((changes) => ensureUserInto(ctx, opts, changes))
}

/** ensureUser, listing each change into `changes` as it is made. */
async function ensureUserInto(ctx: AwsContext, opts: UserOptions, changes: Change[]): Promise<UserResult> {
  validateUserOptions(opts)
  const warnings: string[] = []
  const logger = collectingLogger(warnings, opts.logger ?? silentLogger)
  const dryRun = Boolean(opts.dryRun)
  const prefix = normalizePrefix(opts.prefix)
  const attach = [...new Set(opts.attachPolicies ?? [])]
  const target = await userTarget(ctx, opts, prefix, attach, logger)
  const {account, existing, adopted, path, arn} = target
  let kmsKeyArn: string | undefined
  if (opts.kmsKeyArn) kmsKeyArn = isAwsManagedKmsKey(opts.kmsKeyArn) ? undefined : kmsKeyToArn(opts.kmsKeyArn, ctx.options.region, account.accountId, account.partition)
  else if (opts.kmsKeyArn === undefined && opts.readBucketEncryption !== false) kmsKeyArn = await bucketKmsKeyArn(ctx, opts.bucket, account, logger)

  const policy = buildStatePolicy({bucket: opts.bucket, prefix, kmsKeyArn, userArn: arn})
  const wantTags: Record<string, string> = {[MANAGED_BY_TAG]: MANAGED_BY_VALUE, [BUCKET_TAG]: opts.bucket}
  if (prefix) wantTags[PREFIX_TAG] = prefix
  const run = await userRun(ctx, opts, arn, changes, logger)

  let attached: string[] = []
  let current: PolicyDocument | undefined
  if (!existing) await createUser(run, path, wantTags)
  else {
    await updateUser(run, target, wantTags, prefix)
    current = await getInlinePolicy(ctx, opts.user, arn)
    attached = await listAttached(ctx, opts.user, arn)
  }
  await putStatePolicy(run, current, policy)
  await attachPolicies(run, attach, attached)
  return {
    user: opts.user,
    arn,
    accountId: account.accountId,
    policyName: STATE_POLICY_NAME,
    policy,
    attachedPolicies: attached,
    changes,
    path,
    created: !existing && !dryRun,
    adopted,
    kmsKeyArn,
    dryRun,
    warnings,
  }
}

interface UserTarget {
  account: {accountId: string; partition: string; arn: string}
  existing: ExistingUser | undefined
  adopted: boolean
  oldPath: string
  path: string
  arn: string
}

/** Read calls only: the account (checked against expectAccountId), the user if it exists (refused when not psb's without adopt), its path and ARN. */
async function userTarget(ctx: AwsContext, opts: UserOptions, prefix: string | undefined, attach: string[], logger: Logger): Promise<UserTarget> {
  const name = opts.user
  const account = await callerAccountOnce(ctx)
  const {accountId, partition} = account
  if (opts.expectAccountId && opts.expectAccountId !== accountId) {
    throw new PsbError(`The credentials psb acts with belong to account ${accountId}, not ${opts.expectAccountId} (--account-id); nothing was changed.`, {
      code: 'WrongAccount',
      hint: 'Use the profile of the intended account (--admin-profile), or correct --account-id.',
    })
  }
  for (const arn of attach) {
    const w = broadPolicyWarning(arn, accountId)
    if (w) logger.warn(w)
  }
  const existing = opts.known ? opts.known.user : await getUser(ctx, name, userArnFor(accountId, name, opts.path ?? '/', partition))
  const managed = existing?.tags[MANAGED_BY_TAG] === MANAGED_BY_VALUE
  if (existing && !managed && !opts.adopt) {
    throw new PsbError(`The IAM user ${name} already exists and was not created by psb (it has no ${MANAGED_BY_TAG}=${MANAGED_BY_VALUE} tag); psb will not change it.`, {
      code: 'UserNotManaged',
      exitCode: EXIT.FAILED,
      data: {user: name, arn: existing.user.Arn},
      hint: `Pass --adopt to let psb manage it (psb tags it and puts its inline policy ${STATE_POLICY_NAME} on it; other policies stay), or choose another --user.`,
    })
  }
  if (existing) checkScope(name, existing.tags[PREFIX_TAG] || undefined, prefix, opts, logger)
  const oldPath = existing?.user.Path ?? '/'
  const path = opts.path ?? oldPath
  return {account, existing, adopted: Boolean(existing && !managed), oldPath, path, arn: userArnFor(accountId, name, path, partition)}
}

/** What the writing steps of ensureUser share. `fresh` turns true after CreateUser (IAM may briefly answer NoSuchEntity for the new user). */
interface UserRun {
  opts: UserOptions
  name: string
  arn: string
  principal: string
  dryRun: boolean
  changes: Change[]
  logger: Logger
  iam: Awaited<ReturnType<AwsContext['iam']>>
  sdk: typeof import('@aws-sdk/client-iam')
  fresh: boolean
  done: (s: 'created' | 'updated') => 'created' | 'updated' | 'planned'
  call: <T>(action: string, fn: () => Promise<T>) => Promise<T>
}

async function userRun(ctx: AwsContext, opts: UserOptions, arn: string, changes: Change[], logger: Logger): Promise<UserRun> {
  const sdk = await import('@aws-sdk/client-iam')
  const iam = await ctx.iam()
  const dryRun = Boolean(opts.dryRun)
  const principal = principalOf(ctx)
  const run: UserRun = {
    opts, name: opts.user, arn, principal, dryRun, changes, logger, iam, sdk,
    fresh: false,
    done: (s) => (dryRun ? 'planned' : s),
    call: (action, fn) =>
      awsCall({action, resource: arn, principal}, () =>
        run.fresh ? withBackoff(fn, {maxMs: propagationMs(opts), baseMs: 250, capMs: 2000, retryIf: (e) => awsCode(e) === 'NoSuchEntity'}) : fn(),
      ),
  }
  return run
}

async function createUser(run: UserRun, path: string, wantTags: Record<string, string>): Promise<void> {
  const {name, opts, iam, sdk, done} = run
  const tagText = Object.entries(wantTags).map(([k, v]) => `${k}=${v}`).join(', ')
  if (!run.dryRun) {
    await run.call('iam:CreateUser', () =>
      iam.send(
        new sdk.CreateUserCommand({
          UserName: name,
          Path: path,
          Tags: Object.entries(wantTags).map(([Key, Value]) => ({Key, Value})),
          PermissionsBoundary: opts.permissionsBoundary,
        }),
      ),
    )
    run.fresh = true
  }
  run.changes.push({item: `user ${name}`, status: done('created'), detail: `${run.arn}; tags ${tagText}`})
  if (opts.permissionsBoundary) run.changes.push({item: 'permissions boundary', status: done('created'), detail: opts.permissionsBoundary})
}

/** An existing user: adoption, path, tags and permissions boundary brought up to date. */
async function updateUser(run: UserRun, target: UserTarget, wantTags: Record<string, string>, prefix: string | undefined): Promise<void> {
  const {name, iam, sdk, done, changes} = run
  const existing = target.existing!
  const {adopted, oldPath, path} = target
  changes.push({item: `user ${name}`, status: adopted ? done('updated') : 'unchanged', detail: adopted ? `adopted: ${existing.user.Arn}` : existing.user.Arn})
  if (path !== oldPath) {
    if (!run.dryRun) await run.call('iam:UpdateUser', () => iam.send(new sdk.UpdateUserCommand({UserName: name, NewPath: path})))
    changes.push({item: 'path', status: done('updated'), detail: `${oldPath} → ${path}`})
  }
  await updateTags(run, existing, wantTags, prefix)
  await updateBoundary(run, existing)
}

async function updateTags(run: UserRun, existing: ExistingUser, wantTags: Record<string, string>, prefix: string | undefined): Promise<void> {
  const {name, opts, iam, sdk, done, changes} = run
  const diff = Object.entries(wantTags).filter(([k, v]) => existing.tags[k] !== v)
  if (diff.length > 0) {
    if (existing.tags[BUCKET_TAG] && existing.tags[BUCKET_TAG] !== opts.bucket) {
      run.logger.warn(`The user ${name} was set up for the bucket ${existing.tags[BUCKET_TAG]}; its state policy now grants ${opts.bucket} instead.`)
    }
    if (!run.dryRun) await run.call('iam:TagUser', () => iam.send(new sdk.TagUserCommand({UserName: name, Tags: diff.map(([Key, Value]) => ({Key, Value}))})))
    changes.push({item: 'tags', status: done('updated'), detail: diff.map(([k, v]) => `${k}=${v}${existing.tags[k] !== undefined ? ` (was ${existing.tags[k]})` : ''}`).join(', ')})
  }
  if (!prefix && existing.tags[PREFIX_TAG] !== undefined) {
    // Only reached with widenScope (checkScope): the tag must not name a scope the policy no longer has.
    if (!run.dryRun) await run.call('iam:UntagUser', () => iam.send(new sdk.UntagUserCommand({UserName: name, TagKeys: [PREFIX_TAG]})))
    changes.push({item: 'tags', status: done('updated'), detail: `${PREFIX_TAG} removed (was ${existing.tags[PREFIX_TAG]})`})
  } else if (diff.length === 0) {
    changes.push({item: 'tags', status: 'unchanged', detail: Object.entries(wantTags).map(([k, v]) => `${k}=${v}`).join(', ')})
  }
}

async function updateBoundary(run: UserRun, existing: ExistingUser): Promise<void> {
  const want = run.opts.permissionsBoundary
  if (!want) return
  const had = existing.user.PermissionsBoundary?.PermissionsBoundaryArn
  if (had === want) {
    run.changes.push({item: 'permissions boundary', status: 'unchanged', detail: had})
    return
  }
  if (!run.dryRun) await run.call('iam:PutUserPermissionsBoundary', () => run.iam.send(new run.sdk.PutUserPermissionsBoundaryCommand({UserName: run.name, PermissionsBoundary: want})))
  run.changes.push({item: 'permissions boundary', status: run.done(had ? 'updated' : 'created'), detail: had ? `${had} → ${want}` : want})
}

/** The inline state policy, written unless the current one is equivalent. */
async function putStatePolicy(run: UserRun, current: PolicyDocument | undefined, policy: PolicyDocument): Promise<void> {
  const policyItem = `inline policy ${STATE_POLICY_NAME}`
  if (current && policiesEquivalent(current, policy)) {
    run.changes.push({item: policyItem, status: 'unchanged'})
    return
  }
  if (!run.dryRun) {
    await run.call('iam:PutUserPolicy', () =>
      run.iam.send(new run.sdk.PutUserPolicyCommand({UserName: run.name, PolicyName: STATE_POLICY_NAME, PolicyDocument: JSON.stringify(policy)})),
    )
  }
  run.changes.push({item: policyItem, status: run.done(current ? 'updated' : 'created'), detail: current ? 'differed from the generated policy; rewritten' : undefined})
}

/** The extra managed policies not attached yet, in order; `attached` grows with each. */
async function attachPolicies(run: UserRun, attach: string[], attached: string[]): Promise<void> {
  for (const policyArn of attach) {
    if (attached.includes(policyArn)) {
      run.changes.push({item: `attached policy ${policyArn}`, status: 'unchanged'})
      continue
    }
    if (!run.dryRun) await attachPolicy(run, policyArn)
    attached.push(policyArn)
    run.changes.push({item: `attached policy ${policyArn}`, status: run.done('created')})
  }
}

async function attachPolicy(run: UserRun, policyArn: string): Promise<void> {
  const {iam, sdk, name} = run
  await awsCall({action: 'iam:AttachUserPolicy', resource: run.arn, principal: run.principal}, async () => {
    try {
      await (run.fresh
        ? withBackoff(() => iam.send(new sdk.AttachUserPolicyCommand({UserName: name, PolicyArn: policyArn})), {
            maxMs: propagationMs(run.opts),
            baseMs: 250,
            capMs: 2000,
            retryIf: (e) => awsCode(e) === 'NoSuchEntity' && !/policy/i.test((e as Error).message ?? ''),
          })
        : iam.send(new sdk.AttachUserPolicyCommand({UserName: name, PolicyArn: policyArn})))
    } catch (error) {
      if (awsCode(error) === 'NoSuchEntity') {
        throw new PsbError(`The managed policy ${policyArn} does not exist (iam:AttachUserPolicy answered NoSuchEntity).`, {
          code: 'PolicyNotFound',
          cause: error,
          hint: 'Check the ARN given to --attach-policy: AWS-managed policies look like arn:aws:iam::aws:policy/<name>, your own like arn:aws:iam::<account>:policy/<name>.',
        })
      }
      throw error
    }
  })
}

/** Stands for the account id in a policy printed with no way to learn it (no credentials, no --account-id). */
export const ACCOUNT_ID_PLACEHOLDER = 'ACCOUNT_ID'

/**
 * The policy `ensureUser` would put on the user, for `--print-policy`. With `accountId`
 * no AWS call is made (and the bucket's encryption is not read: pass kmsKeyArn); without
 * it the account comes from sts:GetCallerIdentity and the key from the bucket.
 */

export async function previewStatePolicy(
  ctx: AwsContext | undefined,
  opts: Pick<UserOptions, 'user' | 'path' | 'bucket' | 'prefix' | 'kmsKeyArn' | 'readBucketEncryption' | 'logger'> & {accountId?: string; partition?: string; region?: string},
): Promise<{policy: PolicyDocument; userArn: string; accountId: string; kmsKeyArn?: string}> {
  validateUserOptions({...opts}, {bucketNameRules: false})
  const logger = opts.logger ?? silentLogger
  const problem = bucketNameProblem(opts.bucket)
  if (problem) logger.warn(`"${opts.bucket}" is not a valid S3 bucket name (it ${problem.rule.rule}); the policy is printed anyway, but no such bucket can exist.`)
  let account: {accountId: string; partition: string}
  if (opts.accountId) {
    if (opts.accountId !== ACCOUNT_ID_PLACEHOLDER && !/^\d{12}$/.test(opts.accountId)) throw badInput(`--account-id ${echo(opts.accountId, {what: 'value'})} is not a 12-digit AWS account id.`, 'Give the account id as 12 digits, e.g. --account-id 123456789012.', 'AccountIdInvalid')
    account = {accountId: opts.accountId, partition: opts.partition ?? 'aws'}
  } else {
    if (!ctx) throw badInput('No AWS account id to build the user ARN.', 'Pass --account-id <12 digits>.', 'AccountIdMissing')
    account = await callerAccount(ctx)
  }
  const region = opts.region ?? ctx?.options.region ?? 'us-east-1'
  let kmsKeyArn: string | undefined
  if (opts.kmsKeyArn) kmsKeyArn = isAwsManagedKmsKey(opts.kmsKeyArn) ? undefined : kmsKeyToArn(opts.kmsKeyArn, region, account.accountId, account.partition)
  else if (ctx && !opts.accountId && !problem && opts.kmsKeyArn === undefined && opts.readBucketEncryption !== false) kmsKeyArn = await bucketKmsKeyArn(ctx, opts.bucket, account, logger)
  let path = opts.path
  if (path === undefined && ctx && !opts.accountId) {
    // An existing user keeps its path, which is part of its ARN.
    path = (await getUser(ctx, opts.user, userArnFor(account.accountId, opts.user, '/', account.partition)))?.user.Path
  }
  const userArn = userArnFor(account.accountId, opts.user, path ?? '/', account.partition)
  return {policy: buildStatePolicy({bucket: opts.bucket, prefix: opts.prefix, kmsKeyArn, userArn}), userArn, accountId: account.accountId, kmsKeyArn}
}
