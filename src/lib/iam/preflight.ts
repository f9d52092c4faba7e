/**
 * The preflight of the commands that write (init, bucket create, user create): everything
 * that can be known before the first write is checked first, with read calls only. A
 * problem found here is bad input: exit 2, and nothing was changed.
 *
 *   1. The profile that gets the Pulumi user's key is not the one psb acts with (by name,
 *      through --admin-profile or the default credential chain, and by access key id).
 *   2. The administrator credentials resolve and AWS accepts them (one sts:GetCallerIdentity).
 *   3. Every managed policy to attach (or set as boundary) exists (iam:GetPolicy).
 *   4. The target profile holds no working key of another identity than the Pulumi user.
 */
import type {AwsContext, StaticCredentials} from '../aws/client.js'
import type {Env} from '../files/aws-config.js'
import {awsCode, isAccessDenied, isNotFound, translateAwsError} from '../aws/errors.js'
import {isUnsupported} from '../bucket/ensure.js'
import {isNoIamApi} from '../aws/store.js'
import {readProfileCredentials} from '../files/credentials.js'
import {EXIT, PsbError, badInput, isPsbError} from '../errors.js'
import {maskKeyId} from '../redact.js'
import {silentLogger, type Logger} from '../types.js'
import {callerAccount, callerAccountOnce} from './user.js'

export interface PreflightOptions {
  /** The profile psb writes the Pulumi user's key into (`init --profile`). */
  targetProfile?: string
  /** The IAM user whose key the target profile gets: a working key of anyone else there is refused. */
  targetUser?: string
  /** Managed policies that must exist, with the flag that named each. */
  policies?: {arn: string; flag: string}[]
  env?: Env
  logger?: Logger
}

export interface PreflightResult {
  accountId: string
  partition: string
  /** The ARN of the identity psb acts with. */
  arn: string
}

/** The profile the SDK's default credential chain reads, or undefined when it reads no profile (keys in the environment). */
export function chainProfile(ctx: AwsContext, env: Env): string | undefined {
  if (ctx.options.credentials || ctx.options.credentialProvider) return undefined
  if (ctx.options.profile) return ctx.options.profile
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return undefined
  return env.AWS_PROFILE || 'default'
}

function actingAs(ctx: AwsContext, env: Env): string {
  const p = chainProfile(ctx, env)
  if (ctx.options.profile) return `--admin-profile ${p}`
  return p ? `the default credential chain, which reads profile "${p}"` : 'the keys in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY'
}

/** The administrator's access key id as the SDK resolves it (no AWS call for keys in files or the environment). */
async function resolvedKeyId(ctx: AwsContext): Promise<string> {
  const sts = await ctx.sts()
  const provider = sts.config.credentials as unknown as () => Promise<StaticCredentials>
  try {
    return (await provider()).accessKeyId
  } catch (error) {
    throw asBadInput(translateAwsError(error, {action: 'sts:GetCallerIdentity', principal: actingAsShort(ctx)}))
  }
}

function actingAsShort(ctx: AwsContext): string {
  return ctx.options.credentials ? 'the given credentials' : ctx.options.profile ? `profile ${ctx.options.profile}` : 'the default AWS credential chain'
}

/** Credentials that do not resolve or that AWS rejects, and an https:// endpoint that speaks plain HTTP, are bad input; anything else (the network) is not. */
function asBadInput(error: PsbError): PsbError {
  if (!['NoCredentials', 'BadCredentials', 'EndpointNotTls'].includes(error.code)) return error
  return new PsbError(`${error.message} Nothing was changed.`, {code: error.code, hint: error.hint, exitCode: EXIT.USAGE, cause: error.cause})
}

/** Refuses a target profile that is (or holds the key of) the identity psb acts with. */
function checkTargetProfile(ctx: AwsContext, target: string, adminKeyId: string, env: Env): void {
  const acting = chainProfile(ctx, env)
  const held = readProfileCredentials(target, env)?.accessKeyId
  const sameName = acting === target
  if (!sameName && held !== adminKeyId) return
  const why = sameName
    ? `psb acts as administrator with profile "${target}" (${actingAs(ctx, env)})`
    : `the profile "${target}" holds the administrator's own key ${maskKeyId(adminKeyId)}, the key psb acts with (${actingAs(ctx, env)})`
  throw badInput(
    `--profile ${target} is the profile Pulumi would get, but ${why}: writing the Pulumi user's key there would replace the administrator's key. Nothing was changed.`,
    `Give Pulumi its own profile (e.g. --profile pulumi), or act as administrator with another profile (--admin-profile admin, or AWS_PROFILE=admin).`,
    'ProfileConflict',
  )
}

