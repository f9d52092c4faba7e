/**
 * The bucket: it exists in the expected region, and each hardening setting is on, judged
 * by the rules `psb bucket create` applies (rules.ts). Reads the profile is denied are
 * retried with the admin context, else end as "cannot check" (warn).
 */
import type {AwsContext} from '../../aws/client.js'
import {awsCode, httpStatus, isAccessDenied, responseHeader} from '../../aws/errors.js'
import {isUnsupported} from '../../bucket/ensure.js'
import {removesExpiredDeleteMarkers} from '../../bucket/settings/lifecycle.js'
import {hasTlsOnlyStatement, noncurrentExpiryDays, parsePolicy, regionOfLocation} from '../rules.js'
import {readWith, unexpected, type CheckUnit, type Read, type Verdict, type VerifyContext} from '../context.js'

const s3sdk = () => import('@aws-sdk/client-s3')

const wrongRegion = (v: VerifyContext, actual: string): Verdict => ({
  status: 'fail',
  detail: `s3://${v.opts.bucket} is in ${actual}, not ${v.opts.region}.`,
  hint: `Use --region ${actual} (Pulumi's backend URL must name the bucket's region).`,
})

/** The verdict on a GetBucketLocation error: missing, elsewhere, denied (warn) or unexpected. */
function locationError(v: VerifyContext, error: unknown): Verdict {
  const {bucket, region} = v.opts
  const realRegion = responseHeader(error, 'x-amz-bucket-region')
  if (awsCode(error) === 'NoSuchBucket' || (httpStatus(error) === 404 && !realRegion))
    return {status: 'fail', detail: `s3://${bucket} does not exist.`, hint: `Create it: \`psb bucket create --bucket ${bucket} --region ${region}\` (or \`psb init\`).`}
  if (realRegion && realRegion !== region) return wrongRegion(v, realRegion)
  if (isAccessDenied(error))
    return {
      status: 'warn',
      detail: `cannot check: s3:GetBucketLocation is denied to ${v.who}; the round trip below shows whether the bucket is reachable.`,
      hint: `Allow s3:GetBucketLocation on ${v.bucketArn} (\`psb user create\` grants it), or pass --admin-profile.`,
    }
  return {status: 'fail', ...unexpected(v, error, 's3:GetBucketLocation')}
}

/** Exists, reachable, in the expected region. A warn (cannot check) lets the settings run. */
export const bucketCheck: CheckUnit = {
  id: 'bucket',
  title: 'Bucket exists in the expected region',
  needs: ['credentials'],
  async run(v) {
    const {GetBucketLocationCommand} = await s3sdk()
    const loc = await readWith(v, async (c) => (await c.s3()).send(new GetBucketLocationCommand({Bucket: v.opts.bucket})))
    if ('error' in loc) return locationError(v, loc.error)
    const actual = regionOfLocation(loc.value.LocationConstraint as string | undefined)
    if (actual !== v.opts.region) return wrongRegion(v, actual)
    return {status: 'pass', detail: `s3://${v.opts.bucket} in ${actual}`}
  },
}

const fixBucket = (v: VerifyContext) =>
  `Run \`psb bucket create --bucket ${v.opts.bucket} --region ${v.opts.region}${v.opts.endpoint === undefined ? '' : ` --endpoint ${v.opts.endpoint}`}\`: it brings an existing bucket up to standard without weakening anything.`

interface SettingSpec<T> {
  id: string
  title: string
  /** The IAM action of the read, named when it is denied. */
  action: string
  read: (c: AwsContext, bucket: string) => Promise<T>
  /** Error codes that mean "the setting is absent" (judged as undefined). */
  notSet: string[]
  judge: (value: T | undefined, v: VerifyContext) => Verdict
  /** `psb bucket create` skips it on a store that does not implement it: missing there is a warning. */
  optionalOnStores?: boolean
  /** Checks of one verify run with the same key read once (two lifecycle checks, one GetBucketLifecycleConfiguration). */
  shareRead?: string
}

const sharedReads = new WeakMap<VerifyContext, Map<string, Promise<Read<unknown>>>>()

