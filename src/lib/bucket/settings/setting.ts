/**
 * The contract of one bucket setting: read what the bucket has, plan by meaning (never
 * weaker) against what psb wants, and apply the one change the plan decided.
 */
import type {S3Client} from '@aws-sdk/client-s3'
import type {Change} from '../../types.js'

export type S3Module = typeof import('@aws-sdk/client-s3')

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
  deleteMarkers: 'lifecycle-expired-delete-markers',
  tags: 'tags',
} as const

/** What a setting needs to talk to S3: reads go through the run's retries and error translation. */
export interface SettingIO {
  readonly S: S3Module
  readonly s3: S3Client
  readonly bucket: string
  /** The store is an --endpoint store (S3-compatible), not AWS. */
  readonly customEndpoint?: boolean
  /** A read that answers `undefined` when the setting is not configured (`notFoundCode`). */
  read<T>(action: string, notFoundCode: string | undefined, fn: () => Promise<T>): Promise<T | undefined>
}

/** What psb wants of the bucket (from BucketOptions). */
export interface Want {
  bucket: string
  arn: string
  kmsKey?: string
  noncurrentDays?: number
  /** --history-days: expiry of <statePrefix>/.pulumi/history/ and backups/ (history-expiry.ts). */
  historyDays?: number
  statePrefix?: string
  tags?: Record<string, string>
}

export interface Encryption {
  algorithm: 'AES256' | 'aws:kms'
  kmsKeyId?: string
}

/** A setting's decision: its Change items (as they will be after apply) and the change to write, if any. */
export interface SettingPlan<P> {
  changes: Change[]
  /** What apply writes; absent when nothing needs writing. */
  change?: P
  /** Notes for the logger's info / warn. */
  info?: string[]
  warn?: string[]
  /** The bucket's default encryption after the run (the encryption setting only). */
  encryption?: Encryption
}

export interface BucketSetting<C, P> {
  id: string
  /** The Change items it reports. */
  items: string[]
  /** May be skipped on a store that does not implement it (`custom`: an --endpoint store). */
  optional: (custom: boolean) => boolean
  /** The S3 action of the write, for errors. */
  action: string
  read(io: SettingIO): Promise<C | undefined>
  plan(current: C | undefined, want: Want): SettingPlan<P>
  apply(io: SettingIO, change: P): Promise<unknown>
}

/**
 * What an apply answers when the store took only part of the change (lifecycle rules it
 * refuses one by one): the Change items it skipped, warnings, and the ids to remember
 * (../store-memory.ts: written by the tags setting, later in the table).
 */
export interface PartialApply {
  skipped: Change[]
  warn: string[]
  remember?: string[]
}

export function isPartialApply(value: unknown): value is PartialApply {
  return typeof value === 'object' && value !== null && Array.isArray((value as PartialApply).skipped) && Array.isArray((value as PartialApply).warn)
}

/** A planned setting with its write bound, so that the table can hold settings of any type. */
export interface Planned {
  changes: Change[]
  info?: string[]
  warn?: string[]
  encryption?: Encryption
  apply?: () => Promise<unknown>
}

/** A table row: the setting with its types erased. */
export interface SettingRow {
  id: string
  items: string[]
  optional: (custom: boolean) => boolean
  action: string
  /** Reads (unless `fresh`: a bucket that does not exist yet) and plans. */
  plan(io: SettingIO, want: Want, fresh: boolean): Promise<Planned>
}

export function row<C, P>(setting: BucketSetting<C, P>): SettingRow {
  const {id, items, optional, action} = setting
  return {
    id,
    items,
    optional,
    action,
    async plan(io, want, fresh) {
      const current = fresh ? undefined : await setting.read(io)
      const {change, ...rest} = setting.plan(current, want)
      return change === undefined ? rest : {...rest, apply: () => setting.apply(io, change)}
    },
  }
}
