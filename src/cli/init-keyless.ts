/**
 * `psb init --keyless`: the chain with an IAM role instead of a user and key (docs/keyless.md).
 * Its flags, its inputs (checked before the first write: exit 2, nothing changed), and its
 * steps for init's task list (tasks.ts): the role (ensureRole, in place of the user), the role
 * profile in the AWS config file (in place of the key), and the retirement of a key-based
 * user once the role is proven (after verify). The core is src/lib/init/keyless.ts.
 */
import {Flags} from '@oclif/core'
import type {AwsContext} from '../lib/aws/client.js'
import {parseDuration} from '../lib/duration.js'
import {awsCode, withBackoff} from '../lib/aws/errors.js'
import {badInput, isPsbError} from '../lib/errors.js'
import type {Env} from '../lib/files/aws-config.js'
import {DEFAULT_ROLE, ensureRole, validateRoleOptions, type RoleOptions, type RoleResult} from '../lib/iam/role.js'
import {parseTrusts, trustKey, type TrustEntry} from '../lib/iam/trust.js'
import {checkProfileKeyless, checkRetireUser, proveRole, retireUser, sourceIdentity, sourceOf, writeRoleProfile, type KeylessSource, type RetireResult} from '../lib/init/keyless.js'
import type {InitContext, InitPlan, StepReport} from './tasks.js'

export const keylessFlagDefs = {
  keyless: Flags.boolean({description: 'No access key anywhere: an IAM role with the same least-privilege policy instead of a user, and a profile in the AWS config file that assumes it (role_arn + source_profile). See docs/keyless.md.', default: false}),
  role: Flags.string({description: 'With --keyless: the IAM role Pulumi runs as (default pulumi-state; also the default profile name).', helpValue: '<name>'}),
  trust: Flags.string({description: 'With --keyless: who else may assume the role, repeatable: github:OWNER/REPO[:ref:refs/heads/main | :environment:prod | :pull_request] (CI through GitHub OIDC), or aws:<principal ARN>. The principal psb acts with is always trusted.', multiple: true, multipleNonGreedy: true, helpValue: '<spec>'}),
  'require-mfa': Flags.boolean({description: 'With --keyless: the aws: principals (people) must have signed in with MFA.', default: false}),
  'max-session': Flags.string({description: 'With --keyless: the role\'s maximum session (1h to 12h).', default: '1h', helpValue: '<duration>'}),
  'source-profile': Flags.string({description: 'With --keyless: the profile whose credentials assume the role (default: the profile psb acts with; credential_source = Environment when those come from the environment).', helpValue: '<profile>'}),
  'retire-user': Flags.string({description: 'With --keyless: once the role is proven (assumed, round trip passed), delete this IAM user\'s access keys and remove them from the local profiles that hold them. Asks on a terminal; needs --yes otherwise.', helpValue: '<user>'}),
  'delete-user': Flags.boolean({description: 'With --retire-user: delete the user too (its policies are removed first).', default: false}),
}

export interface KeylessFlags {
  keyless: boolean
  role?: string
  trust?: string[]
  'require-mfa': boolean
  'max-session': string
  'source-profile'?: string
  'retire-user'?: string
  'delete-user': boolean
  path?: string
  'permissions-boundary'?: string
  'attach-policy'?: string[]
  'kms-key'?: string
  adopt: boolean
  'widen-scope': boolean
  'admin-profile'?: string
  yes: boolean
  iam: boolean
}

export interface KeylessPlan {
  role: RoleOptions
  source: KeylessSource
  profile: string
  retire?: {user: string; userArn?: string; deleteUser: boolean}
  github: Extract<TrustEntry, {kind: 'github'}>[]
  /**
   * A fleet's target (src/cli/fleet-keyless.ts): once the role or its profile changed, the
   * profile step proves the profile (it assumes the role, a put/get/delete round trip passes),
   * retrying for up to waitMs while IAM propagates the new role.
   */
  prove?: {waitMs: number}
}

/** The profile name `psb init` uses: --profile, else the role's name with --keyless. */
export function keylessProfileDefault(flags: {keyless: boolean; role?: string; profile?: string}): string | undefined {
  return flags.profile ?? (flags.keyless ? (flags.role ?? DEFAULT_ROLE) : undefined)
}

/** Keyless-only flags without --keyless, --delete-user without --retire-user, --no-iam with it: exit 2. */
export function refuseMisplaced(flags: KeylessFlags): void {
  const given = (['role', 'trust', 'require-mfa', 'source-profile', 'retire-user'] as const).filter((f) => (Array.isArray(flags[f]) ? (flags[f] as string[]).length > 0 : Boolean(flags[f])))
  if (!flags.keyless && given.length > 0) throw badInput(`${given.map((f) => `--${f}`).join(', ')} only mean${given.length === 1 ? 's' : ''} something with --keyless.`, 'Add --keyless (an IAM role instead of a user and key), or drop the flag.', 'KeylessFlagWithoutKeyless')
  if (flags['delete-user'] && !flags['retire-user']) throw badInput('--delete-user needs --retire-user <user>.', 'Name the user to retire: --retire-user pulumi --delete-user.', 'FlagsConflict')
  if (flags.keyless && !flags.iam) throw badInput('--keyless makes an IAM role; --no-iam is for a store without AWS IAM.', 'Drop one of them.', 'FlagsConflict')
}

