/**
 * `psb verify --targets FILE`: the health of a fleet of backends, one row per target. Each
 * target is verified by verifyBackend with ITS OWN profile (pulumi-{account}-{region} or the
 * override): no admin access, no role assumed. A target whose profile is missing, or whose
 * verification cannot run, is a row with an error; it never stops the others.
 *
 * On top of the table of checks, each target gets one check of its own: the profile's key
 * belongs to the target's account (a profile copied from another account fails it).
 */
import pLimit from 'p-limit'
import {listProfiles, type Env} from '../files/aws-config.js'
import {EXIT, isPsbError, messageOf, PsbError} from '../errors.js'
import {redact} from '../redact.js'
import type {Logger} from '../types.js'
import {VERIFY_FAILED_EXIT, verifyBackend, type Check, type VerifyOptions, type VerifyResult} from '../verify/run.js'
import type {Target} from './targets.js'

/** pass: every check passed; warn: warnings, none failed; fail: a check failed; error: the target could not be verified. */
export type FleetVerifyStatus = 'pass' | 'warn' | 'fail' | 'error'

export interface FleetVerifyRow {
  account: string
  region: string
  bucket: string
  profile: string
  prefix: string | null
  status: FleetVerifyStatus
  /** Time taken for this target. */
  ms: number
  counts: {pass: number; warn: number; fail: number}
  checks?: Check[]
  error?: {code: string; message: string; hint?: string}
}

export interface FleetVerifyOptions {
  /** Targets verified at once (default 8). */
  concurrency?: number
  endpoint?: string
  env?: Env
  maxKeyAgeDays?: number
  /** Checks added after the table's, per target (plugins), as in VerifyOptions. */
  extraChecks?: (t: Target) => VerifyOptions['extraChecks']
  /** Called as each target completes (progress). */
  onTarget?: (row: FleetVerifyRow) => void
  logger?: Logger
  /** The verification of one target (default verifyBackend). */
  verify?: (o: VerifyOptions) => Promise<VerifyResult>
}

export interface FleetVerifyResult {
  targets: FleetVerifyRow[]
  /** As `psb verify`'s, by the worst target: 1 when a target could not be verified, else 3 when a check failed, else 0. */
  exitCode: number
}

/** The check every fleet target adds: the profile's key is one of the target's account. */
export function accountCheck(t: Target, r: VerifyResult): Check | undefined {
  const account = r.identity?.account
  if (!account) return undefined
  const title = `The key belongs to the target's account ${t.account}`
  if (account === t.account) return {id: 'target-account', title, status: 'pass'}
  return {
    id: 'target-account',
    title,
    status: 'fail',
    detail: `profile ${t.profile} holds a key of account ${account}`,
    hint: `Write this target's own profile: psb init --target ${t.id} (or fix profile= in the targets file).`,
  }
}

function counts(checks: Check[]): FleetVerifyRow['counts'] {
  const n = (s: Check['status']) => checks.filter((c) => c.status === s).length
  return {pass: n('pass'), warn: n('warn'), fail: n('fail')}
}

function baseRow(t: Target): Omit<FleetVerifyRow, 'status' | 'ms' | 'counts'> {
  return {account: t.account, region: t.region, bucket: t.bucket, profile: t.profile, prefix: t.prefix ?? null}
}

function errorRow(t: Target, started: number, error: unknown): FleetVerifyRow {
  const e = isPsbError(error) ? {code: error.code, message: redact(error.message), ...(error.hint ? {hint: redact(error.hint)} : {})} : {code: 'Failed', message: redact(messageOf(error))}
  return {...baseRow(t), status: 'error', ms: Date.now() - started, counts: {pass: 0, warn: 0, fail: 0}, error: e}
}

async function verifyOne(t: Target, o: FleetVerifyOptions, profiles: Set<string>): Promise<FleetVerifyRow> {
  const started = Date.now()
  if (!profiles.has(t.profile))
    return errorRow(
      t,
      started,
      new PsbError(`The profile ${t.profile} is not in the AWS credentials or config file.`, {
        code: 'ProfileNotFound',
        hint: `psb init --target ${t.id} writes it (or give this target's profile= in the targets file).`,
      }),
    )
  try {
    const logger = o.logger && {warn: (m: string) => o.logger!.warn(`${t.id}: ${m}`), info: (m: string) => o.logger!.info(`${t.id}: ${m}`)}
    const r = await (o.verify ?? verifyBackend)({
      profile: t.profile,
      bucket: t.bucket,
      ...(t.prefix ? {prefix: t.prefix} : {}),
      region: t.region,
      endpoint: o.endpoint,
      env: o.env,
      // The Pulumi checks judge this machine's one login: meaningless per target.
      pulumi: false,
      maxKeyAgeDays: o.maxKeyAgeDays,
      extraChecks: o.extraChecks?.(t),
      logger,
    })
    const checks = [...r.checks]
    const own = accountCheck(t, r)
    if (own) checks.push(own)
    const n = counts(checks)
    return {...baseRow(t), status: n.fail > 0 ? 'fail' : n.warn > 0 ? 'warn' : 'pass', ms: Date.now() - started, counts: n, checks}
  } catch (error) {
    return errorRow(t, started, error)
  }
}

/** The exit code of a fleet verification: its worst target. */
export function fleetVerifyExit(rows: readonly FleetVerifyRow[]): number {
  if (rows.some((r) => r.status === 'error')) return EXIT.FAILED
  return rows.some((r) => r.status === 'fail') ? VERIFY_FAILED_EXIT : EXIT.OK
}

/** Verifies every target, `concurrency` at once, each with its own profile; the rows keep the targets' order. */
export async function verifyFleet(targets: readonly Target[], o: FleetVerifyOptions = {}): Promise<FleetVerifyResult> {
  const profiles = new Set(listProfiles(o.env ?? process.env))
  const limit = pLimit(Math.max(1, o.concurrency ?? 8))
  const rows = await Promise.all(
    targets.map((t) =>
      limit(async () => {
        const row = await verifyOne(t, o, profiles)
        o.onTarget?.(row)
        return row
      }),
    ),
  )
  return {targets: rows, exitCode: fleetVerifyExit(rows)}
}
