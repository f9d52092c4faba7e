/**
 * The writing steps of `psb role create` (role.ts plans them with read calls only): the GitHub
 * OIDC provider, the role (or its trust, session length, tags and boundary), the inline state
 * policy, the attached policies. Each step writes only when what it finds differs, so a
 * second run makes no write; in dry-run none writes and each reports `planned`.
 */
import type {IAMClient} from '@aws-sdk/client-iam'
import type {AwsContext} from '../aws/client.js'
import {awsCall, awsCode, withBackoff} from '../aws/errors.js'
import {BUCKET_TAG, PREFIX_TAG} from '../aws/tags.js'
import {PsbError} from '../errors.js'
import type {Change, Logger} from '../types.js'
import {STATE_POLICY_NAME, policiesEquivalent, type PolicyDocument} from './policy.js'
import {addGithubAudience, createGithubProvider, type ExistingRole, type GithubProvider} from './role-calls.js'
import {GITHUB_AUDIENCE, GITHUB_OIDC_HOST, type TrustMerge} from './trust.js'
import type {RoleOptions} from './role.js'

/** What the writing steps share (built by planRole in role.ts). `fresh` turns true after CreateRole. */
export interface RoleRun {
  aws: AwsContext
  o: RoleOptions
  principal: string
  accountId: string
  partition: string
  arn: string
  path: string
  prefix: string | undefined
  existing: ExistingRole | undefined
  adopted: boolean
  changes: Change[]
  logger: Logger
  kmsKeyArn: string | undefined
  requireMfa: boolean
  wantTags: Record<string, string>
  iam: IAMClient
  sdk: typeof import('@aws-sdk/client-iam')
  /** The GitHub provider, when a github: entry needs it; `missing`: psb creates it. */
  provider: (GithubProvider & {missing?: boolean}) | undefined
  trust: PolicyDocument
  trustMerge: TrustMerge | undefined
  policy: PolicyDocument
  current: PolicyDocument | undefined
  attached: string[]
  fresh: boolean
  propagationMs: number
  done: (s: 'created' | 'updated') => 'created' | 'updated' | 'planned'
  call: <T>(action: string, fn: () => Promise<T>) => Promise<T>
}

export async function applyRole(run: RoleRun): Promise<void> {
  await ensureProvider(run, run.o.dryRun ? undefined : run.aws)
  if (run.existing) await updateRole(run, run.existing)
  else await createRole(run)
  await putRolePolicy(run)
  await attachRolePolicies(run)
}

async function ensureProvider(run: RoleRun, ctx: AwsContext | undefined): Promise<void> {
  const p = run.provider
  if (!p) return
  const item = `OIDC provider ${GITHUB_OIDC_HOST}`
  if (p.missing) {
    if (ctx) p.arn = await createGithubProvider(ctx, run.principal)
    run.changes.push({item, status: run.done('created'), detail: `${p.arn}; audience ${GITHUB_AUDIENCE}; tag managed-by=psb`})
  } else if (!p.audiences.includes(GITHUB_AUDIENCE)) {
    if (ctx) await addGithubAudience(ctx, p.arn, run.principal)
    run.changes.push({item, status: run.done('updated'), detail: `audience ${GITHUB_AUDIENCE} added to ${p.arn}`})
  } else {
    run.changes.push({item, status: 'unchanged', detail: `${p.arn} (reused${p.ours ? '' : '; not psb\'s, so psb destroy leaves it'})`})
  }
}

function trustSummary(run: RoleRun): string {
  const m = run.trustMerge
  if (!m) return run.o.trust.map((e) => e.spec).join(', ')
  const parts = [] as string[]
  if (m.added.length > 0) parts.push(`added ${m.added.join(', ')}`)
  if (m.removed.length > 0) parts.push(`removed psb's ${m.removed.join(', ')}`)
  if (m.foreign > 0) parts.push(`kept ${m.foreign} statement${m.foreign === 1 ? '' : 's'} psb did not write`)
  return parts.join('; ')
}

