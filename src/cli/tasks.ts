/**
 * The task list of `psb init`: bucket → user → first key (written into the profile) →
 * `pulumi login` → verify, shown with listr2. Every step calls the SAME core function as
 * its own command (ensureBucket, ensureUser, ensureProfileKey, login, verifyBackend); this
 * file only wires them, passes results along (the bucket's KMS key to the user's policy,
 * the login URL to verify) and renders progress.
 *
 * Bucket and user run concurrently when the KMS key is known up front (--kms-key);
 * otherwise the user waits for the bucket and gets its encryption from the bucket step.
 *
 * Rendering: listr2's default renderer on a TTY; its plain-line fallback (`simple`) when
 * stdout is not a TTY; with --json nothing on stdout (progress lines go to stderr).
 */
import {Listr, ListrLogLevels, ListrLogger, type ListrTask} from 'listr2'
import type {AwsContext} from '../lib/aws/client.js'
import {credentialsFilePath, type Env} from '../lib/files/aws-config.js'
import {awsCode} from '../lib/aws/errors.js'
import {ITEMS, ensureBucket, type BucketOptions, type BucketResult} from '../lib/bucket/ensure.js'
import {PsbError, isPsbError, messageOf} from '../lib/errors.js'
import {ensureProfileKey, type EnsureProfileKeyOptions, type EnsureProfileKeyResult} from '../lib/keys/rotate.js'
import {login, type LoginOptions, type LoginResult} from '../lib/pulumi/login.js'
import {pulumiVersion} from '../lib/pulumi/cli.js'
import {maskKeyId, redact} from '../lib/redact.js'
import {changesOf, type Change, type Logger} from '../lib/types.js'
import {ensureUser, isAwsManagedKmsKey, type UserOptions, type UserResult} from '../lib/iam/user.js'
import {ensureSecretsKey, type Principal, type SecretsKeyOptions, type SecretsKeyResult} from '../lib/kms/key.js'
import {VERIFY_FAILED_EXIT, verifyBackend, type VerifyOptions, type VerifyResult} from '../lib/verify/run.js'
import {summarizeChecks} from './checks.js'
import {storeKeyStep, type NoIamPlan} from './init-no-iam.js'
import {profileStep, retireStep, roleStep, type KeylessPlan} from './init-keyless.js'
import type {RoleResult} from '../lib/iam/role.js'
import type {RetireResult} from '../lib/init/keyless.js'

export type StepId = 'bucket' | 'user' | 'secrets' | 'key' | 'login' | 'verify' | 'retire'
export const STEP_IDS: StepId[] = ['bucket', 'user', 'secrets', 'key', 'login', 'verify', 'retire']

/** How long verify retries IAM's "unknown key" answers for a key this run created. */
export const NEW_KEY_GRACE_MS = 30_000

/** Everything init needs, resolved and validated from the flags before any AWS call. */
export interface InitPlan {
  admin: AwsContext
  bucket: BucketOptions
  /** kmsKeyArn is filled from the bucket step when not given. */
  user: UserOptions
  key: EnsureProfileKeyOptions
  /**
   * `--secrets kms`: the secrets key, granted to the principals Pulumi runs as (default: the
   * user of the user step; a role can be named here instead). undefined: passphrase.
   */
  secrets?: SecretsKeyOptions
  /** undefined: --no-login. */
  login?: LoginOptions
  /** Why there is no login, when not --no-login (a fleet run: src/cli/fleet.ts). */
  loginSkipped?: string
  /** undefined: --no-verify (or a dry run). */
  verify?: Omit<VerifyOptions, 'expectUrl' | 'admin'>
  dryRun: boolean
  env: Env
  /** A store without AWS IAM (psb init --no-iam): no user step; the key step writes (or keeps) the store's key. */
  noIam?: NoIamPlan
  /** psb init --keyless: a role (user step) and a role profile (key step) instead of a user and key; the retirement of a user after verify. */
  keyless?: KeylessPlan
}

