/**
 * The Pulumi state bucket: created when missing, brought up to standard when present,
 * and never weakened.
 *
 * Plan, then apply, per setting: each setting is read, compared with what psb wants by
 * meaning (not by text), and changed only when something is missing. Reads run in
 * parallel; changes run one after another (S3 answers OperationAborted to concurrent
 * configuration calls on one bucket). A second run on a hardened bucket makes no
 * mutating call. Every call is wrapped with awsCall semantics so a denied call names the
 * S3 action and the bucket ARN, and transient answers (OperationAborted, SlowDown,
 * throttling, 5xx) are retried with backoff within a bounded time.
 */
import type {
  S3Client,
  LifecycleRule,
  ServerSideEncryptionRule,
  Tag,
  CreateBucketCommandInput,
  TransitionDefaultMinimumObjectSize,
} from '@aws-sdk/client-s3'
import type {AwsContext} from '../aws/client.js'
import {awsCall, awsCode, httpStatus, responseHeader, translateAwsError, withBackoff, isAccessDenied, isNotFound} from '../aws/errors.js'
import {validateBucketName, sanitizeBucketName} from './name.js'
import {echo, NAME_SHAPE, plural} from '../echo.js'
import {badInput, isPsbError, PsbError} from '../errors.js'
import {parseArn} from '../aws/arn.js'
import {collectingLogger, silentLogger, withPartialChanges, type Change, type ChangeStatus, type Logger} from '../types.js'

export {validateBucketName} from './name.js'

type S3Module = typeof import('@aws-sdk/client-s3')

export interface BucketOptions {
  bucket: string
  region: string
  /** id | arn | alias; SSE-KMS with bucket key; default SSE-S3. */
  kmsKey?: string
  /**
   * Days after which noncurrent versions expire. Undefined: 90 for a new rule, and an
   * existing psb rule keeps its days. A number: psb's rule is set to it. 0: no rule
   * (an existing psb rule is removed).
   */
  noncurrentDays?: number
  /** managed-by=psb is always added. */
  tags?: Record<string, string>
  dryRun?: boolean
  logger?: Logger
  /** Longest total wait for retries and for a new bucket to become visible (default 60 s, env PSB_BUCKET_MAX_WAIT_MS). */
  maxWaitMs?: number
  /** First backoff delay (default 200 ms). */
  backoffBaseMs?: number
}

export interface BucketResult {
  bucket: string
  region: string
  arn: string
  created: boolean
  encryption: {algorithm: 'AES256' | 'aws:kms'; kmsKeyId?: string}
  /** One per setting. */
  changes: Change[]
  /** Warnings also sent to the logger (e.g. settings skipped on an S3-compatible store). */
  warnings: string[]
  dryRun: boolean
}

export const TLS_SID = 'psb-DenyInsecureTransport'
export const NONCURRENT_RULE_ID = 'psb-noncurrent-expiry'
export const MULTIPART_RULE_ID = 'psb-abort-incomplete-multipart'
export const DEFAULT_NONCURRENT_DAYS = 90
export const MULTIPART_DAYS = 7
export const MANAGED_BY_KEY = 'managed-by'
export const MANAGED_BY_VALUE = 'psb'

/** The Change items, in the order they are reported. */
export const ITEMS = {
  bucket: 'bucket',
  versioning: 'versioning',
  encryption: 'encryption',
  publicAccessBlock: 'public-access-block',
  ownership: 'object-ownership',
  policy: 'tls-only-policy',
  noncurrent: 'lifecycle-noncurrent-expiry',
  multipart: 'lifecycle-abort-multipart',
  tags: 'tags',
} as const

// ---------------------------------------------------------------------------------------
// Input checks (all before any AWS call)

export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn'
  if (region.startsWith('us-gov-')) return 'aws-us-gov'
  if (region.startsWith('us-iso-')) return 'aws-iso'
  if (region.startsWith('us-isob-')) return 'aws-iso-b'
  return 'aws'
}

export function bucketArn(bucket: string, region: string): string {
  return `arn:${partitionOf(region)}:s3:::${bucket}`
}

const KEY_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/
const ALIAS = /^alias\/[A-Za-z0-9/_-]{1,250}$/
const KMS_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key\/.+|alias\/.+)$/

export function validateKmsKey(key: string): void {
  if (KEY_ID.test(key) || ALIAS.test(key) || KMS_ARN.test(key)) return
  throw badInput(
    `--kms-key ${echo(key, {what: 'value', shape: /^(arn:[a-z0-9:-]+|alias)\/?[a-z0-9/_-]{0,200}$/})} is not a KMS key id, key ARN or alias.`,
    'Give a key id (1234abcd-12ab-34cd-56ef-1234567890ab), a key ARN (arn:aws:kms:us-east-1:111122223333:key/...), or an alias (alias/pulumi-state).',
    'KmsKeyInvalid',
  )
}

const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u

export function validateTags(tags: Record<string, string>): void {
  const keys = Object.keys(tags)
  if (keys.length > 49) throw badInput(`Too many tags (${keys.length}): S3 allows 50 per bucket, one of which is managed-by=psb.`, 'Pass fewer --tag flags.', 'TagInvalid')
  for (const key of keys) {
    const value = tags[key]
    if (key.length < 1 || key.length > 128) throw badInput(`Tag key ${echo(key, {what: 'tag key'})} must be 1 to 128 characters long.`, 'Use --tag key=value with a shorter key.', 'TagInvalid')
    if (value.length > 256) throw badInput(`The value of tag ${echo(key, {what: 'tag key', shape: NAME_SHAPE})} is longer than 256 characters.`, 'Use a shorter value.', 'TagInvalid')
    if (!TAG_CHARS.test(key) || !TAG_CHARS.test(value)) {
      throw badInput(`Tag ${echo(`${key}=${value}`, {what: 'value'})} has a character S3 does not allow in tags.`, 'Tags may contain letters, digits, spaces and _ . : / = + - @', 'TagInvalid')
    }
    if (key.toLowerCase().startsWith('aws:')) throw badInput(`Tag key ${echo(key, {what: 'tag key', shape: /^aws:[a-z0-9:_-]{1,60}$/i})} starts with "aws:", which AWS reserves.`, 'Choose a key without the aws: prefix.', 'TagInvalid')
    if (key === MANAGED_BY_KEY && value !== MANAGED_BY_VALUE) throw badInput(`The tag ${MANAGED_BY_KEY} is set by psb (to "${MANAGED_BY_VALUE}").`, `Remove --tag ${MANAGED_BY_KEY}=….`, 'TagInvalid')
  }
}

