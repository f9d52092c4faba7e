/** Block Public Access: all four switches on. */
import type {PublicAccessBlockConfiguration} from '@aws-sdk/client-s3'
import {ITEMS, row, type BucketSetting, type SettingPlan} from './setting.js'

const SWITCHES = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const
const ALL_ON: PublicAccessBlockConfiguration = {BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}

export function planPublicAccessBlock(cur: PublicAccessBlockConfiguration | undefined): SettingPlan<PublicAccessBlockConfiguration> {
  const item = ITEMS.publicAccessBlock
  const off = SWITCHES.filter((n) => cur?.[n] !== true)
  if (off.length === 0) return {changes: [{item, status: 'unchanged', detail: 'all four on'}]}
  return {changes: [{item, status: cur ? 'updated' : 'created', detail: cur ? `turned on ${off.join(', ')}` : 'all four on'}], change: ALL_ON}
}

export const publicAccessBlock: BucketSetting<PublicAccessBlockConfiguration, PublicAccessBlockConfiguration> = {
  id: ITEMS.publicAccessBlock,
  items: [ITEMS.publicAccessBlock],
  optional: () => true,
  action: 's3:PutBucketPublicAccessBlock',
  read: async (io) =>
    (await io.read('s3:GetBucketPublicAccessBlock', 'NoSuchPublicAccessBlockConfiguration', () => io.s3.send(new io.S.GetPublicAccessBlockCommand({Bucket: io.bucket}))))
      ?.PublicAccessBlockConfiguration,
  plan: planPublicAccessBlock,
  apply: (io, config) => io.s3.send(new io.S.PutPublicAccessBlockCommand({Bucket: io.bucket, PublicAccessBlockConfiguration: {...config}})),
}

export const publicAccessBlockRow = row(publicAccessBlock)