export interface StepReport {
  /** Wall time of the step. */
  ms?: number
  status: 'created' | 'updated' | 'unchanged' | 'planned' | 'skipped' | 'failed' | 'pass' | 'warn' | 'fail'
  summary: string
  changes: Change[]
  warnings: string[]
  /** True once the task list showed the step's change lines (under its title). */
  listed?: boolean
}

export interface InitContext {
  bucket?: BucketResult
  user?: UserResult
  /** --keyless: the role of the user step, and the retired user. */
  role?: RoleResult
  retire?: RetireResult
  secrets?: SecretsKeyResult
  key?: EnsureProfileKeyResult
  login?: LoginResult
  verify?: VerifyResult
  steps: Partial<Record<StepId, StepReport>>
  /**
   * `pulumi version`, started with the list so that it runs beside the bucket and user steps;
   * the login step waits for it (undefined: not installed; a failed run fails the login step).
   */
  pulumiVersion?: Promise<string | undefined>
  /** The first error, as thrown by the core (a PsbError keeps its code, hint and exit code). */
  error?: unknown
  failedStep?: StepId
  /** Every step started, settled: runInit waits for all of them before it returns. */
  running?: Promise<unknown>[]
}

/** created / updated / unchanged / planned, from a step's changes. */
export function overallStatus(changes: Change[], dryRun: boolean): StepReport['status'] {
  if (dryRun) return changes.some((c) => c.status === 'planned') ? 'planned' : 'unchanged'
  if (changes.some((c) => c.status === 'created')) return 'created'
  if (changes.some((c) => ['updated', 'deleted'].includes(c.status))) return 'updated'
  return 'unchanged'
}

function countChanges(changes: Change[]): string {
  const counts = new Map<string, number>()
  for (const c of changes) if (c.status !== 'unchanged') counts.set(c.status, (counts.get(c.status) ?? 0) + 1)
  if (counts.size === 0) return 'nothing to change'
  return [...counts.entries()].map(([s, n]) => `${n} ${s}`).join(', ')
}

/** The lines shown under a step: the changes that are not "unchanged" (all of them in a plan). */
export function changeLines(changes: Change[]): string {
  return changes
    .filter((c) => c.status !== 'unchanged')
    .map((c) => `${c.status.padEnd(9)} ${c.item}${c.detail ? `: ${c.detail}` : ''}`)
    .join('\n')
}

function collect(into: string[]): Logger {
  return {warn: (m) => into.push(m), info: () => {}}
}

/** The bucket ended up with a customer KMS key that the user's policy does not grant. */
export function needsKmsCatchUp(ctx: InitContext): boolean {
  const enc = ctx.bucket?.encryption
  if (!ctx.user || !enc || enc.algorithm !== 'aws:kms' || !enc.kmsKeyId || isAwsManagedKmsKey(enc.kmsKeyId)) return false
  return ctx.user.kmsKeyArn === undefined
}

/** True when the bucket step creates the bucket (or plans to). */
function bucketIsNew(ctx: InitContext): boolean {
  return Boolean(ctx.bucket && (ctx.bucket.created || ctx.bucket.changes.some((c) => c.item === ITEMS.bucket && (c.status === 'created' || c.status === 'planned'))))
}

/**
 * One step of `psb init`, described once: its title, when it is skipped, and the core call it
 * makes (`run` fills ctx.steps[id] and returns the summary shown after the title).
 */
interface InitStep {
  id: StepId
  title: (plan: InitPlan) => string
  skip?: (plan: InitPlan) => false | string
  run: (plan: InitPlan, ctx: InitContext, out: (s: string) => void) => Promise<string>
}

