/**
 * Tags: managed-by=psb plus --tag key=value, merged with the tags already on the bucket.
 * A bucket with reserved aws: tags is left alone (PutBucketTagging cannot write them back).
 */
import type {Tag} from '@aws-sdk/client-s3'
import {plural} from '../../echo.js'
import {ITEMS, row, type BucketSetting, type SettingPlan} from './setting.js'

export const MANAGED_BY_KEY = 'managed-by'
export const MANAGED_BY_VALUE = 'psb'

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

export function planTagSetting(current: Tag[] | undefined, wanted: Record<string, string> | undefined, bucket: string): SettingPlan<Tag[]> {
  const item = ITEMS.tags
  const plan = planTags(current, wanted)
  if (plan.status === 'unchanged') return {changes: [{item, status: 'unchanged', detail: plan.detail}]}
  if (plan.reserved.length > 0) {
    const message = `Bucket ${bucket} carries reserved tags (${plan.reserved.join(', ')}) that PutBucketTagging cannot write back, so psb leaves its tags alone; wanted: ${plan.detail}.`
    return {changes: [{item, status: 'skipped', detail: 'reserved aws: tags present; tags left as they are'}], warn: [message]}
  }
  return {changes: [{item, status: plan.status, detail: plan.detail}], change: plan.tags}
}

export const tags: BucketSetting<Tag[], Tag[]> = {
  id: ITEMS.tags,
  items: [ITEMS.tags],
  optional: () => true,
  action: 's3:PutBucketTagging',
  read: async (io) => (await io.read('s3:GetBucketTagging', 'NoSuchTagSet', () => io.s3.send(new io.S.GetBucketTaggingCommand({Bucket: io.bucket}))))?.TagSet,
  plan: (current, want) => planTagSetting(current, want.tags, want.bucket),
  apply: (io, TagSet) => io.s3.send(new io.S.PutBucketTaggingCommand({Bucket: io.bucket, Tagging: {TagSet}})),
}

export const tagsRow = row(tags)
