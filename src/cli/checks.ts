/**
 * The checklist of `psb verify` (and the verify step of `psb init`): one line per check,
 * the status coloured on a TTY, plain words otherwise, the fix hint under warn/fail.
 */
import type {ChalkInstance} from 'chalk'
import {plural} from '../lib/echo.js'
import {prefixBase, type Check, type VerifyOptions, type VerifyResult} from '../lib/verify/run.js'
import {out, status} from './style.js'

export function renderCheck(check: Check, c: ChalkInstance = out): string {
  const word = status(check.status, c) + ' '.repeat(4 - check.status.length)
  let line = `  ${word}  ${check.title}${check.detail ? `: ${check.detail}` : ''}`
  if (check.hint && check.status !== 'pass') line += `\n        ${c.dim('fix:')} ${check.hint}`
  return line
}

export function summarizeChecks(checks: Check[]): string {
  const n = (s: Check['status']) => checks.filter((x) => x.status === s).length
  return `${plural(checks.length, 'check')}: ${n('pass')} passed, ${plural(n('warn'), 'warning')}, ${n('fail')} failed`
}

export function renderChecks(checks: Check[], c: ChalkInstance = out): string {
  return [...checks.map((x) => renderCheck(x, c)), summarizeChecks(checks)].join('\n')
}

/** `psb verify`'s human output: the backend it judged, then the checklist. */
export function renderVerify(opts: VerifyOptions, r: VerifyResult, c: ChalkInstance = out): string {
  return [`psb verify: profile ${opts.profile}, s3://${opts.bucket}/${prefixBase(opts.prefix)} (${opts.region})`, renderChecks(r.checks, c)].join('\n')
}

/** `psb verify --json`: the backend, the verdict, who the profile is and every check. */
export function verifyDocument(opts: VerifyOptions, r: VerifyResult) {
  return {ok: r.ok, profile: opts.profile, bucket: opts.bucket, prefix: opts.prefix ?? null, region: opts.region, url: r.url ?? null, identity: r.identity ?? null, checks: r.checks}
}