const bucketStep: InitStep = {
  id: 'bucket',
  title: (plan) => `Bucket s3://${plan.bucket.bucket} (${plan.bucket.region})`,
  async run(plan, ctx, out) {
    const warnings: string[] = []
    const r = await ensureBucket(plan.admin, {...plan.bucket, logger: collect(warnings)})
    ctx.bucket = r
    const status = overallStatus(r.changes, plan.dryRun)
    const enc = r.encryption.algorithm === 'aws:kms' ? `SSE-KMS ${r.encryption.kmsKeyId ?? ''}`.trim() : 'SSE-S3'
    const summary = `${status} (${countChanges(r.changes)}; ${enc})`
    ctx.steps.bucket = {status, summary, changes: r.changes, warnings: r.warnings ?? warnings}
    out(changeLines(r.changes))
    return summary
  },
}

const userStep: InitStep = {
  id: 'user',
  title: (plan) => (plan.keyless ? `IAM role ${plan.keyless.role.role}` : `IAM user ${plan.user.user}`),
  skip: (plan) => (plan.noIam ? "skipped (no AWS IAM on this store: its own tools make the user)" : false),
  async run(plan, ctx, out) {
    if (plan.keyless) {
      ctx.steps.user = await roleStep(plan, ctx)
      out(changeLines(ctx.steps.user.changes))
      return ctx.steps.user.summary
    }
    const warnings: string[] = []
    // Without --kms-key the user step reads the bucket's encryption itself (an existing
    // bucket keeps its key; a new one gets SSE-S3, which needs no grant).
    const r = await ensureUser(plan.admin, {...plan.user, logger: collect(warnings)})
    ctx.user = r
    const status = overallStatus(r.changes, plan.dryRun)
    const summary = `${status} (${countChanges(r.changes)}; policy ${r.policyName}${r.attachedPolicies.length ? `, attached: ${r.attachedPolicies.map((a) => a.split('/').at(-1)).join(', ')}` : ''})`
    ctx.steps.user = {status, summary, changes: r.changes, warnings: r.warnings ?? warnings}
    out(changeLines(r.changes))
    return summary
  },
}

const secretsStep: InitStep = {
  id: 'secrets',
  title: (plan) => `KMS key for Pulumi secrets${plan.secrets?.alias ? ` ${plan.secrets.alias}` : ''}`,
  skip: (plan) => (plan.secrets ? false : 'skipped (passphrase: no --secrets kms)'),
  async run(plan, ctx, out) {
    const warnings: string[] = []
    // The user step's user, with the ARN it reported (it may not exist yet in a dry run).
    const principals: Principal[] = plan.secrets!.principals ?? (plan.keyless ? [{kind: 'role', name: plan.keyless.role.role, arn: ctx.role?.roleArn}] : [{kind: 'user', name: plan.user.user, arn: ctx.user?.arn}])
    const r = await ensureSecretsKey(plan.admin, {...plan.secrets!, principals, logger: collect(warnings)})
    ctx.secrets = r
    const status = overallStatus(r.changes, plan.dryRun)
    const summary = `${status} (${countChanges(r.changes)}; ${r.providerUrl})`
    ctx.steps.secrets = {status, summary, changes: r.changes, warnings: r.warnings.length ? r.warnings : warnings}
    out(changeLines(r.changes))
    return summary
  },
}

