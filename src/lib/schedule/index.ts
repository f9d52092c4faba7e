/**
 * The schedule/ domain's entry point: `psb keys schedule install | status | remove`.
 * Everything is checked before the first write (exit 2 for bad input, nothing installed);
 * a second install with the same options writes nothing; re-installing a profile replaces
 * psb's entry for that profile, on whichever scheduler it was, and nothing else.
 */
import {dirname} from 'node:path'
import {PsbError} from '../errors.js'
import {ensureDir} from '../files/atomic.js'
import {resolveRegion, type Env} from '../files/aws-config.js'
import {listKeys} from '../keys/list.js'
import {messageOf} from '../errors.js'
import {silentLogger, type Logger} from '../types.js'
import {cron} from './cron.js'
import {installOptions, type InstallOutcome, type InstalledEntry, type Scheduler} from './entry.js'
import {buildJob, missingPaths, scheduleLogPath, type Job, type JobPaths} from './job.js'
import {launchd} from './launchd.js'
import {lastRun, type RunRecord} from './log.js'
import {checkScheduleProfiles, psbProfiles} from './profiles.js'
import {buildSpecs, cadenceOf, describeCadence, durationText, nextRun, type SchedulerName, type SpecFlags} from './spec.js'
import {systemd, userSystemdWorks} from './systemd.js'

export const SCHEDULER_IMPLS: Record<SchedulerName, Scheduler> = {systemd, cron, launchd}

/** The default: launchd on macOS; systemd user timers where `systemctl --user` works; else cron. */
export function defaultScheduler(platform: NodeJS.Platform = process.platform): SchedulerName {
  if (platform === 'darwin') return 'launchd'
  return userSystemdWorks() ? 'systemd' : 'cron'
}

export interface InstallOptions extends SpecFlags {
  profiles?: string[]
  allPsbProfiles?: boolean
  scheduler?: SchedulerName
  dryRun?: boolean
  env?: Env
  logger?: Logger
  /** The node binary and psb entry point the job runs (default: this process's). */
  paths?: JobPaths
}

export interface InstallResult extends InstallOutcome {
  profile: string
  scheduler: SchedulerName
  schedule: string
  every: string
  maxAge: string
  job: Job
  /** psb's entries of the same profile on other schedulers, removed (or to be). */
  replaced: string[]
}

/** Installs (or replaces) the schedule of each profile. */
export async function installSchedules(opts: InstallOptions): Promise<InstallResult[]> {
  const env = opts.env ?? process.env
  const logger = opts.logger ?? silentLogger
  if (opts.allPsbProfiles && opts.profiles?.length) throw new PsbError('--profile and --all-psb-profiles exclude each other.', {exitCode: 2, code: 'BadInput', hint: 'Give one of them.'})
  if (!opts.allPsbProfiles && !opts.profiles?.length) throw new PsbError('Say which profiles to schedule.', {exitCode: 2, code: 'BadInput', hint: 'Pass --profile <name> (repeatable), or --all-psb-profiles.'})
  // Every value is parsed before anything else (a bad one: exit 2, nothing installed).
  buildSpecs(['default'], opts)
  if (opts.profiles) checkScheduleProfiles(opts.profiles, env)
  const scheduler = opts.scheduler ?? defaultScheduler()
  const impl = SCHEDULER_IMPLS[scheduler]
  const why = impl.unavailable(env)
  if (why) throw new PsbError(`Cannot install with ${scheduler}: ${why}. Nothing was installed.`, {code: 'SchedulerUnavailable', hint: scheduler === 'cron' ? 'Install cron (Debian/Ubuntu: apt-get install cron), or pass --scheduler systemd.' : 'Pass another --scheduler.'})
  const profiles = opts.profiles?.length ? [...new Set(opts.profiles)] : await psbProfiles({region: opts.region, endpoint: opts.endpoint, env, logger})
  const results: InstallResult[] = []
  for (const spec of buildSpecs(profiles, opts)) {
    const job = buildJob(spec, scheduler, env, opts.paths)
    // The scheduler opens the log before psb runs (cron's >>, systemd's append:, launchd's StandardOutPath): its folder must exist.
    if (!opts.dryRun) ensureDir(dirname(job.logFile))
    const outcome = await impl.install(spec, job, {dryRun: opts.dryRun ?? false, env})
    const replaced: string[] = []
    for (const other of Object.values(SCHEDULER_IMPLS).filter((s) => s !== impl)) {
      for (const e of readEntries(other, env, logger).filter((x) => x.profile === spec.profile)) replaced.push(...(await other.remove(e, {dryRun: opts.dryRun ?? false, env})))
    }
    for (const w of outcome.warnings) logger.warn(w)
    results.push({...outcome, profile: spec.profile, scheduler, schedule: describeCadence(cadenceOf(spec)), every: durationText(spec.everyMs), maxAge: durationText(spec.maxAgeMs), job, replaced})
  }
  return results
}

