/**
 * `psb keys schedule` on the oclif side: its flags, the rendering of install / status /
 * remove, and the two flags of `keys rotate` that a scheduled job uses (--log-file,
 * --random-delay) with the run record they write.
 */
import {isAbsolute} from 'node:path'
import {Flags} from '@oclif/core'
import * as shared from './flags.js'
import {out, status as statusWord, table} from './style.js'
import {parseDuration} from '../lib/duration.js'
import {badInput, isPsbError, messageOf} from '../lib/errors.js'
import {echo} from '../lib/echo.js'
import {sleepUnlessInterrupted} from '../lib/interrupt.js'
import {appendRunRecord} from '../lib/schedule/log.js'
import {SCHEDULERS, type InstallResult, type RemoveResult, type StatusEntry} from '../lib/schedule/index.js'
import type {RotateResult} from '../lib/keys/rotate.js'

const profiles = Flags.string({
  description: 'Profile of the AWS credentials file whose key the schedule rotates (repeatable: one job per profile).',
  helpValue: '<profile>',
  multiple: true,
  multipleNonGreedy: true,
})

export const installFlags = {
  profile: profiles,
  'all-psb-profiles': Flags.boolean({
    description: 'Every profile of the credentials file whose key belongs to an IAM user psb manages (tag managed-by=psb; asked with each profile\'s own key, iam:GetUser).',
    default: false,
  }),
  every: Flags.string({description: 'How often the key is rotated, e.g. 30d, 90d, 2w, 12h. The job runs daily (hourly for an interval under a day) and rotates only when the key is older than --max-age.', helpValue: '<duration>', required: true}),
  'max-age': Flags.string({description: 'Rotate only when the key is older than this (default: the --every interval).', helpValue: '<duration>'}),
  at: Flags.string({description: 'Time of day of the daily run, HH:MM local time (default: a time between 01:00 and 05:59 derived from the profile name).', helpValue: '<HH:MM>'}),
  'random-delay': Flags.string({description: 'Start each run up to this much later, at random (e.g. 1h), so that many machines do not call AWS at once.', helpValue: '<duration>'}),
  scheduler: Flags.string({
    description: 'The scheduler (default: launchd on macOS; systemd user timers where `systemctl --user` works; else cron).',
    options: [...SCHEDULERS],
  }),
  region: shared.region,
  endpoint: shared.endpoint,
  'dry-run': shared.dryRun,
}

export const removeFlags = {
  profile: profiles,
  all: Flags.boolean({description: 'Remove every schedule psb installed (on every scheduler).', default: false}),
  'dry-run': shared.dryRun,
}

export const statusFlags = {
  profile: profiles,
  'no-key-age': Flags.boolean({description: 'Do not ask IAM for the keys\' age (no AWS call).', default: false}),
}

export function renderInstall(results: InstallResult[], dryRun: boolean, say: (t: string) => void): void {
  for (const r of results) {
    say(`${statusWord(r.status, out)} ${r.profile}: ${r.scheduler}, ${r.schedule}, rotating when the key is older than ${r.maxAge} (every ${r.every}); ${r.where}${r.replaced.length ? `; replaced ${r.replaced.join(', ')}` : ''}.`)
    if (dryRun || r.status !== 'unchanged') for (const line of r.content.split('\n')) say(`  ${line}`)
    say(`  log: ${r.job.logFile}`)
  }
  if (dryRun) say('Dry run: nothing was installed.')
}

export function statusRecord(s: StatusEntry): Record<string, unknown> {
  return {...s}
}

