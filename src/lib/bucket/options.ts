/** The options of ensureBucket, its result, and every bad-input check (all before any AWS call). */
import {echo, NAME_SHAPE} from '../echo.js'
import {badInput} from '../errors.js'
import type {Change, Logger} from '../types.js'
import {validateBucketName} from './name.js'
import type {Encryption, SettingRow} from './settings/setting.js'
import {MANAGED_BY_KEY, MANAGED_BY_VALUE} from './settings/tags.js'

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
  /**
   * Days after which the objects of <statePrefix>/.pulumi/history/ and backups/ expire
   * (a lifecycle rule each; settings/history-expiry.ts). Undefined: off, psb's rules kept; 0: removed.
   */
  historyDays?: number
  /** The state prefix the history rules cover (none: the bucket's own .pulumi/). */
  statePrefix?: string
  /** managed-by=psb is always added. */
  tags?: Record<string, string>
  dryRun?: boolean
  /** Settings added by plugins (`psb:bucket-settings`, run by the command layer), after psb's own, same rules. */
  extraSettings?: readonly SettingRow[]
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
  encryption: Encryption
  /** One per setting. */
  changes: Change[]
  /** Warnings also sent to the logger (e.g. settings skipped on an S3-compatible store). */
  warnings: string[]
  dryRun: boolean
}

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
  const h = opts.historyDays
  if (h !== undefined && (!Number.isInteger(h) || h < 0 || h > 36500)) {
    throw badInput(`--history-days must be a whole number from 0 to 36500, not ${h}.`, 'Use e.g. --history-days 365, or 0 to remove psb\'s history rules.', 'HistoryDaysInvalid')
  }
  if (opts.tags) validateTags(opts.tags)
}
