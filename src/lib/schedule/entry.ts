/**
 * What the three schedulers share: an installed entry as psb reads it back, the marker that
 * names the profile (and the options it was installed with), and the scheduler interface.
 */
import type {Env} from '../files/aws-config.js'
import {buildSpecs, durationText, type ScheduleSpec, type SchedulerName} from './spec.js'
import type {Job} from './job.js'

/** A schedule psb installed, as read back from the scheduler. */
export interface InstalledEntry {
  profile: string
  scheduler: SchedulerName
  /** The file (unit, plist) or "crontab". */
  where: string
  /** The schedule, rebuilt from the marker's options (undefined when they no longer parse). */
  spec?: ScheduleSpec
  /** The install options from the marker, to say how to reinstall. */
  options: string[]
  argv: string[]
  env: Record<string, string>
  /** systemd/launchd: whether the scheduler has it loaded (undefined when it cannot be asked). */
  enabled?: boolean
}

export interface InstallOutcome {
  status: 'created' | 'updated' | 'unchanged' | 'planned'
  where: string
  /** The unit, plist or crontab line as written (no secret: paths and options only). */
  content: string
  warnings: string[]
}

export interface Scheduler {
  name: SchedulerName
  /** Why this scheduler cannot be used here, or undefined. */
  unavailable(env: Env): string | undefined
  entries(env: Env): InstalledEntry[]
  install(spec: ScheduleSpec, job: Job, opts: {dryRun: boolean; env: Env}): Promise<InstallOutcome>
  /** Removes exactly psb's entry; returns what it removed (or would, with dryRun). */
  remove(entry: InstalledEntry, opts: {dryRun: boolean; env: Env}): Promise<string[]>
}

const MARK = 'psb keys schedule'
const MARK_END = ' (managed by psb; remove with: psb keys schedule remove --profile '

/** The options a schedule was installed with: what the marker records. */
export function installOptions(spec: ScheduleSpec): string[] {
  const o = ['--profile', spec.profile, '--every', durationText(spec.everyMs)]
  if (spec.maxAgeGiven) o.push('--max-age', durationText(spec.maxAgeMs))
  if (spec.atGiven) o.push('--at', `${String(spec.at.hour).padStart(2, '0')}:${String(spec.at.minute).padStart(2, '0')}`)
  if (spec.randomDelayMs > 0) o.push('--random-delay', durationText(spec.randomDelayMs))
  if (spec.region) o.push('--region', spec.region)
  if (spec.endpoint) o.push('--endpoint', spec.endpoint)
  return o
}

/** The marker line's text (without a comment sign): profile names hold no spaces, so the options read back by splitting. */
export function markerText(spec: ScheduleSpec, scheduler: SchedulerName): string {
  return `${MARK} --scheduler ${scheduler} ${installOptions(spec).join(' ')}${MARK_END}${spec.profile})`
}

/** The options of a marker, or undefined when the text is not psb's marker. */
export function parseMarker(text: string): {profile: string; options: string[]; spec?: ScheduleSpec} | undefined {
  const start = text.indexOf(`${MARK} --scheduler `)
  const end = text.indexOf(MARK_END)
  if (start < 0 || end < start) return undefined
  const words = text.slice(start + MARK.length, end).trim().split(/\s+/)
  const options = words.slice(2)
  const get = (flag: string) => {
    const i = options.indexOf(flag)
    return i >= 0 ? options[i + 1] : undefined
  }
  const profile = get('--profile')
  if (!profile) return undefined
  let spec: ScheduleSpec | undefined
  try {
    spec = buildSpecs([profile], {every: get('--every') ?? '', maxAge: get('--max-age'), at: get('--at'), randomDelay: get('--random-delay'), region: get('--region'), endpoint: get('--endpoint')})[0]
  } catch {}
  return {profile, options, spec}
}

/** Splits a command line psb wrote (plain words, single quotes, VAR=value prefixes) into its environment and argv. */
export function splitShell(line: string): {env: Record<string, string>; argv: string[]} {
  const words: string[] = []
  const re = /\s*((?:[^\s']+|'(?:[^']|'\\'')*')+|\S+)/gy
  let m: RegExpExecArray | null
  while ((m = re.exec(line)) !== null && m[1] !== undefined) {
    words.push(m[1].replace(/'((?:[^']|'\\'')*)'/g, (_, s: string) => s.replace(/'\\''/g, "'")))
  }
  const env: Record<string, string> = {}
  let i = 0
  for (; i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]); i++) {
    const eq = words[i].indexOf('=')
    env[words[i].slice(0, eq)] = words[i].slice(eq + 1)
  }
  const argv: string[] = []
  for (; i < words.length && !/^(>>|>|\|\||2>&1|;|&&)$/.test(words[i]); i++) argv.push(words[i])
  return {env, argv}
}