/** Every bad-input check of ensureBucket, raised before any AWS call. */
export function validateBucketOptions(opts: BucketOptions): void {
  validateBucketName(opts.bucket)
  if (opts.kmsKey !== undefined) validateKmsKey(opts.kmsKey)
  const d = opts.noncurrentDays
  if (d !== undefined && (!Number.isInteger(d) || d < 0 || d > 36500)) {
    throw badInput(`--noncurrent-days must be a whole number from 0 to 36500, not ${d}.`, 'Use e.g. --noncurrent-days 90, or 0 to keep noncurrent versions forever.', 'NoncurrentDaysInvalid')
  }
  if (opts.tags) validateTags(opts.tags)
}

// ---------------------------------------------------------------------------------------
// Error classes and retries

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
function codeOf(error: unknown): string | undefined {
  if (isPsbError(error)) return awsCode(error.cause) ?? error.code
  return awsCode(error)
}

function statusOf(error: unknown): number | undefined {
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

function isNoSuchBucket(error: unknown): boolean {
  return codeOf(error) === 'NoSuchBucket'
}

// ---------------------------------------------------------------------------------------
// Pure planning helpers (exported for tests)

type PolicyValue = string | string[] | undefined

export interface PolicyStatement {
  Sid?: string
  Effect?: string
  Principal?: unknown
  NotPrincipal?: unknown
  Action?: PolicyValue
  NotAction?: PolicyValue
  Resource?: PolicyValue
  NotResource?: PolicyValue
  Condition?: Record<string, Record<string, unknown>>
  [k: string]: unknown
}

export interface BucketPolicyDocument {
  Version?: string
  Id?: string
  Statement: PolicyStatement[] | PolicyStatement
  [k: string]: unknown
}

export function tlsOnlyStatement(arn: string): PolicyStatement {
  return {
    Sid: TLS_SID,
    Effect: 'Deny',
    Principal: '*',
    Action: 's3:*',
    Resource: [arn, `${arn}/*`],
    Condition: {Bool: {'aws:SecureTransport': 'false'}},
  }
}

const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v])

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\/]/g, '\\$&')))
    .join('')
  return new RegExp(`^${body}$`, 'i')
}

function principalIsEveryone(p: unknown): boolean {
  if (p === '*') return true
  if (p && typeof p === 'object' && !Array.isArray(p)) {
    const aws = (p as Record<string, unknown>).AWS
    return list(aws).includes('*')
  }
  return false
}

function actionsCoverAll(actions: unknown): boolean {
  return list(actions).some((a) => typeof a === 'string' && (a === '*' || a.toLowerCase() === 's3:*'))
}

function isInsecureTransportCondition(cond: unknown): boolean {
  if (!cond || typeof cond !== 'object') return false
  const ops = Object.entries(cond as Record<string, unknown>)
  if (ops.length !== 1) return false
  const [op, body] = ops[0]
  if (!['bool', 'boolifexists'].includes(op.toLowerCase()) || !body || typeof body !== 'object') return false
  const keys = Object.entries(body as Record<string, unknown>)
  if (keys.length !== 1) return false
  const [key, value] = keys[0]
  if (key.toLowerCase() !== 'aws:securetransport') return false
  const values = list(value)
  return values.length > 0 && values.every((v) => v === false || (typeof v === 'string' && v.toLowerCase() === 'false'))
}

/** The resources of `statements` that qualify as TLS-only denies cover both the bucket and all its objects. */
function resourcesCover(resources: string[], arn: string): boolean {
  const patterns = resources.map((r) => ({r, re: globToRegExp(r)}))
  const bucketCovered = patterns.some(({re}) => re.test(arn))
  const objectsCovered = patterns.some(({r, re}) => r.endsWith('*') && re.test(`${arn}/*`) && re.test(`${arn}/.pulumi/stacks/p/dev.json`))
  return bucketCovered && objectsCovered
}

function qualifiesAsTlsDeny(s: PolicyStatement): boolean {
  return (
    s.Effect === 'Deny' &&
    s.NotPrincipal === undefined &&
    s.NotAction === undefined &&
    s.NotResource === undefined &&
    principalIsEveryone(s.Principal) &&
    actionsCoverAll(s.Action) &&
    isInsecureTransportCondition(s.Condition)
  )
}

/**
 * True when the statements deny every S3 action to everyone on the bucket and its objects
 * whenever TLS is not used — by meaning: any Sid, principal `*` or `{"AWS": "*"}`, actions
 * `s3:*` or `*`, resources (possibly across several such statements, wildcards allowed)
 * covering both ARNs, and exactly the condition aws:SecureTransport = false.
 */
export function hasTlsOnlyStatement(statements: PolicyStatement[], arn: string): boolean {
  const resources = statements.filter(qualifiesAsTlsDeny).flatMap((s) => list(s.Resource).filter((r): r is string => typeof r === 'string'))
  return resourcesCover(resources, arn)
}

export interface PolicyPlan {
  status: 'unchanged' | 'created' | 'updated'
  detail: string
  document?: BucketPolicyDocument
}