/** The spec's read in this verify run; with shareRead, made once for every check that shares it. */
function specRead<T>(v: VerifyContext, spec: SettingSpec<T>): Promise<Read<T>> {
  const read = () => readWith(v, (c) => spec.read(c, v.opts.bucket))
  if (!spec.shareRead) return read()
  let reads = sharedReads.get(v)
  if (!reads) sharedReads.set(v, (reads = new Map()))
  if (!reads.has(spec.shareRead)) reads.set(spec.shareRead, read())
  return reads.get(spec.shareRead) as Promise<Read<T>>
}

/**
 * On an S3-compatible store (its STS said it has no AWS IAM: facts.noIam), a missing setting
 * that `psb bucket create` skips where the store lacks it is a warning: the store may not
 * offer it at all. (moto, which stands in for AWS behind --endpoint, is judged as AWS.)
 */
function onStore<T>(spec: SettingSpec<T>, verdict: Verdict, v: VerifyContext): Verdict {
  if (verdict.status !== 'fail' || !spec.optionalOnStores || v.opts.endpoint === undefined || !v.facts.noIam) return verdict
  return {
    status: 'warn',
    detail: `${verdict.detail} (this S3-compatible store may not offer it)`,
    hint: `\`psb bucket create --bucket ${v.opts.bucket} --region ${v.opts.region} --endpoint ${v.opts.endpoint}\` sets it where the store supports it, and reports it as skipped where not.`,
  }
}

/** A bucket setting check: one read (profile, else admin), judged; needs the bucket check. */
export function settingCheck<T>(spec: SettingSpec<T>): CheckUnit {
  return {
    id: spec.id,
    title: spec.title,
    needs: ['bucket'],
    async run(v) {
      const r = await specRead(v, spec)
      if (!('error' in r)) return onStore(spec, spec.judge(r.value, v), v)
      const code = awsCode(r.error) ?? ''
      if (spec.notSet.includes(code)) return onStore(spec, spec.judge(undefined, v), v)
      if (isAccessDenied(r.error))
        return {status: 'warn', detail: `cannot check: ${spec.action} is denied to ${v.who}.`, hint: `Allow ${spec.action} on ${v.bucketArn} (\`psb user create\` grants it), or pass --admin-profile.`}
      if (isUnsupported(r.error, v.opts.endpoint !== undefined))
        return {status: 'warn', detail: `cannot check: this endpoint does not support ${spec.action} (${code || httpStatus(r.error)}).`}
      return {status: 'fail', ...unexpected(v, r.error, spec.action)}
    },
  }
}

export const versioningCheck = settingCheck({
  id: 'versioning',
  title: 'Versioning is on',
  action: 's3:GetBucketVersioning',
  read: async (c, Bucket) => (await c.s3()).send(new (await s3sdk()).GetBucketVersioningCommand({Bucket})),
  notSet: [],
  judge: (r, v) =>
    r?.Status === 'Enabled'
      ? {status: 'pass', detail: 'Enabled'}
      : {status: 'fail', detail: `versioning is ${r?.Status ?? 'off'}: an overwritten or deleted state file cannot be recovered.`, hint: fixBucket(v)},
})

export const encryptionCheck = settingCheck({
  id: 'encryption',
  optionalOnStores: true,
  title: 'Default encryption is on',
  action: 's3:GetEncryptionConfiguration',
  read: async (c, Bucket) => (await c.s3()).send(new (await s3sdk()).GetBucketEncryptionCommand({Bucket})),
  notSet: ['ServerSideEncryptionConfigurationNotFoundError'],
  judge: (r, v) => {
    const d = r?.ServerSideEncryptionConfiguration?.Rules?.find((x) => x.ApplyServerSideEncryptionByDefault)?.ApplyServerSideEncryptionByDefault
    if (!d?.SSEAlgorithm) return {status: 'fail', detail: 'no default encryption.', hint: fixBucket(v)}
    return {status: 'pass', detail: d.KMSMasterKeyID ? `${d.SSEAlgorithm} (${d.KMSMasterKeyID})` : d.SSEAlgorithm}
  },
})

const BLOCKS = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const

