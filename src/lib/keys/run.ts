import {readFileSync} from 'node:fs'
import {createAwsContext, type AwsContext, type StaticCredentials} from '../aws/client.js'
import {credentialsFilePath, profileRoleArn, type Env} from '../files/aws-config.js'
import {EXIT, PsbError, badInput} from '../errors.js'
import {validateProfileName} from '../files/credentials.js'
import {interruptible, throwIfInterrupted} from '../interrupt.js'
import {EXIT_LOCKED, Journal, acquireRotationLock} from './journal.js'
import {redact} from '../redact.js'
import {silentLogger, type Change, type Logger} from '../types.js'
import {DAY_MS} from '../duration.js'

/** Exit codes of `psb keys rotate` (documented in its --help and docs/keys.md). */
export const KEYS_EXIT = {
  /** Rotated (or the first key created), or a dry run. */
  ROTATED: 0,
  /** Failed; rolled back: the profile still holds its old key, which works. */
  FAILED: EXIT.FAILED,
  /** Bad input, before any AWS call; nothing changed. */
  USAGE: EXIT.USAGE,
  /** --max-age given and the key is younger: nothing to do. */
  NOT_DUE: 10,
  /** Another rotation of the same credentials file is running. */
  LOCKED: EXIT_LOCKED,
  /** Rotated (the profile holds the new, working key) but the old key could not be removed; the next run removes it. */
  CLEANUP_PENDING: 12,
} as const

/** Defaults; tests and benchmarks shorten them (see also PSB_KEY_PROPAGATION_POLL_MS). */
export const DEFAULT_WAIT_MS = 60_000

export const DEFAULT_SUCCESSES = 3

/** Successful rounds that prove a first key (nothing is deleted after it; see ensureProfileKey). */
export const FIRST_KEY_SUCCESSES = 1

export const DEFAULT_POLL_MS = 1000

export function envNumber(name: string): number | undefined {
  const v = process.env[name]
  if (!v) return undefined
  const n = Number(v)
  return Number.isFinite(n) && n >= 0 ? n : undefined
}

/** The pause between checks of a new key (and the first backoff step): PSB_KEY_PROPAGATION_POLL_MS, default 1000. */
export function propagationPollMs(): number {
  return envNumber('PSB_KEY_PROPAGATION_POLL_MS') ?? DEFAULT_POLL_MS
}

/**
 * TEST-ONLY hook: with PSB_TEST_KILL_AFTER_STEP=<step>, the process kills itself with SIGKILL
 * right after that step, so tests can prove that the next run recovers. Steps, in order:
 * journaled, key-created, key-journaled, file-written, write-journaled, verified,
 * old-deactivated, old-deleted.
 */
export const KILL_STEPS = ['journaled', 'key-created', 'key-journaled', 'file-written', 'write-journaled', 'verified', 'old-deactivated', 'old-deleted'] as const

/** A kill point on the failure path only: after the journal says `rolling-back`, before anything is undone. */
export const ROLLBACK_KILL_STEP = 'rollback-journaled'

export type KillStep = (typeof KILL_STEPS)[number] | typeof ROLLBACK_KILL_STEP

export function checkpoint(step: KillStep): void {
  if (process.env.PSB_TEST_KILL_AFTER_STEP === step) process.kill(process.pid, 'SIGKILL')
}

export interface RotateTimings {
  /** Wall time of this profile's rotation. */
  totalMs: number
  /** Of which: waiting for IAM to accept the new key (the proof calls and the pauses between them). */
  propagationWaitMs: number
}

