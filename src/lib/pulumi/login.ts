/**
 * The pulumi/ domain: the Pulumi CLI (cli.ts), backend URLs and their dialects
 * (backend-url.ts), Pulumi.yaml (project.ts) and the login (this file, entry point: login).
 *
 * Pointing Pulumi at the bucket: build the backend URL for the installed Pulumi, then either
 * write it into a project's Pulumi.yaml (`project`) or run `pulumi login <url>` and confirm
 * with `pulumi whoami -v` that Pulumi now reports that URL. No AWS call is made here.
 */
import type {Env} from '../files/aws-config.js'
import {listProfiles} from '../files/aws-config.js'
import {compareBackendUrls, planBackendUrl, shellQuote, type BackendUrlOptions, type BackendUrlPlan} from './backend-url.js'
import {type UrlDialectChoice, type UrlForm} from './url-dialects.js'
import {PsbError} from '../errors.js'
import {echo, mayEcho, NAME_SHAPE} from '../echo.js'
import {INSTALL_HINT, currentPulumiLogin, findPulumi, notFoundError, parseWhoami, pulumiCredentialsFile, pulumiFailed, pulumiHomeNote, pulumiVersion, runPulumi} from './cli.js'
import {readProjectBackend, setProjectBackend} from './project.js'
import {collectingLogger, silentLogger, type Change, type Logger} from '../types.js'

export interface LoginOptions extends BackendUrlOptions {
  /** Write backend.url into this project folder's Pulumi.yaml instead of running `pulumi login`. */
  project?: string
  env?: Env
  dryRun?: boolean
  logger?: Logger
  /** The folder the user runs psb in (to warn when its Pulumi.yaml overrides the login); default process.cwd(). */
  cwd?: string
}

export interface LoginResult {
  url: string
  /** The installed Pulumi version the URL was built for; undefined when Pulumi is not installed. */
  pulumiVersion?: string
  /** The user `pulumi whoami -v` reports after the login. */
  whoami?: string
  /** The project file written (with `project`). */
  projectFile?: string
  changes: Change[]
  warnings: string[]
  /** The `--dialect` used (default: `native` for a login, `portable` for --project). */
  dialect: UrlDialectChoice
  /** The spelling it means for the installed Pulumi (url-dialects.ts). */
  form: UrlForm
  /** Which Pulumi versions from 3.113 on refuse the URL, and why (empty: every one reads it). */
  rejectedBy: string[]
  /** The backend URL `pulumi whoami -v` reports after the login (equals `url`). */
  backendUrl?: string
  /** Environment every later `pulumi` command needs (AWS_PROFILE on Pulumi versions that cannot take the profile in the URL). */
  env: Record<string, string>
  /** The pulumi commands run (or, with dryRun, that would run). */
  commands: string[]
  /** Pulumi's credentials.json that records the login. */
  credentialsFile?: string
}

export interface ResolvedBackendUrl extends BackendUrlPlan {
  pulumiVersion?: string
}

/**
 * The backend URL for the installed Pulumi (`opts.pulumiVersion` when given, else
 * `pulumi version`; the newest era when Pulumi is not installed, with a warning).
 * `shared`: the URL goes where other Pulumi versions read it (--print, --project), so every
 * Pulumi version that would refuse it is named in a warning.
 */
export async function resolveBackendUrl(opts: BackendUrlOptions & {env?: Env; shared?: boolean}): Promise<ResolvedBackendUrl> {
  // Bad input first, before running anything.
  planBackendUrl({...opts, pulumiVersion: undefined})
  const version = opts.pulumiVersion ?? (await pulumiVersion({env: opts.env}))
  const plan = planBackendUrl({...opts, pulumiVersion: version})
  if (version === undefined) {
    plan.warnings.unshift(`Pulumi is not installed (no \`pulumi\` on PATH): the URL is written for ${plan.dialect === 'native' ? 'Pulumi 3.246 or newer' : `--dialect ${plan.dialect}`}.`)
  }
  if (plan.era === '3.245' && version !== undefined) {
    plan.warnings.push(
      `Pulumi ${version} (3.245.x) reads only the new URL names (use_path_style, disable_https) and refuses disableSSL: it has no translation layer (3.246 added it back). Upgrade Pulumi to 3.246 or newer.`,
    )
  }
  if (opts.shared) {
    for (const r of plan.rejectedBy) plan.warnings.push(`This URL does not work on every Pulumi: ${r}.${plan.dialect === 'portable' ? '' : ' --dialect portable writes one that does, as far as one exists.'}`)
  }
  return {...plan, pulumiVersion: version}
}

