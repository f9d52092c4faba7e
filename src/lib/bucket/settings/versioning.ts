/** Versioning: Enabled (a Suspended bucket is turned back on). */
import {ITEMS, row, type BucketSetting, type SettingPlan} from './setting.js'

export function planVersioning(status: string | undefined): SettingPlan<'Enabled'> {
  const item = ITEMS.versioning
  if (status === 'Enabled') return {changes: [{item, status: 'unchanged', detail: 'Enabled'}]}
  const suspended = status === 'Suspended'
  return {changes: [{item, status: suspended ? 'updated' : 'created', detail: suspended ? 'Suspended → Enabled' : 'Enabled'}], change: 'Enabled'}
}

export const versioning: BucketSetting<string, 'Enabled'> = {
  id: ITEMS.versioning,
  items: [ITEMS.versioning],
  optional: () => false,
  action: 's3:PutBucketVersioning',
  read: async (io) => (await io.read('s3:GetBucketVersioning', undefined, () => io.s3.send(new io.S.GetBucketVersioningCommand({Bucket: io.bucket}))))?.Status,
  plan: planVersioning,
  apply: (io, Status) => io.s3.send(new io.S.PutBucketVersioningCommand({Bucket: io.bucket, VersioningConfiguration: {Status}})),
}

export const versioningRow = row(versioning)
