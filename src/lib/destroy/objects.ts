/**
 * Emptying the bucket (or one prefix of it) for `psb destroy`: every object version and
 * delete marker, one ListObjectVersions page (at most 1,000) and one DeleteObjects request per
 * page, in rounds of up to 8 pages whose deletes run in parallel.
 * Nothing is remembered between runs: a re-run lists what is left and deletes it.
 */
import pLimit from 'p-limit'
import type {AwsContext} from '../aws/client.js'
import {awsCall, withBackoff} from '../aws/errors.js'
import {prefixBase} from '../bucket/prefix.js'
import {PsbError} from '../errors.js'
import {throwIfInterrupted} from '../interrupt.js'
import type {Progress} from './options.js'

export interface VersionRef {
  Key: string
  VersionId?: string
}

export interface VersionPage {
  items: VersionRef[]
  next?: {KeyMarker?: string; VersionIdMarker?: string}
}

/** One page (up to 1,000) of the versions and delete markers under `prefix` (the whole bucket when undefined). */
export async function listVersionPage(ctx: AwsContext, bucket: string, prefix: string | undefined, from?: VersionPage['next']): Promise<VersionPage> {
  const s3 = await ctx.s3()
  const {ListObjectVersionsCommand} = await import('@aws-sdk/client-s3')
  const r = await awsCall({action: 's3:ListBucketVersions', resource: `arn:aws:s3:::${bucket}`}, () =>
    s3.send(new ListObjectVersionsCommand({Bucket: bucket, Prefix: prefixBase(prefix) || undefined, MaxKeys: 1000, ...from})),
  )
  const items: VersionRef[] = []
  for (const v of [...(r.Versions ?? []), ...(r.DeleteMarkers ?? [])]) if (v.Key) items.push({Key: v.Key, VersionId: v.VersionId})
  const next = r.IsTruncated ? {KeyMarker: r.NextKeyMarker, VersionIdMarker: r.NextVersionIdMarker} : undefined
  return {items, ...(next ? {next} : {})}
}

/** One DeleteObjects request (quiet); versions S3 reports as failed are retried with backoff, then it fails. */
async function deleteBatch(ctx: AwsContext, bucket: string, items: VersionRef[]): Promise<void> {
  const s3 = await ctx.s3()
  const {DeleteObjectsCommand} = await import('@aws-sdk/client-s3')
  await withBackoff(
    async () => {
      const r = await awsCall({action: 's3:DeleteObjectVersion', resource: `arn:aws:s3:::${bucket}/*`}, () =>
        s3.send(new DeleteObjectsCommand({Bucket: bucket, Delete: {Objects: items, Quiet: true}})),
      )
      const errors = r.Errors ?? []
      if (errors.length > 0) {
        const first = errors[0]
        throw new PsbError(`S3 did not delete ${errors.length} of ${items.length} object versions in ${bucket} (${first.Code}: ${first.Message}).`, {
          code: first.Code === 'AccessDenied' ? 'AccessDenied' : 'DeleteObjectsFailed',
          hint: 'Check that the bucket has no Object Lock retention or legal hold, and that you may s3:DeleteObjectVersion; then run `psb destroy` again: it carries on where it stopped.',
        })
      }
    },
    {maxMs: 20_000, retryIf: (error) => error instanceof PsbError && error.code === 'DeleteObjectsFailed'},
  )
}

/**
 * Deletes every version and delete marker under `prefix`, starting with `first` when the plan
 * already listed it. Returns the counts; `onProgress` after each delete.
 */
export async function deleteAllVersions(
  ctx: AwsContext,
  bucket: string,
  prefix: string | undefined,
  o: {first?: VersionPage; concurrency?: number; onProgress?: (p: Progress) => void},
): Promise<{deleted: number; listRequests: number; deleteRequests: number}> {
  const width = o.concurrency ?? 8
  const limit = pLimit(width)
  const counts = {deleted: 0, listRequests: o.first ? 1 : 0, deleteRequests: 0}
  const remove = (items: VersionRef[]) =>
    limit(async () => {
      await deleteBatch(ctx, bucket, items)
      counts.deleteRequests++
      counts.deleted += items.length
      o.onProgress?.({deleted: counts.deleted, requests: counts.listRequests + counts.deleteRequests})
    })
  const list = async (from?: VersionPage['next']) => {
    counts.listRequests++
    return listVersionPage(ctx, bucket, prefix, from)
  }
  // Rounds: list up to `width` pages (each from the marker of the one before), delete them all
  // at once, then list again from the start (what was deleted is gone). A listing never runs
  // while a delete does, nor starts from a deleted marker: S3 does not mind either; moto does
  // (it loses its place, or fails with a 500).
  let first = o.first
  for (;;) {
    throwIfInterrupted('stopped while emptying the bucket; run `psb destroy` again to finish.')
    const pages: VersionPage[] = [first ?? (await list())]
    first = undefined
    while (pages.length < width && pages.at(-1)!.next) pages.push(await list(pages.at(-1)!.next))
    await Promise.all(pages.filter((p) => p.items.length > 0).map((p) => remove(p.items)))
    if (!pages.at(-1)!.next) break
  }
  return counts
}