const keyStep: InitStep = {
  id: 'key',
  title: (plan) => (plan.keyless ? `Role profile ${plan.key.profile} (no key)` : plan.noIam ? `Store key in profile ${plan.key.profile}` : `Access key of ${plan.key.user} in profile ${plan.key.profile}`),
  async run(plan, ctx, out) {
    if (plan.keyless) {
      ctx.steps.key = await profileStep(plan, ctx)
      out(changeLines(ctx.steps.key.changes))
      return ctx.steps.key.summary
    }
    const warnings: string[] = []
    if (plan.noIam) {
      const {accessKeyId, ...report} = await storeKeyStep(plan, plan.noIam, warnings)
      ctx.steps.key = report
      ctx.key = {status: report.status === 'planned' ? 'planned' : 'unchanged', accessKeyId, changes: report.changes, warnings, timings: {totalMs: 0, propagationWaitMs: 0}}
      out(changeLines(report.changes))
      return report.summary
    }
    let r: EnsureProfileKeyResult
    try {
      r = await ensureProfileKey(plan.admin, {...plan.key, bucket: plan.bucket.bucket, logger: collect(warnings)})
    } catch (error) {
      // A plan for a user that the user step has yet to create: it has no keys to look at.
      if (!(plan.dryRun && (isPsbError(error) ? error.code : awsCode(error)) === 'NoSuchEntity')) throw error
      r = {
        status: 'planned',
        changes: [
          {item: 'access key', status: 'planned', detail: `create for ${plan.key.user} (the user does not exist yet)`},
          {item: `profile ${plan.key.profile}`, status: 'planned', detail: `write the key into ${credentialsFilePath(plan.env)}, then prove it works`},
        ],
        warnings: [],
        timings: {totalMs: 0, propagationWaitMs: 0},
      }
    }
    ctx.key = r
    const status = r.status
    const summary =
      r.status === 'created'
        ? `created (${maskKeyId(r.accessKeyId)}${r.reusedFrom ? `, copied from profile ${r.reusedFrom}` : ''}; written and proven to work)`
        : r.status === 'unchanged'
          ? `unchanged (${maskKeyId(r.accessKeyId)} works)`
          : `planned (${countChanges(r.changes)})`
    ctx.steps.key = {status, summary, changes: r.changes, warnings: [...r.warnings, ...warnings]}
    out(changeLines(r.changes))
    return summary
  },
}

const loginStep: InitStep = {
  id: 'login',
  title: () => 'Pulumi login',
  skip: (plan) => (plan.login ? false : `skipped (${plan.loginSkipped ?? '--no-login'})`),
  async run(plan, ctx, out) {
    const warnings: string[] = []
    const r = await login({...plan.login!, pulumiVersion: plan.login!.pulumiVersion ?? (await ctx.pulumiVersion), logger: collect(warnings)})
    ctx.login = r
    const status: StepReport['status'] = plan.dryRun
      ? r.changes.some((c) => c.status === 'planned')
        ? 'planned'
        : 'unchanged'
      : r.changes.some((c) => c.status !== 'unchanged')
        ? 'updated'
        : 'unchanged'
    const where = `s3://${plan.bucket.bucket}${plan.login!.prefix ? `/${plan.login!.prefix}` : ''}`
    const summary = `${status === 'unchanged' ? 'unchanged' : plan.dryRun ? 'planned' : 'logged in'} (${where}${r.pulumiVersion ? `, Pulumi ${r.pulumiVersion}` : ''})`
    ctx.steps.login = {status, summary, changes: r.changes, warnings: r.warnings ?? warnings}
    out(changeLines(r.changes))
    return summary
  },
}

const verifyStep: InitStep = {
  id: 'verify',
  title: (plan) => (plan.keyless ? 'Verify (as the role)' : 'Verify (with the profile\'s own key)'),
  skip: (plan) => (plan.dryRun ? 'skipped (dry run: verify writes a sentinel object)' : plan.verify ? false : 'skipped (--no-verify)'),
  async run(plan, ctx, out) {
    const r = await verifyBackend({
      ...plan.verify!,
      expectUrl: ctx.login?.url,
      // What the login step learnt moments ago: no second `pulumi version` / `pulumi whoami -v`.
      pulumiVersion: ctx.login?.pulumiVersion,
      whoamiUrl: ctx.login?.backendUrl,
      admin: plan.admin,
      // A key created by this run may still be propagating through IAM.
      newKeyGraceMs: ctx.key?.status === 'created' ? NEW_KEY_GRACE_MS : 0,
    })
    ctx.verify = r
    const has = (s: string) => r.checks.some((c) => c.status === s)
    const status = has('fail') ? 'fail' : has('warn') ? 'warn' : 'pass'
    const summary = summarizeChecks(r.checks)
    ctx.steps.verify = {status, summary, changes: [], warnings: []}
    out(
      r.checks
        .filter((c) => c.status !== 'pass')
        .map((c) => `${c.status} ${c.title}${c.detail ? `: ${c.detail}` : ''}`)
        .join('\n'),
    )
    if (!r.ok) {
      const failed = r.checks.filter((c) => c.status === 'fail')
      throw new PsbError(`The backend is set up, but ${failed.length} verify check${failed.length === 1 ? '' : 's'} failed: ${failed.map((c) => c.title).join('; ')}.`, {
        code: 'VerifyFailed',
        exitCode: VERIFY_FAILED_EXIT,
        hint: 'Each failed check above says how to fix it; then run the same psb init again (or psb verify).',
      })
    }
    return summary
  },
}

