/**
 * The bucket domain: the Pulumi state bucket, created when missing, brought up to standard
 * when present, and never weakened. Entry point: ensureBucket (this file); the bucket
 * name rules (name.ts) and the backend prefix rules (prefix.ts) are used by the others.
 *
 * Plan, then apply, per setting: the settings are a table (settings/index.ts), each one
 * read, compared with what psb wants by meaning (not by text), and changed only when
 * something is missing. Reads run in parallel; changes run one after another in table
 * order (S3 answers OperationAborted to concurrent configuration calls on one bucket). A
 * second run on a hardened bucket makes no mutating call. Every call goes through
 * BucketCalls (calls.ts), so a denied call names the S3 action and the bucket ARN, and
 * transient answers (OperationAborted, SlowDown, throttling, 5xx) are retried with backoff
 * within a bounded time. Finding or creating the bucket itself is create.ts.
 */
import type {AwsContext} from '../aws/client.js'
import {PsbError} from '../errors.js'
import {withPartialChanges, type Change} from '../types.js'
import {BucketCalls, codeOf, isNoSuchBucket, isUnsupported, statusOf} from './calls.js'
import {ensureExists} from './create.js'
import {refusedBefore, refusedDetail, rememberTag} from './store-memory.js'
import {bucketArn, validateBucketOptions, type BucketOptions, type BucketResult} from './options.js'
import {SETTINGS} from './settings/index.js'
import {isPartialApply, ITEMS, type Planned, type SettingRow, type Want} from './settings/setting.js'

export {validateBucketName} from './name.js'
export {partitionOf, bucketArn, validateKmsKey, validateTags, validateBucketOptions, type BucketOptions, type BucketResult} from './options.js'
export {isTransient, isUnsupported} from './calls.js'
export {ITEMS} from './settings/setting.js'
export {compareKmsKeys} from './settings/encryption.js'
export {TLS_SID, tlsOnlyStatement, hasTlsOnlyStatement, planTlsPolicy, type PolicyStatement, type BucketPolicyDocument, type PolicyPlan} from './settings/tls-policy.js'
export {NONCURRENT_RULE_ID, MULTIPART_RULE_ID, DEFAULT_NONCURRENT_DAYS, MULTIPART_DAYS, appliesToWholeBucket, planLifecycle, type LifecyclePlan} from './settings/lifecycle.js'
export {MANAGED_BY_KEY, MANAGED_BY_VALUE, planTags, type TagPlan} from './settings/tags.js'

/** The changes of an optional setting on a store that does not implement it (with a warning). */
function skipped(io: BucketCalls, items: string[], error: unknown): Change[] {
  const code = codeOf(error) ?? `HTTP ${statusOf(error)}`
  io.logger.warn(`The S3 endpoint does not support ${items.join(' / ')} (${code}); skipped. Check whether the store offers an equivalent.`)
  return items.map((item) => ({item, status: 'skipped', detail: `not supported by this store (${code})`}))
}

/** True when `error` means the store lacks this optional setting. */
function skippable(io: BucketCalls, row: SettingRow, error: unknown): boolean {
  return row.optional(io.customEndpoint) && isUnsupported(error, io.customEndpoint)
}

/**
 * Reads and plans one setting, logging its notes; a store that lacks an optional one skips
 * it, and so does one that refused its write before (store-memory.ts: no write is tried again).
 */
async function planRow(io: BucketCalls, row: SettingRow, want: Want, fresh: boolean): Promise<Planned> {
  if (!fresh && row.optional(io.customEndpoint) && (await refusedBefore(io)).includes(row.id)) {
    return {changes: row.items.map((item) => ({item, status: 'skipped', detail: refusedDetail(row.id)}))}
  }
  try {
    const plan = await row.plan(io, want, fresh)
    for (const note of plan.info ?? []) io.logger.info(note)
    for (const message of plan.warn ?? []) io.logger.warn(message)
    return plan
  } catch (error) {
    if (skippable(io, row, error)) return {changes: skipped(io, row.items, error)}
    throw error
  }
}

/** A dry run reports each change it would make as planned. */
function asPlanned(c: Change): Change {
  if (c.status !== 'created' && c.status !== 'updated') return c
  return {item: c.item, status: 'planned', detail: `would be ${c.status === 'created' ? 'set' : 'updated'}: ${c.detail ?? ''}`.trim()}
}

/**
 * On a bucket created in this run, what S3 already had (e.g. ObjectOwnership sent with
 * CreateBucket, or S3's defaults) was set at creation.
 */