/** Asks on a terminal; exit 2 without --yes elsewhere (before any write). */
async function confirmRetire(user: string, deleteUser: boolean, o: {interactive: boolean; yes: boolean; why: string}): Promise<void> {
  if (o.yes) return
  const what = `${user}'s access keys${deleteUser ? ` and the user ${user}` : ''}`
  if (!o.interactive) throw badInput(`--retire-user deletes ${what} once the role works, and psb cannot ask (${o.why}). Nothing was changed.`, 'Add --yes to confirm.', 'ConfirmationNeeded')
  const {confirm} = await import('@inquirer/prompts')
  const ok = await confirm({message: `Delete ${what} once the role is proven to work?`, default: false}, {output: process.stderr})
  if (!ok) throw badInput('Not confirmed: nothing was changed.', 'Run again and confirm, or leave --retire-user out.', 'NotConfirmed')
}

/** The role settings every keyless run takes from the flags (single init and each fleet target). */
export function roleFlagOptions(flags: KeylessFlags, trust: RoleOptions['trust'], dryRun: boolean): Omit<RoleOptions, 'role' | 'bucket' | 'prefix' | 'kmsKeyArn'> {
  return {
    path: flags.path,
    permissionsBoundary: flags['permissions-boundary'],
    maxSessionSeconds: Math.round(parseDuration(flags['max-session'], {flag: '--max-session', bareUnit: 's'}) / 1000),
    attachPolicies: flags['attach-policy'] ?? [],
    trust,
    requireMfa: flags['require-mfa'],
    adopt: flags.adopt,
    widenScope: flags['widen-scope'],
    dryRun,
  }
}

/** Every keyless input, checked before the first write (read calls only). Undefined without --keyless. */
export async function keylessInputs(
  flags: KeylessFlags,
  o: {admin: AwsContext; bucket: string; prefix?: string; profile: string; env: Env; dryRun: boolean; interactive: boolean; why: string},
): Promise<KeylessPlan | undefined> {
  refuseMisplaced(flags)
  if (!flags.keyless) return undefined
  const trust = parseTrusts(flags.trust ?? [])
  const role: RoleOptions = {
    ...roleFlagOptions(flags, trust, o.dryRun),
    role: flags.role ?? DEFAULT_ROLE,
    bucket: o.bucket,
    prefix: o.prefix,
    kmsKeyArn: flags['kms-key'],
  }
  validateRoleOptions(role)
  const source = sourceOf({sourceProfile: flags['source-profile'], adminProfile: flags['admin-profile'], profile: o.profile, env: o.env})
  checkProfileKeyless(o.profile, o.env)
  const user = flags['retire-user']
  if (user) await confirmRetire(user, flags['delete-user'], {interactive: o.interactive, yes: flags.yes, why: o.why})
  // The principal that assumes the role from this machine is trusted (read calls only).
  const self = parseTrusts([`aws:${await sourceIdentity(o.admin, source)}`])[0]
  if (!trust.some((e) => trustKey(e) === trustKey(self))) trust.push(self)
  const retire = user ? {user, userArn: await checkRetireUser(o.admin, user), deleteUser: flags['delete-user']} : undefined
  return {role, source, profile: o.profile, retire, github: trust.filter((e): e is KeylessPlan['github'][number] => e.kind === 'github')}
}

const collect = (into: string[]) => ({warn: (m: string) => into.push(m), info: () => {}})
const count = (r: {changes: {status: string}[]}) => r.changes.filter((c) => c.status !== 'unchanged').length

function stepStatus(changes: {status: string}[], dryRun: boolean): StepReport['status'] {
  if (dryRun) return changes.some((c) => c.status === 'planned') ? 'planned' : 'unchanged'
  if (changes.some((c) => c.status === 'created')) return 'created'
  return changes.some((c) => c.status !== 'unchanged') ? 'updated' : 'unchanged'
}

/** The role step (in place of the user step). */
export async function roleStep(plan: InitPlan, ctx: InitContext & {role?: RoleResult}): Promise<StepReport> {
  const warnings: string[] = []
  const r = await ensureRole(plan.admin, plan.keyless!.role, collect(warnings))
  ctx.role = r
  const status = stepStatus(r.changes, plan.dryRun)
  const n = count(r)
  return {status, summary: `${status} (${n ? `${n} changes` : 'nothing to change'}; ${r.roleArn})`, changes: r.changes, warnings: [...r.warnings, ...warnings]}
}