/** A scheduler's entries; one that cannot be read (no crontab command) has none, with a warning when it failed otherwise. */
function readEntries(s: Scheduler, env: Env, logger: Logger): InstalledEntry[] {
  if (s.unavailable(env)) return []
  try {
    return s.entries(env)
  } catch (error) {
    logger.warn(`Cannot read the ${s.name} schedules: ${messageOf(error)}`)
    return []
  }
}

/** Every schedule psb installed, on every scheduler it can read. */
export function installedSchedules(env: Env = process.env, logger: Logger = silentLogger): InstalledEntry[] {
  return Object.values(SCHEDULER_IMPLS).flatMap((s) => readEntries(s, env, logger))
}

export interface StatusEntry {
  profile: string
  scheduler: SchedulerName
  where: string
  schedule?: string
  every?: string
  maxAge?: string
  nextRun?: string
  lastRun?: RunRecord
  keyAgeDays?: number
  keyAgeError?: string
  /** Paths of the job that no longer exist. */
  missing: string[]
  reinstall: string
  logFile: string
}

export interface StatusOptions {
  profiles?: string[]
  env?: Env
  now?: Date
  /** Ask IAM for the key's age (default true). */
  keyAge?: boolean
  logger?: Logger
}

export async function scheduleStatus(opts: StatusOptions = {}): Promise<StatusEntry[]> {
  const env = opts.env ?? process.env
  const now = opts.now ?? new Date()
  const entries = installedSchedules(env, opts.logger).filter((e) => !opts.profiles?.length || opts.profiles.includes(e.profile))
  const out: StatusEntry[] = []
  for (const e of entries) {
    const logFile = e.argv[e.argv.indexOf('--log-file') + 1] ?? scheduleLogPath(e.profile, env)
    const s: StatusEntry = {profile: e.profile, scheduler: e.scheduler, where: e.where, missing: missingPaths(e.argv), reinstall: `psb keys schedule install --scheduler ${e.scheduler} ${e.options.join(' ')}`, logFile, lastRun: lastRun(logFile)}
    if (e.spec) {
      const c = cadenceOf(e.spec)
      Object.assign(s, {schedule: describeCadence(c) + (e.spec.randomDelayMs ? `, up to ${durationText(e.spec.randomDelayMs)} later` : ''), every: durationText(e.spec.everyMs), maxAge: durationText(e.spec.maxAgeMs), nextRun: nextRun(c, now).toISOString()})
    }
    if (opts.keyAge !== false) Object.assign(s, await keyAge(e, env))
    out.push(s)
  }
  return out
}

/** The age of the key the profile holds, asked with its own key (the job's region and endpoint). */
async function keyAge(e: InstalledEntry, env: Env): Promise<{keyAgeDays?: number; keyAgeError?: string}> {
  try {
    const region = e.spec?.region ?? resolveRegion(undefined, e.profile, env) ?? 'us-east-1'
    const r = await listKeys({profile: e.profile, region, endpoint: e.spec?.endpoint, env})
    const mine = r.keys.find((k) => k.profiles.includes(e.profile))
    return mine?.ageDays === undefined ? {keyAgeError: 'the profile\'s key is not among its user\'s keys'} : {keyAgeDays: mine.ageDays}
  } catch (error) {
    return {keyAgeError: messageOf(error)}
  }
}

export interface RemoveOptions {
  profiles?: string[]
  all?: boolean
  dryRun?: boolean
  env?: Env
  logger?: Logger
}

export interface RemoveResult {
  profile: string
  scheduler: SchedulerName
  removed: string[]
}

/** Removes exactly psb's entries: of the given profiles, or all of them. */
export async function removeSchedules(opts: RemoveOptions): Promise<RemoveResult[]> {
  const env = opts.env ?? process.env
  if (opts.all === Boolean(opts.profiles?.length)) throw new PsbError('Say which schedules to remove: --profile <name> (repeatable) or --all.', {exitCode: 2, code: 'BadInput', hint: 'psb keys schedule status lists them.'})
  const entries = installedSchedules(env, opts.logger).filter((e) => opts.all || opts.profiles!.includes(e.profile))
  const results: RemoveResult[] = []
  for (const e of entries) {
    results.push({profile: e.profile, scheduler: e.scheduler, removed: await SCHEDULER_IMPLS[e.scheduler].remove(e, {dryRun: opts.dryRun ?? false, env})})
  }
  return results
}

export {installOptions}
export type {SchedulerName} from './spec.js'
export {SCHEDULERS} from './spec.js'
