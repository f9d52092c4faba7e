/**
 * systemd: a `.service` + `.timer` pair in the user's unit folder
 * ($XDG_CONFIG_HOME/systemd/user, else ~/.config/systemd/user), Persistent=true,
 * RandomizedDelaySec, OnCalendar from the cadence; then `systemctl --user daemon-reload`
 * and `enable --now`. Where no user systemd runs (a container), the units are written and
 * psb says how to enable them.
 */
import {existsSync, readdirSync, readFileSync, unlinkSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import type {Env} from '../files/aws-config.js'
import {ensureDir, fileError, withFileLock, writeFileAtomic} from '../files/atomic.js'
import {runTool} from './run-tool.js'
import {cadenceOf, durationText, type ScheduleSpec} from './spec.js'
import {markerText, parseMarker, type InstalledEntry, type Scheduler} from './entry.js'
import {safeName, type Job} from './job.js'

export function unitDir(env: Env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), '.config')
  return join(base, 'systemd', 'user')
}

export const unitName = (profile: string) => `psb-rotate-${safeName(profile)}`

/** A word of ExecStart= or Environment=: `%` is a specifier and `$` a variable, so both are doubled; quoted when it has a space or quote. */
function unitWord(word: string): string {
  const w = word.replace(/%/g, '%%').replace(/\$/g, '$$$$')
  return /^[^\s"'\\]+$/.test(w) ? w : `"${w.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

export function onCalendar(spec: ScheduleSpec): string {
  const c = cadenceOf(spec)
  const two = (n: number) => String(n).padStart(2, '0')
  if (c.kind === 'daily') return `*-*-* ${two(c.hour)}:${two(c.minute)}:00`
  if (c.kind === 'hourly') return `*-*-* *:${two(c.minute)}:00`
  return '*-*-* *:*:00'
}

export function serviceUnit(spec: ScheduleSpec, job: Job): string {
  return [
    `# ${markerText(spec, 'systemd')}`,
    '[Unit]',
    `Description=Rotate the AWS access key of profile ${spec.profile} when older than ${durationText(spec.maxAgeMs)} (psb)`,
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=oneshot',
    ...Object.entries(job.env).map(([k, v]) => `Environment=${unitWord(`${k}=${v}`)}`),
    `ExecStart=${job.argv.map(unitWord).join(' ')}`,
    '# 10: not due (--detailed-exitcode), a success.',
    'SuccessExitStatus=10',
    `StandardOutput=${unitWord(`append:${job.logFile}`)}`,
    `StandardError=${unitWord(`append:${job.logFile}`)}`,
    '',
  ].join('\n')
}

export function timerUnit(spec: ScheduleSpec): string {
  return [
    `# ${markerText(spec, 'systemd')}`,
    '[Unit]',
    `Description=Check the age of the AWS access key of profile ${spec.profile} (psb)`,
    '',
    '[Timer]',
    `OnCalendar=${onCalendar(spec)}`,
    `RandomizedDelaySec=${Math.round(spec.randomDelayMs / 1000)}`,
    'Persistent=true',
    `Unit=${unitName(spec.profile)}.service`,
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n')
}

const systemctl = (args: string[]) => runTool('systemctl', ['--user', ...args])

/** Whether `systemctl --user` reaches a user manager. */
export function userSystemdWorks(): boolean {
  return systemctl(['show-environment']).ok
}

/** The words of a unit's `Key=` lines, unquoted (for psb's own units only). */
function unitValues(text: string, key: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1))
}

function unquote(word: string): string {
  const w = word.startsWith('"') ? word.slice(1, -1).replace(/\\(["\\])/g, '$1') : word
  return w.replace(/\$\$/g, '$').replace(/%%/g, '%')
}

function splitUnitWords(line: string): string[] {
  return (line.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? []).map(unquote)
}

export const systemd: Scheduler = {
  name: 'systemd',
  unavailable: () => undefined,
  entries(env) {
    const dir = unitDir(env)
    if (!existsSync(dir)) return []
    const found: InstalledEntry[] = []
    for (const f of readdirSync(dir).filter((n) => /^psb-rotate-.*\.service$/.test(n))) {
      const text = readFileSync(join(dir, f), 'utf8')
      const m = parseMarker(text.split('\n')[0] ?? '')
      if (!m) continue
      const env2: Record<string, string> = {}
      for (const v of unitValues(text, 'Environment')) for (const w of splitUnitWords(v)) env2[w.slice(0, w.indexOf('='))] = w.slice(w.indexOf('=') + 1)
      const argv = splitUnitWords(unitValues(text, 'ExecStart')[0] ?? '')
      found.push({profile: m.profile, scheduler: 'systemd', where: join(dir, f), spec: m.spec, options: m.options, argv, env: env2})
    }
    return found
  },
  async install(spec, job, {dryRun, env}) {
    const dir = unitDir(env)
    const name = unitName(spec.profile)
    const files = [[join(dir, `${name}.service`), serviceUnit(spec, job)], [join(dir, `${name}.timer`), timerUnit(spec)]] as const
    const existing = files.map(([p]) => (existsSync(p) ? readFileSync(p, 'utf8') : undefined))
    const same = files.every(([, text], i) => existing[i] === text)
    const works = userSystemdWorks()
    const enabled = works && systemctl(['is-enabled', `${name}.timer`]).ok
    const status = same && (enabled || !works) ? 'unchanged' : dryRun ? 'planned' : existing.some(Boolean) ? 'updated' : 'created'
    const warnings: string[] = []
    if (!works) warnings.push(`systemctl --user does not reach a user systemd here (a container, or no login session): the units are ${dryRun ? 'to be ' : ''}written to ${dir} but not enabled. Enable them where it runs: systemctl --user daemon-reload && systemctl --user enable --now ${name}.timer (or use --scheduler cron).`)
    if (status === 'unchanged' || dryRun) return {status, where: files[1][0], content: files.map(([p, t]) => `# ${p}\n${t}`).join('\n'), warnings}
    ensureDir(dir)
    for (const [p, text] of files) await withFileLock(p, () => writeFileAtomic(p, text, {mode: 0o644, env}))
    if (works) {
      for (const args of [['daemon-reload'], ['enable', '--now', `${name}.timer`]]) {
        const r = systemctl(args)
        if (!r.ok) warnings.push(`systemctl --user ${args.join(' ')} failed: ${r.stderr}`)
      }
    }
    return {status, where: files[1][0], content: files.map(([p, t]) => `# ${p}\n${t}`).join('\n'), warnings}
  },
  async remove(entry, {dryRun}) {
    const name = entry.where.replace(/\.service$/, '')
    const paths = [`${name}.timer`, `${name}.service`].filter((p) => existsSync(p))
    if (dryRun) return paths
    const base = name.split('/').pop()!
    if (userSystemdWorks()) systemctl(['disable', '--now', `${base}.timer`])
    for (const p of paths) {
      try {
        unlinkSync(p)
      } catch (error) {
        throw fileError('remove', p, error)
      }
    }
    if (userSystemdWorks()) systemctl(['daemon-reload'])
    return paths
  },
}
