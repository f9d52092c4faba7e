/**
 * What `psb init` shows and returns once its steps ran: the plan (dry run), the summary, the
 * --json document (summaryDocument) and the error of a failed step.
 */
import type {Env} from '../lib/files/aws-config.js'
import {credentialsFilePath} from '../lib/files/aws-config.js'
import {buildBackendUrl, shellQuote} from '../lib/pulumi/backend-url.js'
import {EXIT, PsbError, isPsbError, messageOf} from '../lib/errors.js'
import {shellExports} from '../lib/pulumi/login.js'
import {VERIFY_FAILED_EXIT} from '../lib/verify/run.js'
import {defaultAlias, kmsEndpointEnv, providerUrl} from '../lib/kms/names.js'
import {renderCheck, summarizeChecks} from './checks.js'
import {noIamLines} from './init-no-iam.js'
import {keylessDocument, keylessRows} from './init-keyless.js'
import {isNoIamApi} from '../lib/aws/store.js'
import {out, status as statusWord, table} from './style.js'
import {changeLines, STEP_IDS, type InitContext, type InitPlan, type StepId} from './tasks.js'

type Say = (line: string) => void

export const STEP_NAMES: Record<StepId, string> = {bucket: 'Bucket', user: 'IAM user', secrets: 'Secrets key', key: 'Access key', login: 'Pulumi login', verify: 'Verify', retire: 'Retire user'}

export type InitSummary = ReturnType<typeof summaryDocument>

/** The human output after the task list: the plan (dry run), verify's failed checks, the summary. */
export function renderInit(ctx: InitContext, summary: InitSummary, dryRun: boolean, say: Say): void {
  if (dryRun) renderPlan(ctx, say)
  if (ctx.verify) {
    const notPass = ctx.verify.checks.filter((c) => c.status !== 'pass')
    if (notPass.length > 0) say(`\nVerify, ${summarizeChecks(ctx.verify.checks)}:\n${notPass.map((c) => renderCheck(c)).join('\n')}`)
  }
  renderSummary(summary, ctx, say)
}

function renderPlan(ctx: InitContext, say: Say): void {
  say('\nThe plan:')
  for (const id of STEP_IDS) {
    const s = ctx.steps[id]
    if (!s) continue
    say(`\n${STEP_NAMES[id]}: ${s.summary}`)
    if (s.changes.length > 0) say(table(['ITEM', 'STATUS', 'DETAIL'], s.changes.map((c) => [c.item, statusWord(c.status, out), c.detail ?? ''])))
  }
  if (ctx.login?.commands.length) say(`\nPulumi commands it would run:\n${ctx.login.commands.map((c) => `  ${c}`).join('\n')}`)
  say('\nDry run: nothing was changed. Run the same command without --dry-run to apply it.')
}

function renderSummary(s: InitSummary, ctx: InitContext, say: Say): void {
  if (ctx.error !== undefined && !s.dryRun) renderUnlisted(ctx, say)
  if (ctx.error !== undefined && ctx.failedStep !== 'verify') {
    say(`\nStopped at: ${STEP_NAMES[ctx.failedStep ?? 'bucket']}. What was done so far stays; run the same command again to continue from there.`)
    return
  }
  if (s.dryRun) return
  const rows: string[][] = [
    ['bucket', `s3://${s.bucket}${s.prefix ? `/${s.prefix}` : ''} (${s.region})`],
    ...(s.keyless ? keylessRows(s.keyless) : [['user', s.store ? "made with the store's own tools (see below)" : (s.userArn ?? s.user)], ['profile', `${s.profile} (${s.credentialsFile})`]]),
    ['backend URL', s.backendUrl],
    ...(s.kms ? [['secrets', s.kms.providerUrl]] : []),
  ]
  const verdict = ctx.failedStep === 'verify' ? 'Set up, but verify found a problem (see above)' : s.changed ? 'Done' : 'Nothing to change: everything was already set up'
  say(`\n${verdict}.`)
  say(rows.map(([k, v]) => `  ${k.padEnd(12)} ${v}`).join('\n'))
  if (s.store) say(noIamLines(s.store).join('\n'))
  if (s.keyless?.ci.length) say(`\nCI through GitHub OIDC (the role trusts ${s.keyless.trust.filter((t) => t.startsWith('github:')).join(', ')}):\n${s.keyless.ci.map((c) => `  ${c}`).join('\n')}`)
  say(`\nNext:\n${s.next.map((c) => `  ${c}`).join('\n')}`)
}

/**
 * After a failure: the changes the task list did not show, in step order — those of a step
 * that finished beside the failed one, and what the failed step changed before it failed.
 */
function renderUnlisted(ctx: InitContext, say: Say): void {
  const blocks: string[] = []
  for (const id of STEP_IDS) {
    const s = ctx.steps[id]
    const lines = s && !s.listed ? changeLines(s.changes) : ''
    if (!lines) continue
    blocks.push(`${STEP_NAMES[id]}${s!.status === 'failed' ? ' (before it failed)' : ''}:\n${lines.replace(/^/gm, '  ')}`)
  }
  if (blocks.length > 0) say(`\nChanges made:\n${blocks.join('\n')}`)
}

