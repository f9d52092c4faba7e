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

/**
 * Deletes `keys` in batches of 1,000, `parallel` batches at a time, in the order given
 * (oldest first: a run killed midway leaves the newest, and a re-run finishes the rest).
 * `onBatch` reports progress after each batch.
 */
export async function deleteObjects(
  t: Target,
  keys: string[],
  opts: {parallel?: number; count?: RequestCount; onBatch?: (done: number, total: number) => void; beforeBatch?: () => void} = {},
): Promise<DeleteOutcome> {
  const {DeleteObjectsCommand} = await import('@aws-sdk/client-s3')
  const count = opts.count ?? newCount()
  const batches: string[][] = []
  for (let i = 0; i < keys.length; i += BATCH) batches.push(keys.slice(i, i + BATCH))
  const outcome: DeleteOutcome = {deleted: [], failed: []}
  let next = 0
  let done = 0
  const worker = async (): Promise<void> => {
    while (next < batches.length) {
      opts.beforeBatch?.()
      const batch = batches[next++]
      const r = await awsCall({action: 's3:DeleteObject', resource: `arn:aws:s3:::${t.bucket}/${batch[0]} (and ${batch.length - 1} more)`, principal: t.principal}, () =>
        t.s3.send(new DeleteObjectsCommand({Bucket: t.bucket, Delete: {Quiet: true, Objects: batch.map((Key) => ({Key}))}})),
      )
      count.delete++
      const failed = new Set<string>()
      for (const e of r.Errors ?? []) {
        if (!e.Key) continue
        failed.add(e.Key)
        outcome.failed.push({key: e.Key, code: e.Code, message: e.Message})
      }
      for (const k of batch) if (!failed.has(k)) outcome.deleted.push(k)
      done += batch.length
      opts.onBatch?.(done, keys.length)
    }
  }
  await Promise.all(Array.from({length: Math.min(opts.parallel ?? 4, batches.length)}, worker))
  return outcome
}