const retireStepDef: InitStep = {
  id: 'retire',
  title: (plan) => `Retire user ${plan.keyless?.retire?.user ?? ''}`.trim(),
  skip: (plan) => (plan.keyless?.retire ? false : 'skipped (no --retire-user)'),
  async run(plan, ctx, out) {
    ctx.steps.retire = await retireStep(plan, ctx)
    out(changeLines(ctx.steps.retire.changes))
    return ctx.steps.retire.summary
  },
}

// Should the user have read the bucket's encryption before the bucket step set it (a
// race that only a customer KMS key on a bucket made outside psb could expose), the
// policy is brought up to date with the key the bucket ended up with.
const kmsCatchUpStep: InitStep = {
  id: 'user',
  title: () => 'IAM user policy: grant the bucket\'s KMS key',
  async run(plan, ctx, out) {
    const r = await ensureUser(plan.admin, {...plan.user, kmsKeyArn: ctx.bucket!.encryption.kmsKeyId, logger: collect(ctx.steps.user?.warnings ?? [])})
    ctx.user = r
    const prev = ctx.steps.user
    ctx.steps.user = {status: overallStatus([...(prev?.changes ?? []), ...r.changes], plan.dryRun), summary: prev?.summary ?? '', changes: [...(prev?.changes ?? []), ...r.changes], warnings: prev?.warnings ?? []}
    out(changeLines(r.changes))
    return `${overallStatus(r.changes, plan.dryRun)} (${countChanges(r.changes)})`
  },
}

/** A step's run, guarded: a failure is recorded in ctx (error, failedStep, what it changed) and shown redacted. */
function guarded(plan: InitPlan, s: InitStep) {
  const dry = plan.dryRun
  return async (ctx: InitContext, task: {title: string; output: string}): Promise<string> => {
    // In a dry run the command prints the whole plan afterwards: no lines under the steps.
    // Once a step has failed the list is over: the command lists what is left, in order.
    const setOutput = (text: string) => {
      if (!text || dry || ctx.error !== undefined) return
      task.output = redact(text)
      if (ctx.steps[s.id]) ctx.steps[s.id]!.listed = true
    }
    const running = s.run(plan, ctx, setOutput)
    ;(ctx.running ??= []).push(running.catch(() => undefined))
    try {
      return await running
    } catch (error) {
      ctx.error ??= error
      ctx.failedStep ??= s.id
      // What the failed step did change before it threw (e.g. the user it created).
      ctx.steps[s.id] ??= {status: 'failed', summary: messageOf(error), changes: changesOf(error), warnings: []}
      // listr2 shows this message; the command renders the real error (with its hint) afterwards.
      throw new Error(redact(messageOf(error)), {cause: error})
    }
  }
}

/** The listr2 task of a step; its title becomes "<title>: <summary> [<time>]" when it ends. */
function titled(plan: InitPlan, s: InitStep): ListrTask<InitContext> {
  const title = s.title(plan)
  const run = guarded(plan, s)
  return {
    title,
    ...(s.skip ? {skip: () => s.skip!(plan)} : {}),
    // Keep each step's lines (what changed) on screen after it completes.
    rendererOptions: {persistentOutput: true},
    task: async (ctx, task) => {
      const started = Date.now()
      const summary = (await run(ctx, task)) ?? ''
      const ms = Date.now() - started
      if (ctx.steps[s.id]) ctx.steps[s.id]!.ms = ms
      task.title = redact(`${title}: ${summary} [${(ms / 1000).toFixed(1)} s]`)
    },
  }
}

