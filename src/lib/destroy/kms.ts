/**
 * The KMS side of `psb destroy`: a key psb made for this bucket (alias `alias/pulumi-<bucket>`
 * or `alias/pulumi-<bucket>-<prefix>`, tags managed-by=psb and psb-bucket=<bucket>, and
 * psb-prefix=<prefix> for a prefix's key) is never deleted at once: it is scheduled for
 * deletion with the longest waiting period AWS allows (30 days), so it can still be cancelled.
 * Its alias stays, so the key is easy to find for `aws kms cancel-key-deletion`.
 */
import type {AwsContext} from '../aws/client.js'
import {awsCall} from '../aws/errors.js'
import {BUCKET_TAG, PREFIX_TAG} from '../aws/tags.js'
import {MANAGED_BY_KEY, MANAGED_BY_VALUE} from '../bucket/settings/tags.js'
import type {Change} from '../types.js'
import {unlessGone} from './iam.js'
import {KMS_PENDING_DAYS, type KmsKey} from './options.js'

const kmsSdk = () => import('@aws-sdk/client-kms')

/** Every alias of the account that starts with `alias/pulumi-<bucket>`, by target key. */
async function candidateAliases(ctx: AwsContext, bucket: string): Promise<Map<string, string[]>> {
  const kms = await ctx.kms()
  const {ListAliasesCommand} = await kmsSdk()
  const byKey = new Map<string, string[]>()
  const stem = `alias/pulumi-${bucket}`
  let marker: string | undefined
  do {
    const r = await awsCall({action: 'kms:ListAliases'}, () => kms.send(new ListAliasesCommand({Marker: marker})))
    for (const a of r.Aliases ?? []) {
      if (!a.AliasName || !a.TargetKeyId) continue
      if (a.AliasName !== stem && !a.AliasName.startsWith(`${stem}-`)) continue
      byKey.set(a.TargetKeyId, [...(byKey.get(a.TargetKeyId) ?? []), a.AliasName])
    }
    marker = r.Truncated ? r.NextMarker : undefined
  } while (marker)
  return byKey
}

/**
 * The psb keys of this bucket (with `prefix`: of that prefix only); a key an alias points to
 * that is not tagged as psb's for this bucket is listed in `left`.
 */
export async function findKmsKeys(ctx: AwsContext, bucket: string, prefix: string | undefined, left: Change[]): Promise<KmsKey[]> {
  const kms = await ctx.kms()
  const {DescribeKeyCommand, ListResourceTagsCommand} = await kmsSdk()
  const out: KmsKey[] = []
  for (const [keyId, aliases] of await candidateAliases(ctx, bucket)) {
    const d = await unlessGone(() => awsCall({action: 'kms:DescribeKey', resource: keyId}, () => kms.send(new DescribeKeyCommand({KeyId: keyId}))))
    const meta = d?.KeyMetadata
    if (!meta?.Arn) continue
    const t = await awsCall({action: 'kms:ListResourceTags', resource: meta.Arn}, () => kms.send(new ListResourceTagsCommand({KeyId: keyId})))
    const tags = Object.fromEntries((t.Tags ?? []).map((x) => [x.TagKey ?? '', x.TagValue ?? '']))
    if (tags[MANAGED_BY_KEY] !== MANAGED_BY_VALUE || tags[BUCKET_TAG] !== bucket) {
      left.push({item: `KMS key ${keyId} (${aliases.join(', ')})`, status: 'skipped', detail: `not tagged ${MANAGED_BY_KEY}=${MANAGED_BY_VALUE}, ${BUCKET_TAG}=${bucket}: psb did not make it`})
      continue
    }
    if (prefix !== undefined && tags[PREFIX_TAG] !== prefix) continue
    out.push({keyId: meta.KeyId ?? keyId, arn: meta.Arn, aliases, state: meta.KeyState ?? 'Unknown', ...(meta.DeletionDate ? {deletionDate: meta.DeletionDate} : {})})
  }
  return out
}

/** The plan line of a key. */
export function kmsChange(k: KmsKey, status: 'planned' | 'updated' | 'unchanged'): Change {
  const when = k.deletionDate ? ` on ${k.deletionDate.toISOString().slice(0, 10)}` : ''
  const detail =
    status === 'unchanged'
      ? `already scheduled for deletion${when}`
      : status === 'planned'
        ? `schedule deletion in ${KMS_PENDING_DAYS} days (the longest AWS allows); until then it can be cancelled`
        : `scheduled for deletion${when} (${KMS_PENDING_DAYS} days); cancel with: aws kms cancel-key-deletion --key-id ${k.keyId}`
  return {item: `KMS key ${k.keyId} (${k.aliases.join(', ')})`, status, detail}
}

/** Schedules the key's deletion in 30 days (a key already pending deletion is left as it is). */
export async function scheduleKeyDeletion(ctx: AwsContext, k: KmsKey): Promise<Change> {
  if (k.state === 'PendingDeletion') return kmsChange(k, 'unchanged')
  const kms = await ctx.kms()
  const {ScheduleKeyDeletionCommand} = await kmsSdk()
  const r = await awsCall({action: 'kms:ScheduleKeyDeletion', resource: k.arn}, () => kms.send(new ScheduleKeyDeletionCommand({KeyId: k.keyId, PendingWindowInDays: KMS_PENDING_DAYS})))
  k.state = 'PendingDeletion'
  if (r.DeletionDate) k.deletionDate = r.DeletionDate
  return kmsChange(k, 'updated')
}