async function createRole(run: RoleRun): Promise<void> {
  const {o, sdk, iam} = run
  if (!o.dryRun) {
    await run.call('iam:CreateRole', () =>
      iam.send(
        new sdk.CreateRoleCommand({
          RoleName: o.role,
          Path: run.path,
          AssumeRolePolicyDocument: JSON.stringify(run.trust),
          MaxSessionDuration: o.maxSessionSeconds,
          PermissionsBoundary: o.permissionsBoundary,
          Description: `Pulumi state in s3://${o.bucket}${run.prefix ? `/${run.prefix}` : ''} (psb role create)`,
          Tags: Object.entries(run.wantTags).map(([Key, Value]) => ({Key, Value})),
        }),
      ),
    )
    run.fresh = true
  }
  const tagText = Object.entries(run.wantTags).map(([k, v]) => `${k}=${v}`).join(', ')
  run.changes.push({item: `role ${o.role}`, status: run.done('created'), detail: `${run.arn}; max session ${o.maxSessionSeconds}s; tags ${tagText}`})
  run.changes.push({item: 'trust policy', status: run.done('created'), detail: trustSummary(run)})
  if (o.permissionsBoundary) run.changes.push({item: 'permissions boundary', status: run.done('created'), detail: o.permissionsBoundary})
}

async function updateRole(run: RoleRun, existing: ExistingRole): Promise<void> {
  const {o, sdk, iam, changes} = run
  changes.push({item: `role ${o.role}`, status: run.adopted ? run.done('updated') : 'unchanged', detail: run.adopted ? `adopted: ${run.arn}` : run.arn})
  if (existing.trust && policiesEquivalent(existing.trust, run.trust)) changes.push({item: 'trust policy', status: 'unchanged', detail: o.trust.map((e) => e.spec).join(', ') || undefined})
  else {
    if (!o.dryRun) await run.call('iam:UpdateAssumeRolePolicy', () => iam.send(new sdk.UpdateAssumeRolePolicyCommand({RoleName: o.role, PolicyDocument: JSON.stringify(run.trust)})))
    changes.push({item: 'trust policy', status: run.done('updated'), detail: trustSummary(run)})
  }
  const had = existing.role.MaxSessionDuration
  if (had === o.maxSessionSeconds) changes.push({item: 'max session', status: 'unchanged', detail: `${had}s`})
  else {
    if (!o.dryRun) await run.call('iam:UpdateRole', () => iam.send(new sdk.UpdateRoleCommand({RoleName: o.role, MaxSessionDuration: o.maxSessionSeconds})))
    changes.push({item: 'max session', status: run.done('updated'), detail: `${had ?? 3600}s → ${o.maxSessionSeconds}s`})
  }
  await updateRoleTags(run, existing)
  await updateRoleBoundary(run, existing)
}

async function updateRoleTags(run: RoleRun, existing: ExistingRole): Promise<void> {
  const {o, sdk, iam, changes} = run
  const diff = Object.entries(run.wantTags).filter(([k, v]) => existing.tags[k] !== v)
  if (diff.length > 0) {
    if (existing.tags[BUCKET_TAG] && existing.tags[BUCKET_TAG] !== o.bucket) run.logger.warn(`The role ${o.role} was set up for the bucket ${existing.tags[BUCKET_TAG]}; its state policy now grants ${o.bucket} instead.`)
    if (!o.dryRun) await run.call('iam:TagRole', () => iam.send(new sdk.TagRoleCommand({RoleName: o.role, Tags: diff.map(([Key, Value]) => ({Key, Value}))})))
    changes.push({item: 'tags', status: run.done('updated'), detail: diff.map(([k, v]) => `${k}=${v}${existing.tags[k] !== undefined ? ` (was ${existing.tags[k]})` : ''}`).join(', ')})
  }
  if (!run.prefix && existing.tags[PREFIX_TAG] !== undefined) {
    // Only reached with widenScope: the tag must not name a scope the policy no longer has.
    if (!o.dryRun) await run.call('iam:UntagRole', () => iam.send(new sdk.UntagRoleCommand({RoleName: o.role, TagKeys: [PREFIX_TAG]})))
    changes.push({item: 'tags', status: run.done('updated'), detail: `${PREFIX_TAG} removed (was ${existing.tags[PREFIX_TAG]})`})
  } else if (diff.length === 0) {
    changes.push({item: 'tags', status: 'unchanged', detail: Object.entries(run.wantTags).map(([k, v]) => `${k}=${v}`).join(', ')})
  }
}

