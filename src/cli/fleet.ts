/**
 * `psb init` over many targets (docs/fleet.md): every ACCOUNT/REGION gets the same chain as
 * a single init — bucket ∥ user → first key (into the target's own profile) → verify — acting
 * in its account through an assumed role (lib/fleet/assume.ts). One listr2 tree, one group per
 * target, --concurrency groups at once. A target's failure ends only its own group.
 *
 * What does not apply per target: `pulumi login` (it is per project: the summary prints each
 * target's backend URL instead) and the plugins' hooks. All first keys share one rotation
 * lock and journal (keys/run.ts openRotationSession); every profile goes into the one
 * credentials file through the locked atomic writer, so concurrent writes are never lost.
 */
import {Listr, ListrLogLevels, ListrLogger, ListrTaskEventType, ListrTaskState, type ListrTask} from 'listr2'
import {createAwsContext, validateEndpoint, type AwsContext} from '../lib/aws/client.js'
import {parseDuration} from '../lib/duration.js'
import {credentialsFilePath, resolveRegion} from '../lib/files/aws-config.js'
import {EXIT, isPsbError, messageOf} from '../lib/errors.js'
import {DEFAULT_ROLE_NAME, targetContext} from '../lib/fleet/assume.js'
import {checkFleetTargets, fleetUser, offlineSpecs, selectTargets} from '../lib/fleet/select.js'
import {resolveTargets, type Target} from '../lib/fleet/targets.js'
import {normalizePrefix} from '../lib/iam/policy.js'
import {preflight} from '../lib/iam/preflight.js'
import {checkUserScope} from '../lib/iam/user.js'
import {openRotationSession, type RotationSession} from '../lib/keys/rotate.js'
import {buildBackendUrl} from '../lib/pulumi/backend-url.js'
import {redact} from '../lib/redact.js'
import type {Change} from '../lib/types.js'
import {DEFAULT_CONCURRENCY, fleetSelection, type FleetFlags} from './fleet-flags.js'
import {withSecrets, type InitDeps, type InitFlags} from './init-inputs.js'
import {proofOptionsFromFlags} from './keys.js'
import {defaultAlias, providerUrl} from '../lib/kms/names.js'
import {validateSecretsKeyOptions, type SecretsKeyOptions} from '../lib/kms/key.js'
import {STEP_IDS, initTasks, type InitContext, type InitPlan} from './tasks.js'
import {userOptionsFromFlags} from './user-create.js'
import {fleetKeylessFlags, fleetRole, keylessTargetPlan, keylessTargets, trustSource, type FleetKeyless} from './fleet-keyless.js'
import type {KeylessFlags} from './init-keyless.js'

export interface FleetRow {
  account: string
  region: string
  bucket: string
  prefix: string | null
  profile: string
  /** The IAM user of the target; null with --keyless (then role and roleArn). */
  user: string | null
  role?: string
  roleArn?: string | null
  backendUrl: string
  /** --secrets kms: Pulumi's secrets provider of the target (its own KMS key, in its account), as a single init's `kms`; null with a passphrase. */
  kms: {providerUrl: string; keyArn: string | null} | null
  status: 'ok' | 'failed'
  /** Something was created or updated (false on a re-run of a finished target, and in a dry run). */
  changed: boolean
  ms: number
  /** Every step's changes (planned ones in a dry run). */
  changes: Change[]
  error?: {code: string; message: string; hint?: string; exitCode: number; step?: string}
}

export interface FleetDocument {
  dryRun: boolean
  /** `I/N` with --shard, else null. */
  shard: string | null
  targets: FleetRow[]
}

/** Everything a fleet run needs, settled before the first write. */
interface FleetRun {
  flags: InitFlags & FleetFlags & KeylessFlags
  d: FleetDeps
  admin: AwsContext
  endpoint?: string
  waitMs: number
  /** --confirmations / --interval: the first key's proof (defaults when not given). */
  proof: {successes?: number; pollMs?: number}
  roleName: string
  dryRun: boolean
  session?: RotationSession
  /** --keyless: a role and a role profile per target instead of a user and key. */
  keyless?: FleetKeyless
}

export interface FleetDeps extends Pick<InitDeps, 'env' | 'bucketOptions' | 'verifyOptions' | 'note'> {
  mode: 'tty' | 'plain' | 'json'
  say: (line: string) => void
}

/** One target's run: its init context (steps, error) and its wall time. */
interface TargetRun {
  t: Target
  ctx: InitContext
  started?: number
  ended?: number
}

