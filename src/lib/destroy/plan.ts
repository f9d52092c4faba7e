/**
 * The plan of `psb destroy`, made with read calls only: what psb made for this backend (and
 * will remove, in reverse order of making it), and what it found but leaves (not psb's, or
 * another prefix's). `psb destroy --dry-run` prints it; a run carries it out (run.ts).
 */
import pLimit from 'p-limit'
import type {AwsContext} from '../aws/client.js'
import {awsCall, awsCode} from '../aws/errors.js'
import {MANAGED_BY_KEY, MANAGED_BY_VALUE} from '../bucket/settings/tags.js'
import {isNoSuchBucket} from '../bucket/calls.js'
import {currentPulumiLogin} from '../pulumi/cli.js'
import {parseBackendUrl} from '../pulumi/backend-url.js'
import {listStacks} from '../pulumi/stacks.js'
import {maskKeyId} from '../redact.js'
import type {Change} from '../types.js'
import {describePrincipal, listCandidates, ownership, principalTags, providerIsPsbs, type Candidate} from './iam.js'
import {findKmsKeys, kmsChange} from './kms.js'
import {listVersionPage, type VersionPage} from './objects.js'
import type {BucketPlan, DestroyOptions, DestroyPlan, Principal} from './options.js'
import {planProfiles, profileChanges} from './profiles.js'

/** Whether the bucket exists and carries managed-by=psb. */
async function bucketState(ctx: AwsContext, bucket: string): Promise<{exists: boolean; managed: boolean}> {
  const s3 = await ctx.s3()
  const {GetBucketTaggingCommand} = await import('@aws-sdk/client-s3')
  try {
    const r = await awsCall({action: 's3:GetBucketTagging', resource: `arn:aws:s3:::${bucket}`}, () => s3.send(new GetBucketTaggingCommand({Bucket: bucket})))
    return {exists: true, managed: (r.TagSet ?? []).some((t) => t.Key === MANAGED_BY_KEY && t.Value === MANAGED_BY_VALUE)}
  } catch (error) {
    const cause = (error as {cause?: unknown}).cause ?? error
    if (isNoSuchBucket(cause)) return {exists: false, managed: false}
    if (awsCode(cause) === 'NoSuchTagSet') return {exists: true, managed: false}
    throw error
  }
}

/** The users and roles psb made for this backend; the others tagged for this bucket go to `left`. */
async function ourPrincipals(ctx: AwsContext, opts: DestroyOptions, left: Change[]): Promise<{ours: Principal[]; others: Candidate[]}> {
  const candidates = await listCandidates(ctx)
  const limit = pLimit(8)
  const tagged = await Promise.all(candidates.map((c) => limit(async () => ({c, tags: await principalTags(ctx, c)}))))
  const ours: Principal[] = []
  const others: Candidate[] = []
  for (const {c, tags} of tagged) {
    const verdict = tags ? ownership(tags, opts.bucket, opts.prefix) : {ours: false}
    if (verdict.ours) ours.push(await describePrincipal(ctx, c, tags?.['psb-prefix']))
    else {
      others.push(c)
      if (verdict.why) left.push({item: `${c.kind} ${c.name}`, status: 'skipped', detail: verdict.why})
    }
  }
  return {ours, others}
}

/** The OIDC providers to delete: psb's, trusted by a role that goes, and by no role that stays. */
async function providersToDelete(ctx: AwsContext, ours: Principal[], others: Candidate[], left: Change[]): Promise<string[]> {
  const out: string[] = []
  for (const arn of new Set(ours.flatMap((p) => p.trusts))) {
    const still = others.filter((o) => o.kind === 'role' && decodeURIComponent(o.trustPolicy ?? '').includes(arn))
    if (still.length > 0) left.push({item: `OIDC provider ${arn}`, status: 'skipped', detail: `still trusted by ${still.map((o) => `role ${o.name}`).join(', ')}`})
    else if (!(await providerIsPsbs(ctx, arn))) left.push({item: `OIDC provider ${arn}`, status: 'skipped', detail: `not tagged ${MANAGED_BY_KEY}=${MANAGED_BY_VALUE}: psb did not make it`})
    else out.push(arn)
  }
  return out
}

