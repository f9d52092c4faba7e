/**
 * Fleets (issue 17, docs/fleet.md) beyond init: `psb verify --targets` (its target flags, taken
 * from init's fleet-flags.ts; its progress, table and --json document) and
 * `psb keys rotate --all-psb-profiles` (its flag, the flags it excludes, its summary line).
 */
import {Flags, type Config} from '@oclif/core'
import type {ChalkInstance} from 'chalk'
import {plural} from '../lib/echo.js'
import {badInput, isPsbError} from '../lib/errors.js'
import {offlineSpecs} from '../lib/fleet/select.js'
import {parseShard, resolveTargets, shardTargets, type Target} from '../lib/fleet/targets.js'
import {DEFAULT_CONCURRENCY, checkNoFleetFlags, fleetFlagDefs} from './fleet-flags.js'
import {type RotateSummary} from '../lib/fleet/rotate.js'
import {verifyFleet, type FleetVerifyResult, type FleetVerifyRow} from '../lib/fleet/verify.js'
import {validateEndpoint} from '../lib/aws/client.js'
import {parseDays} from '../lib/duration.js'
import {redact} from '../lib/redact.js'
import {targetOf, verifyHookChecks} from './plugin-hooks.js'
import {err, out, status, table} from './style.js'

/** The target flags of `psb init` (fleet-flags.ts), described for verify. */
const F = fleetFlagDefs
export const targetFlags = {
  targets: {...F.targets, description: 'Verify every target of this file: one ACCOUNT/REGION [bucket=… prefix=… profile=…] per line, # comments (docs/fleet.md).'} as typeof F.targets,
  target: {...F.target, description: 'Verify this target: ACCOUNT/REGION, optionally followed by bucket=NAME prefix=PATH profile=NAME (repeatable). Each with its own profile: no role is assumed.'} as typeof F.target,
  shard: F.shard,
  concurrency: {...F.concurrency, description: `How many targets are verified at once (default ${DEFAULT_CONCURRENCY}).`} as typeof F.concurrency,
  'bucket-template': F['bucket-template'],
  'profile-template': F['profile-template'],
}

export interface TargetFlags {
  targets?: string
  target?: string[]
  shard?: string
  'bucket-template'?: string
  'profile-template'?: string
  prefix?: string
}

/** Whether the command runs over a fleet; fleet-only flags without a target are exit 2. */
export function isFleetVerify(flags: TargetFlags & {concurrency?: number}): boolean {
  const fleet = flags.targets !== undefined || (flags.target ?? []).length > 0
  try {
    if (!fleet) checkNoFleetFlags({...flags, 'org-accounts': false})
  } catch (error) {
    throw isPsbError(error) ? badInput(error.message, 'Add --target ACCOUNT/REGION (repeatable) or --targets FILE.', error.code) : error
  }
  return fleet
}

/** The targets of the flags, all checked offline (exit 2 before anything starts). */
export function targetsFromFlags(flags: TargetFlags): Target[] {
  const specs = offlineSpecs({target: flags.target ?? [], targetsFile: flags.targets, orgAccounts: false, ou: [], exclude: []})
  const shard = flags.shard === undefined ? undefined : parseShard(flags.shard)
  const targets = resolveTargets(specs, {bucketTemplate: flags['bucket-template'], profileTemplate: flags['profile-template'], prefix: flags.prefix})
  return shard ? shardTargets(targets, shard) : targets
}

/** `psb keys rotate --all-psb-profiles`. */
export const allPsbProfilesFlag = Flags.boolean({
  description: 'Rotate every profile of the credentials file whose key belongs to an IAM user psb manages (tag managed-by=psb; found as `keys schedule install --all-psb-profiles` finds them), e.g. a fleet\'s pulumi-{account}-{region} profiles. One failed profile never stops the others.',
  default: false,
})

/** --all-psb-profiles finds the profiles and their users: flags naming one are exit 2. */
export function refuseWithAllPsbProfiles(flags: {profile?: string[]; user?: string; create?: boolean; bucket?: string; prefix?: string; 'admin-profile'?: string}): void {
  const named = (['profile', 'user', 'create', 'bucket', 'prefix', 'admin-profile'] as const).filter((f) => (f === 'profile' ? (flags.profile ?? []).length > 0 : f === 'create' ? flags.create === true : flags[f] !== undefined))
  if (named.length > 0)
    throw badInput(`--all-psb-profiles finds every profile psb made, each rotated with its own key: --${named[0]} cannot be given with it.`, 'Leave it out, or name the profiles with --profile <name> (repeatable) instead of --all-psb-profiles.', 'FlagConflict')
}