/** The flags checked offline, then the administrator's credentials and the targets (read calls only): exit 2 before any write. */
async function fleetInputs(flags: InitFlags & FleetFlags & KeylessFlags, d: FleetDeps): Promise<{run: FleetRun; targets: Target[]}> {
  const env = d.env
  const adminProfile = flags['admin-profile']
  const endpoint = validateEndpoint(flags.endpoint)
  const prefix = normalizePrefix(flags.prefix)
  const waitMs = parseDuration(flags.wait, {flag: '--wait', bareUnit: 's'})
  const region = resolveRegion(flags.region, adminProfile, env)
  const sel = fleetSelection(flags as unknown as FleetFlags & Record<string, unknown>, {prefix, region})
  const specs = offlineSpecs(sel)
  // init's bucket and user flags, with a stand-in bucket: their problems are exit 2 now.
  userOptionsFromFlags({...flags, bucket: 'pulumi-state-probe', prefix})
  d.bucketOptions('pulumi-state-probe', region ?? 'us-east-1')
  const proof = proofOptionsFromFlags(flags, waitMs)
  const keyless = fleetKeylessFlags(flags, {dryRun: flags['dry-run'], waitMs})
  const check = (targets: Target[]) => {
    checkFleetTargets(targets, {user: flags.user, adminProfile})
    for (const t of targets) if (flags.secrets === 'kms') validateSecretsKeyOptions(targetSecrets(t, true))
    if (keyless) keylessTargets(keyless, targets, {adminProfile, env})
  }
  // Without --org-accounts every target is known now: its names are checked before any call.
  if (!sel.orgAccounts) check(resolveTargets(specs, sel))
  const admin = createAwsContext({region: region ?? specs[0]?.region ?? 'us-east-1', endpoint, profile: adminProfile})
  // The administrator's credentials resolve and AWS accepts them (read calls only).
  await preflight(admin, {env})
  const {targets} = await selectTargets(admin, sel, specs)
  check(targets)
  // Each role trusts the administrator's own principal (the preflight's identity: no second call).
  if (keyless && targets.length > 0) await trustSource(keyless, admin)
  const run: FleetRun = {flags, d, admin, endpoint, waitMs, proof, roleName: flags['assume-role-name'] ?? DEFAULT_ROLE_NAME, dryRun: flags['dry-run'], keyless}
  return {run, targets}
}

/** --secrets kms: the target's own KMS key (alias/pulumi-<bucket>[-<prefix>]) in its account and region. */
function targetSecrets(t: Target, dryRun: boolean): SecretsKeyOptions {
  return {bucket: t.bucket, prefix: t.prefix, region: t.region, dryRun}
}

/** One target's init plan: the single init's steps, acting in the target account. */
function targetPlan(t: Target, admin: AwsContext, f: FleetRun): InitPlan {
  const {flags, d, endpoint, dryRun} = f
  const user = fleetUser(flags.user, t)
  const env = d.env
  const secrets = flags.secrets === 'kms' ? targetSecrets(t, dryRun) : undefined
  return {
    admin,
    bucket: d.bucketOptions(t.bucket, t.region),
    // The assumed role must act in the target's account: anything else stops before the first write.
    user: {...userOptionsFromFlags({...flags, user, bucket: t.bucket, prefix: t.prefix}), expectAccountId: t.account},
    key: {user, profile: t.profile, region: t.region, endpoint, bucket: t.bucket, prefix: t.prefix, dryRun, waitMs: f.waitMs, ...f.proof, env, session: f.session},
    keyless: f.keyless ? keylessTargetPlan(f.keyless, t) : undefined,
    loginSkipped: 'a fleet run prints each backend URL; pulumi login is per project',
    secrets,
    verify: flags.verify && !dryRun ? withSecrets(f.d.verifyOptions({profile: t.profile, bucket: t.bucket, prefix: t.prefix, region: t.region, endpoint, pulumi: false}), secrets) : undefined,
    dryRun,
    env,
  }
}

/** A target's group of the tree: assume the role, check the user's scope (read only), then init's steps. */
function targetGroup(r: TargetRun, f: FleetRun): ListrTask<Record<string, never>> {
  const {t} = r
  return {
    title: `${t.id}: s3://${t.bucket}${t.prefix ? `/${t.prefix}` : ''} → profile ${t.profile}`,
    rendererOptions: {persistentOutput: false},
    task: async (_ctx, task) => {
      r.started = Date.now()
      task.task.on(ListrTaskEventType.STATE, (s: ListrTaskState) => {
        if (s === ListrTaskState.COMPLETED || s === ListrTaskState.FAILED) r.ended ??= Date.now()
      })
      try {
        task.output = `assuming ${f.roleName} in ${t.account}`
        const admin = await targetContext(f.admin, t, {roleName: f.roleName, command: 'init'})
        const plan = targetPlan(t, admin, f)
        if (!plan.keyless) {
          task.output = `checking ${plan.user.user}`
          // The user step starts from this read (no second iam:GetUser).
          plan.user.known = await checkUserScope(admin, plan.user)
        }
        return task.newListr(initTasks(plan), {ctx: r.ctx, exitOnError: true, concurrent: false})
      } catch (error) {
        r.ctx.error ??= error
        r.ended ??= Date.now()
        throw new Error(redact(messageOf(error)), {cause: error})
      }
    },
  }
}

