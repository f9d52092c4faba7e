/** The bucket setting: adds the required tags the bucket lacks (read / plan / apply, never weaker). */
import {merged, planTags, type Required, type Tags} from './policy.js'
import {readTags, writeTags, type S3Like, type S3Module} from './s3.js'

export const ITEM = 'tag-policy'

interface IO {
  S: S3Module
  s3: S3Like
  bucket: string
}

interface Change {
  item: string
  status: 'created' | 'updated' | 'unchanged'
  detail?: string
}

export function tagPolicySetting(policy: Required[]) {
  return {
    id: ITEM,
    items: [ITEM],
    action: 's3:PutBucketTagging',
    read: (io: IO): Promise<Tags> => readTags(io.s3, io.S, io.bucket),
    plan(current: Tags | undefined) {
      const {add, warn} = planTags(current ?? {}, policy)
      const keys = Object.keys(add)
      const changes: Change[] = [
        keys.length === 0
          ? {item: ITEM, status: 'unchanged', detail: `required tags present (${policy.map((r) => r.key).join(', ')})`}
          : {item: ITEM, status: current === undefined || Object.keys(current).length === 0 ? 'created' : 'updated', detail: `adds ${keys.map((k) => `${k}=${add[k]}`).join(', ')}`},
      ]
      return keys.length === 0 ? {changes, warn} : {changes, warn, change: add}
    },
    // Read again at write time: psb's own tags setting may have written the tag set a moment ago.
    async apply(io: IO, add: Tags): Promise<void> {
      const now = await readTags(io.s3, io.S, io.bucket)
      await writeTags(io.s3, io.S, io.bucket, merged(now, add))
    },
  }
}
