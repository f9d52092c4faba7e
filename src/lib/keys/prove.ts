import {type AwsContext} from '../aws/client.js'
import {awsCode, isAccessDenied, translateAwsError, withBackoff} from '../aws/errors.js'
import {isPsbError} from '../errors.js'
import {sleepUnlessInterrupted} from '../interrupt.js'
import {silentLogger, type Logger} from '../types.js'
import {formatDuration} from '../duration.js'
import {userNameOfArn} from '../aws/arn.js'
import {prefixBase} from '../bucket/prefix.js'
import {isPropagationError, s3Module, stsModule} from './iam-calls.js'
import {fail} from './run.js'


export interface ProveOptions {
  /** The IAM user the key must belong to. */
  user?: string
  bucket?: string
  prefix?: string
  successes: number
  pollMs: number
  waitMs: number
  /** The key being replaced: when the bucket check fails with a non-credential error, the old key tells whether the check applies at all. */
  oldCtx?: AwsContext
}

export interface ProveResult {
  waitedMs: number
  calls: number
  bucketChecked: boolean
  warnings: string[]
}

/** One proof's running state: what was called, what failed last, which bucket check still applies. */
interface Proof {
  ctx: AwsContext
  opts: ProveOptions
  bucket?: string
  listPrefix: string
  calls: number
  /** The call that failed last, to name it in the error. */
  failedCall: 'sts' | 's3'
  /** Access denied to the new key only (or, for a first key, at all) may be IAM still propagating the user's policy: retried like the propagation errors. */
  deniedToNewKeyOnly: WeakSet<object>
  warnings: string[]
  sts: () => Promise<{Arn?: string}>
  list: (c: AwsContext) => Promise<unknown>
}

/**
 * Several consecutive successful calls with the key (STS GetCallerIdentity, and
 * ListObjectsV2 on the state bucket when known). IAM propagates a new key in seconds to
 * ~15 s, and one success does not prove it: a failure starts the count again. Propagation
 * errors are retried with backoff (withBackoff) until `waitMs`; any other error fails at once.
 */
export async function proveKeyWorks(ctx: AwsContext, opts: ProveOptions, logger: Logger = silentLogger): Promise<ProveResult> {
  const p = await startProof(ctx, opts)
  const start = Date.now()
  const retryIf = (error: unknown) => !isPsbError(error) && (isPropagationError(error) || p.deniedToNewKeyOnly.has(error as object))
  // `successes` rounds in a row, `pollMs` apart: a failure retries the whole series.
  // A signal stops the wait at once (the caller rolls back).
  const pause = (ms: number) => sleepUnlessInterrupted(ms, 'stopped while waiting for IAM to accept the new key.')
  const series = async () => {
    for (let i = 0; i < opts.successes; i++) {
      if (i > 0) await pause(opts.pollMs)
      await proofRound(p)
    }
  }
  try {
    await withBackoff(series, {
      maxMs: opts.waitMs,
      baseMs: Math.max(50, opts.pollMs),
      sleep: pause,
      retryIf,
      onRetry: (error, _attempt, delay) => logger.info(`The new key is not accepted everywhere yet (${awsCode(error)}); checking again in ${formatDuration(delay)}.`),
    })
  } catch (error) {
    throw proofFailure(p, error, retryIf(error))
  }
  return {waitedMs: Date.now() - start, calls: p.calls, bucketChecked: Boolean(p.bucket), warnings: p.warnings}
}

/** Loads the SDK modules and clients first: that is psb's own time, not waiting for IAM. */
async function startProof(ctx: AwsContext, opts: ProveOptions): Promise<Proof> {
  const {GetCallerIdentityCommand} = await stsModule()
  const sts = await ctx.sts()
  const {ListObjectsV2Command} = opts.bucket ? await s3Module() : {ListObjectsV2Command: undefined}
  if (opts.bucket) {
    await ctx.s3()
    await opts.oldCtx?.s3()
  }
  const p: Proof = {
    ctx,
    opts,
    bucket: opts.bucket,
    listPrefix: `${prefixBase(opts.prefix)}.pulumi/`,
    calls: 0,
    failedCall: 'sts',
    deniedToNewKeyOnly: new WeakSet<object>(),
    warnings: [],
    sts: () => sts.send(new GetCallerIdentityCommand({})),
    list: async (c: AwsContext) => {
      const s3 = await c.s3()
      return s3.send(new ListObjectsV2Command!({Bucket: p.bucket!, Prefix: p.listPrefix, MaxKeys: 1}))
    },
  }
  return p
}

/** One round: STS (the key is the user's), then the state bucket when it applies. */
async function proofRound(p: Proof): Promise<void> {
  p.calls++
  p.failedCall = 'sts'
  const who = await p.sts()
  if (p.opts.user && userNameOfArn(who.Arn ?? '') !== p.opts.user) {
    throw fail(`The new key belongs to ${who.Arn}, not to the IAM user ${p.opts.user}.`, {code: 'KeyOwnerMismatch'})
  }
  if (!p.bucket) return
  p.calls++
  p.failedCall = 's3'
  try {
    await p.list(p.ctx)
  } catch (error) {
    if (isPropagationError(error)) throw error
    // Not a credentials error. With the old key at hand: does it get the same answer?
    // Then the check does not apply here (wrong region, no such bucket, a policy
    // without ListBucket) and is skipped.
    const code = awsCode(error)
    const oldCode = p.opts.oldCtx
      ? await p.list(p.opts.oldCtx).then(
          () => 'ok',
          (e: unknown) => awsCode(e) ?? 'Error',
        )
      : undefined
    if (oldCode !== code) {
      if (isAccessDenied(error)) p.deniedToNewKeyOnly.add(error as object)
      throw error
    }
    p.warnings.push(`Skipped the state-bucket check: listing s3://${p.bucket}/${p.listPrefix} answers ${code} for the old key too.`)
    p.bucket = undefined
  }
}

/** The error of a proof that failed: at once (not retriable), or still not accepted when the time was up. */
function proofFailure(p: Proof, error: unknown, retriable: boolean): unknown {
  if (isPsbError(error)) return error
  const {bucket, listPrefix} = p
  if (!retriable) {
    return p.failedCall === 's3'
      ? translateAwsError(error, {action: `s3:ListBucket (listing s3://${bucket}/${listPrefix} with the new key)`, resource: `arn:aws:s3:::${bucket}`})
      : translateAwsError(error, {action: 'sts:GetCallerIdentity', principal: 'the new key'})
  }
  if (isAccessDenied(error) && bucket) {
    return translateAwsError(error, {action: 's3:ListBucket', resource: `arn:aws:s3:::${bucket}`, principal: 'the new key'})
  }
  return fail(`The new key did not work within ${formatDuration(p.opts.waitMs)} (last answer: ${awsCode(error) ?? 'unknown'}).`, {
    code: 'NewKeyNotAccepted',
    cause: error,
    hint: 'IAM usually accepts a new key within 15 s. Try again with a longer --wait (e.g. --wait 2m); check that nothing denies the user (SCP, permissions boundary).',
  })
}