function atCreation(changes: Change[], created: boolean): Change[] {
  return changes.map((c) => (created && c.status === 'unchanged' ? {...c, status: 'created' as const, detail: `${c.detail ?? ''}, set at creation`} : c))
}

function aclBlocksOwnership(bucket: string, cause: unknown): PsbError {
  return new PsbError(`Cannot disable ACLs on ${bucket}: its bucket ACL grants access to other accounts or groups.`, {
    code: 'InvalidBucketAclWithObjectOwnership',
    cause,
    hint: `Review the grants (aws s3api get-bucket-acl --bucket ${bucket}), replace them with a bucket policy if they are needed, reset the ACL (aws s3api put-bucket-acl --bucket ${bucket} --acl private), then run psb again.`,
  })
}

/** The run's state across rows: a dry run, a bucket created now, the ids of what the store refused now (to remember). */
interface Run {
  dryRun: boolean
  created: boolean
  refused: string[]
}

/** The Change items of a row the store took only part of (and what the tags setting must remember). */
function partially(io: BucketCalls, plan: Planned, result: unknown, run: Run): Change[] | undefined {
  if (!isPartialApply(result)) return undefined
  for (const message of result.warn) io.logger.warn(message)
  run.refused.push(...(result.remember ?? []))
  const done = atCreation(plan.changes, run.created)
  return done.map((c) => result.skipped.find((s) => s.item === c.item) ?? c).concat(result.skipped.filter((s) => !done.some((c) => c.item === s.item)))
}

/** Writes one planned setting (unless a dry run) and answers the Change items it reports. */
async function applyRow(io: BucketCalls, row: SettingRow, plan: Planned, run: Run): Promise<Change[]> {
  if (plan.apply && run.dryRun) return plan.changes.map(asPlanned)
  if (plan.apply) {
    try {
      const result = await io.call(row.action, plan.apply, run.created ? isNoSuchBucket : undefined)
      const partial = partially(io, plan, result, run)
      if (partial) return partial
    } catch (error) {
      if (skippable(io, row, error)) {
        if (io.customEndpoint) run.refused.push(row.id)
        return skipped(io, row.items, error)
      }
      if (codeOf(error) === 'InvalidBucketAclWithObjectOwnership') throw aclBlocksOwnership(io.bucket, error)
      throw error
    }
  }
  return atCreation(plan.changes, run.created)
}

/**
 * Creates the state bucket or brings an existing one up to standard, per setting,
 * without weakening anything. See the module comment and docs/bucket.md.
 */
export async function ensureBucket(ctx: AwsContext, opts: BucketOptions): Promise<BucketResult> {
  return withPartialChanges((changes) => ensureBucketInto(ctx, opts, changes))
}

/** ensureBucket, listing each change into `changes` as it is made. */
async function ensureBucketInto(ctx: AwsContext, opts: BucketOptions, changes: Change[]): Promise<BucketResult> {
  validateBucketOptions(opts)
  const S = await import('@aws-sdk/client-s3')
  const io = new BucketCalls(ctx, opts, S, await ctx.s3(opts.region))
  const dryRun = Boolean(opts.dryRun)
  const {created, fresh} = await ensureExists(io, dryRun, changes)
  // A bucket created in this run is read like any other, so that a bucket someone else
  // created a moment earlier is never overwritten blindly; `fresh` (a dry run on a missing
  // bucket) has nothing to read.
  const want: Want = {bucket: opts.bucket, arn: bucketArn(opts.bucket, opts.region), kmsKey: opts.kmsKey, noncurrentDays: opts.noncurrentDays, historyDays: opts.historyDays, statePrefix: opts.statePrefix, tags: opts.tags}
  const table = [...SETTINGS, ...(opts.extraSettings ?? [])]
  const plans = await Promise.all(table.map((row) => planRow(io, row, want, fresh)))
  const run: Run = {dryRun, created, refused: []}
  for (const [i, plan] of plans.entries()) {
    // What the store refused in this run is remembered by the tags setting: re-planned with that tag.
    const remember = run.refused.length > 0 && table[i].id === ITEMS.tags
    const tags = remember ? {...rememberTag(await refusedBefore(io), run.refused), ...want.tags} : undefined
    const planned = tags ? await planRow(io, table[i], {...want, tags}, false) : plan
    changes.push(...(await applyRow(io, table[i], planned, run)))
  }
  const encryption = plans.find((p) => p.encryption)?.encryption ?? {algorithm: 'AES256'}
  return {bucket: opts.bucket, region: opts.region, arn: io.arn, created, encryption, changes, warnings: io.warnings, dryRun}
}
