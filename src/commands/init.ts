import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {renderCheck, summarizeChecks} from '../cli/checks.js'
import * as shared from '../cli/flags.js'
import {out, status as statusWord, table} from '../cli/style.js'
import {changeLines, runInit, STEP_IDS, type InitContext, type InitPlan, type StepId} from '../cli/tasks.js'
import {createAwsContext, validateEndpoint} from '../lib/aws/client.js'
import {credentialsFilePath, resolveRegion, validateRegion, type Env} from '../lib/files/aws-config.js'
import {buildBackendUrl, shellQuote} from '../lib/pulumi/backend-url.js'
import {bucketNameProblem, sanitizeBucketName} from '../lib/bucket/name.js'
import {validateProfileName} from '../lib/files/credentials.js'
import {parseDuration} from '../lib/duration.js'
import {echo} from '../lib/echo.js'
import {EXIT, PsbError, badInput, isPsbError, messageOf} from '../lib/errors.js'
import {shellExports} from '../lib/pulumi/login.js'
import {normalizePrefix} from '../lib/iam/policy.js'
import {preflight} from '../lib/iam/preflight.js'
import {callerAccount, checkUserScope} from '../lib/iam/user.js'
import {VERIFY_FAILED_EXIT} from '../lib/verify/run.js'
import {bucketFlags, bucketOptionsFromFlags} from './bucket/create.js'
import KeysRotate from './keys/rotate.js'
import {loginOptionsFromFlags} from './login.js'
import UserCreate, {policiesToCheck, userOptionsFromFlags} from './user/create.js'
import {verifyOptionsFromFlags} from './verify.js'

const STEP_NAMES: Record<StepId, string> = {bucket: 'Bucket', user: 'IAM user', key: 'Access key', login: 'Pulumi login', verify: 'Verify'}

export default class Init extends BaseCommand {
  static override summary = 'Set up a hardened Pulumi state backend on S3 in one command: bucket, user, key, profile, login, verify'

  static override description = `Runs, in order, the same code as these commands:

  1. psb bucket create   the state bucket, hardened (versioning, encryption, public-access blocks, ACLs off, TLS-only policy, lifecycle, tags)
  2. psb user create     the IAM user Pulumi runs as, with a least-privilege policy for the bucket (or --prefix)
  3. psb keys rotate --create   the user's first access key, written into the profile (--profile) and proven to work; the secret stays in memory
  4. psb login           pulumi login with the backend URL for the installed Pulumi
  5. psb verify          every check, with the profile's own key

Steps 1 and 2 (bucket and user) always run concurrently. The user's policy grants the bucket's customer KMS key: with --kms-key both steps get it; without, the user step reads the bucket's encryption itself, and should that read race the bucket step, a catch-up step adds the key to the policy.

Idempotent and resumable: a second run changes nothing and says so step by step; after a failure at any step, the same command continues where it stopped (finished steps are checked again and left as they are).

psb acts as an administrator (--admin-profile, else the standard AWS credential chain) for steps 1-3; Pulumi's profile gets only the new user's key.

On a terminal, psb asks for what is missing (the bucket name, offering pulumi-state-<account>-<region>, and the region). With --yes, in CI (CI set), without a terminal, or with --json it never asks, and a missing value is an error (exit 2) before any AWS call.

Before the first write, a preflight (read calls only, --dry-run too) stops with exit 2 when: --profile is the profile psb acts with (by name, or holding the administrator's own key) or holds a working key of another identity; the administrator's credentials do not resolve or AWS rejects them; an --attach-policy or --permissions-boundary does not exist. The region must be one that AWS lists.

Exit codes: 0 done; 1 a step failed (run again to continue); 2 bad input (nothing was changed); 3 everything was set up, but a verify check failed.`

