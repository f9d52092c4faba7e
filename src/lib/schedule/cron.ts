/**
 * cron: one standard five-field line in the user's crontab, below a marker comment that names
 * the profile; read and written with `crontab -l` / `crontab -`. Every other line is kept
 * byte for byte. PSB_CRONTAB_USER (tests) edits that user's crontab (`crontab -u`).
 */
import type {Env} from '../files/aws-config.js'
import {PsbError} from '../errors.js'
import {runTool} from './run-tool.js'
import {cadenceOf, type ScheduleSpec} from './spec.js'
import {join} from 'node:path'
import {ensureDir, stateDir, withFileLock} from '../files/atomic.js'
import {markerText, parseMarker, splitShell, type InstallOutcome, type InstalledEntry, type Scheduler} from './entry.js'
import {shellWord, type Job} from './job.js'

const userArgs = (env: Env) => (env.PSB_CRONTAB_USER ? ['-u', env.PSB_CRONTAB_USER] : [])

/** The crontab's bytes (latin1, so that every byte survives the round trip); '' when the user has none. */
export function readCrontab(env: Env): string {
  const r = runTool('crontab', [...userArgs(env), '-l'])
  if (r.ok) return r.stdout.toString('latin1')
  if (r.missing) throw cronMissing()
  if (/no crontab for/i.test(r.stderr)) return ''
  throw new PsbError(`crontab -l failed: ${r.stderr}`, {hint: 'Check that cron works for this user (crontab -l), or choose another --scheduler.', code: 'CronFailed'})
}

function writeCrontab(text: string, env: Env): void {
  const r = runTool('crontab', [...userArgs(env), '-'], {input: Buffer.from(text, 'latin1')})
  if (!r.ok) throw new PsbError(`crontab - failed: ${r.stderr}`, {hint: 'Check that this user may use cron (/etc/cron.allow, /etc/cron.deny).', code: 'CronFailed'})
}

function cronMissing(): PsbError {
  return new PsbError('cron is not installed: there is no crontab command.', {hint: 'Install it (Debian/Ubuntu: apt-get install cron), or choose --scheduler systemd or launchd.', code: 'CronMissing'})
}

/** The job's command as cron runs it through /bin/sh: environment, absolute paths, output to the log; 10 (not due) counts as success. */
export function cronCommand(job: Job): string {
  const env = Object.entries(job.env).map(([k, v]) => `${k}=${shellWord(v)}`)
  const cmd = [...env, ...job.argv.map(shellWord), '>>', shellWord(job.logFile), '2>&1', '||', '[', '$?', '-eq', '10', ']'].join(' ')
  // In a crontab, an unescaped % ends the command.
  return cmd.replace(/%/g, '\\%')
}

export function cronLines(spec: ScheduleSpec, job: Job): string {
  const c = cadenceOf(spec)
  const when = c.kind === 'daily' ? `${c.minute} ${c.hour} * * *` : c.kind === 'hourly' ? `${c.minute} * * * *` : '* * * * *'
  return `# ${markerText(spec, 'cron')}\n${when} ${cronCommand(job)}\n`
}

interface Found {
  profile: string
  /** Index of the marker line and of the line after it. */
  at: number
  entry: InstalledEntry
}

function findEntries(lines: string[]): Found[] {
  const found: Found[] = []
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith('# psb keys schedule ')) continue
    const m = parseMarker(lines[i])
    if (!m) continue
    const fields = (lines[i + 1] ?? '').trim().split(/\s+/)
    const {env, argv} = splitShell(fields.slice(5).join(' ').replace(/\\%/g, '%'))
    found.push({profile: m.profile, at: i, entry: {profile: m.profile, scheduler: 'cron', where: 'crontab', spec: m.spec, options: m.options, argv, env}})
  }
  return found
}

/** The crontab with the profile's entries (marker + line) taken out, and the index of the first. */
function without(lines: string[], profile: string): {lines: string[]; at: number} {
  const drop = new Set(findEntries(lines).filter((f) => f.profile === profile).flatMap((f) => [f.at, f.at + 1]))
  const at = drop.size > 0 ? Math.min(...drop) : -1
  return {lines: lines.filter((_, i) => !drop.has(i)), at}
}

export const cron: Scheduler = {
  name: 'cron',
  unavailable(env) {
    const r = runTool('crontab', [...userArgs(env), '-l'])
    return r.missing ? 'there is no crontab command (apt-get install cron)' : undefined
  },
  entries(env) {
    return findEntries(readCrontab(env).split('\n')).map((f) => f.entry)
  },
  async install(spec, job, {dryRun, env}) {
    return withCrontabLock(env, () => installLine(spec, job, dryRun, env))
  },
  async remove(entry, {dryRun, env}) {
    return withCrontabLock(env, () => {
      const before = readCrontab(env)
      const rest = without(before.split('\n'), entry.profile)
      if (rest.at < 0) return []
      if (!dryRun) writeCrontab(rest.lines.join('\n'), env)
      return ['crontab']
    })
  },
}

/** psb's read-modify-write of the crontab runs under psb's lock (a file in its state folder), so two psb runs never lose each other's line. */
async function withCrontabLock<T>(env: Env, fn: () => T): Promise<T> {
  const dir = join(stateDir(env), 'schedule')
  ensureDir(dir)
  return withFileLock(join(dir, `crontab${env.PSB_CRONTAB_USER ? `-${env.PSB_CRONTAB_USER}` : ''}`), fn)
}

function installLine(spec: ScheduleSpec, job: Job, dryRun: boolean, env: Env): InstallOutcome {
    const before = readCrontab(env)
    const body = before === '' || before.endsWith('\n') ? before : `${before}\n`
    const lines = body.split('\n')
    const rest = without(lines, spec.profile)
    const pair = cronLines(spec, job).slice(0, -1).split('\n')
    const next = [...rest.lines]
    // Replaced where it was; a new entry goes last (before the final empty string of the split).
    if (rest.at >= 0) next.splice(rest.at, 0, ...pair)
    else next.splice(next.length - 1, 0, ...pair)
    const after = next.join('\n')
    const status = after === before ? 'unchanged' : dryRun ? 'planned' : rest.at >= 0 ? 'updated' : 'created'
    if (status !== 'unchanged' && !dryRun) writeCrontab(after, env)
    return {status, where: 'crontab', content: pair.join('\n'), warnings: []}
}
