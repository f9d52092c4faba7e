/**
 * The Pulumi stacks a self-managed backend holds, read from the bucket (no Pulumi CLI needed):
 * `<prefix>/.pulumi/stacks/<project>/<stack>.json` (and the older `<stack>.json` without a
 * project folder; `.json.gz` when Pulumi compresses state). Each stack's last update time is
 * its state file's LastModified. Used by `psb destroy` (it refuses while stacks exist).
 */
import type {AwsContext} from '../aws/client.js'
import {awsCall} from '../aws/errors.js'
import {prefixBase} from '../bucket/prefix.js'

export interface StackInfo {
  /** The prefix the backend lives under ('' for the bucket's root). */
  prefix: string
  /** `project/stack` (or `stack` in the layout without projects). */
  name: string
  /** The state file's key. */
  key: string
  /** When the state file was last written (the stack's last update). */
  lastUpdated?: Date
}

const STATE_FILE = /^(.+)\.json(\.gz)?$/

interface Listing {
  keys: {key: string; lastModified?: Date}[]
  dirs: string[]
}

/** One level (Delimiter '/') or the whole subtree of `prefix`, every page. */
async function listLevel(ctx: AwsContext, bucket: string, prefix: string, delimiter: boolean): Promise<Listing> {
  const s3 = await ctx.s3()
  const {ListObjectsV2Command} = await import('@aws-sdk/client-s3')
  const out: Listing = {keys: [], dirs: []}
  let token: string | undefined
  do {
    const page = await awsCall({action: 's3:ListBucket', resource: `arn:aws:s3:::${bucket}`}, () =>
      s3.send(new ListObjectsV2Command({Bucket: bucket, Prefix: prefix || undefined, Delimiter: delimiter ? '/' : undefined, ContinuationToken: token})),
    )
    for (const o of page.Contents ?? []) if (o.Key) out.keys.push({key: o.Key, lastModified: o.LastModified})
    for (const p of page.CommonPrefixes ?? []) if (p.Prefix) out.dirs.push(p.Prefix)
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
  return out
}

/** The stacks of the backend at exactly `base` (`team-a/` or '' for the root). */
async function stacksAt(ctx: AwsContext, bucket: string, base: string): Promise<StackInfo[]> {
  const root = `${base}.pulumi/stacks/`
  const {keys} = await listLevel(ctx, bucket, root, false)
  const out: StackInfo[] = []
  for (const {key, lastModified} of keys) {
    const m = STATE_FILE.exec(key.slice(root.length))
    if (m) out.push({prefix: base.replace(/\/$/, ''), name: m[1], key, lastUpdated: lastModified})
  }
  return out
}

/**
 * The stacks under `prefix` (only that backend), or with no prefix every backend in the bucket:
 * the root's and every prefix's that holds a `.pulumi/` folder. The walk lists folders one level
 * at a time (Delimiter '/') and never enters `.pulumi/` except its `stacks/`, so its cost is
 * the number of folders, not of objects. Sorted by prefix and name.
 */
export async function listStacks(ctx: AwsContext, bucket: string, prefix?: string): Promise<StackInfo[]> {
  if (prefix !== undefined) return stacksAt(ctx, bucket, prefixBase(prefix))
  const found: StackInfo[] = []
  const queue = ['']
  while (queue.length > 0) {
    const dir = queue.shift()!
    const {dirs} = await listLevel(ctx, bucket, dir, true)
    for (const d of dirs) {
      if (d === `${dir}.pulumi/`) found.push(...(await stacksAt(ctx, bucket, dir)))
      else queue.push(d)
    }
  }
  return found.sort((a, b) => a.prefix.localeCompare(b.prefix) || a.name.localeCompare(b.name))
}
