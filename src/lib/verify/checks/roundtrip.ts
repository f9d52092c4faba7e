/**
 * The round trip Pulumi makes under `<prefix>/.pulumi/`: put, head, get, list, copy and
 * delete of a sentinel object, with the profile's own key. Nothing is left behind.
 */
import {randomUUID} from 'node:crypto'
import type {S3Client} from '@aws-sdk/client-s3'
import {awsCode, isAccessDenied, translateAwsError} from '../../aws/errors.js'
import {messageOf} from '../../errors.js'
import {prefixBase} from '../rules.js'
import type {CheckUnit, Verdict, VerifyContext} from '../context.js'

interface Trip {
  s3: S3Client
  bucket: string
  base: string
  id: string
  key: string
  copy: string
  /** The action under way, named when it fails. */
  step: string
  /** The objects written and not yet deleted. */
  written: string[]
}

/** The six steps, in Pulumi's order; throws at the first one that fails (trip.step names it). */
async function runTrip(t: Trip, body: string): Promise<void> {
  const {PutObjectCommand, HeadObjectCommand, GetObjectCommand, ListObjectsV2Command, CopyObjectCommand, DeleteObjectCommand} = await import('@aws-sdk/client-s3')
  const Bucket = t.bucket
  t.step = 's3:PutObject'
  await t.s3.send(new PutObjectCommand({Bucket, Key: t.key, Body: body, ContentType: 'application/json'}))
  t.written.push(t.key)
  t.step = 's3:GetObject (HeadObject)'
  await t.s3.send(new HeadObjectCommand({Bucket, Key: t.key}))
  t.step = 's3:GetObject'
  const got = await t.s3.send(new GetObjectCommand({Bucket, Key: t.key}))
  const text = await got.Body?.transformToString()
  if (text !== body) throw new Error(`the object read back differs from the one written`)
  t.step = 's3:ListBucket'
  const listed = await t.s3.send(new ListObjectsV2Command({Bucket, Prefix: `${t.base}.psb-verify-${t.id}`}))
  if (!listed.Contents?.some((o) => o.Key === t.key)) throw new Error('the object written is missing from the listing')
  t.step = 's3:PutObject (CopyObject)'
  await t.s3.send(new CopyObjectCommand({Bucket, Key: t.copy, CopySource: `${Bucket}/${encodeURIComponent(t.key).replace(/%2F/g, '/')}`}))
  t.written.push(t.copy)
  t.step = 's3:DeleteObject'
  await t.s3.send(new DeleteObjectCommand({Bucket, Key: t.copy}))
  t.written.pop()
  await t.s3.send(new DeleteObjectCommand({Bucket, Key: t.key}))
  t.written.pop()
}

/** The failed step as a verdict: a denial names the permissions Pulumi needs. */
function tripFailure(v: VerifyContext, t: Trip, error: unknown): Verdict {
  const resource = `${v.bucketArn}/${t.key}`
  const e = awsCode(error) ? translateAwsError(error, {action: t.step, resource, principal: v.who}) : undefined
  const prefixFlag = v.opts.prefix ? ` --prefix ${prefixBase(v.opts.prefix).slice(0, -1)}` : ''
  return {
    status: 'fail',
    detail: `${t.step} failed: ${e?.message ?? messageOf(error)}`,
    hint: isAccessDenied(error)
      ? v.facts.noIam
        ? `Pulumi needs s3:ListBucket on ${v.bucketArn} and s3:GetObject/PutObject/DeleteObject on ${v.bucketArn}/${t.base}*: grant them to the key's user with the store's own tools (MinIO: \`mc admin policy attach\`; the policy is in docs/s3-compatible.md).`
        : `Pulumi needs s3:ListBucket on ${v.bucketArn} and s3:GetObject/PutObject/DeleteObject on ${v.bucketArn}/${t.base}*: \`psb user create --bucket ${t.bucket}${prefixFlag}\`.`
      : (e?.hint ?? 'Check the endpoint and the bucket, then run psb verify again.'),
  }
}

export const roundTripCheck: CheckUnit = {
  id: 'round-trip',
  title: (v) => `Round trip under s3://${v.opts.bucket}/${prefixBase(v.opts.prefix)}.pulumi/`,
  needs: ['bucket'],
  async run(v) {
    const base = `${prefixBase(v.opts.prefix)}.pulumi/`
    const id = randomUUID()
    const s3 = await v.aws.s3()
    const t: Trip = {s3, bucket: v.opts.bucket, base, id, key: `${base}.psb-verify-${id}.json`, copy: `${base}.psb-verify-${id}.copy.json`, step: '', written: []}
    const started = Date.now()
    try {
      await runTrip(t, JSON.stringify({psb: 'verify', at: v.now().toISOString()}))
      return {status: 'pass', detail: `put, head, get, list, copy, delete (${Date.now() - started} ms)`}
    } catch (error) {
      // Leave nothing behind (best effort).
      const {DeleteObjectCommand} = await import('@aws-sdk/client-s3')
      for (const k of t.written) await s3.send(new DeleteObjectCommand({Bucket: t.bucket, Key: k})).catch(() => undefined)
      return tripFailure(v, t, error)
    }
  },
}
