/**
 * How the bucket run talks to S3: retries of transient answers with backoff within a
 * bounded time, errors that name the S3 action and the bucket ARN, and the error classes
 * (transient, not implemented by a store) the run decides on.
 */
import type {S3Client} from '@aws-sdk/client-s3'
import type {AwsContext} from '../aws/client.js'
import {awsCall, awsCode, httpStatus, withBackoff} from '../aws/errors.js'
import {isPsbError, PsbError} from '../errors.js'
import {collectingLogger, silentLogger, type Logger} from '../types.js'
import {bucketArn, type BucketOptions} from './options.js'
import type {S3Module, SettingIO} from './settings/setting.js'


const TRANSIENT = new Set([
  'OperationAborted',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
])

/** The AWS code of an error, looking through a PsbError to its cause. */
export function codeOf(error: unknown): string | undefined {
  if (isPsbError(error)) return awsCode(error.cause) ?? error.code
  return awsCode(error)
}

export function statusOf(error: unknown): number | undefined {
  return httpStatus(isPsbError(error) ? error.cause : error)
}

export function isTransient(error: unknown): boolean {
  if (isPsbError(error)) return false
  const code = awsCode(error)
  if (code && TRANSIENT.has(code)) return true
  const status = httpStatus(error)
  return status !== undefined && status >= 500 && status !== 501
}

const UNSUPPORTED_ON_STORES = new Set(['InvalidRequest', 'MalformedXML', 'InvalidArgument', 'NotSupported', 'UnsupportedOperation', 'XNotImplemented'])

/** A store that does not implement a feature: NotImplemented anywhere; more codes with --endpoint. */
export function isUnsupported(error: unknown, customEndpoint: boolean): boolean {
  const code = codeOf(error)
  if (code === 'NotImplemented' || statusOf(error) === 501) return true
  return customEndpoint && code !== undefined && UNSUPPORTED_ON_STORES.has(code)
}

export function isNoSuchBucket(error: unknown): boolean {
  return codeOf(error) === 'NoSuchBucket'
}


function defaultMaxWait(): number {
  const raw = process.env.PSB_BUCKET_MAX_WAIT_MS
  const v = Number(raw)
  return raw !== undefined && raw.trim() !== '' && Number.isFinite(v) && v >= 0 ? v : 60000
}

/** The S3 calls of one bucket run, with its logger (warnings collected) and retry limits. */
export class BucketCalls implements SettingIO {
  readonly arn: string
  readonly maxWaitMs: number
  readonly baseMs: number
  readonly logger: Logger
  readonly warnings: string[] = []
  readonly customEndpoint: boolean
  /** The bucket was created in this run. */
  justCreated = false

  constructor(
    readonly ctx: AwsContext,
    readonly opts: BucketOptions,
    readonly S: S3Module,
    readonly s3: S3Client,
  ) {
    this.arn = bucketArn(opts.bucket, opts.region)
    this.maxWaitMs = opts.maxWaitMs ?? defaultMaxWait()
    this.baseMs = opts.backoffBaseMs ?? 200
    this.logger = collectingLogger(this.warnings, opts.logger ?? silentLogger)
    this.customEndpoint = Boolean(ctx.options.endpoint)
  }

  get bucket(): string {
    return this.opts.bucket
  }

  /** Runs an S3 call with retries of transient errors; raw SDK errors pass through. */
  async raw<T>(action: string, fn: () => Promise<T>, alsoRetry?: (e: unknown) => boolean, what?: string): Promise<T> {
    const retryIf = (e: unknown) => isTransient(e) || Boolean(alsoRetry?.(e))
    const start = Date.now()
    try {
      return await withBackoff(fn, {
        maxMs: this.maxWaitMs,
        baseMs: this.baseMs,
        capMs: 5000,
        retryIf,
        onRetry: (e, attempt, delay) => this.logger.info(`${action} on ${this.arn}: ${awsCode(e) ?? 'error'}; retry ${attempt} in ${delay} ms`),
      })
    } catch (error) {
      if (retryIf(error)) throw this.gaveUp(error, action, what, start)
      throw error
    }
  }

  gaveUp(error: unknown, action: string, what: string | undefined, start: number): PsbError {
    const secs = ((Date.now() - start) / 1000).toFixed(1)
    const code = awsCode(error) ?? `HTTP ${httpStatus(error) ?? '?'}`
    return new PsbError(`Gave up on ${what ?? action} on ${this.arn} after ${secs} s: S3 kept answering ${code}.`, {
      code: 'GaveUp',
      cause: error,
      data: {action, resource: this.arn, lastError: code},
      hint:
        code === 'OperationAborted'
          ? 'Another process is changing this bucket (or it was deleted moments ago). Wait a minute and run psb again; it picks up where it stopped.'
          : 'S3 is busy or unavailable. Wait a minute and run psb again (raise the wait with PSB_BUCKET_MAX_WAIT_MS); it picks up where it stopped.',
    })
  }

  /** Like raw(), with the error translated so a denied call names the action and resource. */
  call<T>(action: string, fn: () => Promise<T>, alsoRetry?: (e: unknown) => boolean, what?: string): Promise<T> {
    return awsCall({action, resource: this.arn}, () => this.raw(action, fn, alsoRetry, what))
  }

  /**
   * A read that answers `undefined` when the setting is not configured (`notFoundCode`).
   * Right after creation, `NoSuchBucket` (eventual consistency) is retried.
   */
  read<T>(action: string, notFoundCode: string | undefined, fn: () => Promise<T>): Promise<T | undefined> {
    // Two settings may read the same thing (the tags: the tags setting, and the lifecycle's
    // memory of refused rules): one call per run.
    const key = `${action} ${notFoundCode ?? ''}`
    if (!this.reads.has(key)) this.reads.set(key, this.readOnce(action, notFoundCode, fn))
    return this.reads.get(key) as Promise<T | undefined>
  }

  private readonly reads = new Map<string, Promise<unknown>>()

  private async readOnce<T>(action: string, notFoundCode: string | undefined, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.call(action, fn, this.justCreated ? isNoSuchBucket : undefined)
    } catch (error) {
      if (notFoundCode !== undefined && codeOf(error) === notFoundCode) return undefined
      throw error
    }
  }
}
