/**
 * Default encryption: SSE-S3, or SSE-KMS with --kms-key and the bucket key on. Never
 * weaker: SSE-KMS / DSSE-KMS already on the bucket is kept, and a different KMS key stops
 * the run (KmsKeyMismatch) instead of switching keys.
 */
import type {ServerSideEncryptionRule} from '@aws-sdk/client-s3'
import {parseArn} from '../../aws/arn.js'
import {PsbError} from '../../errors.js'
import {ITEMS, row, type BucketSetting, type SettingPlan} from './setting.js'

interface KmsRef {
  kind: 'key' | 'alias'
  name: string
  account?: string
  region?: string
}

function parseKmsRef(ref: string): KmsRef {
  const arn = parseArn(ref)
  const m = arn?.service === 'kms' ? /^(key|alias)\/(.+)$/.exec(arn.resource) : null
  if (arn && m) return {kind: m[1] as 'key' | 'alias', name: m[2], region: arn.region, account: arn.account}
  if (ref.startsWith('alias/')) return {kind: 'alias', name: ref.slice('alias/'.length)}
  return {kind: 'key', name: ref}
}

/** 'same' | 'different' | 'unknown' (an alias against a key id cannot be compared without KMS). */
export function compareKmsKeys(a: string, b: string): 'same' | 'different' | 'unknown' {
  if (a === b) return 'same'
  const x = parseKmsRef(a)
  const y = parseKmsRef(b)
  const sameScope = (!x.account || !y.account || x.account === y.account) && (!x.region || !y.region || x.region === y.region)
  if (x.kind === 'key' && y.kind === 'key') return x.name === y.name && sameScope ? 'same' : 'different'
  if (x.kind === 'alias' && y.kind === 'alias' && x.name === y.name && sameScope) return 'same'
  return 'unknown'
}

type Plan = SettingPlan<ServerSideEncryptionRule>

const item = ITEMS.encryption
const kmsLabel = (k: string | undefined) => (k ? `SSE-KMS (${k})` : 'SSE-KMS (AWS managed key aws/s3)')
const isKms = (alg: string | undefined) => alg === 'aws:kms' || alg === 'aws:kms:dsse'

function keyConflict(bucket: string, present: string, want: string, unknown = false): PsbError {
  return new PsbError(
    unknown
      ? `Bucket ${bucket} is encrypted with ${present}; psb cannot tell without KMS whether --kms-key ${want} is the same key, and will not switch keys.`
      : `Bucket ${bucket} is encrypted with ${present}, not with --kms-key ${want}; psb will not switch the bucket to another key.`,
    {
      code: 'KmsKeyMismatch',
      data: {bucket, present, requested: want},
      hint: `Switching keys is a decision for you: objects written before stay encrypted with the old key, so Pulumi would need both keys. Run without --kms-key to keep the current key${unknown ? ', pass the key in the same form as the bucket shows it' : ''}, or change the key yourself with \`aws s3api put-bucket-encryption\` and run psb again.`,
    },
  )
}

/** No --kms-key: whatever the bucket has is kept; none gets SSE-S3. */
function planKeep(alg: string | undefined, curKey: string | undefined): Plan {
  if (isKms(alg)) {
    return {
      changes: [{item, status: 'unchanged', detail: `${alg === 'aws:kms:dsse' ? 'DSSE-KMS' : 'SSE-KMS'} kept${curKey ? ` (${curKey})` : ''}`}],
      encryption: {algorithm: 'aws:kms', ...(curKey ? {kmsKeyId: curKey} : {})},
    }
  }
  const encryption = {algorithm: 'AES256' as const}
  if (alg) return {changes: [{item, status: 'unchanged', detail: alg === 'AES256' ? 'SSE-S3 (AES256)' : `${alg} kept`}], encryption}
  return {changes: [{item, status: 'created', detail: 'SSE-S3 (AES256)'}], change: {ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'AES256'}}, encryption}
}