/** The shell lines that point Pulumi at the URL through the environment. */
export function shellExports(url: string, env: Record<string, string> = {}): string[] {
  const lines = [`export PULUMI_BACKEND_URL='${url.replace(/'/g, `'\\''`)}'`]
  for (const [k, v] of Object.entries(env)) lines.push(`export ${k}=${shellQuote(v)}`)
  return lines
}

/** Environment for the pulumi runs: the caller's, without PULUMI_BACKEND_URL (it would override the URL we log in to). */
function loginEnv(env: Env, extra: Record<string, string>): Env {
  const out: Env = {...env, ...extra}
  delete out.PULUMI_BACKEND_URL
  return out
}

function warnAboutOverrides(env: Env, url: string, cwd: string, projectMode: boolean, logger: Logger): void {
  const override = env.PULUMI_BACKEND_URL
  if (override && compareBackendUrls(override, url) !== 'same') {
    logger.warn(
      `PULUMI_BACKEND_URL is set to "${override}", and it overrides ${projectMode ? 'Pulumi.yaml and ' : ''}the login: Pulumi will keep using it. ` +
        `Unset it (unset PULUMI_BACKEND_URL) or set it to the new URL.`,
    )
  }
  if (!projectMode) {
    const projectUrl = readProjectBackend(cwd)
    if (projectUrl && compareBackendUrls(projectUrl, url) !== 'same') {
      logger.warn(`The Pulumi.yaml in ${cwd} sets backend.url to "${projectUrl}", which overrides the login inside that project. Use --project ${cwd} to change it.`)
    }
  }
}

function warnMissingProfile(profile: string | undefined, env: Env, logger: Logger): void {
  if (!profile) return
  let names: string[]
  try {
    names = listProfiles(env)
  } catch {
    return
  }
  if (!names.includes(profile)) {
    const shown = echo(profile, {what: 'name', shape: NAME_SHAPE})
    const fix = mayEcho(profile, NAME_SHAPE) ? `psb creds write --profile ${profile}` : 'psb creds write --profile <name>'
    logger.warn(`The AWS profile ${shown} is not in your AWS credentials or config file yet; Pulumi cannot reach the bucket until it is (${fix}).`)
  }
}

/** `pulumi login <url>`, then `pulumi whoami -v` must report that URL. */
async function loginAndConfirm(o: {url: string; runEnv: Env; bin: string; profile?: string; loginCmd: string; credentialsFile: string}): Promise<ReturnType<typeof parseWhoami>> {
  const {url, runEnv, bin, loginCmd} = o
  const run = await runPulumi(['login', url], {env: runEnv, bin})
  if (run.code !== 0) {
    throw pulumiFailed(run, 'Pulumi could not log in to the bucket', `Check that the bucket exists and that the AWS credentials Pulumi uses${o.profile ? ` (profile ${o.profile})` : ''} can read it (psb verify). You can retry by hand: ${loginCmd}`)
  }
  const who = await runPulumi(['whoami', '-v'], {env: runEnv, bin})
  if (who.code !== 0) throw pulumiFailed(who, 'Pulumi logged in, but `pulumi whoami -v` failed', 'Run `pulumi whoami -v` to see what Pulumi reports.')
  const me = parseWhoami(who.stdout)
  if (me.backendUrl !== url) {
    throw new PsbError(`After the login, Pulumi reports the backend "${me.backendUrl ?? '(none)'}" instead of "${url}".`, {
      code: 'LoginNotConfirmed',
      hint: `Check ${o.credentialsFile} and PULUMI_CREDENTIALS_PATH / PULUMI_HOME, then run: ${loginCmd}`,
      data: {expected: url, reported: me.backendUrl},
    })
  }
  return me
}

export async function login(opts: LoginOptions): Promise<LoginResult> {
  const env = opts.env ?? process.env
  const warnings: string[] = []
  const logger = collectingLogger(warnings, opts.logger ?? silentLogger)
  const shared = opts.project !== undefined
  const resolved = await resolveBackendUrl({...opts, env, shared: shared || opts.dialect !== undefined, dialect: opts.dialect ?? (shared ? 'portable' : 'native')})
  for (const w of resolved.warnings) logger.warn(w)
  const {url, pulumiVersion: version, dialect, form, rejectedBy} = resolved
  const base = {url, pulumiVersion: version, dialect, form, rejectedBy, env: resolved.env, warnings}
  warnMissingProfile(opts.profile, env, logger)
  warnAboutOverrides(env, url, opts.cwd ?? process.cwd(), opts.project !== undefined, logger)

  if (opts.project !== undefined) {
    const r = setProjectBackend(opts.project, url, {dryRun: opts.dryRun})
    const status = opts.dryRun ? (r.changed ? 'planned' : 'unchanged') : r.changed ? (r.before === undefined ? 'created' : 'updated') : 'unchanged'
    const detail = r.before !== undefined && r.before !== url ? `${url} (was ${r.before})` : url
    return {...base, projectFile: r.file, commands: [], changes: [{item: `backend.url in ${r.file}`, status, detail}]}
  }

  const runEnv = loginEnv(env, resolved.env)
  const credentialsFile = pulumiCredentialsFile(runEnv)
  const homeNote = pulumiHomeNote(runEnv)
  if (homeNote) logger.warn(homeNote)
  const bin = findPulumi(env)
  const loginCmd = `pulumi login ${shellQuote(url)}`
  const commands = [loginCmd, 'pulumi whoami -v']
  const before = currentPulumiLogin(runEnv)

  if (opts.dryRun) {
    if (!bin) logger.warn(`Without Pulumi on PATH the login would fail. ${INSTALL_HINT}`)
    return {
      ...base,
      credentialsFile,
      commands,
      changes: [{item: 'pulumi login', status: before === url ? 'unchanged' : 'planned', detail: url}],
    }
  }
  if (!bin) throw notFoundError(url, env)

  const me = await loginAndConfirm({url, runEnv, bin, profile: opts.profile, loginCmd, credentialsFile})
  return {
    ...base,
    whoami: me.user,
    backendUrl: me.backendUrl,
    credentialsFile,
    commands,
    changes: [{item: 'pulumi login', status: before === url ? 'unchanged' : 'updated', detail: `${url} (confirmed by pulumi whoami -v)`}],
  }
}
