/**
 * launchd: a plist in ~/Library/LaunchAgents with StartCalendarInterval (StartInterval 60 for
 * a job every minute), loaded with `launchctl bootstrap gui/<uid>`. Built and read with the
 * `plist` library (plutil-compatible XML). Where there is no launchctl (not macOS), the plist
 * is written and psb says so.
 */
import {existsSync, readdirSync, readFileSync, unlinkSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import plist, {type PlistValue} from 'plist'
import type {Env} from '../files/aws-config.js'
import {ensureDir, fileError, withFileLock, writeFileAtomic} from '../files/atomic.js'
import {runTool} from './run-tool.js'
import {cadenceOf, type ScheduleSpec} from './spec.js'
import {markerText, parseMarker, type InstalledEntry, type Scheduler} from './entry.js'
import {safeName, type Job} from './job.js'

export function agentDir(env: Env): string {
  return join(env.HOME || homedir(), 'Library', 'LaunchAgents')
}

export const agentLabel = (profile: string) => `dev.psb.rotate.${safeName(profile)}`

/** The plist of a profile's agent; the marker is an XML comment after the doctype. */
export function agentPlist(spec: ScheduleSpec, job: Job): string {
  const c = cadenceOf(spec)
  const when: Record<string, PlistValue> =
    c.kind === 'daily'
      ? {StartCalendarInterval: {Hour: c.hour, Minute: c.minute}}
      : c.kind === 'hourly'
        ? {StartCalendarInterval: {Minute: c.minute}}
        : {StartInterval: 60}
  const doc: Record<string, PlistValue> = {
    Label: agentLabel(spec.profile),
    ProgramArguments: job.argv,
    EnvironmentVariables: job.env,
    ...when,
    StandardOutPath: job.logFile,
    StandardErrorPath: job.logFile,
    RunAtLoad: false,
    ProcessType: 'Background',
  }
  const xml = plist.build(doc)
  const comment = `<!-- ${markerText(spec, 'launchd').replace(/--/g, '- -')} -->`
  return xml.replace(/(<!DOCTYPE[^>]*>)/, `$1\n${comment}`) + '\n'
}

function launchctl(args: string[]) {
  return runTool('launchctl', args)
}

const domain = () => `gui/${process.getuid?.() ?? 0}`

export const launchd: Scheduler = {
  name: 'launchd',
  unavailable: () => undefined,
  entries(env) {
    const dir = agentDir(env)
    if (!existsSync(dir)) return []
    const found: InstalledEntry[] = []
    for (const f of readdirSync(dir).filter((n) => n.startsWith('dev.psb.rotate.') && n.endsWith('.plist'))) {
      const text = readFileSync(join(dir, f), 'utf8')
      const comment = /<!-- (psb keys schedule .*?) -->/.exec(text)
      const m = comment ? parseMarker(comment[1].replace(/- -/g, '--')) : undefined
      if (!m) continue
      let doc: {ProgramArguments?: string[]; EnvironmentVariables?: Record<string, string>} = {}
      try {
        doc = plist.parse(text) as typeof doc
      } catch {}
      found.push({profile: m.profile, scheduler: 'launchd', where: join(dir, f), spec: m.spec, options: m.options, argv: doc.ProgramArguments ?? [], env: doc.EnvironmentVariables ?? {}})
    }
    return found
  },
  async install(spec, job, {dryRun, env}) {
    const path = join(agentDir(env), `${agentLabel(spec.profile)}.plist`)
    const content = agentPlist(spec, job)
    const before = existsSync(path) ? readFileSync(path, 'utf8') : undefined
    const status = before === content ? 'unchanged' : dryRun ? 'planned' : before === undefined ? 'created' : 'updated'
    const warnings: string[] = []
    const hasLaunchctl = !launchctl(['help']).missing
    if (!hasLaunchctl) warnings.push(`There is no launchctl here (launchd is macOS's): the agent is ${dryRun ? 'to be ' : ''}written to ${path} but not loaded. On macOS: launchctl bootstrap ${domain()} ${path}.`)
    if (status === 'unchanged' || dryRun) return {status, where: path, content, warnings}
    ensureDir(agentDir(env))
    await withFileLock(path, () => writeFileAtomic(path, content, {mode: 0o644, env}))
    if (hasLaunchctl) {
      if (before !== undefined) launchctl(['bootout', domain(), path])
      const r = launchctl(['bootstrap', domain(), path])
      if (!r.ok) warnings.push(`launchctl bootstrap ${domain()} ${path} failed: ${r.stderr}`)
    }
    return {status, where: path, content, warnings}
  },
  async remove(entry, {dryRun}) {
    if (!existsSync(entry.where)) return []
    if (dryRun) return [entry.where]
    if (!launchctl(['help']).missing) launchctl(['bootout', domain(), entry.where])
    try {
      unlinkSync(entry.where)
    } catch (error) {
      throw fileError('remove', entry.where, error)
    }
    return [entry.where]
  },
}
