/**
 * The job a schedule runs: psb by absolute paths (this node binary and psb's entry point),
 * with its environment spelled out, so that a bare cron environment finds everything.
 * `keys rotate --detailed-exitcode` (10, not due, counts as success), with --log-file for
 * the bounded log that `psb keys schedule status` reads.
 */
import {createHash} from 'node:crypto'
import {existsSync, realpathSync} from 'node:fs'
import {homedir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {configFilePath, credentialsFilePath, type Env} from '../files/aws-config.js'
import {stateDir} from '../files/atomic.js'
import {durationText, type ScheduleSpec, type SchedulerName} from './spec.js'

export interface Job {
  /** argv[0] is the node binary, argv[1] psb's entry point. */
  argv: string[]
  /** The job's whole environment. */
  env: Record<string, string>
  logFile: string
}

/**
 * psb's entry point (bin/run.js), by its real path: the nearest bin/run.js above this module,
 * which is src/lib/schedule/ in the sources and a chunk of the bundle (dist/chunks/) when built.
 */
export function psbEntry(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const entry = join(dir, 'bin', 'run.js')
    if (existsSync(entry) && existsSync(join(dir, 'package.json'))) return realpathSync(entry)
    if (dirname(dir) === dir) return resolve(from, '..', '..', '..', 'bin', 'run.js')
  }
}

/** A file-name-safe form of a profile name; a hash keeps two names that differ only in other characters apart. */
export function safeName(profile: string): string {
  const plain = profile.replace(/[^A-Za-z0-9_.-]/g, '-')
  return plain === profile ? plain : `${plain}-${createHash('sha256').update(profile).digest('hex').slice(0, 8)}`
}

/** The log of a profile's scheduled runs, under psb's state folder. */
export function scheduleLogPath(profile: string, env: Env = process.env): string {
  return join(stateDir(env), 'schedule', `${safeName(profile)}.log`)
}

export interface JobPaths {
  node: string
  entry: string
}

export function defaultJobPaths(): JobPaths {
  return {node: realpathSync(process.execPath), entry: psbEntry()}
}

/** The job of one profile's schedule. */
export function buildJob(spec: ScheduleSpec, scheduler: SchedulerName, env: Env = process.env, paths: JobPaths = defaultJobPaths()): Job {
  const home = resolve(env.HOME || homedir())
  const jobEnv: Record<string, string> = {
    HOME: home,
    AWS_SHARED_CREDENTIALS_FILE: resolve(credentialsFilePath(env)),
    AWS_CONFIG_FILE: resolve(configFilePath(env)),
    PATH: '/usr/local/bin:/usr/bin:/bin',
  }
  if (env.XDG_STATE_HOME) jobEnv.XDG_STATE_HOME = resolve(env.XDG_STATE_HOME)
  const logFile = scheduleLogPath(spec.profile, {...env, HOME: home})
  const argv = [paths.node, paths.entry, 'keys', 'rotate', '--profile', spec.profile, '--max-age', durationText(spec.maxAgeMs), '--detailed-exitcode', '--log-file', logFile]
  if (spec.region) argv.push('--region', spec.region)
  if (spec.endpoint) argv.push('--endpoint', spec.endpoint)
  // systemd delays by itself (RandomizedDelaySec); cron and launchd have no such setting, so psb waits.
  if (spec.randomDelayMs > 0 && scheduler !== 'systemd') argv.push('--random-delay', durationText(spec.randomDelayMs))
  return {argv, env: jobEnv, logFile}
}

/** A word for /bin/sh: as is when it is plain, else in single quotes. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

/** The paths the job needs that no longer exist (e.g. after a Node upgrade). */
export function missingPaths(argv: string[]): string[] {
  return argv.slice(0, 2).filter((p) => !existsSync(p))
}