/** --kms-key on a bucket already on a customer key: the same key is kept (with the bucket key on), another one stops. */
function planSameKey(rule: ServerSideEncryptionRule | undefined, alg: string, curKey: string, want: string, bucket: string): Plan {
  const same = compareKmsKeys(curKey, want)
  if (same !== 'same') throw keyConflict(bucket, `${kmsLabel(curKey)}`, want, same === 'unknown')
  const encryption = {algorithm: 'aws:kms' as const, kmsKeyId: curKey}
  if (alg === 'aws:kms:dsse') return {changes: [{item, status: 'unchanged', detail: `DSSE-KMS (${curKey}) kept: stricter than SSE-KMS`}], encryption}
  if (rule?.BucketKeyEnabled) return {changes: [{item, status: 'unchanged', detail: `${kmsLabel(curKey)}, bucket key on`}], encryption}
  return {
    changes: [{item, status: 'updated', detail: `${kmsLabel(curKey)}: bucket key turned on`}],
    change: {ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'aws:kms', KMSMasterKeyID: curKey}, BucketKeyEnabled: true},
    encryption,
  }
}

/** --kms-key: SSE-KMS with that key and the bucket key on. */
function planKey(rule: ServerSideEncryptionRule | undefined, want: string, bucket: string): Plan {
  const alg = rule?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm as string | undefined
  const curKey = rule?.ApplyServerSideEncryptionByDefault?.KMSMasterKeyID
  const change: ServerSideEncryptionRule = {ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'aws:kms', KMSMasterKeyID: want}, BucketKeyEnabled: true}
  const encryption = {algorithm: 'aws:kms' as const, kmsKeyId: want}
  if (!alg) return {changes: [{item, status: 'created', detail: `${kmsLabel(want)}, bucket key on`}], change, encryption}
  if (alg === 'AES256') return {changes: [{item, status: 'updated', detail: `SSE-S3 → ${kmsLabel(want)}, bucket key on`}], change, encryption}
  if (isKms(alg) && !curKey) {
    if (alg === 'aws:kms:dsse') throw keyConflict(bucket, 'DSSE-KMS with the AWS managed key', want)
    return {changes: [{item, status: 'updated', detail: `SSE-KMS aws/s3 → ${kmsLabel(want)}, bucket key on`}], change, encryption}
  }
  if (isKms(alg)) return planSameKey(rule, alg, curKey!, want, bucket)
  throw new PsbError(`Bucket ${bucket} uses default encryption ${alg}, which psb does not change.`, {
    code: 'EncryptionUnknown',
    hint: 'Run without --kms-key to keep it, or change the default encryption yourself.',
  })
}

/** Plans the bucket's default encryption rule (its first rule) against --kms-key (`kmsKey`). */
export function planEncryption(rule: ServerSideEncryptionRule | undefined, kmsKey: string | undefined, bucket: string): Plan {
  if (kmsKey) return planKey(rule, kmsKey, bucket)
  const def = rule?.ApplyServerSideEncryptionByDefault
  return planKeep(def?.SSEAlgorithm as string | undefined, def?.KMSMasterKeyID)
}

export const encryption: BucketSetting<ServerSideEncryptionRule, ServerSideEncryptionRule> = {
  id: ITEMS.encryption,
  items: [ITEMS.encryption],
  optional: (custom) => custom,
  action: 's3:PutEncryptionConfiguration',
  read: async (io) =>
    (await io.read('s3:GetEncryptionConfiguration', 'ServerSideEncryptionConfigurationNotFoundError', () => io.s3.send(new io.S.GetBucketEncryptionCommand({Bucket: io.bucket}))))
      ?.ServerSideEncryptionConfiguration?.Rules?.[0],
  plan: (current, want) => planEncryption(current, want.kmsKey, want.bucket),
  apply: (io, rule) => io.s3.send(new io.S.PutBucketEncryptionCommand({Bucket: io.bucket, ServerSideEncryptionConfiguration: {Rules: [rule]}})),
}

export const encryptionRow = row(encryption)