/** The backend Pulumi is logged in to, when it is this one (this prefix, or any prefix of this bucket). */
function loginToLogOut(opts: DestroyOptions): string | undefined {
  const url = currentPulumiLogin(opts.env ?? process.env)
  const parsed = url ? parseBackendUrl(url) : undefined
  if (!parsed || parsed.bucket !== opts.bucket) return undefined
  return opts.prefix === undefined || parsed.prefix === opts.prefix ? url : undefined
}

async function planBucket(ctx: AwsContext, opts: DestroyOptions, left: Change[]): Promise<{plan: BucketPlan; first?: VersionPage}> {
  const state = await bucketState(ctx, opts.bucket)
  const plan: BucketPlan = {...state, firstPage: 0, more: false, deleteObjects: false, deleteBucket: false}
  if (!state.exists || opts.keepBucket) return {plan}
  if (!state.managed) {
    left.push({item: `bucket ${opts.bucket}`, status: 'skipped', detail: `not tagged ${MANAGED_BY_KEY}=${MANAGED_BY_VALUE}: psb did not make it, so its objects and the bucket stay`})
    return {plan}
  }
  const first = await listVersionPage(ctx, opts.bucket, opts.prefix)
  return {plan: {...plan, firstPage: first.items.length, more: first.next !== undefined, deleteObjects: true, deleteBucket: opts.prefix === undefined}, first}
}

/** The whole plan, read calls only. `first` is the first page of versions, reused by the run. */
export async function planDestroy(ctx: AwsContext, opts: DestroyOptions): Promise<{plan: DestroyPlan; first?: VersionPage}> {
  const left: Change[] = []
  const [{plan: bucketPlan, first}, principals] = await Promise.all([
    planBucket(ctx, opts, left),
    opts.keepUser ? {ours: [], others: []} : ourPrincipals(ctx, opts, left),
  ])
  const stacks = bucketPlan.deleteObjects ? await listStacks(ctx, opts.bucket, opts.prefix) : []
  const oidcProviders = await providersToDelete(ctx, principals.ours, principals.others, left)
  const kmsKeys = opts.keepBucket ? [] : await findKmsKeys(ctx, opts.bucket, opts.prefix, left)
  const plan: DestroyPlan = {
    bucket: opts.bucket,
    ...(opts.prefix === undefined ? {} : {prefix: opts.prefix}),
    principals: principals.ours,
    oidcProviders,
    profiles: planProfiles(principals.ours.flatMap((p) => p.keys), opts.env ?? process.env),
    logoutUrl: bucketPlan.deleteObjects || !bucketPlan.exists ? loginToLogOut(opts) : undefined,
    bucketPlan,
    kmsKeys,
    stacks,
    left,
    changes: [],
  }
  plan.changes = planChanges(plan)
  return {plan, first}
}

/** The plan as lines, in the order the run takes them. */
export function planChanges(p: DestroyPlan): Change[] {
  const out: Change[] = []
  const planned = (item: string, detail?: string) => out.push({item, status: 'planned', ...(detail ? {detail} : {})})
  for (const u of p.principals) for (const k of u.keys) planned(`access key ${maskKeyId(k)}`, `of user ${u.name}, from IAM and from every profile holding it`)
  out.push(...profileChanges(p.profiles, 'planned'))
  for (const arn of p.oidcProviders) planned(`OIDC provider ${arn}`, 'no role that stays trusts it')
  for (const u of p.principals) planned(`${u.kind} ${u.name}`, `${u.arn}; ${u.inlinePolicies.length} inline and ${u.attachedPolicies.length} attached policies`)
  if (p.logoutUrl) planned('pulumi logout', p.logoutUrl)
  const b = p.bucketPlan
  if (b.deleteObjects) {
    const count = b.more ? 'more than 1,000' : String(b.firstPage)
    planned(p.prefix === undefined ? `objects in ${p.bucket}` : `objects under ${p.bucket}/${p.prefix}/`, `every version and delete marker (${count})`)
  }
  if (b.deleteBucket) planned(`bucket ${p.bucket}`)
  out.push(...p.kmsKeys.map((k) => kmsChange(k, k.state === 'PendingDeletion' ? 'unchanged' : 'planned')))
  return out
}