/** The last line of `keys rotate --all-psb-profiles`. */
export function renderRotateSummary(s: RotateSummary): string {
  const parts = [`${s.rotated} rotated`, `${s.notDue} not due`, `${s.failed} failed`]
  if (s.created) parts.push(`${s.created} created`)
  if (s.planned) parts.push(`${s.planned} planned (dry run)`)
  return `${plural(s.profiles, 'profile')} psb made: ${parts.join(', ')}.`
}

export interface FleetVerifyFlags extends TargetFlags {
  concurrency?: number
  endpoint?: string
  bucket?: string
  profile?: string
  region?: string
  'admin-profile'?: string
  'max-key-age'?: string | number
  'secrets-provider'?: string
}

/** Flags of a single backend that make no sense over a fleet: exit 2. */
function refuseSingleFlags(flags: FleetVerifyFlags): void {
  for (const f of ['bucket', 'profile', 'region', 'admin-profile', 'secrets-provider'] as const)
    if (flags[f] !== undefined)
      throw badInput(`--${f} names one backend, and --targets/--target a fleet: give one or the other.`, `Over a fleet each target is verified with its own profile and bucket (templates, or profile= and bucket= in the targets file).`, 'FleetFlagConflict')
}

export function fleetRowCells(r: FleetVerifyRow, c: ChalkInstance = out): string[] {
  const word = r.status === 'error' ? c.red('error') : status(r.status, c)
  return [r.account, r.region, r.bucket, r.profile, String(r.counts.pass), String(r.counts.warn), String(r.counts.fail), word, `${(r.ms / 1000).toFixed(1)} s`]
}

/** The fleet's health: one row per target, then what failed, then the totals. */
export function renderFleetVerify(result: FleetVerifyResult, c: ChalkInstance = out): string {
  const rows = result.targets
  const lines = [table(['ACCOUNT', 'REGION', 'BUCKET', 'PROFILE', 'PASS', 'WARN', 'FAIL', 'STATUS', 'TIME'], rows.map((r) => fleetRowCells(r, c)), c)]
  for (const r of rows) {
    const bad = r.error ? [`${r.error.message}${r.error.hint ? `\n      ${c.dim('fix:')} ${r.error.hint}` : ''}`] : (r.checks ?? []).filter((x) => x.status === 'fail').map((x) => `${x.title}${x.detail ? `: ${x.detail}` : ''}${x.hint ? `\n      ${c.dim('fix:')} ${x.hint}` : ''}`)
    if (bad.length > 0) lines.push(`${r.account}/${r.region}:`, ...bad.map((b) => `  ${c.red(r.error ? 'error' : 'fail')}  ${b}`))
  }
  const n = (s: FleetVerifyRow['status']) => rows.filter((r) => r.status === s).length
  lines.push(`${plural(rows.length, 'target')}: ${n('pass')} passed, ${n('warn')} with warnings, ${n('fail')} failed, ${n('error')} not verified`)
  return lines.join('\n')
}

/** `psb verify --targets … --json`. */
export function fleetVerifyDocument(result: FleetVerifyResult) {
  return {targets: result.targets}
}

/** `psb verify` over a fleet: every target with its own profile, `--concurrency` at once; progress on stderr. */
export async function runFleetVerify(config: Config, flags: FleetVerifyFlags, io: {say: (s: string) => void; json: boolean}): Promise<FleetVerifyResult> {
  refuseSingleFlags(flags)
  const targets = targetsFromFlags(flags)
  const endpoint = validateEndpoint(flags.endpoint)
  const maxKeyAgeDays = flags['max-key-age'] === undefined ? undefined : parseDays(flags['max-key-age'], {flag: '--max-key-age', min: 1})
  if (targets.length === 0) io.say(`No target in shard ${flags.shard}: nothing to verify.`)
  let done = 0
  const result = await verifyFleet(targets, {
    concurrency: flags.concurrency ?? DEFAULT_CONCURRENCY,
    endpoint,
    maxKeyAgeDays,
    extraChecks: (t) => verifyHookChecks(config, targetOf({...t, endpoint})),
    logger: {warn: (m) => process.stderr.write(`${err.yellow('warning')}: ${redact(m)}\n`), info: () => {}},
    onTarget: (r) => {
      done++
      if (!io.json && targets.length > 1) process.stderr.write(`[${done}/${targets.length}] ${r.account}/${r.region}: ${r.status}\n`)
    },
  })
  if (!io.json && targets.length > 0) io.say(renderFleetVerify(result))
  return result
}