/** Merges the TLS-only statement into an existing policy (JSON text or undefined). */
export function planTlsPolicy(existing: string | undefined, arn: string): PolicyPlan {
  if (existing === undefined || existing.trim() === '') {
    return {status: 'created', detail: `${TLS_SID}: deny s3:* without TLS`, document: {Version: '2012-10-17', Statement: [tlsOnlyStatement(arn)]}}
  }
  let doc: BucketPolicyDocument
  try {
    doc = JSON.parse(existing) as BucketPolicyDocument
  } catch (error) {
    throw new PsbError(`The bucket policy of ${arn} is not valid JSON, so psb cannot merge its statement into it.`, {
      cause: error,
      code: 'BucketPolicyInvalid',
      hint: 'Inspect it with `aws s3api get-bucket-policy --bucket <name>` and fix it, then run again.',
    })
  }
  const statements = list(doc.Statement) as PolicyStatement[]
  if (hasTlsOnlyStatement(statements, arn)) {
    const own = statements.some((s) => s.Sid === TLS_SID)
    return {status: 'unchanged', detail: own ? `${TLS_SID} present` : 'an equivalent TLS-only statement is present'}
  }
  const others = statements.filter((s) => s.Sid !== TLS_SID)
  const replaced = others.length !== statements.length
  const document: BucketPolicyDocument = {...doc, Version: doc.Version ?? '2012-10-17', Statement: [...others, tlsOnlyStatement(arn)]}
  const kept = others.length === 1 ? '1 other statement' : `${others.length} other statements`
  return replaced
    ? {status: 'updated', detail: `restored ${TLS_SID}; kept ${kept}`, document}
    : {status: 'created', detail: `added ${TLS_SID} to the existing policy; kept ${kept}`, document}
}

export function appliesToWholeBucket(rule: LifecycleRule): boolean {
  if (rule.Status !== 'Enabled') return false
  const f = rule.Filter as Record<string, unknown> | undefined
  if (f === undefined) return rule.Prefix === undefined || rule.Prefix === ''
  const set = Object.entries(f).filter(([, v]) => v !== undefined)
  return set.length === 0 || (set.length === 1 && set[0][0] === 'Prefix' && set[0][1] === '')
}

export interface LifecyclePlan {
  rules: LifecycleRule[]
  changed: boolean
  noncurrent: {status: ChangeStatus; detail: string}
  multipart: {status: ChangeStatus; detail: string}
  notes: string[]
}

const dayWord = (n: number) => (n === 1 ? '1 day' : `${n} days`)

/**
 * Merges psb's two lifecycle rules into the existing ones: rules psb did not write are
 * kept as they are; a whole-bucket rule of someone else that already does the job counts
 * as present (even with other days: psb does not fight it, and says so).
 */
export function planLifecycle(existing: LifecycleRule[] | undefined, noncurrentDays: number | undefined): LifecyclePlan {
  let rules = [...(existing ?? [])]
  let changed = false
  const notes: string[] = []
  const want = noncurrentDays ?? DEFAULT_NONCURRENT_DAYS
  const explicit = noncurrentDays !== undefined
  const newNoncurrent: LifecycleRule = {ID: NONCURRENT_RULE_ID, Status: 'Enabled', Filter: {Prefix: ''}, NoncurrentVersionExpiration: {NoncurrentDays: want}}
  const newMultipart: LifecycleRule = {ID: MULTIPART_RULE_ID, Status: 'Enabled', Filter: {Prefix: ''}, AbortIncompleteMultipartUpload: {DaysAfterInitiation: MULTIPART_DAYS}}
  const fresh = rules.length === 0

  let noncurrent: LifecyclePlan['noncurrent']
  const ours = rules.find((r) => r.ID === NONCURRENT_RULE_ID)
  const theirs = rules.find((r) => r.ID !== NONCURRENT_RULE_ID && appliesToWholeBucket(r) && r.NoncurrentVersionExpiration?.NoncurrentDays !== undefined)
  const oursDays = ours?.NoncurrentVersionExpiration?.NoncurrentDays
  if (want === 0) {
    if (ours) {
      rules = rules.filter((r) => r !== ours)
      changed = true
      noncurrent = {status: 'updated', detail: `removed ${NONCURRENT_RULE_ID} (--noncurrent-days 0)`}
    } else {
      noncurrent = {status: 'skipped', detail: 'off (--noncurrent-days 0): noncurrent versions are kept forever'}
    }
  } else if (ours && appliesToWholeBucket(ours) && oursDays !== undefined && (oursDays === want || !explicit)) {
    noncurrent = {
      status: 'unchanged',
      detail: oursDays === want ? `noncurrent versions expire after ${dayWord(want)}` : `kept ${dayWord(oursDays)} set earlier (pass --noncurrent-days to change it)`,
    }
  } else if (ours) {
    rules = rules.map((r) => (r === ours ? newNoncurrent : r))
    changed = true
    noncurrent = {status: 'updated', detail: `noncurrent versions expire after ${dayWord(want)}${oursDays !== undefined && oursDays !== want ? ` (was ${dayWord(oursDays)})` : ''}`}
  } else if (theirs) {
    const days = theirs.NoncurrentVersionExpiration!.NoncurrentDays!
    noncurrent = {status: 'unchanged', detail: `kept existing rule ${JSON.stringify(theirs.ID ?? '(no id)')} (${dayWord(days)})`}
    if (days !== want) {
      notes.push(`Lifecycle rule ${JSON.stringify(theirs.ID ?? '(no id)')} already expires noncurrent versions after ${dayWord(days)}; psb leaves it as is instead of adding its own ${dayWord(want)} rule.`)
    }
  } else {
    rules.push(newNoncurrent)
    changed = true
    noncurrent = {status: 'created', detail: `noncurrent versions expire after ${dayWord(want)}${fresh ? '' : `; kept ${plural(existing!.length, 'existing rule')}`}`}
  }

  let multipart: LifecyclePlan['multipart']
  const anyAbort = rules.find((r) => appliesToWholeBucket(r) && r.AbortIncompleteMultipartUpload?.DaysAfterInitiation !== undefined)
  const oursMp = rules.find((r) => r.ID === MULTIPART_RULE_ID)
  if (anyAbort) {
    const days = anyAbort.AbortIncompleteMultipartUpload!.DaysAfterInitiation!
    multipart = {
      status: 'unchanged',
      detail: anyAbort.ID === MULTIPART_RULE_ID ? `incomplete uploads aborted after ${dayWord(days)}` : `kept existing rule ${JSON.stringify(anyAbort.ID ?? '(no id)')} (${dayWord(days)})`,
    }
  } else if (oursMp) {
    rules = rules.map((r) => (r === oursMp ? newMultipart : r))
    changed = true
    multipart = {status: 'updated', detail: `incomplete uploads aborted after ${dayWord(MULTIPART_DAYS)} (rule re-enabled)`}
  } else {
    rules.push(newMultipart)
    changed = true
    multipart = {status: 'created', detail: `incomplete uploads aborted after ${dayWord(MULTIPART_DAYS)}`}
  }
  return {rules, changed, noncurrent, multipart, notes}
}

