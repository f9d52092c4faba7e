/**
 * The object reads and deletes of the state domain: a paginated listing under a key prefix
 * and deletes in batches of 1,000 (DeleteObjects), a few batches at a time. Every request is
 * counted, so a caller (and the bench) can account for each one.
 */
import type {S3Client} from '@aws-sdk/client-s3'
import {awsCall} from '../aws/errors.js'

export interface StoredObject {
  key: string
  size: number
  lastModified?: Date
}

export interface Target {
  s3: S3Client
  bucket: string
  /** Who acts, named in errors ("profile pulumi"). */
  principal?: string
}

/** Requests made, by kind (the bench and the tests read them). */
export interface RequestCount {
  list: number
  get: number
  delete: number
}

export const newCount = (): RequestCount => ({list: 0, get: 0, delete: 0})

/** Every object under `prefix`, in key order (one ListObjectsV2 per 1,000 keys). */
export async function listObjects(t: Target, prefix: string, count: RequestCount = newCount()): Promise<StoredObject[]> {
  const {ListObjectsV2Command} = await import('@aws-sdk/client-s3')
  const out: StoredObject[] = []
  let token: string | undefined
  do {
    const page = await awsCall({action: 's3:ListBucket', resource: `arn:aws:s3:::${t.bucket} (prefix ${prefix})`, principal: t.principal}, () =>
      t.s3.send(new ListObjectsV2Command({Bucket: t.bucket, Prefix: prefix, ContinuationToken: token})),
    )
    count.list++
    for (const o of page.Contents ?? []) if (o.Key) out.push({key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified})
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
  return out
}

/** The text of one object, or undefined when it is gone. */
export async function readObject(t: Target, key: string, count: RequestCount = newCount()): Promise<string | undefined> {
  const {GetObjectCommand} = await import('@aws-sdk/client-s3')
  count.get++
  return awsCall({action: 's3:GetObject', resource: `arn:aws:s3:::${t.bucket}/${key}`, principal: t.principal}, async () => {
    try {
      const got = await t.s3.send(new GetObjectCommand({Bucket: t.bucket, Key: key}))
      return await got.Body?.transformToString()
    } catch (error) {
      if ((error as {name?: string}).name === 'NoSuchKey') return undefined
      throw error
    }
  })
}

export const BATCH = 1000

export interface DeleteOutcome {
  deleted: string[]
  failed: {key: string; code?: string; message?: string}[]
}

/** One DeleteObject per key, `parallel` at a time (a denial is a real error naming the key). */
async function deleteEach(t: Target, keys: string[], count: RequestCount, parallel = 16): Promise<void> {
  const {DeleteObjectCommand} = await import('@aws-sdk/client-s3')
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const Key = keys[next++]
      await awsCall({action: 's3:DeleteObject', resource: `arn:aws:s3:::${t.bucket}/${Key}`, principal: t.principal}, () => t.s3.send(new DeleteObjectCommand({Bucket: t.bucket, Key})))
      count.delete++
    }
  }
  await Promise.all(Array.from({length: Math.min(parallel, keys.length)}, worker))
}

/**
 * Deletes `keys` in batches of 1,000 (DeleteObjects), `parallel` batches at a time, in the
 * order given (oldest first). A store that denies every key of a batch although the caller may
 * delete each one (moto judges DeleteObjects on the bucket, not on each key; some
 * S3-compatible stores lack it) gets one DeleteObject per key from then on.
 * `onBatch` reports progress after each batch.
 */
export async function deleteObjects(
  t: Target,
  keys: string[],
  opts: {parallel?: number; count?: RequestCount; onBatch?: (done: number, total: number) => void; beforeBatch?: () => void} = {},
): Promise<DeleteOutcome & {singleDeletes: boolean}> {
  const {DeleteObjectsCommand} = await import('@aws-sdk/client-s3')
  const count = opts.count ?? newCount()
  const batches: string[][] = []
  for (let i = 0; i < keys.length; i += BATCH) batches.push(keys.slice(i, i + BATCH))
  const outcome: DeleteOutcome & {singleDeletes: boolean} = {deleted: [], failed: [], singleDeletes: false}
  let next = 0
  let done = 0
  const worker = async (): Promise<void> => {
    while (next < batches.length) {
      opts.beforeBatch?.()
      const batch = batches[next++]
      let failed: DeleteOutcome['failed'] = []
      if (!outcome.singleDeletes) {
        const r = await awsCall({action: 's3:DeleteObject', resource: `arn:aws:s3:::${t.bucket}/${batch[0]} (and ${batch.length - 1} more)`, principal: t.principal}, () =>
          t.s3.send(new DeleteObjectsCommand({Bucket: t.bucket, Delete: {Quiet: true, Objects: batch.map((Key) => ({Key}))}})),
        )
        count.delete++
        failed = (r.Errors ?? []).filter((e) => e.Key).map((e) => ({key: e.Key!, code: e.Code, message: e.Message}))
        if (failed.length === batch.length && failed.every((f) => f.code === 'AccessDenied')) outcome.singleDeletes = true
      }
      if (outcome.singleDeletes && (failed.length === batch.length || failed.length === 0)) {
        await deleteEach(t, batch, count)
        failed = []
      }
      const bad = new Set(failed.map((f) => f.key))
      outcome.failed.push(...failed)
      for (const k of batch) if (!bad.has(k)) outcome.deleted.push(k)
      done += batch.length
      opts.onBatch?.(done, keys.length)
    }
  }
  await Promise.all(Array.from({length: Math.min(opts.parallel ?? 4, batches.length)}, worker))
  return outcome
}