async function updateRoleBoundary(run: RoleRun, existing: ExistingRole): Promise<void> {
  const want = run.o.permissionsBoundary
  if (!want) return
  const had = existing.role.PermissionsBoundary?.PermissionsBoundaryArn
  if (had === want) {
    run.changes.push({item: 'permissions boundary', status: 'unchanged', detail: had})
    return
  }
  if (!run.o.dryRun) await run.call('iam:PutRolePermissionsBoundary', () => run.iam.send(new run.sdk.PutRolePermissionsBoundaryCommand({RoleName: run.o.role, PermissionsBoundary: want})))
  run.changes.push({item: 'permissions boundary', status: run.done(had ? 'updated' : 'created'), detail: had ? `${had} → ${want}` : want})
}

async function putRolePolicy(run: RoleRun): Promise<void> {
  const item = `inline policy ${STATE_POLICY_NAME}`
  if (run.current && policiesEquivalent(run.current, run.policy)) {
    run.changes.push({item, status: 'unchanged'})
    return
  }
  if (!run.o.dryRun) {
    await run.call('iam:PutRolePolicy', () =>
      run.iam.send(new run.sdk.PutRolePolicyCommand({RoleName: run.o.role, PolicyName: STATE_POLICY_NAME, PolicyDocument: JSON.stringify(run.policy)})),
    )
  }
  run.changes.push({item, status: run.done(run.current ? 'updated' : 'created'), detail: run.current ? 'differed from the generated policy; rewritten' : undefined})
}

async function attachRolePolicies(run: RoleRun): Promise<void> {
  for (const policyArn of [...new Set(run.o.attachPolicies)]) {
    if (run.attached.includes(policyArn)) {
      run.changes.push({item: `attached policy ${policyArn}`, status: 'unchanged'})
      continue
    }
    if (!run.o.dryRun) await attachRolePolicy(run, policyArn)
    run.attached.push(policyArn)
    run.changes.push({item: `attached policy ${policyArn}`, status: run.done('created')})
  }
}

async function attachRolePolicy(run: RoleRun, policyArn: string): Promise<void> {
  const send = () => run.iam.send(new run.sdk.AttachRolePolicyCommand({RoleName: run.o.role, PolicyArn: policyArn}))
  await awsCall({action: 'iam:AttachRolePolicy', resource: run.arn, principal: run.principal}, async () => {
    try {
      await (run.fresh ? withBackoff(send, {maxMs: run.propagationMs, baseMs: 250, capMs: 2000, retryIf: (e) => awsCode(e) === 'NoSuchEntity' && !/policy/i.test((e as Error).message ?? '')}) : send())
    } catch (error) {
      if (awsCode(error) === 'NoSuchEntity' && /policy/i.test((error as Error).message ?? '')) {
        throw new PsbError(`The managed policy ${policyArn} does not exist (iam:AttachRolePolicy answered NoSuchEntity).`, {
          code: 'PolicyNotFound',
          cause: error,
          hint: 'Check the ARN given to --attach-policy: AWS-managed policies look like arn:aws:iam::aws:policy/<name>, your own like arn:aws:iam::<account>:policy/<name>.',
        })
      }
      throw error
    }
  })
}