function errorOf(ctx: InitContext): FleetRow['error'] {
  const e = ctx.error
  if (e === undefined) return undefined
  const step = ctx.failedStep
  if (isPsbError(e)) return {code: e.code, message: redact(e.message), ...(e.hint ? {hint: redact(e.hint)} : {}), exitCode: e.exitCode, ...(step ? {step} : {})}
  return {code: 'Unexpected', message: redact(messageOf(e)), exitCode: EXIT.FAILED, ...(step ? {step} : {})}
}

function rowOf(r: TargetRun, f: FleetRun): FleetRow {
  const {t, ctx} = r
  const changes = STEP_IDS.flatMap((id) => ctx.steps[id]?.changes ?? [])
  const error = errorOf(ctx)
  return {
    account: t.account,
    region: t.region,
    bucket: t.bucket,
    prefix: t.prefix ?? null,
    profile: t.profile,
    user: f.keyless ? null : fleetUser(f.flags.user, t),
    ...(f.keyless ? {role: fleetRole(f.keyless.roleBase, t), roleArn: ctx.role?.roleArn ?? null} : {}),
    backendUrl: buildBackendUrl({bucket: t.bucket, prefix: t.prefix, region: t.region, profile: t.profile, endpoint: f.endpoint}),
    kms: f.flags.secrets === 'kms' ? {providerUrl: ctx.secrets?.providerUrl ?? providerUrl(defaultAlias(t.bucket, t.prefix), t.region), keyArn: ctx.secrets?.keyArn ?? null} : null,
    status: error ? 'failed' : 'ok',
    changed: !f.dryRun && changes.some((c) => c.status === 'created' || c.status === 'updated' || c.status === 'deleted'),
    ms: r.started === undefined ? 0 : (r.ended ?? Date.now()) - r.started,
    changes,
    ...(error ? {error} : {}),
  }
}

/** Runs every target, --concurrency at once, in one listr2 tree. Never throws for a target's failure. */
async function runTargets(runs: TargetRun[], f: FleetRun): Promise<void> {
  const json = f.d.mode === 'json'
  const stderrLogger = new ListrLogger({useIcons: false, toStderr: Object.values(ListrLogLevels)})
  const list = new Listr<Record<string, never>, 'default' | 'simple', 'simple'>(
    runs.map((r) => targetGroup(r, f)),
    {
      concurrent: f.flags.concurrency ?? DEFAULT_CONCURRENCY,
      exitOnError: false,
      // SIGINT is psb's (src/cli/signals.ts).
      registerSignalListeners: false,
      renderer: f.d.mode === 'tty' ? 'default' : 'simple',
      rendererOptions: f.d.mode === 'tty' ? {collapseSubtasks: true, showErrorMessage: true} : json ? {logger: stderrLogger} : {},
      fallbackRenderer: 'simple',
    } as never,
  )
  try {
    await list.run()
  } catch {
    // Each target's error is in its own context.
  }
  await Promise.all(runs.flatMap((r) => r.ctx.running ?? []))
}

/**
 * `psb init` over the targets of the flags: validated first (exit 2, nothing changed), then
 * every target run; the document has one row per target. Exit code: 0 when every target is
 * ok, 1 when any failed (the others still finished).
 */
export async function runFleet(flags: InitFlags & FleetFlags & KeylessFlags, d: FleetDeps): Promise<{doc: FleetDocument; exitCode: number}> {
  const {run: f, targets} = await fleetInputs(flags, d)
  const shard = flags.shard === undefined ? null : flags.shard.trim()
  d.say(`psb init${f.dryRun ? ' (dry run: nothing will be changed)' : ''}: ${targets.length} target${targets.length === 1 ? '' : 's'}${shard ? ` (shard ${shard})` : ''}, ${flags.concurrency ?? DEFAULT_CONCURRENCY} at once, through role ${f.roleName}${f.keyless ? `; keyless: role ${fleetRole(f.keyless.roleBase, {region: '<region>'})} and a role profile per target, no access key` : ''}`)
  const runs: TargetRun[] = targets.map((t) => ({t, ctx: {steps: {}}}))
  if (runs.length > 0) {
    // A keyless fleet makes no key: no rotation lock or journal either.
    f.session = f.dryRun || f.keyless ? undefined : openRotationSession(credentialsFilePath(d.env), 'init')
    try {
      await runTargets(runs, f)
    } finally {
      f.session?.release()
    }
  }
  // Each target's warnings (as a single init shows them), named by the target.
  for (const r of runs) for (const w of new Set(STEP_IDS.flatMap((id) => r.ctx.steps[id]?.warnings ?? []))) d.note(`${r.t.id}: ${w}`)
  const rows = runs.map((r) => rowOf(r, f))
  return {doc: {dryRun: f.dryRun, shard, targets: rows}, exitCode: rows.some((r) => r.status === 'failed') ? EXIT.FAILED : EXIT.OK}
}
