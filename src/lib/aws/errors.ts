/**
 * Turns AWS SDK errors into PsbErrors that say what failed, why, and what to do.
 */
import {PsbError, EXIT, isPsbError, messageOf} from '../errors.js'
import {redact} from '../redact.js'

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
  const endpoint = endpointOf(error)
  if (isTlsMismatch(error)) return tlsMismatch(error, ctx, endpoint)
  const status = httpStatus(error)
  if (status !== undefined && status >= 300 && isBareHttpError(code, raw)) return bareHttpError(error, ctx, status, endpoint)
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

/** The custom endpoint of the client that made the failed call (set by src/lib/aws/client.ts). */
export function endpointOf(error: unknown): string | undefined {
  return (error as {$psbEndpoint?: string} | undefined)?.$psbEndpoint || undefined
}

/** A TLS handshake answered by a server that speaks plain HTTP (OpenSSL: "wrong version number"). */
export function isTlsMismatch(error: unknown): boolean {
  const e = error as {code?: string} | undefined
  return /wrong version number|packet length too long|ERR_SSL_WRONG_VERSION_NUMBER/i.test(`${e?.code ?? ''} ${messageOf(error)}`)
}

function tlsMismatch(error: unknown, ctx: AwsCallContext, endpoint: string | undefined): PsbError {
  const plain = endpoint?.startsWith('https://') ? endpoint.replace(/^https:/, 'http:') : undefined
  return new PsbError(`${ctx.action} failed: the endpoint${endpoint ? ` ${endpoint}` : ''} does not speak TLS (the TLS handshake was answered in plain HTTP).`, {
    code: 'EndpointNotTls',
    cause: error,
    hint: plain ? `Did you mean --endpoint ${plain}? (A local emulator usually serves plain HTTP.)` : 'Use an http:// endpoint for a server that does not speak TLS, or check that the port is the HTTPS one.',
  })
}

/** An answer with no AWS error code: an empty body ("UnknownError") or one the SDK could not parse. */
function isBareHttpError(code: string, message: string): boolean {
  return code === 'Unknown' || code === 'UnknownError' || message === 'UnknownError' || /Deserialization error|XML parse error/.test(message)
}

const HTTP_MEANING: Record<number, string> = {
  400: 'the server could not read the request (often: not an S3 endpoint, or a wrong region)',
  403: 'the request was denied (a policy denied it, or a proxy or S3-compatible store refused it)',
  404: 'nothing answers at that path (often: not an S3 endpoint)',
  405: 'the server does not allow this request (often: not an S3 endpoint)',
  500: 'the server failed (try again later)',
  502: 'a proxy or gateway in between failed',
  503: 'the service is unavailable or throttling (try again later)',
}

/** An HTTP error whose body had no parsable AWS error code: name the status and what it most likely means. */
function bareHttpError(error: unknown, ctx: AwsCallContext, status: number, endpoint: string | undefined): PsbError {
  const on = ctx.resource ? ` on ${ctx.resource}` : ''
  const what = `${ctx.action}${on} failed: HTTP ${status} with no AWS error code in the answer`
  if (status === 403 && endpoint?.startsWith('http://') && ctx.action.startsWith('s3:')) {
    return new PsbError(
      `${what}. Over plain HTTP (--endpoint ${endpoint}) the bucket's TLS-only policy denies every request to the bucket and its objects: AWS evaluates aws:SecureTransport as false.`,
      {
        code: 'InsecureTransportDenied',
        cause: error,
        data: {httpStatus: status, endpoint},
        hint: 'Use an https:// endpoint. For a local emulator, start it the way scripts/demo.sh does (test/support/moto_launcher.py, which serves requests as if over TLS).',
      },
    )
  }
  const meaning = HTTP_MEANING[status] ?? (status >= 500 ? 'the server failed' : 'the server refused the request')
  return new PsbError(`${what}: most likely ${meaning}.`, {
    code: `Http${status}`,
    cause: error,
    data: {httpStatus: status, ...(endpoint ? {endpoint} : {})},
    hint:
      status === 403
        ? `AWS itself always names the reason of a 403; a bare 403 usually comes from a proxy, an S3-compatible store or a bucket policy. Check ${endpoint ? `the endpoint ${endpoint}` : 'any proxy (HTTPS_PROXY)'} and the policies of the identity psb acts with${ctx.principal ? ` (${ctx.principal})` : ''}.`
        : `Check ${endpoint ? `that ${endpoint} is an S3-compatible endpoint` : 'the network and any proxy (HTTPS_PROXY)'}, then run the command again.`,
  })
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