export interface TagPlan {
  status: 'unchanged' | 'created' | 'updated'
  tags: Tag[]
  detail: string
  /** Keys with the reserved aws: prefix on the bucket (PutBucketTagging cannot write them back). */
  reserved: string[]
}

export function planTags(existing: Tag[] | undefined, wanted: Record<string, string> | undefined): TagPlan {
  const current = new Map((existing ?? []).map((t) => [t.Key ?? '', t.Value ?? '']))
  const next = new Map(current)
  const desired: Record<string, string> = {[MANAGED_BY_KEY]: MANAGED_BY_VALUE, ...(wanted ?? {})}
  const added: string[] = []
  const updated: string[] = []
  for (const [k, v] of Object.entries(desired)) {
    if (!current.has(k)) added.push(`${k}=${v}`)
    else if (current.get(k) !== v) updated.push(`${k}=${v}`)
    next.set(k, v)
  }
  const reserved = [...current.keys()].filter((k) => k.toLowerCase().startsWith('aws:'))
  const tags = [...next].map(([Key, Value]) => ({Key, Value}))
  if (added.length === 0 && updated.length === 0) return {status: 'unchanged', tags, reserved, detail: Object.keys(desired).map((k) => `${k}=${desired[k]}`).join(', ')}
  const kept = current.size - updated.length
  const parts = [added.length > 0 ? `added ${added.join(', ')}` : '', updated.length > 0 ? `updated ${updated.join(', ')}` : '', kept > 0 ? `kept ${plural(kept, 'other tag')}` : '']
  return {status: current.size === 0 ? 'created' : 'updated', tags, reserved, detail: parts.filter(Boolean).join('; ')}
}

interface KmsRef {
  kind: 'key' | 'alias'
  name: string
  account?: string
  region?: string
}

function parseKmsRef(ref: string): KmsRef {
  const arn = parseArn(ref)
  const m = arn?.service === 'kms' ? /^(key|alias)\/(.+)$/.exec(arn.resource) : null
  if (arn && m) return {kind: m[1] as 'key' | 'alias', name: m[2], region: arn.region, account: arn.account}
  if (ref.startsWith('alias/')) return {kind: 'alias', name: ref.slice('alias/'.length)}
  return {kind: 'key', name: ref}
}

/** 'same' | 'different' | 'unknown' (an alias against a key id cannot be compared without KMS). */
export function compareKmsKeys(a: string, b: string): 'same' | 'different' | 'unknown' {
  if (a === b) return 'same'
  const x = parseKmsRef(a)
  const y = parseKmsRef(b)
  const sameScope = (!x.account || !y.account || x.account === y.account) && (!x.region || !y.region || x.region === y.region)
  if (x.kind === 'key' && y.kind === 'key') return x.name === y.name && sameScope ? 'same' : 'different'
  if (x.kind === 'alias' && y.kind === 'alias' && x.name === y.name && sameScope) return 'same'
  return 'unknown'
}

// ---------------------------------------------------------------------------------------
// The run

interface Plan {
  /** The changes this setting reports, as they would be after apply. */
  changes: Change[]
  /** The S3 action of the change, for errors. */
  action?: string
  apply?: () => Promise<unknown>
}

/** One bucket setting: the Change items it reports and how to plan it. */
interface Setting {
  items: string[]
  /** May be skipped on S3-compatible stores that do not implement it. */
  optional: boolean
  plan: () => Promise<Plan>
}

function defaultMaxWait(): number {
  const raw = process.env.PSB_BUCKET_MAX_WAIT_MS
  const v = Number(raw)
  return raw !== undefined && raw.trim() !== '' && Number.isFinite(v) && v >= 0 ? v : 60000
}