export function initTasks(plan: InitPlan): ListrTask<InitContext>[] {
  return [
    {
      title: plan.keyless ? 'Bucket and IAM role (concurrently)' : 'Bucket and IAM user (concurrently)',
      task: (_ctx, task) => task.newListr([titled(plan, bucketStep), titled(plan, userStep)], {concurrent: true, exitOnError: true}),
    },
    {title: kmsCatchUpStep.title(plan), enabled: (ctx) => needsKmsCatchUp(ctx), task: guarded(plan, kmsCatchUpStep)},
    titled(plan, secretsStep),
    titled(plan, keyStep),
    titled(plan, loginStep),
    titled(plan, verifyStep),
    titled(plan, retireStepDef),
  ]
}

export interface RunInitOptions {
  /** 'json': nothing on stdout, progress lines on stderr. */
  mode: 'tty' | 'plain' | 'json'
}

/** Runs the task list. Never throws: the first error is in ctx.error (and ctx.failedStep). */
export async function runInit(plan: InitPlan, opts: RunInitOptions): Promise<InitContext> {
  const ctx: InitContext = {steps: {}}
  if (plan.login && plan.login.pulumiVersion === undefined) {
    ctx.pulumiVersion = pulumiVersion({env: plan.env})
    // A failure is the login step's to report, with no second `pulumi version` run (and nobody's
    // when an earlier step stops the list first).
    ctx.pulumiVersion.catch(() => undefined)
  }
  const stderrLogger = new ListrLogger({useIcons: false, toStderr: Object.values(ListrLogLevels)})
  const list = new Listr<InitContext, 'default' | 'simple', 'simple'>(initTasks(plan), {
    ctx,
    concurrent: false,
    exitOnError: true,
    // SIGINT is psb's (src/cli/signals.ts): listr2's own handler would exit 127 mid-step.
    registerSignalListeners: false,
    renderer: opts.mode === 'tty' ? 'default' : 'simple',
    rendererOptions: opts.mode === 'tty' ? {collapseSubtasks: false, showErrorMessage: true} : opts.mode === 'json' ? {logger: stderrLogger} : {},
    // Should the TTY go away (e.g. piped through another tool): plain lines.
    fallbackRenderer: 'simple',
  } as never)
  try {
    await list.run()
  } catch (error) {
    // A step's error was recorded by the step; anything else is listr's own.
    if (ctx.error === undefined) ctx.error = error
  }
  // A step that ran beside the failed one (the bucket beside the user) may still be at work:
  // its changes belong before the error, not after it.
  await Promise.all(ctx.running ?? [])
  // The user step, running beside the bucket step, could not read the encryption of a bucket
  // that did not exist yet; that bucket is new and SSE-S3 (or has --kms-key), so the note is moot.
  const u = ctx.steps.user
  if (u && bucketIsNew(ctx)) u.warnings = u.warnings.filter((w) => !/does not exist \(yet\)/.test(w))
  for (const id of STEP_IDS) {
    if (ctx.steps[id]) continue
    if (id === 'secrets' && !plan.secrets) ctx.steps[id] = {status: 'skipped', summary: 'passphrase (no --secrets kms)', changes: [], warnings: []}
    if (id === 'user' && plan.noIam) ctx.steps[id] = {status: 'skipped', summary: 'no AWS IAM on this store', changes: [], warnings: []}
    else if (id === 'login' && !plan.login) ctx.steps[id] = {status: 'skipped', summary: '--no-login', changes: [], warnings: []}
    else if (id === 'retire' && !plan.keyless?.retire) ctx.steps[id] = {status: 'skipped', summary: 'no --retire-user', changes: [], warnings: []}
    else if (id === 'verify' && (plan.dryRun || !plan.verify)) ctx.steps[id] = {status: 'skipped', summary: plan.dryRun ? 'dry run' : '--no-verify', changes: [], warnings: []}
  }
  return ctx
}