export const publicAccessBlockCheck = settingCheck({
  id: 'public-access-block',
  optionalOnStores: true,
  title: 'All four public-access blocks are on',
  action: 's3:GetBucketPublicAccessBlock',
  read: async (c, Bucket) => (await c.s3()).send(new (await s3sdk()).GetPublicAccessBlockCommand({Bucket})),
  notSet: ['NoSuchPublicAccessBlockConfiguration'],
  judge: (r, v) => {
    const cfg = r?.PublicAccessBlockConfiguration ?? {}
    const off = BLOCKS.filter((n) => cfg[n] !== true)
    return off.length === 0 ? {status: 'pass', detail: 'all four on'} : {status: 'fail', detail: `off: ${off.join(', ')}.`, hint: fixBucket(v)}
  },
})

export const ownershipCheck = settingCheck({
  id: 'ownership',
  optionalOnStores: true,
  title: 'ACLs are disabled (BucketOwnerEnforced)',
  action: 's3:GetBucketOwnershipControls',
  read: async (c, Bucket) => (await c.s3()).send(new (await s3sdk()).GetBucketOwnershipControlsCommand({Bucket})),
  notSet: ['OwnershipControlsNotFoundError'],
  judge: (r, v) => {
    const o = r?.OwnershipControls?.Rules?.[0]?.ObjectOwnership
    return o === 'BucketOwnerEnforced' ? {status: 'pass', detail: o} : {status: 'fail', detail: `object ownership is ${o ?? 'not set'}: ACLs are still in effect.`, hint: fixBucket(v)}
  },
})

export const tlsPolicyCheck = settingCheck({
  id: 'tls-policy',
  optionalOnStores: true,
  title: 'Bucket policy denies requests without TLS',
  action: 's3:GetBucketPolicy',
  read: async (c, Bucket) => (await c.s3()).send(new (await s3sdk()).GetBucketPolicyCommand({Bucket})),
  notSet: ['NoSuchBucketPolicy'],
  judge: (r, v) => {
    const doc = parsePolicy(r?.Policy)
    if (!doc) return {status: 'fail', detail: 'the bucket has no policy.', hint: fixBucket(v)}
    return hasTlsOnlyStatement(doc, v.opts.bucket, v.opts.region)
      ? {status: 'pass', detail: 'Deny s3:* when aws:SecureTransport is false'}
      : {status: 'fail', detail: 'no statement denies s3:* to everyone on the bucket and its objects whenever aws:SecureTransport is false (with no other condition narrowing it).', hint: fixBucket(v)}
  },
})

export const lifecycleCheck = settingCheck({
  id: 'lifecycle',
  shareRead: 'lifecycle',
  title: 'Old state versions expire',
  action: 's3:GetLifecycleConfiguration',
  read: async (c, Bucket) => (await c.s3()).send(new (await s3sdk()).GetBucketLifecycleConfigurationCommand({Bucket})),
  notSet: ['NoSuchLifecycleConfiguration'],
  judge: (r, v) => {
    const days = noncurrentExpiryDays(r?.Rules)
    return days !== undefined
      ? {status: 'pass', detail: `noncurrent versions expire after ${days} day${days === 1 ? '' : 's'}`}
      : {status: 'warn', detail: 'no enabled whole-bucket rule expires noncurrent versions: old state versions are kept (and paid for) forever.', hint: fixBucket(v)}
  },
})

export const deleteMarkerCheck = settingCheck({
  id: 'lifecycle-delete-markers',
  shareRead: 'lifecycle',
  title: 'Expired delete markers are removed',
  action: 's3:GetLifecycleConfiguration',
  read: async (c, Bucket) => (await c.s3()).send(new (await s3sdk()).GetBucketLifecycleConfigurationCommand({Bucket})),
  notSet: ['NoSuchLifecycleConfiguration'],
  judge: (r, v) => {
    const rule = r?.Rules?.find((x) => removesExpiredDeleteMarkers(x))
    return rule
      ? {status: 'pass', detail: `rule ${JSON.stringify(rule.ID ?? '(no id)')} removes delete markers with no versions left`}
      : {status: 'warn', detail: 'no enabled whole-bucket rule removes expired delete markers: every Pulumi lock leaves one, and they pile up and slow down listing.', hint: fixBucket(v)}
  },
})