  static override examples = [
    {description: 'Everything, asking for what is missing:', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Non-interactive (CI), as the admin profile "admin":', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --region eu-west-1 --profile pulumi --admin-profile admin --yes'},
    {
      description: 'The classic hand-made setup in one command (user with AdministratorAccess, written into the default profile; prints a warning):',
      command:
        '<%= config.bin %> <%= command.id %> --bucket nelsons-pulumi-state-backend --region us-west-1 --user pulumi --attach-policy arn:aws:iam::aws:policy/AdministratorAccess --profile default',
    },
    {description: 'One team\'s prefix of a shared bucket:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --region eu-west-1 --prefix team-a --user pulumi-team-a --profile team-a --yes'},
    {description: 'Show the full plan, change nothing:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --region eu-west-1 --dry-run'},
    {
      description: 'Against an S3-compatible store, over HTTPS (over plain HTTP the bucket\'s TLS-only policy denies every request; scripts/demo.sh runs a local emulator that counts as TLS):',
      command: '<%= config.bin %> <%= command.id %> --bucket demo-state --region us-east-1 --endpoint https://s3.example.com --yes',
    },
  ]

  static override flags = {
    bucket: Flags.string({description: `${shared.bucket.description} Created if missing, hardened if it exists (asked for on a terminal; default offered: pulumi-state-<account>-<region>).`, helpValue: '<name>'}),
    prefix: shared.prefix,
    user: UserCreate.flags.user,
    profile: Flags.string({
      description: 'The AWS profile (in the credentials file) that gets the user\'s key and that Pulumi uses. Default: the user name (e.g. pulumi). It must not be the profile psb acts with as administrator.',
      helpValue: '<profile>',
    }),
    'kms-key': bucketFlags['kms-key'],
    'noncurrent-days': bucketFlags['noncurrent-days'],
    tag: bucketFlags.tag,
    path: UserCreate.flags.path,
    'permissions-boundary': UserCreate.flags['permissions-boundary'],
    'attach-policy': UserCreate.flags['attach-policy'],
    adopt: UserCreate.flags.adopt,
    'widen-scope': UserCreate.flags['widen-scope'],
    wait: KeysRotate.flags.wait,
    login: Flags.boolean({description: 'Run `pulumi login` with the bucket\'s URL (--no-login: skip it, e.g. without Pulumi installed).', default: true, allowNo: true}),
    verify: Flags.boolean({description: 'Finish with `psb verify` (--no-verify: skip it).', default: true, allowNo: true}),
    yes: shared.yes,
    'dry-run': shared.dryRun,
    ...shared.awsFlags,
  }