class BucketRun {
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
      if (retryIf(error)) {
        const secs = ((Date.now() - start) / 1000).toFixed(1)
        const code = awsCode(error) ?? `HTTP ${httpStatus(error) ?? '?'}`
        throw new PsbError(`Gave up on ${what ?? action} on ${this.arn} after ${secs} s: S3 kept answering ${code}.`, {
          code: 'GaveUp',
          cause: error,
          data: {action, resource: this.arn, lastError: code},
          hint:
            code === 'OperationAborted'
              ? 'Another process is changing this bucket (or it was deleted moments ago). Wait a minute and run psb again; it picks up where it stopped.'
              : 'S3 is busy or unavailable. Wait a minute and run psb again (raise the wait with PSB_BUCKET_MAX_WAIT_MS); it picks up where it stopped.',
        })
      }
      throw error
    }
  }

  /** Like raw(), with the error translated so a denied call names the action and resource. */
  call<T>(action: string, fn: () => Promise<T>, alsoRetry?: (e: unknown) => boolean, what?: string): Promise<T> {
    return awsCall({action, resource: this.arn}, () => this.raw(action, fn, alsoRetry, what))
  }

  /**
   * A read that answers `undefined` when the setting is not configured (`notFoundCode`).
   * Right after creation, `NoSuchBucket` (eventual consistency) is retried.
   */
  async read<T>(action: string, notFoundCode: string | undefined, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.call(action, fn, this.justCreated ? isNoSuchBucket : undefined)
    } catch (error) {
      if (notFoundCode !== undefined && codeOf(error) === notFoundCode) return undefined
      throw error
    }
  }

  // -------------------------------------------------------------------- existence

  /** exists: the bucket is ours and in the right region; throws for foreign / other region. */
  async probe(): Promise<boolean> {
    const {S} = this
    try {
      const out = await this.raw('s3:ListBucket', () => this.s3.send(new S.HeadBucketCommand({Bucket: this.bucket})), undefined, 'HeadBucket')
      const region = out.BucketRegion
      if (region && region !== this.opts.region) throw this.otherRegion(region)
      return true
    } catch (error) {
      if (isPsbError(error)) throw error
      if (isNotFound(error)) return false
      const status = httpStatus(error)
      const code = awsCode(error)
      const headerRegion = responseHeader(error, 'x-amz-bucket-region')
      if (headerRegion && headerRegion !== this.opts.region) throw this.otherRegion(headerRegion)
      if (status === 301 || code === 'PermanentRedirect' || code === 'AuthorizationHeaderMalformed' || code === 'IllegalLocationConstraintException') {
        throw this.otherRegion(await this.locate())
      }
      if (status === 403 || isAccessDenied(error)) throw await this.forbidden(error)
      throw translateAwsError(error, {action: 's3:ListBucket', resource: this.arn})
    }
  }

  /** The bucket's region from GetBucketLocation (asked in us-east-1, which answers for any bucket). */
  async locate(): Promise<string | undefined> {
    const {S} = this
    try {
      const s3 = await this.ctx.s3(this.customEndpoint ? this.opts.region : 'us-east-1')
      const out = await s3.send(new S.GetBucketLocationCommand({Bucket: this.bucket}))
      const c = out.LocationConstraint as string | undefined
      return !c ? 'us-east-1' : c === 'EU' ? 'eu-west-1' : c
    } catch {
      return undefined
    }
  }

  otherRegion(region: string | undefined): PsbError {
    const where = region ? `in region ${region}` : 'in another region'
    return new PsbError(`Bucket ${JSON.stringify(this.bucket)} already exists ${where}, not in ${this.opts.region}.`, {
      code: 'BucketInOtherRegion',
      data: {bucket: this.bucket, bucketRegion: region, requestedRegion: this.opts.region},
      hint: region
        ? `Run again with --region ${region} to use that bucket, or choose another bucket name for ${this.opts.region}.`
        : `Find its region with \`aws s3api get-bucket-location --bucket ${this.bucket}\` and pass it with --region, or choose another name.`,
    })
  }

  /** 403 on HeadBucket: a name owned by another account, or our own bucket without s3:ListBucket. */
  async forbidden(cause: unknown): Promise<PsbError> {
    const {S} = this
    let owned: boolean | undefined
    try {
      const out = await this.s3.send(new S.ListBucketsCommand({Prefix: this.bucket, MaxBuckets: 1000}))
      owned = (out.Buckets ?? []).some((b) => b.Name === this.bucket)
    } catch {
      owned = undefined
    }
    if (owned) {
      return translateAwsError(cause, {action: 's3:ListBucket', resource: this.arn})
    }
    return this.nameTaken(cause, owned === false)
  }

  /** The name belongs to another account (`sure`), or (not sure) to an own bucket psb may not see. */
  async nameTaken(cause: unknown, sure: boolean): Promise<PsbError> {
    const suggestion = await this.suggestName()
    return new PsbError(
      sure
        ? `The bucket name ${JSON.stringify(this.bucket)} is taken globally: another AWS account owns it (S3 bucket names are shared by all accounts in the partition).`
        : `The bucket name ${JSON.stringify(this.bucket)} is taken globally by another AWS account, or you lack s3:ListBucket on it (S3 answered 403 and psb could not list your buckets to tell).`,
      {
        code: 'BucketNameTaken',
        cause,
        data: {bucket: this.bucket, suggestion: suggestion.name},
        hint: `Choose another name, e.g. --bucket ${suggestion.name}${suggestion.free ? ' (free right now)' : ' (free to try)'}.${sure ? '' : ` If the bucket is yours, allow s3:ListBucket on ${this.arn}.`}`,
      },
    )
  }

  /** `<name>-<account id>-<region>` (or a random suffix when the account id is unknown), checked when possible. */
  async suggestName(): Promise<{name: string; free: boolean}> {
    let account: string | undefined
    try {
      const {GetCallerIdentityCommand} = await import('@aws-sdk/client-sts')
      const sts = await this.ctx.sts()
      account = (await sts.send(new GetCallerIdentityCommand({}))).Account
    } catch {
      account = undefined
    }
    const suffix = account ? `-${account}-${this.opts.region}` : `-${this.opts.region}-${Math.random().toString(16).slice(2, 8).padEnd(6, '0')}`
    let base = this.bucket.slice(0, 63 - suffix.length)
    base = sanitizeBucketName(base) || 'pulumi-state'
    const name = `${base}${suffix}`
    let free = false
    try {
      await this.s3.send(new this.S.HeadBucketCommand({Bucket: name}))
    } catch (error) {
      free = isNotFound(error)
    }
    return {name, free}
  }

  // -------------------------------------------------------------------- creation

  /** Creates the bucket; 'exists' when a concurrent run made it ours first. */
  async create(): Promise<'created' | 'exists'> {
    const {S} = this
    // Each is dropped at most once, for a store that rejects it.
    let ownership = true
    let location = this.opts.region !== 'us-east-1'
    const send = () => {
      const command = new S.CreateBucketCommand({
        Bucket: this.bucket,
        ...(ownership ? {ObjectOwnership: 'BucketOwnerEnforced' as const} : {}),
        ...(location ? {CreateBucketConfiguration: {LocationConstraint: this.opts.region as never}} : {}),
      })
      // The SDK puts the client's region back as LocationConstraint when it is missing;
      // this runs after that middleware and takes it out again.
      if (!location) {
        command.middlewareStack.add(
          (next) => (args) => {
            delete (args.input as CreateBucketCommandInput).CreateBucketConfiguration
            return next(args)
          },
          {step: 'initialize', priority: 'low', name: 'psbNoLocationConstraint'},
        )
      }
      return this.s3.send(command)
    }
    for (;;) {
      try {
        await this.raw('s3:CreateBucket', send)
        return 'created'
      } catch (error) {
        if (isPsbError(error)) throw error
        const code = awsCode(error)
        if (code === 'BucketAlreadyOwnedByYou') return 'exists'
        if (code === 'BucketAlreadyExists') throw await this.nameTaken(error, true)
        if (this.customEndpoint && ownership && (isUnsupported(error, true) || code === 'InvalidBucketAclWithObjectOwnership')) {
          this.logger.warn(`This store rejected ObjectOwnership on CreateBucket (${code}); creating the bucket without it.`)
          ownership = false
          continue
        }
        if (this.customEndpoint && location && (code === 'InvalidLocationConstraint' || isUnsupported(error, true))) {
          this.logger.warn(`This store rejected LocationConstraint ${this.opts.region} (${code}); creating the bucket without it.`)
          location = false
          continue
        }
        const translated = translateAwsError(error, {action: 's3:CreateBucket', resource: this.arn})
        if (translated.code === 'AccessDenied') {
          throw new PsbError(translated.message, {
            code: 'AccessDenied',
            cause: error,
            data: {action: 's3:CreateBucket', resource: this.arn},
            hint: `Allow s3:CreateBucket and s3:PutBucketOwnershipControls (needed to create a bucket with ACLs disabled) on ${this.arn} for the identity psb acts with, or run psb with another profile (--admin-profile).`,
          })
        }
        throw translated
      }
    }
  }

  /** After CreateBucket: HeadBucket with backoff until the bucket answers. */
  async waitVisible(): Promise<void> {
    const {S} = this
    await this.call('s3:ListBucket', () => this.s3.send(new S.HeadBucketCommand({Bucket: this.bucket})), isNotFound, 'waiting for the new bucket to become visible')
  }

  // -------------------------------------------------------------------- settings

  /**
   * `fresh`: a bucket that does not exist (a dry run): nothing to read, everything to set.
   * A bucket created in this run is read like any other, so that a bucket someone else
   * created a moment earlier is never overwritten blindly.
   */
  settings(fresh: boolean): Setting[] {
    const custom = this.customEndpoint
    return [
      {items: [ITEMS.versioning], optional: false, plan: () => this.planVersioning(fresh)},
      {items: [ITEMS.encryption], optional: custom, plan: () => this.planEncryption(fresh)},
      {items: [ITEMS.publicAccessBlock], optional: true, plan: () => this.planPublicAccessBlock(fresh)},
      {items: [ITEMS.ownership], optional: true, plan: () => this.planOwnership(fresh)},
      {items: [ITEMS.policy], optional: custom, plan: () => this.planPolicy(fresh)},
      {items: [ITEMS.noncurrent, ITEMS.multipart], optional: true, plan: () => this.planLifecycleRules(fresh)},
      {items: [ITEMS.tags], optional: true, plan: () => this.planTagging(fresh)},
    ]
  }

  encryption: BucketResult['encryption'] = {algorithm: 'AES256'}

  async planVersioning(fresh: boolean): Promise<Plan> {
    const {S} = this
    const cur = fresh ? undefined : await this.read('s3:GetBucketVersioning', undefined, () => this.s3.send(new S.GetBucketVersioningCommand({Bucket: this.bucket})))
    if (cur?.Status === 'Enabled') return {changes: [{item: ITEMS.versioning, status: 'unchanged', detail: 'Enabled'}]}
    const suspended = cur?.Status === 'Suspended'
    return {
      changes: [{item: ITEMS.versioning, status: suspended ? 'updated' : 'created', detail: suspended ? 'Suspended → Enabled' : 'Enabled'}],
      action: 's3:PutBucketVersioning',
      apply: () => this.s3.send(new S.PutBucketVersioningCommand({Bucket: this.bucket, VersioningConfiguration: {Status: 'Enabled'}})),
    }
  }

  async planEncryption(fresh: boolean): Promise<Plan> {
    const {S} = this
    const item = ITEMS.encryption
    const cur = fresh
      ? undefined
      : await this.read('s3:GetEncryptionConfiguration', 'ServerSideEncryptionConfigurationNotFoundError', () => this.s3.send(new S.GetBucketEncryptionCommand({Bucket: this.bucket})))
    const rule = cur?.ServerSideEncryptionConfiguration?.Rules?.[0]
    const alg = rule?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm as string | undefined
    const curKey = rule?.ApplyServerSideEncryptionByDefault?.KMSMasterKeyID
    const want = this.opts.kmsKey
    const kmsRule: ServerSideEncryptionRule = {ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'aws:kms', KMSMasterKeyID: want}, BucketKeyEnabled: true}
    const put = (r: ServerSideEncryptionRule) => () => this.s3.send(new S.PutBucketEncryptionCommand({Bucket: this.bucket, ServerSideEncryptionConfiguration: {Rules: [r]}}))
    const action = 's3:PutEncryptionConfiguration'
    const kmsLabel = (k: string | undefined) => (k ? `SSE-KMS (${k})` : 'SSE-KMS (AWS managed key aws/s3)')

    if (!want) {
      if (alg === 'aws:kms' || alg === 'aws:kms:dsse') {
        this.encryption = {algorithm: 'aws:kms', ...(curKey ? {kmsKeyId: curKey} : {})}
        return {changes: [{item, status: 'unchanged', detail: `${alg === 'aws:kms:dsse' ? 'DSSE-KMS' : 'SSE-KMS'} kept${curKey ? ` (${curKey})` : ''}`}]}
      }
      this.encryption = {algorithm: 'AES256'}
      if (alg) return {changes: [{item, status: 'unchanged', detail: alg === 'AES256' ? 'SSE-S3 (AES256)' : `${alg} kept`}]}
      return {changes: [{item, status: 'created', detail: 'SSE-S3 (AES256)'}], action, apply: put({ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'AES256'}})}
    }

    this.encryption = {algorithm: 'aws:kms', kmsKeyId: want}
    if (!alg) return {changes: [{item, status: 'created', detail: `${kmsLabel(want)}, bucket key on`}], action, apply: put(kmsRule)}
    if (alg === 'AES256') return {changes: [{item, status: 'updated', detail: `SSE-S3 → ${kmsLabel(want)}, bucket key on`}], action, apply: put(kmsRule)}
    if ((alg === 'aws:kms' || alg === 'aws:kms:dsse') && !curKey) {
      if (alg === 'aws:kms:dsse') throw this.keyConflict('DSSE-KMS with the AWS managed key', want)
      return {changes: [{item, status: 'updated', detail: `SSE-KMS aws/s3 → ${kmsLabel(want)}, bucket key on`}], action, apply: put(kmsRule)}
    }
    if (alg === 'aws:kms' || alg === 'aws:kms:dsse') {
      const same = compareKmsKeys(curKey!, want)
      if (same !== 'same') throw this.keyConflict(`${kmsLabel(curKey)}`, want, same === 'unknown')
      this.encryption = {algorithm: 'aws:kms', kmsKeyId: curKey}
      if (alg === 'aws:kms:dsse') return {changes: [{item, status: 'unchanged', detail: `DSSE-KMS (${curKey}) kept: stricter than SSE-KMS`}]}
      if (rule?.BucketKeyEnabled) return {changes: [{item, status: 'unchanged', detail: `${kmsLabel(curKey)}, bucket key on`}]}
      return {
        changes: [{item, status: 'updated', detail: `${kmsLabel(curKey)}: bucket key turned on`}],
        action,
        apply: put({ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'aws:kms', KMSMasterKeyID: curKey}, BucketKeyEnabled: true}),
      }
    }
    throw new PsbError(`Bucket ${this.bucket} uses default encryption ${alg}, which psb does not change.`, {
      code: 'EncryptionUnknown',
      hint: 'Run without --kms-key to keep it, or change the default encryption yourself.',
    })
  }

  keyConflict(present: string, want: string, unknown = false): PsbError {
    return new PsbError(
      unknown
        ? `Bucket ${this.bucket} is encrypted with ${present}; psb cannot tell without KMS whether --kms-key ${want} is the same key, and will not switch keys.`
        : `Bucket ${this.bucket} is encrypted with ${present}, not with --kms-key ${want}; psb will not switch the bucket to another key.`,
      {
        code: 'KmsKeyMismatch',
        data: {bucket: this.bucket, present, requested: want},
        hint: `Switching keys is a decision for you: objects written before stay encrypted with the old key, so Pulumi would need both keys. Run without --kms-key to keep the current key${unknown ? ', pass the key in the same form as the bucket shows it' : ''}, or change the key yourself with \`aws s3api put-bucket-encryption\` and run psb again.`,
      },
    )
  }

  async planPublicAccessBlock(fresh: boolean): Promise<Plan> {
    const {S} = this
    const item = ITEMS.publicAccessBlock
    const cur = fresh
      ? undefined
      : (await this.read('s3:GetBucketPublicAccessBlock', 'NoSuchPublicAccessBlockConfiguration', () => this.s3.send(new S.GetPublicAccessBlockCommand({Bucket: this.bucket}))))
          ?.PublicAccessBlockConfiguration
    const names = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const
    const off = names.filter((n) => cur?.[n] !== true)
    if (off.length === 0) return {changes: [{item, status: 'unchanged', detail: 'all four on'}]}
    return {
      changes: [{item, status: cur ? 'updated' : 'created', detail: cur ? `turned on ${off.join(', ')}` : 'all four on'}],
      action: 's3:PutBucketPublicAccessBlock',
      apply: () =>
        this.s3.send(
          new S.PutPublicAccessBlockCommand({
            Bucket: this.bucket,
            PublicAccessBlockConfiguration: {BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true},
          }),
        ),
    }
  }

  async planOwnership(fresh: boolean): Promise<Plan> {
    const {S} = this
    const item = ITEMS.ownership
    const cur = fresh
      ? undefined
      : await this.read('s3:GetBucketOwnershipControls', 'OwnershipControlsNotFoundError', () => this.s3.send(new S.GetBucketOwnershipControlsCommand({Bucket: this.bucket})))
    const now = cur?.OwnershipControls?.Rules?.[0]?.ObjectOwnership
    if (now === 'BucketOwnerEnforced') return {changes: [{item, status: 'unchanged', detail: 'BucketOwnerEnforced (ACLs disabled)'}]}
    return {
      changes: [{item, status: now ? 'updated' : 'created', detail: `${now ? `${now} → ` : ''}BucketOwnerEnforced (ACLs disabled)`}],
      action: 's3:PutBucketOwnershipControls',
      apply: () => this.s3.send(new S.PutBucketOwnershipControlsCommand({Bucket: this.bucket, OwnershipControls: {Rules: [{ObjectOwnership: 'BucketOwnerEnforced'}]}})),
    }
  }

  async planPolicy(fresh: boolean): Promise<Plan> {
    const {S} = this
    const item = ITEMS.policy
    const cur = fresh ? undefined : (await this.read('s3:GetBucketPolicy', 'NoSuchBucketPolicy', () => this.s3.send(new S.GetBucketPolicyCommand({Bucket: this.bucket}))))?.Policy
    const plan = planTlsPolicy(cur, this.arn)
    if (!plan.document) return {changes: [{item, status: plan.status, detail: plan.detail}]}
    const text = JSON.stringify(plan.document)
    return {
      changes: [{item, status: plan.status, detail: plan.detail}],
      action: 's3:PutBucketPolicy',
      apply: () => this.s3.send(new S.PutBucketPolicyCommand({Bucket: this.bucket, Policy: text})),
    }
  }

  async planLifecycleRules(fresh: boolean): Promise<Plan> {
    const {S} = this
    const cur = fresh
      ? undefined
      : await this.read('s3:GetLifecycleConfiguration', 'NoSuchLifecycleConfiguration', () => this.s3.send(new S.GetBucketLifecycleConfigurationCommand({Bucket: this.bucket})))
    const plan = planLifecycle(cur?.Rules, this.opts.noncurrentDays)
    for (const note of plan.notes) this.logger.info(note)
    const changes: Change[] = [
      {item: ITEMS.noncurrent, ...plan.noncurrent},
      {item: ITEMS.multipart, ...plan.multipart},
    ]
    if (!plan.changed) return {changes}
    const minSize = cur?.TransitionDefaultMinimumObjectSize as TransitionDefaultMinimumObjectSize | undefined
    return {
      changes,
      action: 's3:PutLifecycleConfiguration',
      apply: () =>
        plan.rules.length === 0
          ? this.s3.send(new S.DeleteBucketLifecycleCommand({Bucket: this.bucket}))
          : this.s3.send(
              new S.PutBucketLifecycleConfigurationCommand({
                Bucket: this.bucket,
                LifecycleConfiguration: {Rules: plan.rules},
                ...(minSize ? {TransitionDefaultMinimumObjectSize: minSize} : {}),
              }),
            ),
    }
  }

  async planTagging(fresh: boolean): Promise<Plan> {
    const {S} = this
    const item = ITEMS.tags
    const cur = fresh ? undefined : (await this.read('s3:GetBucketTagging', 'NoSuchTagSet', () => this.s3.send(new S.GetBucketTaggingCommand({Bucket: this.bucket}))))?.TagSet
    const plan = planTags(cur, this.opts.tags)
    if (plan.status === 'unchanged') return {changes: [{item, status: 'unchanged', detail: plan.detail}]}
    if (plan.reserved.length > 0) {
      const message = `Bucket ${this.bucket} carries reserved tags (${plan.reserved.join(', ')}) that PutBucketTagging cannot write back, so psb leaves its tags alone; wanted: ${plan.detail}.`
      this.logger.warn(message)
      return {changes: [{item, status: 'skipped', detail: 'reserved aws: tags present; tags left as they are'}]}
    }
    return {
      changes: [{item, status: plan.status, detail: plan.detail}],
      action: 's3:PutBucketTagging',
      apply: () => this.s3.send(new S.PutBucketTaggingCommand({Bucket: this.bucket, Tagging: {TagSet: plan.tags}})),
    }
  }

  /** The changes of an optional setting on a store that does not implement it (with a warning). */
  skipped(items: string[], error: unknown): Change[] {
    const code = codeOf(error) ?? `HTTP ${statusOf(error)}`
    this.logger.warn(`The S3 endpoint does not support ${items.join(' / ')} (${code}); skipped. Check whether the store offers an equivalent.`)
    return items.map((item) => ({item, status: 'skipped', detail: `not supported by this store (${code})`}))
  }

  /** True when `error` means the store lacks this optional setting. */
  skippable(setting: Setting, error: unknown): boolean {
    return setting.optional && isUnsupported(error, this.customEndpoint)
  }

  async guard(setting: Setting): Promise<Plan> {
    try {
      return await setting.plan()
    } catch (error) {
      if (this.skippable(setting, error)) return {changes: this.skipped(setting.items, error)}
      throw error
    }
  }
}