/**
 * A working key of another identity in the target profile: the key step would refuse to
 * overwrite it, after the bucket and the user were made. One sts:GetCallerIdentity with that
 * key; a key AWS does not accept (deleted, or still propagating) is the key step's to handle.
 */
async function checkHeldKey(ctx: AwsContext, target: string, user: string, env: Env): Promise<void> {
  const held = readProfileCredentials(target, env)
  if (!held) return
  let arn: string
  try {
    arn = (await callerAccount(ctx.withCredentials(held))).arn
  } catch {
    return
  }
  if (/:user\/(.+\/)?([^/]+)$/.exec(arn)?.[2] === user) return
  throw badInput(
    `The profile "${target}" already holds a working key of ${arn}, not of the IAM user ${user}; psb does not overwrite it. Nothing was changed.`,
    'Choose another --profile name, or remove that profile from the credentials file first.',
    'ProfileHoldsOtherKey',
  )
}

/** The policies that iam:GetPolicy says do not exist (a denied GetPolicy is a warning: psb cannot tell). */
async function missingPolicies(ctx: AwsContext, policies: {arn: string; flag: string}[], logger: Logger): Promise<{arn: string; flag: string}[]> {
  if (policies.length === 0) return []
  const {GetPolicyCommand} = await import('@aws-sdk/client-iam')
  const iam = await ctx.iam()
  const missing: {arn: string; flag: string}[] = []
  for (const p of policies) {
    try {
      await iam.send(new GetPolicyCommand({PolicyArn: p.arn}))
    } catch (error) {
      if (isNotFound(error) || awsCode(error) === 'NoSuchEntity') missing.push(p)
      else if (isAccessDenied(error)) logger.warn(`psb may not call iam:GetPolicy, so it cannot check that ${p.arn} (${p.flag}) exists before it starts.`)
      else throw translateAwsError(error, {action: 'iam:GetPolicy', resource: p.arn, principal: actingAsShort(ctx)})
    }
  }
  return missing
}

/** With --endpoint: an answer that says the store has no STS (not a credentials, TLS or network problem). */
function storeWithoutSts(ctx: AwsContext, error: unknown): boolean {
  if (!ctx.options.endpoint || !isPsbError(error)) return false
  if (error.exitCode === EXIT.USAGE || ['NetworkError', 'AccessDenied'].includes(error.code)) return false
  return isUnsupported(error.cause, true) || isNoIamApi(error, true) || /^Http\d{3}$/.test(error.code)
}

/**
 * Runs the preflight; throws bad input (exit 2) for what it finds. Read calls only. The
 * account is undefined when the endpoint (an S3-compatible store) has no STS.
 */
export async function preflight(ctx: AwsContext, opts: PreflightOptions = {}): Promise<PreflightResult | undefined> {
  const env = opts.env ?? process.env
  const keyId = await resolvedKeyId(ctx)
  if (opts.targetProfile) checkTargetProfile(ctx, opts.targetProfile, keyId, env)
  let account: PreflightResult | undefined
  try {
    account = await callerAccountOnce(ctx)
  } catch (error) {
    const e = isPsbError(error) ? asBadInput(error) : error
    if (!storeWithoutSts(ctx, e)) throw e
    // An S3-compatible store may have no STS: what psb can check stops here.
    opts.logger?.warn(`The endpoint ${ctx.options.endpoint} did not answer sts:GetCallerIdentity (${(e as PsbError).code}), so psb could not check the administrator's credentials before starting.`)
  }
  if (opts.targetProfile && opts.targetUser) await checkHeldKey(ctx, opts.targetProfile, opts.targetUser, env)
  const policies = [...new Map((opts.policies ?? []).map((p) => [p.arn, p])).values()]
  const missing = await missingPolicies(ctx, policies, opts.logger ?? silentLogger)
  if (missing.length > 0) {
    const list = missing.map((p) => `${p.arn} (${p.flag})`).join(', ')
    throw badInput(
      `${missing.length === 1 ? 'The managed policy' : 'These managed policies'} ${list} ${missing.length === 1 ? 'does' : 'do'} not exist in ${account ? `account ${account.accountId}` : 'the account'} (iam:GetPolicy: NoSuchEntity). Nothing was changed.`,
      'Check the ARN: AWS-managed policies look like arn:aws:iam::aws:policy/<name> (`aws iam list-policies --scope AWS`), your own like arn:aws:iam::<account>:policy/<name>.',
      'PolicyNotFound',
    )
  }
  return account
}