export interface RotateOptions {
  profile: string
  region: string
  endpoint?: string
  /** Act as an administrator (with `user`) instead of the profile's own key. */
  admin?: AwsContext
  user?: string
  bucket?: string
  /** Key prefix inside the bucket (the proof lists `<prefix>/.pulumi/`). */
  prefix?: string
  maxAgeMs?: number
  keepOld?: boolean
  /** How long to wait for IAM to accept the new key; default 60 s. */
  waitMs?: number
  dryRun?: boolean
  /** Create the profile (first key) when it does not exist; needs `admin` and `user`. */
  create?: boolean
  env?: Env
  logger?: Logger
  /** Consecutive successful checks that prove a new key works; default 3. */
  successes?: number
  /** Pause between checks; default PSB_KEY_PROPAGATION_POLL_MS or 1000. */
  pollMs?: number
  /** The rotation lock and journal, held by the caller for several runs at once (openRotationSession). */
  session?: RotationSession
}

export type RotateOutcome = 'rotated' | 'not-due' | 'created' | 'planned' | 'failed'

export interface RotateResult {
  profile: string
  user: string
  result: RotateOutcome
  /** Full key ids: the CLI masks them. */
  oldKeyId?: string
  newKeyId?: string
  oldKeyAgeDays?: number
  profilesUpdated: string[]
  warnings: string[]
  userArn?: string
  oldKeyCreatedAt?: string
  newKeyCreatedAt?: string
  /** For not-due: when the key becomes due. */
  dueAt?: string
  /** What became of the old key. */
  oldKey?: 'deleted' | 'inactive' | 'active'
  /** Rotated, but the old key could not be deactivated or deleted: the next run does it. */
  cleanupPending?: boolean
  /** What the run did about interrupted runs found in the journal. */
  recovered: string[]
  changes: Change[]
  timings: RotateTimings
  /** For result 'failed' (multi-profile runs). */
  error?: {code: string; message: string; hint?: string; exitCode: number}
  /** This profile's exit code (see KEYS_EXIT). */
  exitCode: number
}

export interface RotateManyOptions extends Omit<RotateOptions, 'profile'> {
  profiles: string[]
}

export function daysOld(created: Date | undefined, now = Date.now()): number | undefined {
  return created ? Math.max(0, Math.floor((now - created.getTime()) / DAY_MS)) : undefined
}

export function credsCtx(opts: {region: string; endpoint?: string}, credentials: StaticCredentials): AwsContext {
  return createAwsContext({region: opts.region, endpoint: opts.endpoint, credentials})
}

/**
 * Who makes the IAM calls. A `fresh` actor uses a key created moments ago, so its calls
 * are retried on the errors of IAM's eventual consistency, up to `waitMs`.
 */
export interface Actor {
  ctx: AwsContext
  label: string
  fresh: boolean
}

export interface RunState {
  env: Env
  credentialsFile: string
  region: string
  endpoint?: string
  admin?: AwsContext
  logger: Logger
  waitMs: number
  pollMs: number
  successes: number
  journal?: Journal
  /** New key id → the result of the rotation that made it (several profiles sharing a key). */
  rotatedKeys: Map<string, RotateResult>
  /** Time spent waiting for propagation in the current profile. */
  waited: number
  session?: RotationSession
}

/**
 * A best-effort read (for a warning, or to see whether psb's own write is still in place):
 * unlike readSharedFile, an unreadable file is no error here, the caller falls back.
 */
export function readTextIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    // Unreadable or absent: the caller falls back.
  }
  return undefined
}

export function fail(message: string, opts: {hint?: string; code: string; cause?: unknown; exitCode?: number; data?: Record<string, unknown>}): PsbError {
  return new PsbError(redact(message), {...opts, hint: opts.hint ? redact(opts.hint) : undefined})
}

export function emptyResult(profile: string, user = ''): RotateResult {
  return {profile, user, result: 'planned', profilesUpdated: [], warnings: [], recovered: [], changes: [], timings: {totalMs: 0, propagationWaitMs: 0}, exitCode: 0}
}