/** The error of the failed step, with the partial summary in its data (for --json). */
export function stepError(ctx: InitContext, summary: Record<string, unknown>): PsbError {
  const e = ctx.error
  const step = ctx.failedStep
  const base = isPsbError(e)
    ? e
    : new PsbError(messageOf(e), {cause: e, code: 'Unexpected', hint: 'This looks like a bug in psb. Run again with DEBUG=psb* for a stack trace and report it.'})
  if (base.exitCode === EXIT.USAGE || base.exitCode === VERIFY_FAILED_EXIT) return new PsbError(base.message, {code: base.code, hint: base.hint, exitCode: base.exitCode, cause: e, data: {...base.data, init: summary}})
  const where = step ? `psb init stopped at step "${STEP_NAMES[step]}": ` : ''
  // A store without AWS IAM that the start did not recognise: running again cannot help.
  if ((step === 'user' || step === 'key') && isNoIamApi(e, true))
    return new PsbError(`${where}${base.message}`, {code: 'NoIamOnStore', exitCode: base.exitCode, cause: e, hint: "This store has no AWS IAM: run psb init again with --no-iam, and a key made with the store's own tools (--access-key-id, --secret-stdin).", data: {...base.data, init: summary}})
  return new PsbError(`${where}${base.message}`, {
    code: base.code,
    exitCode: base.exitCode,
    cause: e,
    hint: `${base.hint ? base.hint.replace(/([^.!?])\s*$/, '$1.') + ' ' : ''}Then run the same psb init again: it continues where it stopped.`,
    data: {...base.data, init: summary},
  })
}

/** The one document of --json (and the data behind the human summary). */
export function summaryDocument(
  ctx: InitContext,
  plan: InitPlan,
  v: {bucket: string; region: string; prefix?: string; user: string; profile: string; endpoint?: string; warnings: string[]; env: Env},
) {
  const backendUrl = ctx.login?.url ?? buildBackendUrl({bucket: v.bucket, prefix: v.prefix, region: v.region, profile: v.profile, endpoint: v.endpoint})
  const steps: Record<string, unknown> = {}
  for (const id of STEP_IDS) {
    // The retire step exists only for --keyless: other documents keep their steps as they were.
    if (id === 'retire' && !plan.keyless) continue
    const s = ctx.steps[id]
    steps[id] = s ? {status: s.status, summary: s.summary, ms: s.ms ?? null, changes: s.changes} : {status: 'not-run'}
  }
  const changed = STEP_IDS.some((id) => ['created', 'updated'].includes(ctx.steps[id]?.status ?? ''))
  const next: string[] = []
  if (!plan.login) next.push(`psb login --bucket ${v.bucket} --region ${v.region} --profile ${v.profile}${v.prefix ? ` --prefix ${v.prefix}` : ''}${v.endpoint ? ` --endpoint ${v.endpoint}` : ''}`)
  if (ctx.login && Object.keys(ctx.login.env).length > 0) next.push(...shellExports(backendUrl, ctx.login.env).filter((l) => !l.includes('PULUMI_BACKEND_URL')))
  // The backend URL names the profile already; the programs' AWS provider needs it only when
  // the user was given policies for what the programs deploy (--attach-policy).
  else if (v.profile !== 'default' && (plan.user.attachPolicies?.length ?? 0) > 0) {
    next.push(`export AWS_PROFILE=${shellQuote(v.profile)}    # your programs' AWS provider then uses the same key and its attached policies`)
  }
  const secretsProvider = ctx.secrets?.providerUrl ?? (plan.secrets ? providerUrl(plan.secrets.alias ?? defaultAlias(v.bucket, v.prefix), v.region) : undefined)
  if (secretsProvider) {
    const kmsEnv = kmsEndpointEnv(v.endpoint)
    if (kmsEnv) next.push(`export ${kmsEnv}    # Pulumi's KMS client must reach the same endpoint`)
    next.push(
      `pulumi stack init <stack> --secrets-provider "${secretsProvider}"    # a new stack: no PULUMI_CONFIG_PASSPHRASE needed`,
      `pulumi stack change-secrets-provider "${secretsProvider}"    # an existing stack (Pulumi re-encrypts its secrets); or: psb stack secrets --project <dir> --stack <stack>`,
    )
  }
  next.push(`pulumi new aws-typescript --dir my-project${secretsProvider ? ` --secrets-provider "${secretsProvider}"` : ''} && cd my-project    # or any template: pulumi new --list-templates`, 'pulumi up')
  return {
    dryRun: plan.dryRun,
    changed,
    bucket: v.bucket,
    region: v.region,
    prefix: v.prefix ?? null,
    user: v.user,
    userArn: ctx.user?.arn ?? null,
    profile: v.profile,
    credentialsFile: credentialsFilePath(v.env),
    backendUrl,
    // Not "secretsProvider": a JSON key naming a secret is masked by the redaction rule.
    kms: secretsProvider ? {providerUrl: secretsProvider, keyArn: ctx.secrets?.keyArn ?? null} : null,
    endpoint: v.endpoint ?? null,
    steps,
    verify: ctx.verify ? {ok: ctx.verify.ok, checks: ctx.verify.checks} : null,
    /** A store without AWS IAM: why, what its own tools must do, the user's policy. */
    /** psb init --keyless: the role, its profile's source, its trust, the CI commands, the retired user. */
    keyless: keylessDocument(ctx, plan, v),
    store: plan.noIam ? {noIam: true, reason: plan.noIam.reason, mustDo: plan.noIam.mustDo, policy: plan.noIam.policy} : null,
    warnings: v.warnings,
    next,
    ...(ctx.error !== undefined ? {failedStep: ctx.failedStep ?? null} : {}),
  }
}