/**
 * Creates the state bucket or brings an existing one up to standard, per setting,
 * without weakening anything. See the module comment and docs/bucket.md.
 */
export async function ensureBucket(ctx: AwsContext, opts: BucketOptions): Promise<BucketResult> {
  return withPartialChanges((changes) => ensureBucketInto(ctx, opts, changes))
}

/** ensureBucket, listing each change into `changes` as it is made. */
async function ensureBucketInto(ctx: AwsContext, opts: BucketOptions, changes: Change[]): Promise<BucketResult> {
  validateBucketOptions(opts)
  const S = await import('@aws-sdk/client-s3')
  const s3 = await ctx.s3(opts.region)
  const run = new BucketRun(ctx, opts, S, s3)
  const dryRun = Boolean(opts.dryRun)

  let exists = await run.probe()
  let created = false
  if (!exists) {
    if (dryRun) {
      changes.push({item: ITEMS.bucket, status: 'planned', detail: `would create in ${opts.region}`})
    } else {
      const made = await run.create()
      if (made === 'exists') {
        exists = true
        changes.push({item: ITEMS.bucket, status: 'unchanged', detail: `exists in ${opts.region}`})
      } else {
        created = true
        run.justCreated = true
        await run.waitVisible()
        changes.push({item: ITEMS.bucket, status: 'created', detail: `in ${opts.region}`})
      }
    }
  } else {
    changes.push({item: ITEMS.bucket, status: 'unchanged', detail: `exists in ${opts.region}`})
  }
  const fresh = !exists && !created

  // Plan: read every setting (in parallel) and decide.
  const settings = run.settings(fresh)
  const plans = await Promise.all(settings.map((setting) => run.guard(setting)))

  // Apply: one change after another.
  for (const [i, plan] of plans.entries()) {
    if (plan.apply && dryRun) {
      for (const c of plan.changes) {
        if (c.status === 'created' || c.status === 'updated') {
          changes.push({item: c.item, status: 'planned', detail: `would be ${c.status === 'created' ? 'set' : 'updated'}: ${c.detail ?? ''}`.trim()})
        } else changes.push(c)
      }
      continue
    }
    if (plan.apply) {
      try {
        await run.call(plan.action!, plan.apply, created ? isNoSuchBucket : undefined)
      } catch (error) {
        if (run.skippable(settings[i], error)) {
          changes.push(...run.skipped(settings[i].items, error))
          continue
        }
        if (codeOf(error) === 'InvalidBucketAclWithObjectOwnership') {
          throw new PsbError(`Cannot disable ACLs on ${opts.bucket}: its bucket ACL grants access to other accounts or groups.`, {
            code: 'InvalidBucketAclWithObjectOwnership',
            cause: error,
            hint: `Review the grants (aws s3api get-bucket-acl --bucket ${opts.bucket}), replace them with a bucket policy if they are needed, reset the ACL (aws s3api put-bucket-acl --bucket ${opts.bucket} --acl private), then run psb again.`,
          })
        }
        throw error
      }
    }
    // On a bucket created in this run, what S3 already had (e.g. ObjectOwnership sent with
    // CreateBucket, or S3's defaults) was set at creation.
    changes.push(...plan.changes.map((c) => (created && c.status === 'unchanged' ? {...c, status: 'created' as const, detail: `${c.detail ?? ''}, set at creation`} : c)))
  }

  return {
    bucket: opts.bucket,
    region: opts.region,
    arn: run.arn,
    created,
    encryption: run.encryption,
    changes,
    warnings: run.warnings,
    dryRun,
  }
}