export function renderStatus(entries: StatusEntry[], say: (t: string) => void, note: (t: string) => void): void {
  if (entries.length === 0) {
    say('No rotation schedule installed by psb. Install one: psb keys schedule install --profile <name> --every 90d')
    return
  }
  const last = (s: StatusEntry) => (s.lastRun ? `${s.lastRun.time} ${s.lastRun.result} (exit ${s.lastRun.exitCode})` : 'never')
  const age = (s: StatusEntry) => (s.keyAgeDays === undefined ? 'unknown' : `${s.keyAgeDays}d`)
  say(table(['PROFILE', 'SCHEDULER', 'SCHEDULE', 'MAX AGE', 'NEXT RUN', 'LAST RUN', 'KEY AGE'], entries.map((s) => [s.profile, s.scheduler, s.schedule ?? '?', s.maxAge ?? '?', s.nextRun ?? '?', last(s), age(s)])))
  for (const s of entries) {
    if (s.missing.length) note(`The ${s.scheduler} job of ${s.profile} runs ${s.missing.join(' and ')}, which no longer exist${s.missing.length === 1 ? 's' : ''} (a Node upgrade, or psb moved): it cannot run. Reinstall it: ${s.reinstall}`)
    if (s.keyAgeError) note(`${s.profile}: cannot tell the key's age: ${s.keyAgeError}`)
    if (s.lastRun && ![0, 10].includes(s.lastRun.exitCode)) note(`${s.profile}: the last run failed (exit ${s.lastRun.exitCode}${s.lastRun.message ? `: ${s.lastRun.message}` : ''}); see ${s.logFile}.`)
  }
}

export function renderRemove(results: RemoveResult[], dryRun: boolean, say: (t: string) => void): void {
  if (results.length === 0) say('No schedule of psb matched: nothing to remove.')
  for (const r of results) say(`${statusWord(dryRun ? 'planned' : 'deleted', out)} ${r.profile} (${r.scheduler}): ${r.removed.join(', ') || 'nothing left'}.`)
}

// ------------------------------------------------------- the job's side: keys rotate

export const scheduledRunFlags = {
  'log-file': Flags.string({
    description: 'Also append one record of this run (time, exit code, result; never a secret) to this file, whose size psb bounds. The jobs of `psb keys schedule` use it; `psb keys schedule status` reads it.',
    helpValue: '<file>',
  }),
  'random-delay': Flags.string({
    description: 'Wait a random time up to this long before starting (e.g. 1h), so that many machines do not rotate at once. The cron and launchd jobs of `psb keys schedule` use it.',
    helpValue: '<duration>',
  }),
}

/**
 * Runs a rotation as a scheduled job: waits the random delay (nothing done yet), and appends
 * the run's record to --log-file, also when it fails.
 */
export async function asScheduledRun<O>(
  flags: {'log-file'?: string; 'random-delay'?: string},
  prepare: () => O,
  run: (opts: O) => Promise<{results: RotateResult[]; exitCode: number}>,
): Promise<{opts: O; results: RotateResult[]; exitCode: number}> {
  const log = flags['log-file']
  if (log !== undefined && !isAbsolute(log)) throw badInput(`--log-file ${echo(log, {what: 'path'})} is not an absolute path.`, 'Give the log file by its absolute path.', 'LogFileInvalid')
  const time = () => new Date().toISOString()
  try {
    const delayMs = flags['random-delay'] === undefined ? 0 : parseDuration(flags['random-delay'], {flag: '--random-delay'})
    const opts = prepare()
    if (delayMs > 0) await sleepUnlessInterrupted(Math.floor(Math.random() * delayMs), 'stopped during --random-delay: nothing was changed.')
    const r = await run(opts)
    const failed = r.results.find((x) => x.error)
    if (log) await appendRunRecord(log, {time: time(), exitCode: r.exitCode, result: [...new Set(r.results.map((x) => x.result))].join(','), ...(failed ? {message: failed.error!.message} : {})})
    return {opts, ...r}
  } catch (error) {
    if (log) await appendRunRecord(log, {time: time(), exitCode: isPsbError(error) ? error.exitCode : 1, result: 'failed', message: messageOf(error)}).catch(() => {})
    throw error
  }
}