export function validateCommon(opts: {profiles: string[]; admin?: AwsContext; user?: string; create?: boolean; maxAgeMs?: number; waitMs?: number; env?: Env}): void {
  if (opts.profiles.length === 0) throw badInput('No profile to rotate.', 'Pass --profile <name> (repeatable).')
  for (const p of opts.profiles) validateProfileName(p)
  for (const p of opts.profiles) refuseRoleProfile(p, 'rotate', opts.env ?? process.env)
  if (opts.create && (!opts.admin || !opts.user)) {
    throw badInput('--create needs --user and administrator credentials: a new profile has no key of its own to act with.', 'Example: psb keys rotate --create --profile pulumi --user pulumi-state --admin-profile admin')
  }
  if (opts.create && opts.profiles.length > 1) throw badInput('--create takes a single --profile.', 'Run once per profile to create.')
  if (opts.maxAgeMs !== undefined && (!Number.isFinite(opts.maxAgeMs) || opts.maxAgeMs < 0)) throw badInput('--max-age must be a positive duration.')
  if (opts.waitMs !== undefined && (!Number.isFinite(opts.waitMs) || opts.waitMs < 0)) throw badInput('--wait must be a positive duration.')
}

export function makeState(opts: Omit<RotateOptions, 'profile'>): RunState {
  const env = opts.env ?? process.env
  return {
    env,
    credentialsFile: credentialsFilePath(env),
    region: opts.region,
    endpoint: opts.endpoint,
    admin: opts.admin,
    logger: opts.logger ?? silentLogger,
    waitMs: opts.waitMs ?? DEFAULT_WAIT_MS,
    pollMs: opts.pollMs ?? propagationPollMs(),
    successes: Math.max(1, opts.successes ?? DEFAULT_SUCCESSES),
    rotatedKeys: new Map(),
    waited: 0,
    session: opts.session,
  }
}

/**
 * The rotation lock and journal of one credentials file, taken once and shared by several
 * runs of this process at the same time (the first keys of `psb init` over a fleet, one per
 * target profile). The journal is one object, written synchronously, so its entries never
 * overwrite each other; each run still recovers and records only its own profile's entries.
 */
export interface RotationSession {
  readonly credentialsFile: string
  readonly journal: Journal
  /** The ids of the entries found when the session opened: runs that have ended (the others are this session's, live). */
  readonly inherited: ReadonlySet<string>
  release(): void
}

/** Takes the rotation lock (exit 11 when another live run holds it) and reads the journal. */
export function openRotationSession(credentialsFile: string, command: string): RotationSession {
  const lock = acquireRotationLock(credentialsFile, command)
  try {
    const journal = new Journal(credentialsFile)
    return {credentialsFile, journal, inherited: new Set(journal.list().map((e) => e.id)), release: () => lock.release()}
  } catch (error) {
    lock.release()
    throw error
  }
}

/** Runs `fn` holding the rotation lock of the credentials file, with its journal (neither for a dry run). */
export async function underRotationLock<T>(state: RunState, dryRun: boolean | undefined, command: string, fn: () => Promise<T>): Promise<T> {
  if (dryRun) return fn()
  throwIfInterrupted('nothing was changed.')
  if (state.session) {
    if (state.session.credentialsFile !== state.credentialsFile) throw new PsbError(`The rotation session is for ${state.session.credentialsFile}, not ${state.credentialsFile}.`, {code: 'RotationSessionMismatch'})
    state.journal = state.session.journal
    return interruptible(fn)
  }
  const lock = acquireRotationLock(state.credentialsFile, command)
  try {
    state.journal = new Journal(state.credentialsFile)
    // SIGINT / SIGTERM: stop at the next safe point, undo or record, release the lock.
    return await interruptible(fn)
  } finally {
    lock.release()
  }
}

/** A profile that assumes a role (role_arn in the AWS config) has no key to rotate or list: exit 2, before any call. */
export function refuseRoleProfile(profile: string, what: 'rotate' | 'list', env: Env): void {
  const role = profileRoleArn(profile, env)
  if (!role) return
  throw badInput(
    `The profile "${profile}" has no key to ${what}: it assumes ${role} (role_arn in the AWS config file). Its credentials are temporary; nothing was changed.`,
    'A role needs no rotation. To check the profile, run `psb verify --profile ' + profile + '`; to rotate the key of its source profile, pass that profile instead.',
    'ProfileAssumesRole',
  )
}