  public async run(): Promise<unknown> {
    const {flags} = await this.parse(Init)
    const env: Env = process.env
    const json = this.jsonEnabled()
    const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !isCI(env) && !flags.yes && !json
    const noPrompt = interactive ? '' : ` (psb does not ask: ${json ? '--json' : flags.yes ? '--yes' : isCI(env) ? 'CI is set' : 'not a terminal'})`
    const adminProfile = flags['admin-profile']
    const dryRun = flags['dry-run']

    // --- everything that can be checked without AWS, first (exit 2, nothing changed) ---
    const endpoint = validateEndpoint(flags.endpoint)
    const user = flags.user
    const profile = flags.profile ?? user
    validateInitProfile(profile, flags.profile === undefined)
    if (adminProfile && adminProfile === profile) {
      throw badInput(
        `--profile ${profile} is also the profile psb acts with as administrator (--admin-profile): its key would be replaced by the Pulumi user's.`,
        'Give Pulumi its own profile (e.g. --profile pulumi), or act as administrator with another profile.',
        'ProfileConflict',
      )
    }
    const prefix = normalizePrefix(flags.prefix)
    const waitMs = parseDuration(flags.wait, {flag: '--wait', bareUnit: 's'})
    // Validate the bucket- and user-flags now, with a stand-in name when the bucket is still to be asked.
    const probeBucket = flags.bucket ?? 'pulumi-state-probe'
    let region = resolveRegion(flags.region, adminProfile, env)
    userOptionsFromFlags({...flags, bucket: probeBucket, prefix})
    bucketOptionsFromFlags({...flags, bucket: probeBucket}, region ?? 'us-east-1')

    if (!region) {
      if (!interactive) {
        throw badInput(`No AWS region is set${noPrompt}.`, 'Pass --region (e.g. --region us-east-1), or set AWS_REGION, or a region in your AWS config file.', 'RegionMissing')
      }
      region = await ask('AWS region for the state bucket', 'us-east-1', (v) => {
        try {
          validateRegion(v)
          return true
        } catch (error) {
          return messageOf(error)
        }
      })
    }
    const admin = createAwsContext({region, endpoint, profile: adminProfile})

    let bucket = flags.bucket
    if (!bucket) {
      if (!interactive) throw badInput(`--bucket is missing${noPrompt}.`, 'Pass --bucket <name>, e.g. --bucket pulumi-state-<account>-<region>.', 'BucketMissing')
      let suggestion = `pulumi-state-${region}`
      try {
        suggestion = sanitizeBucketName(`pulumi-state-${(await callerAccount(admin)).accountId}-${region}`)
      } catch (error) {
        this.note(`Could not read the account id for a suggested bucket name: ${messageOf(error)}`)
      }
      bucket = await ask('Name of the S3 bucket for Pulumi state', suggestion, (v) => {
        const p = bucketNameProblem(v)
        return p ? `A bucket name ${p.rule.rule} (${p.detail}).` : true
      })
    }

    const bucketOpts = bucketOptionsFromFlags({...flags, bucket}, region)
    const userOpts = userOptionsFromFlags({...flags, bucket, prefix})
    const loginOpts = flags.login ? loginOptionsFromFlags({bucket, prefix, region, profile, endpoint, 'dry-run': dryRun}, env) : undefined
    // The URL's inputs are checked now (exit 2), not after the bucket is made.
    buildBackendUrl({bucket, prefix, region, profile, endpoint})

    const plan: InitPlan = {
      admin,
      bucket: bucketOpts,
      user: userOpts,
      key: {user, profile, region, endpoint, bucket, prefix, dryRun, waitMs, env},
      login: loginOpts,
      verify: flags.verify && !dryRun ? verifyOptionsFromFlags({profile, bucket, prefix, region, endpoint, pulumi: flags.login}, env) : undefined,
      dryRun,
      env,
    }

    // Everything AWS can tell before the first write (read calls only; exit 2, nothing changed).
    await preflight(admin, {targetProfile: profile, targetUser: user, policies: policiesToCheck(userOpts), env, logger: {warn: (m) => this.note(m), info: () => {}}})
    // A re-run never widens an existing user's prefix scope by accident: refused before any write.
    await checkUserScope(admin, userOpts)

    this.say(
      `psb init${dryRun ? ' (dry run: nothing will be changed)' : ''}: s3://${bucket}${prefix ? `/${prefix}` : ''} in ${region}, user ${user}, profile ${profile}${endpoint ? `, endpoint ${endpoint}` : ''}`,
    )
    const mode = json ? 'json' : process.stdout.isTTY && !env.NO_COLOR && env.TERM !== 'dumb' && !isCI(env) ? 'tty' : 'plain'
    const ctx = await runInit(plan, {mode})

    const warnings = [...new Set(STEP_IDS.flatMap((id) => ctx.steps[id]?.warnings ?? []))]
    for (const w of warnings) this.note(w)
    const summary = summaryDocument(ctx, plan, {bucket, region, prefix, user, profile, endpoint, warnings, env})

    if (!json) {
      if (dryRun) this.renderPlan(ctx)
      if (ctx.verify) {
        const notPass = ctx.verify.checks.filter((c) => c.status !== 'pass')
        if (notPass.length > 0) this.say(`\nVerify, ${summarizeChecks(ctx.verify.checks)}:\n${notPass.map((c) => renderCheck(c)).join('\n')}`)
      }
      this.renderSummary(summary, ctx)
    }
    if (ctx.error !== undefined) throw this.stepError(ctx, summary)
    return summary
  }

  private renderPlan(ctx: InitContext): void {
    this.say('\nThe plan:')
    for (const id of STEP_IDS) {
      const s = ctx.steps[id]
      if (!s) continue
      this.say(`\n${STEP_NAMES[id]}: ${s.summary}`)
      if (s.changes.length > 0) this.say(table(['ITEM', 'STATUS', 'DETAIL'], s.changes.map((c) => [c.item, statusWord(c.status, out), c.detail ?? ''])))
    }
    if (ctx.login?.commands.length) this.say(`\nPulumi commands it would run:\n${ctx.login.commands.map((c) => `  ${c}`).join('\n')}`)
    this.say('\nDry run: nothing was changed. Run the same command without --dry-run to apply it.')
  }

