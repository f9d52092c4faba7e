/**
 * The destroy/ domain: taking down what psb made for one backend, in reverse order, touching
 * only what is tagged managed-by=psb for this bucket (plan.ts finds it with read calls only;
 * this file, its entry point, carries the plan out). Every step tolerates "already gone" and
 * the plan is made afresh each run, so a run killed at any point is finished by a re-run.
 *
 *   1. each access key of psb's users: out of every profile holding it (profiles.ts), then IAM
 *   2. OIDC providers no remaining role trusts; the users and roles (iam.ts)
 *   3. the profiles (with 1)          4. `pulumi logout` when logged in to this backend
 *   5. every object version and delete marker (objects.ts), then the bucket (not with --prefix)
 *   6. the KMS key: scheduled for deletion in 30 days (kms.ts)
 */
import type {AwsContext} from '../aws/client.js'
import {awsCall} from '../aws/errors.js'
import {EXIT, PsbError} from '../errors.js'
import {runPulumi, pulumiFailed} from '../pulumi/cli.js'
import {maskKeyId} from '../redact.js'
import {withPartialChanges, type Change} from '../types.js'
import {deleteAccessKey, deletePrincipal, deleteProvider, unlessGone} from './iam.js'
import {scheduleKeyDeletion} from './kms.js'
import {deleteAllVersions, type VersionPage} from './objects.js'
import {KMS_PENDING_DAYS, validateDestroyOptions, type DestroyOptions, type DestroyPlan, type DestroyResult} from './options.js'
import {planDestroy} from './plan.js'
import {applyProfiles} from './profiles.js'

export {planDestroy, planChanges} from './plan.js'
export {validateDestroyOptions, KMS_PENDING_DAYS, type DestroyOptions, type DestroyPlan, type DestroyResult} from './options.js'

/** Refuses (exit 2, nothing changed) while stacks exist under what would be deleted, unless forced. */
export function refuseStacks(plan: DestroyPlan, force: boolean | undefined): void {
  if (force || plan.stacks.length === 0) return
  const where = plan.prefix === undefined ? `in ${plan.bucket}` : `under ${plan.bucket}/${plan.prefix}/`
  const list = plan.stacks.map((s) => `  ${s.prefix ? `${s.prefix}: ` : ''}${s.name} (last updated ${s.lastUpdated?.toISOString() ?? 'unknown'})`).join('\n')
  throw new PsbError(
    `${plan.stacks.length} Pulumi stack${plan.stacks.length === 1 ? '' : 's'} still exist${plan.stacks.length === 1 ? 's' : ''} ${where}; deleting their state would orphan the resources they manage:\n${list}`,
    {
      code: 'StacksExist',
      exitCode: EXIT.USAGE,
      hint: 'Run `pulumi destroy` and `pulumi stack rm` for each stack first, or pass --force-stacks to delete the state anyway (the cloud resources stay, unmanaged).',
      data: {stacks: resultStacks(plan)},
    },
  )
}

function resultStacks(plan: DestroyPlan): DestroyResult['stacks'] {
  return plan.stacks.map((s) => ({prefix: s.prefix, name: s.name, ...(s.lastUpdated ? {lastUpdated: s.lastUpdated.toISOString()} : {})}))
}

/** Steps 1-3: keys out of the profiles and IAM, OIDC providers, the users and roles. */
async function removePrincipals(ctx: AwsContext, plan: DestroyPlan, opts: DestroyOptions, changes: Change[]): Promise<string[]> {
  const backups = await applyProfiles(plan.profiles, opts.env ?? process.env, changes)
  for (const p of plan.principals) {
    for (const k of p.keys) {
      await deleteAccessKey(ctx, p, k)
      changes.push({item: `access key ${maskKeyId(k)}`, status: 'deleted', detail: `of user ${p.name}`})
    }
  }
  for (const arn of plan.oidcProviders) {
    await deleteProvider(ctx, arn)
    changes.push({item: `OIDC provider ${arn}`, status: 'deleted'})
  }
  for (const p of plan.principals) await deletePrincipal(ctx, p, changes)
  return backups
}

