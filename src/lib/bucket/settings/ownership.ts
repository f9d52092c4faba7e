/** Object Ownership: BucketOwnerEnforced (ACLs disabled). */
import type {ObjectOwnership} from '@aws-sdk/client-s3'
import {ITEMS, row, type BucketSetting, type SettingPlan} from './setting.js'

const WANT = 'BucketOwnerEnforced'

export function planOwnership(now: string | undefined): SettingPlan<ObjectOwnership> {
  const item = ITEMS.ownership
  if (now === WANT) return {changes: [{item, status: 'unchanged', detail: 'BucketOwnerEnforced (ACLs disabled)'}]}
  return {changes: [{item, status: now ? 'updated' : 'created', detail: `${now ? `${now} → ` : ''}BucketOwnerEnforced (ACLs disabled)`}], change: WANT}
}

export const ownership: BucketSetting<string, ObjectOwnership> = {
  id: ITEMS.ownership,
  items: [ITEMS.ownership],
  optional: () => true,
  action: 's3:PutBucketOwnershipControls',
  read: async (io) =>
    (await io.read('s3:GetBucketOwnershipControls', 'OwnershipControlsNotFoundError', () => io.s3.send(new io.S.GetBucketOwnershipControlsCommand({Bucket: io.bucket}))))
      ?.OwnershipControls?.Rules?.[0]?.ObjectOwnership,
  plan: planOwnership,
  apply: (io, ObjectOwnership) => io.s3.send(new io.S.PutBucketOwnershipControlsCommand({Bucket: io.bucket, OwnershipControls: {Rules: [{ObjectOwnership}]}})),
}

export const ownershipRow = row(ownership)
