/**
 * The schedule/ domain: psb's own rotation schedule for each profile (entry point:
 * installSchedules / scheduleStatus / removeSchedules in index.ts), on a systemd user timer,
 * a crontab line or a launchd agent. This file: what a schedule is (the options of
 * `psb keys schedule install`, validated before anything is written) and when its job runs.
 */
import {createHash} from 'node:crypto'
import {echo} from '../echo.js'
import {badInput} from '../errors.js'
import {parseDuration} from '../duration.js'

export type SchedulerName = 'systemd' | 'cron' | 'launchd'
export const SCHEDULERS: readonly SchedulerName[] = ['systemd', 'cron', 'launchd']

const MINUTE_MS = 60_000
const HOUR_MS = 60 * MINUTE_MS
const DAY_MS = 24 * HOUR_MS

/** One profile's schedule, as installed. */
export interface ScheduleSpec {
  profile: string
  everyMs: number
  /** The job's --max-age. */
  maxAgeMs: number
  /** Whether --max-age was given (else derived from --every). */
  maxAgeGiven: boolean
  at: {hour: number; minute: number}
  /** Whether --at was given (else derived from the profile name). */
  atGiven: boolean
  randomDelayMs: number
  region?: string
  endpoint?: string
}

/**
 * How often the job runs: daily at --at for an interval of a day or more (--max-age does the
 * spacing), hourly at --at's minute for an interval of an hour or more, else every minute.
 */
export type Cadence = {kind: 'daily'; hour: number; minute: number} | {kind: 'hourly'; minute: number} | {kind: 'minutely'}

export function cadenceOf(spec: Pick<ScheduleSpec, 'everyMs' | 'at'>): Cadence {
  if (spec.everyMs >= DAY_MS) return {kind: 'daily', hour: spec.at.hour, minute: spec.at.minute}
  if (spec.everyMs >= HOUR_MS) return {kind: 'hourly', minute: spec.at.minute}
  return {kind: 'minutely'}
}

export function cadencePeriodMs(c: Cadence): number {
  return c.kind === 'daily' ? DAY_MS : c.kind === 'hourly' ? HOUR_MS : MINUTE_MS
}

export function describeCadence(c: Cadence): string {
  const two = (n: number) => String(n).padStart(2, '0')
  if (c.kind === 'daily') return `daily at ${two(c.hour)}:${two(c.minute)}`
  if (c.kind === 'hourly') return `hourly at minute ${two(c.minute)}`
  return 'every minute'
}

/** The next time the job starts after `now` (local time, as cron and systemd read it), before any random delay. */
export function nextRun(c: Cadence, now: Date): Date {
  const d = new Date(now.getTime())
  d.setSeconds(0, 0)
  if (c.kind === 'minutely') return new Date(d.getTime() + MINUTE_MS)
  d.setMinutes(c.minute)
  if (c.kind === 'daily') d.setHours(c.hour)
  while (d.getTime() <= now.getTime()) d.setTime(d.getTime() + cadencePeriodMs(c))
  return d
}

/** --at HH:MM (24-hour clock, local time). Bad input: exit 2. */
export function parseAt(text: string): {hour: number; minute: number} {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text.trim())
  const hour = m ? Number(m[1]) : -1
  const minute = m ? Number(m[2]) : -1
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59) {
    throw badInput(
      `--at ${echo(text, {what: 'value', shape: /^[0-9:. apm]{1,8}$/i})} is not a time of day.`,
      'Write it as HH:MM on the 24-hour clock, local time, e.g. --at 03:17.',
      'AtInvalid',
    )
  }
  return {hour, minute}
}

/** A time of day derived from the profile name, so that many machines and profiles do not all rotate at once; between 01:00 and 05:59. */
export function defaultAt(profile: string): {hour: number; minute: number} {
  const h = createHash('sha256').update(profile).digest()
  return {hour: 1 + (h[0] % 5), minute: h[1] % 60}
}

/** A duration as the duration parser reads it back: `30d`, `1d12h`, `90m`, `45s`. */
export function durationText(ms: number): string {
  const parts: string[] = []
  let rest = Math.round(ms / 1000)
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`)
      rest %= size
    }
  }
  return parts.join('') || '0s'
}

export interface SpecFlags {
  every: string
  maxAge?: string
  at?: string
  randomDelay?: string
  region?: string
  endpoint?: string
}

/**
 * The schedule of each profile from the flags. Every value is parsed with the one duration
 * parser and checked here, before anything is written: a bad one is exit 2.
 */
export function buildSpecs(profiles: string[], flags: SpecFlags): ScheduleSpec[] {
  const everyMs = parseDuration(flags.every, {flag: '--every'})
  if (everyMs < MINUTE_MS || everyMs % 1000 !== 0)
    throw badInput(`--every ${echo(flags.every, {what: 'value'})} is shorter than a minute or not whole seconds.`, 'Give an interval of a minute or more, e.g. --every 30d, --every 90d, --every 12h.', 'DurationInvalid')
  const randomDelayMs = flags.randomDelay === undefined ? 0 : parseDuration(flags.randomDelay, {flag: '--random-delay'})
  const maxAgeGiven = flags.maxAge !== undefined
  const maxAgeMs = maxAgeGiven ? parseDuration(flags.maxAge!, {flag: '--max-age'}) : 0
  if (maxAgeGiven && maxAgeMs < 1000) throw badInput('--max-age must be at least a second.', 'Give a duration such as --max-age 30d.', 'DurationInvalid')
  const at = flags.at === undefined ? undefined : parseAt(flags.at)
  return profiles.map((profile) => {
    const spec: ScheduleSpec = {profile, everyMs, maxAgeMs, maxAgeGiven, at: at ?? defaultAt(profile), atGiven: at !== undefined, randomDelayMs, region: flags.region, endpoint: flags.endpoint}
    const period = cadencePeriodMs(cadenceOf(spec))
    if (randomDelayMs >= period)
      throw badInput(
        `--random-delay ${echo(flags.randomDelay!, {what: 'value'})} is not shorter than the time between two runs of the job (${durationText(period)}: the job runs ${{daily: 'daily', hourly: 'hourly', minutely: 'every minute'}[cadenceOf(spec).kind]}).`,
        `Give a shorter delay, e.g. --random-delay 1h for a daily job.`,
        'DurationInvalid',
      )
    // --max-age defaults to the interval: the job runs more often (daily for a 30d interval) and rotates only when due.
    if (!maxAgeGiven) spec.maxAgeMs = everyMs
    return spec
  })
}