/** The profile step (in place of the key step): role_arn + source in the config file (then, in a fleet, its proof). */
export async function profileStep(plan: InitPlan, ctx: InitContext & {role?: RoleResult}): Promise<StepReport> {
  const k = plan.keyless!
  const r = await writeRoleProfile({profile: k.profile, roleArn: ctx.role!.roleArn, source: k.source, region: plan.bucket.region, dryRun: plan.dryRun, env: plan.env})
  const status = stepStatus(r.changes, plan.dryRun)
  const via = k.source.sourceProfile ? `source_profile ${k.source.sourceProfile}` : `credential_source ${k.source.credentialSource}`
  const changed = [...r.changes, ...(ctx.role?.changes ?? [])].some((c) => c.status !== 'unchanged')
  const proof = k.prove && changed && !plan.dryRun ? await proveProfile(plan, ctx.role!.roleArn, k.prove.waitMs) : undefined
  return {status, summary: `${status} ([profile ${k.profile}] in ${r.configFile}: role_arn, ${via}; no key${proof ? '; proven' : ''})`, changes: r.changes, warnings: []}
}

/** The role profile works: proveRole, retried while AWS denies a role it has only just made or changed. */
async function proveProfile(plan: InitPlan, roleArn: string, waitMs: number): Promise<string> {
  const k = plan.keyless!
  const prove = () => proveRole({profile: k.profile, roleArn, bucket: plan.bucket.bucket, prefix: k.role.prefix, region: plan.bucket.region, endpoint: plan.admin.options.endpoint})
  const propagating = (e: unknown) => ['AccessDenied', 'InvalidClientTokenId'].includes((isPsbError(e) ? e.code : awsCode(e)) ?? '')
  return withBackoff(prove, {maxMs: waitMs, baseMs: 500, capMs: 4000, retryIf: propagating})
}

/** The retire step (after verify): prove the role, then delete the user's keys (and the user). */
export async function retireStep(plan: InitPlan, ctx: InitContext & {role?: RoleResult; retire?: RetireResult}): Promise<StepReport> {
  const k = plan.keyless!
  const t = k.retire!
  if (!t.userArn) {
    ctx.retire = {user: t.user, deletedKeys: [], profiles: [], userDeleted: false, changes: []}
    return {status: 'unchanged', summary: `unchanged (there is no IAM user ${t.user}: nothing to retire)`, changes: [], warnings: []}
  }
  const roleArn = ctx.role!.roleArn
  const prove = () => proveRole({profile: k.profile, roleArn, bucket: plan.bucket.bucket, prefix: k.role.prefix, region: plan.bucket.region, endpoint: plan.admin.options.endpoint})
  const r = await retireUser(plan.admin, {user: t.user, userArn: t.userArn, deleteUser: t.deleteUser, dryRun: plan.dryRun, env: plan.env, prove})
  ctx.retire = r
  const status = stepStatus(r.changes, plan.dryRun)
  const done = r.userDeleted ? `user ${t.user} deleted` : `${r.deletedKeys.length} key(s) of ${t.user} deleted`
  return {status, summary: status === 'unchanged' ? `unchanged (${t.user} has no access key left)` : plan.dryRun ? `planned (once the role is proven)` : `${done}; role proven`, changes: r.changes, warnings: []}
}

/** The --json part of a keyless init (null otherwise), and the exact `psb ci github` commands for its github: trusts. */
export function keylessDocument(ctx: InitContext & {role?: RoleResult; retire?: RetireResult}, plan: InitPlan, v: {bucket: string; prefix?: string; region: string}) {
  const k = plan.keyless
  if (!k) return null
  const roleArn = ctx.role?.roleArn ?? null
  const ci = k.github.map(
    (e) => `psb ci github --repo ${e.owner}/${e.repo} --role-arn ${roleArn ?? '<role ARN>'} --bucket ${v.bucket}${v.prefix ? ` --prefix ${v.prefix}` : ''} --region ${v.region}${plan.secrets ? ' --secrets-provider kms' : ''} --stack <stack> --write .github/workflows/pulumi.yml`,
  )
  return {
    role: k.role.role,
    roleArn,
    profile: k.profile,
    sourceProfile: k.source.sourceProfile ?? null,
    credentialSource: k.source.credentialSource ?? null,
    trust: k.role.trust.map((e) => e.spec),
    oidcProviderArn: ctx.role?.oidcProviderArn ?? null,
    ci,
    retire: ctx.retire ? {user: ctx.retire.user, proof: ctx.retire.proof ?? null, deletedKeys: ctx.retire.deletedKeys, profiles: ctx.retire.profiles, userDeleted: ctx.retire.userDeleted} : null,
  }
}

/** The summary's rows of a keyless init. */
export function keylessRows(k: NonNullable<ReturnType<typeof keylessDocument>>): string[][] {
  const via = k.sourceProfile ? `source_profile ${k.sourceProfile}` : `credential_source ${k.credentialSource}`
  return [
    ['role', k.roleArn ?? k.role],
    ['profile', `${k.profile} (role_arn + ${via}; no access key)`],
    ...(k.retire ? [['retired', k.retire.userDeleted ? `user ${k.retire.user} (deleted)` : `${k.retire.deletedKeys.length} key(s) of ${k.retire.user}${k.retire.profiles.length ? `, removed from ${k.retire.profiles.join(', ')}` : ''}`]] : []),
  ]
}
