/**
 * Durations as people write them on a command line: `90d`, `12h`, `30m`, `45s`, `2w`,
 * or several parts together (`1d12h`). Every duration flag goes through here: `keys rotate
 * --max-age` and `--wait`, `verify --max-key-age` and `--noncurrent-days` (`parseDays`).
 */
import {echo} from './echo.js'
import {badInput} from './errors.js'

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60 * 1000,
  h: 60 * 60 * 1000,
  d: 24 * 60 * 60 * 1000,
  w: 7 * 24 * 60 * 60 * 1000,
}

export const DAY_MS = UNIT_MS.d

const PART = /(\d+)(ms|s|m|h|d|w)/gy

export interface ParseDurationOptions {
  /** Name of the flag, for the error message (e.g. `--max-age`). */
  flag?: string
  /** Unit assumed for a bare number (e.g. `60` with `s`); default: a unit is required. */
  bareUnit?: 'ms' | 's' | 'm' | 'h' | 'd' | 'w'
}

/**
 * Parses a duration into milliseconds. Bad input (no unit, unknown unit, a sign, a
 * fraction, an empty string) is a `badInput` error: exit 2, before any AWS call.
 */
export function parseDuration(text: string, opts: ParseDurationOptions = {}): number {
  const flag = opts.flag ?? 'The duration'
  const s = text.trim().toLowerCase()
  const fail = (why: string) =>
    badInput(
      `${flag} ${echo(text, {what: 'value', shape: /^[0-9a-z.,+ -]{1,40}$/})} is not a duration: ${why}.`,
      'Write a whole number followed by a unit: s (seconds), m (minutes), h (hours), d (days) or w (weeks), e.g. 90d, 12h, 30m, 2w, or several parts such as 1d12h.',
      'DurationInvalid',
    )
  if (s === '') throw fail('it is empty')
  if (/^\d+$/.test(s)) {
    if (!opts.bareUnit) throw fail('it has no unit')
    return checkedProduct(Number(s), UNIT_MS[opts.bareUnit], fail)
  }
  let total = 0
  let at = 0
  const seen = new Set<string>()
  PART.lastIndex = 0
  let m: RegExpExecArray | null
  while ((m = PART.exec(s)) !== null) {
    if (seen.has(m[2])) throw fail(`the unit "${m[2]}" appears twice`)
    seen.add(m[2])
    total += checkedProduct(Number(m[1]), UNIT_MS[m[2]], fail)
    at = PART.lastIndex
  }
  if (at !== s.length || at === 0) {
    const rest = s.slice(at)
    if (/^[-+]/.test(rest)) throw fail('it must not have a sign')
    if (/^\d*[.,]/.test(rest)) throw fail('fractions are not allowed')
    throw fail(`${echo(rest, {what: 'part'})} is not a number with a unit`)
  }
  if (!Number.isSafeInteger(total)) throw fail('it is too long')
  return total
}

function checkedProduct(n: number, unit: number, fail: (why: string) => Error): number {
  const v = n * unit
  if (!Number.isSafeInteger(v)) throw fail('it is too long')
  return v
}

/**
 * A number of days from a flag that counts days: a bare number (`90`) or any duration that is
 * whole days (`90d`, `2w`, `48h`). Bad input: exit 2.
 */
export function parseDays(text: string | number, opts: {flag: string; min?: number; max?: number}): number {
  const ms = typeof text === 'number' ? text * DAY_MS : parseDuration(text, {flag: opts.flag, bareUnit: 'd'})
  const days = ms / DAY_MS
  const {min = 0, max = 36500} = opts
  if (!Number.isInteger(days) || days < min || days > max) {
    throw badInput(
      `${opts.flag} ${echo(String(text), {what: 'value', shape: /^[0-9a-z]{1,20}$/})} is not a whole number of days from ${min} to ${max}.`,
      `Give days as a number or a duration, e.g. ${opts.flag} 90 or ${opts.flag} 90d (also 2w, 48h).`,
      'DurationInvalid',
    )
  }
  return days
}

/** A short human form of a duration: `90d`, `3h 5m`, `12s`, `250ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  const parts: string[] = []
  let rest = Math.round(ms / 1000)
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`)
      rest %= size
    }
    if (parts.length === 2) break
  }
  return parts.join(' ')
}

