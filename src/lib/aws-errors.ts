/**
 * Turns AWS SDK errors into PsbErrors that say what failed, why, and what to do.
 */
import {PsbError, EXIT, isPsbError, messageOf} from './errors.js'
import {redact} from './redact.js'

export interface AwsErrorShape {
  name?: string
  Code?: string
  message?: string
  $metadata?: {httpStatusCode?: number; requestId?: string}
  $response?: {headers?: Record<string, string>}
  code?: string
}

/** The AWS error code of anything thrown (`AccessDenied`, `NoSuchBucket`, ...). */
export function awsCode(error: unknown): string | undefined {
  if (!error || typeof error !== 'object') return undefined
  const e = error as AwsErrorShape
  return e.Code || e.name || e.code
}

export function httpStatus(error: unknown): number | undefined {
  return (error as AwsErrorShape | undefined)?.$metadata?.httpStatusCode
}

export function responseHeader(error: unknown, name: string): string | undefined {
  const headers = (error as AwsErrorShape | undefined)?.$response?.headers
  if (!headers) return undefined
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase())
  return key ? headers[key] : undefined
}

const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AllAccessDisabled'])
const BAD_CREDENTIALS = new Set(['InvalidClientTokenId', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'UnrecognizedClientException', 'ExpiredToken', 'ExpiredTokenException', 'InvalidToken', 'TokenRefreshRequired'])
const NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'TimeoutError'])

export function isAccessDenied(error: unknown): boolean {
  const c = awsCode(error)
  return c !== undefined && ACCESS_DENIED.has(c)
}

export function isBadCredentials(error: unknown): boolean {
  const c = awsCode(error)
  return c !== undefined && BAD_CREDENTIALS.has(c)
}

export function isNotFound(error: unknown): boolean {
  const c = awsCode(error)
  return httpStatus(error) === 404 || c === 'NotFound' || c === 'NoSuchEntity' || c === 'NoSuchBucket' || c === 'NoSuchKey'
}

export interface AwsCallContext {
  /** The IAM action, e.g. `s3:PutBucketVersioning`. */
  action: string
  /** The resource ARN or a description. */
  resource?: string
  /** Who was acting (profile name or "the default credential chain"). */
  principal?: string
}

/**
 * Wraps an SDK error: access denied names the action and resource, bad credentials and
 * network failures get a hint. PsbErrors pass through unchanged.
 */
export function translateAwsError(error: unknown, ctx: AwsCallContext): PsbError {
  if (isPsbError(error)) return error
  const code = awsCode(error) ?? 'Error'
  const raw = redact(messageOf(error))
  const on = ctx.resource ? ` on ${ctx.resource}` : ''
  const who = ctx.principal ? ` (${ctx.principal})` : ''
  if (ACCESS_DENIED.has(code)) {
    return new PsbError(`AWS denied ${ctx.action}${on}: ${raw}`, {
      code: 'AccessDenied',
      cause: error,
      data: {action: ctx.action, resource: ctx.resource},
      hint: `Allow ${ctx.action}${on} for the identity psb acts with${who}, or run psb with another profile (--admin-profile).`,
    })
  }
  if (BAD_CREDENTIALS.has(code)) {
    return new PsbError(`AWS rejected the credentials for ${ctx.action} (${code}): ${raw}`, {
      code: 'BadCredentials',
      cause: error,
      hint: `Check the access key of the profile psb acts with${who}: it may be deleted, mistyped or expired. \`aws sts get-caller-identity\` shows whether it works.`,
    })
  }
  const errno = (error as {code?: string})?.code
  if ((errno && NETWORK.has(errno)) || NETWORK.has(code)) {
    return new PsbError(`Could not reach AWS for ${ctx.action}: ${raw}`, {
      code: 'NetworkError',
      cause: error,
      hint: 'Check the network, the --endpoint URL and any proxy settings, then run the command again.',
    })
  }
  if (code === 'CredentialsProviderError' || /Could not load credentials/i.test(raw)) {
    return new PsbError(`No AWS credentials were found for ${ctx.action}: ${raw}`, {
      code: 'NoCredentials',
      cause: error,
      hint: 'Set AWS_PROFILE or pass --admin-profile with a profile that exists, or set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.',
    })
  }
  return new PsbError(`${ctx.action}${on} failed (${code}): ${raw}`, {code, cause: error, exitCode: EXIT.FAILED})
}

/** Runs an AWS call and translates its error. */
export async function awsCall<T>(ctx: AwsCallContext, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (error) {
    throw translateAwsError(error, ctx)
  }
}

export interface BackoffOptions {
  /** Give up after this many ms in total. */
  maxMs: number
  /** First delay. */
  baseMs?: number
  /** Largest single delay. */
  capMs?: number
  /** Retry when this returns true. */
  retryIf: (error: unknown) => boolean
  /** Called before each wait. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void
  sleep?: (ms: number) => Promise<void>
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Retries `fn` with full-jitter exponential backoff, within a bounded total time. */
export async function withBackoff<T>(fn: () => Promise<T>, opts: BackoffOptions): Promise<T> {
  const start = Date.now()
  const base = opts.baseMs ?? 200
  const cap = opts.capMs ?? 5000
  const doSleep = opts.sleep ?? sleep
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (error) {
      const elapsed = Date.now() - start
      if (!opts.retryIf(error) || elapsed >= opts.maxMs) throw error
      const delay = Math.min(cap, base * 2 ** (attempt - 1), Math.max(0, opts.maxMs - elapsed))
      const jittered = Math.round(delay / 2 + Math.random() * (delay / 2))
      opts.onRetry?.(error, attempt, jittered)
      await doSleep(jittered)
    }
  }
}