  private renderSummary(s: ReturnType<typeof summaryDocument>, ctx: InitContext): void {
    if (ctx.error !== undefined && !s.dryRun) this.renderUnlisted(ctx)
    if (ctx.error !== undefined && ctx.failedStep !== 'verify') {
      this.say(`\nStopped at: ${STEP_NAMES[ctx.failedStep ?? 'bucket']}. What was done so far stays; run the same command again to continue from there.`)
      return
    }
    if (s.dryRun) return
    const rows: string[][] = [
      ['bucket', `s3://${s.bucket}${s.prefix ? `/${s.prefix}` : ''} (${s.region})`],
      ['user', s.userArn ?? s.user],
      ['profile', `${s.profile} (${s.credentialsFile})`],
      ['backend URL', s.backendUrl],
    ]
    const verdict = ctx.failedStep === 'verify' ? 'Set up, but verify found a problem (see above)' : s.changed ? 'Done' : 'Nothing to change: everything was already set up'
    this.say(`\n${verdict}.`)
    this.say(rows.map(([k, v]) => `  ${k.padEnd(12)} ${v}`).join('\n'))
    this.say(`\nNext:\n${s.next.map((c) => `  ${c}`).join('\n')}`)
  }

  /**
   * After a failure: the changes the task list did not show, in step order — those of a step
   * that finished beside the failed one, and what the failed step changed before it failed.
   */
  private renderUnlisted(ctx: InitContext): void {
    const blocks: string[] = []
    for (const id of STEP_IDS) {
      const s = ctx.steps[id]
      const lines = s && !s.listed ? changeLines(s.changes) : ''
      if (!lines) continue
      blocks.push(`${STEP_NAMES[id]}${s!.status === 'failed' ? ' (before it failed)' : ''}:\n${lines.replace(/^/gm, '  ')}`)
    }
    if (blocks.length > 0) this.say(`\nChanges made:\n${blocks.join('\n')}`)
  }

  /** The error of the failed step, with the partial summary in its data (for --json). */
  private stepError(ctx: InitContext, summary: Record<string, unknown>): PsbError {
    const e = ctx.error
    const step = ctx.failedStep
    const base = isPsbError(e)
      ? e
      : new PsbError(messageOf(e), {cause: e, code: 'Unexpected', hint: 'This looks like a bug in psb. Run again with DEBUG=psb* for a stack trace and report it.'})
    if (base.exitCode === EXIT.USAGE || base.exitCode === VERIFY_FAILED_EXIT) return new PsbError(base.message, {code: base.code, hint: base.hint, exitCode: base.exitCode, cause: e, data: {...base.data, init: summary}})
    const where = step ? `psb init stopped at step "${STEP_NAMES[step]}": ` : ''
    return new PsbError(`${where}${base.message}`, {
      code: base.code,
      exitCode: base.exitCode,
      cause: e,
      hint: `${base.hint ? base.hint.replace(/([^.!?])\s*$/, '$1.') + ' ' : ''}Then run the same psb init again: it continues where it stopped.`,
      data: {...base.data, init: summary},
    })
  }
}

/** The profile's name; without --profile it is the user name, and a problem says so. */
function validateInitProfile(profile: string, fromUser: boolean): void {
  try {
    validateProfileName(profile)
  } catch (error) {
    if (!fromUser || !isPsbError(error)) throw error
    throw badInput(
      `The profile Pulumi gets defaults to the user name (--user ${echo(profile, {what: 'value'})}), which cannot be a profile name: ${error.message.replace(/^The profile name (".*?"|\(.*?\)) /, 'it ')}`,
      'Keep this --user and choose the profile with --profile, e.g. --profile pulumi.',
      'ProfileNameInvalid',
    )
  }
}

function isCI(env: Env): boolean {
  return Boolean(env.CI) && env.CI !== 'false' && env.CI !== '0'
}

async function ask(message: string, def: string, validate: (v: string) => true | string): Promise<string> {
  const {input} = await import('@inquirer/prompts')
  const v = await input({message, default: def, validate: (x: string) => validate(x.trim())})
  return v.trim()
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
  next.push('pulumi new aws-typescript --dir my-project && cd my-project    # or any template: pulumi new --list-templates', 'pulumi up')
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
    endpoint: v.endpoint ?? null,
    steps,
    verify: ctx.verify ? {ok: ctx.verify.ok, checks: ctx.verify.checks} : null,
    warnings: v.warnings,
    next,
    ...(ctx.error !== undefined ? {failedStep: ctx.failedStep ?? null} : {}),
  }
}