async function logout(url: string, opts: DestroyOptions, changes: Change[], warnings: string[]): Promise<void> {
  try {
    const run = await runPulumi(['logout'], {env: opts.env})
    if (run.code !== 0) throw pulumiFailed(run, 'pulumi logout failed', 'Run `pulumi logout` yourself.')
    changes.push({item: 'pulumi logout', status: 'deleted', detail: url})
  } catch (error) {
    if (!(error instanceof PsbError) || error.code !== 'PulumiNotFound') throw error
    warnings.push(`Pulumi is logged in to ${url}, but the Pulumi CLI was not found to log out: run \`pulumi logout\` once it is on PATH.`)
  }
}

async function deleteBucket(ctx: AwsContext, bucket: string): Promise<void> {
  const s3 = await ctx.s3()
  const {DeleteBucketCommand} = await import('@aws-sdk/client-s3')
  await unlessGone(() => awsCall({action: 's3:DeleteBucket', resource: `arn:aws:s3:::${bucket}`}, () => s3.send(new DeleteBucketCommand({Bucket: bucket}))))
}

/** Carries a plan out (the caller has asked, or --yes was given). */
export async function executeDestroy(ctx: AwsContext, plan: DestroyPlan, opts: DestroyOptions, first?: VersionPage): Promise<DestroyResult> {
  refuseStacks(plan, opts.forceStacks)
  const warnings: string[] = []
  const result = baseResult(plan, false, warnings)
  result.changes = await withPartialChanges(async (changes) => {
    await removePrincipals(ctx, plan, opts, changes)
    if (plan.logoutUrl) await logout(plan.logoutUrl, opts, changes, warnings)
    const b = plan.bucketPlan
    if (b.deleteObjects) {
      result.objects = await deleteAllVersions(ctx, plan.bucket, plan.prefix, {first, concurrency: opts.concurrency, onProgress: opts.onProgress})
      changes.push({item: plan.prefix === undefined ? `objects in ${plan.bucket}` : `objects under ${plan.bucket}/${plan.prefix}/`, status: 'deleted', detail: `${result.objects.deleted} versions and delete markers`})
    }
    if (b.deleteBucket) {
      await deleteBucket(ctx, plan.bucket)
      changes.push({item: `bucket ${plan.bucket}`, status: 'deleted'})
    }
    for (const k of plan.kmsKeys) {
      changes.push(await scheduleKeyDeletion(ctx, k))
      result.kmsKeys.push({keyId: k.keyId, ...(k.deletionDate ? {deletionDate: k.deletionDate.toISOString()} : {}), pendingWindowInDays: KMS_PENDING_DAYS})
    }
    return changes
  })
  return result
}

function baseResult(plan: DestroyPlan, dryRun: boolean, warnings: string[]): DestroyResult {
  return {
    bucket: plan.bucket,
    ...(plan.prefix === undefined ? {} : {prefix: plan.prefix}),
    dryRun,
    changes: dryRun ? plan.changes : [],
    left: plan.left,
    stacks: resultStacks(plan),
    objects: {deleted: 0, listRequests: 0, deleteRequests: 0},
    kmsKeys: dryRun ? plan.kmsKeys.map((k) => ({keyId: k.keyId, pendingWindowInDays: KMS_PENDING_DAYS})) : [],
    warnings,
  }
}

/** The result of a dry run: the plan, nothing changed. */
export function dryRunResult(plan: DestroyPlan): DestroyResult {
  return baseResult(plan, true, [])
}

/** Plan and carry out in one call (for callers that do not ask in between). */
export async function destroy(ctx: AwsContext, options: DestroyOptions): Promise<DestroyResult> {
  const opts = validateDestroyOptions(options)
  const {plan, first} = await planDestroy(ctx, opts)
  if (opts.dryRun) return dryRunResult(plan)
  return executeDestroy(ctx, plan, opts, first)
}
