/**
 * Access-key rotation that never leaves a profile without a working key, the first key of
 * a profile (`ensureProfileKey`, used by `psb init`), and the list of a user's keys.
 *
 * The rotation, per profile (see docs/keys.md):
 *   1. resolve the profile's key and the IAM user it belongs to (STS with the profile's own
 *      key; or an administrator context with the user name);
 *   2. list the user's keys: an Inactive second key that no profile holds is deleted, an
 *      Active second key stops the run, untouched;
 *   3. create the new key (journal before and after);
 *   4. write it into every profile of the credentials file that held the old key, in one
 *      atomic, locked, backed-up edit;
 *   5. prove it works: several consecutive successful calls (STS, and the state bucket when
 *      known), retrying the errors of IAM's eventual consistency up to `waitMs`;
 *   6. with the new key (or the administrator): deactivate the old key, then delete it.
 * A failure before 6 restores the file from the backup and deletes the new key. A run killed
 * at any step leaves a journal entry (journal.ts); the next run finishes or undoes it first.
 *
 * IAM calls always pass `UserName` explicitly: real AWS accepts it, and the moto used in
 * tests authorises user actions against the user's ARN only when it is given.
 */
import {readFileSync} from 'node:fs'
import {createAwsContext, type AwsContext, type StaticCredentials} from '../aws/client.js'
import {configFilePath, credentialsFilePath, type Env} from '../files/aws-config.js'
import {awsCall, awsCode, isAccessDenied, sleep, translateAwsError, withBackoff} from '../aws/errors.js'
import {EXIT, PsbError, badInput, isPsbError, messageOf} from '../errors.js'
import {editIniFile, profilesHoldingKey, readProfileCredentials, validateProfileName, writeProfile} from '../files/credentials.js'
import {lockedUpdate} from '../files/atomic.js'
import {parseIni, sectionEntries, sectionNames, serializeIni, setSectionKeys, type IniDocument} from '../files/ini.js'
import {interruptible, isInterrupted, sleepUnlessInterrupted, throwIfInterrupted} from '../interrupt.js'
import {EXIT_LOCKED, Journal, acquireRotationLock, newEntryId, readJournalEntries, type JournalEntry} from './journal.js'
import {maskKeyId, redact, registerSecret} from '../redact.js'
import {silentLogger, withPartialChanges, type Change, type Logger} from '../types.js'
import {DAY_MS, formatDuration} from '../duration.js'
import {userNameOfArn} from '../aws/arn.js'
import {BUCKET_TAG, PREFIX_TAG} from '../aws/tags.js'
import {prefixBase} from '../bucket/prefix.js'


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

/** Errors a new key gives while IAM propagates it. */
const PROPAGATION_ERRORS = new Set(['InvalidClientTokenId', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'UnrecognizedClientException', 'AuthFailure'])

function isPropagationError(error: unknown): boolean {
  const code = awsCode(error)
  if (code && PROPAGATION_ERRORS.has(code)) return true
  // translateAwsError keeps the SDK error as the cause.
  const cause = (error as {cause?: unknown})?.cause
  const causeCode = cause ? awsCode(cause) : undefined
  return causeCode !== undefined && PROPAGATION_ERRORS.has(causeCode)
}

/** Defaults; tests and benchmarks shorten them (see also PSB_KEY_PROPAGATION_POLL_MS). */
export const DEFAULT_WAIT_MS = 60_000
const DEFAULT_SUCCESSES = 3
/** Successful rounds that prove a first key (nothing is deleted after it; see ensureProfileKey). */
const FIRST_KEY_SUCCESSES = 1
const DEFAULT_POLL_MS = 1000

function envNumber(name: string): number | undefined {
  const v = process.env[name]
  if (v === undefined || v === '') return undefined
  const n = Number(v)
  return Number.isFinite(n) && n >= 0 ? n : undefined
}

/** The pause between checks of a new key (and the first backoff step): PSB_KEY_PROPAGATION_POLL_MS, default 1000. */
function propagationPollMs(): number {
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
type KillStep = (typeof KILL_STEPS)[number] | typeof ROLLBACK_KILL_STEP

function checkpoint(step: KillStep): void {
  if (process.env.PSB_TEST_KILL_AFTER_STEP === step) process.kill(process.pid, 'SIGKILL')
}

// ---------------------------------------------------------------------------------------
// Types

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

// ---------------------------------------------------------------------------------------
// Small helpers

interface IamKey {
  id: string
  status: 'Active' | 'Inactive'
  created?: Date
}

const iamModule = () => import('@aws-sdk/client-iam')
const stsModule = () => import('@aws-sdk/client-sts')
const s3Module = () => import('@aws-sdk/client-s3')

function daysOld(created: Date | undefined, now = Date.now()): number | undefined {
  return created ? Math.max(0, Math.floor((now - created.getTime()) / DAY_MS)) : undefined
}

function credsCtx(opts: {region: string; endpoint?: string}, credentials: StaticCredentials): AwsContext {
  return createAwsContext({region: opts.region, endpoint: opts.endpoint, credentials})
}

/**
 * Who makes the IAM calls. A `fresh` actor uses a key created moments ago, so its calls
 * are retried on the errors of IAM's eventual consistency, up to `waitMs`.
 */
interface Actor {
  ctx: AwsContext
  label: string
  fresh: boolean
}

interface RunState {
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
}

/** An IAM call by `actor`, its error translated; a fresh actor's propagation errors are retried (withBackoff) up to `waitMs`. */
async function actorCall<T>(state: RunState, actor: Actor, action: string, resource: string | undefined, fn: () => Promise<T>): Promise<T> {
  const call = () => awsCall({action, resource, principal: actor.label}, fn)
  if (!actor.fresh) return call()
  return withBackoff(call, {
    maxMs: state.waitMs,
    baseMs: Math.max(50, state.pollMs),
    retryIf: isPropagationError,
    onRetry: (error, _attempt, delay) =>
      state.logger.info(`IAM does not accept the new key yet (${awsCode((error as {cause?: unknown}).cause) ?? awsCode(error)}); retrying in ${formatDuration(delay)}`),
    sleep: async (ms) => {
      const t = Date.now()
      await sleep(ms)
      state.waited += Date.now() - t
    },
  })
}

async function listUserKeys(state: RunState, actor: Actor, user: string, arn?: string): Promise<IamKey[]> {
  const {ListAccessKeysCommand} = await iamModule()
  const iam = await actor.ctx.iam()
  const r = await actorCall(state, actor, 'iam:ListAccessKeys', arn ?? `user ${user}`, () => iam.send(new ListAccessKeysCommand({UserName: user})))
  return (r.AccessKeyMetadata ?? []).map((k) => ({id: k.AccessKeyId!, status: k.Status === 'Inactive' ? 'Inactive' : 'Active', created: k.CreateDate}))
}

async function deleteKey(state: RunState, actor: Actor, user: string, id: string, arn?: string): Promise<void> {
  const {DeleteAccessKeyCommand} = await iamModule()
  const iam = await actor.ctx.iam()
  await actorCall(state, actor, 'iam:DeleteAccessKey', arn ?? `user ${user}`, () => iam.send(new DeleteAccessKeyCommand({UserName: user, AccessKeyId: id})))
}

async function deactivateKey(state: RunState, actor: Actor, user: string, id: string, arn?: string): Promise<void> {
  const {UpdateAccessKeyCommand} = await iamModule()
  const iam = await actor.ctx.iam()
  await actorCall(state, actor, 'iam:UpdateAccessKey', arn ?? `user ${user}`, () =>
    iam.send(new UpdateAccessKeyCommand({UserName: user, AccessKeyId: id, Status: 'Inactive'})),
  )
}

async function createKey(state: RunState, actor: Actor, user: string, arn?: string): Promise<StaticCredentials & {created?: Date}> {
  const {CreateAccessKeyCommand} = await iamModule()
  const iam = await actor.ctx.iam()
  // The SDK's standard retry strategy retries throttling and 5xx answers (PSB_MAX_ATTEMPTS).
  const r = await actorCall(state, actor, 'iam:CreateAccessKey', arn ?? `user ${user}`, () => iam.send(new CreateAccessKeyCommand({UserName: user})))
  const k = r.AccessKey
  if (!k?.AccessKeyId || !k.SecretAccessKey) throw new PsbError('iam:CreateAccessKey returned no key.', {code: 'CreateAccessKeyEmpty'})
  registerSecret(k.SecretAccessKey)
  return {accessKeyId: k.AccessKeyId, secretAccessKey: k.SecretAccessKey, created: k.CreateDate}
}

/**
 * True unless IAM surely made no key: only a clean client-side refusal (4xx) of a single
 * attempt proves that. A 5xx, a lost connection, or an error after the SDK retried (the
 * first attempt may have made the key, its answer lost) leaves the question open.
 */
function mayHaveCreatedKey(error: unknown): boolean {
  const sdk = (isPsbError(error) ? error.cause : error) as {$metadata?: {httpStatusCode?: number; attempts?: number}} | undefined
  const status = sdk?.$metadata?.httpStatusCode
  const attempts = sdk?.$metadata?.attempts ?? 1
  return !(status !== undefined && status >= 400 && status < 500 && attempts <= 1)
}

/**
 * CreateAccessKey, with its request window in the journal entry: `from` was written before,
 * the journal is touched every second while the call runs (a dead run's last sign of life),
 * and `to` is written when the call failed in a way that may have made a key anyway. Such an
 * orphan is deleted by the next run only when IAM dates it inside the window.
 */
async function createKeyJournaled(state: RunState, actor: Actor, user: string, entry: JournalEntry, arn?: string): Promise<StaticCredentials & {created?: Date}> {
  const journal = state.journal!
  const stopBeat = journal.heartbeat()
  try {
    return await createKey(state, actor, user, arn)
  } catch (error) {
    if (!mayHaveCreatedKey(error)) {
      journal.remove(entry.id)
      throw error
    }
    const e = isPsbError(error) ? error : translateAwsError(error, {action: 'iam:CreateAccessKey', resource: arn})
    journal.update(entry.id, {createWindow: {from: entry.createWindow!.from, to: new Date().toISOString()}, lastError: redact(e.message)})
    throw fail(
      `Creating the new access key for ${user} failed: ${e.message} IAM may have made the key even so (its answer lost on the way), so an orphan key that no profile holds may exist. Nothing else was changed: the profile holds its old key, which works.`,
      {
        code: 'CreateAccessKeyUncertain',
        cause: error,
        hint: `Run psb keys rotate again: it first removes that orphan key (only a key IAM dates inside this run's request, recorded in ${journal.path}), then rotates.`,
        data: {user},
      },
    )
  } finally {
    stopBeat()
  }
}

async function callerIdentity(state: RunState, actor: Actor): Promise<{arn: string; accountId: string}> {
  const {GetCallerIdentityCommand} = await stsModule()
  const sts = await actor.ctx.sts()
  const r = await actorCall(state, actor, 'sts:GetCallerIdentity', undefined, () => sts.send(new GetCallerIdentityCommand({})))
  return {arn: r.Arn ?? '', accountId: r.Account ?? ''}
}

/** The state bucket and prefix from the user's tags (iam:GetUser returns them); undefined when not readable. */
async function bucketFromTags(state: RunState, actor: Actor, user: string): Promise<{bucket?: string; prefix?: string}> {
  try {
    const {GetUserCommand} = await iamModule()
    const iam = await actor.ctx.iam()
    const r = await iam.send(new GetUserCommand({UserName: user}))
    const tags = r.User?.Tags ?? []
    const bucket = tags.find((t) => t.Key === BUCKET_TAG)?.Value || undefined
    const prefix = tags.find((t) => t.Key === PREFIX_TAG)?.Value || undefined
    return {bucket, prefix}
  } catch {
    return {}
  }
}

/** The profiles of an ini document whose effective `aws_access_key_id` is `keyId`. */
function profilesWithKeyIn(doc: IniDocument, keyId: string): string[] {
  return sectionNames(doc).filter((n) => sectionEntries(doc, n)?.aws_access_key_id === keyId)
}

/**
 * A best-effort read (for a warning, or to see whether psb's own write is still in place):
 * unlike readSharedFile, an unreadable file is no error here, the caller falls back.
 */
function readTextIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

function fail(message: string, opts: {hint?: string; code: string; cause?: unknown; exitCode?: number; data?: Record<string, unknown>}): PsbError {
  return new PsbError(redact(message), {...opts, hint: opts.hint ? redact(opts.hint) : undefined})
}

// ---------------------------------------------------------------------------------------
// Proving a key works

interface ProveOptions {
  /** The IAM user the key must belong to. */
  user?: string
  bucket?: string
  prefix?: string
  successes: number
  pollMs: number
  waitMs: number
  /** The key being replaced: when the bucket check fails with a non-credential error, the old key tells whether the check applies at all. */
  oldCtx?: AwsContext
}

interface ProveResult {
  waitedMs: number
  calls: number
  bucketChecked: boolean
  warnings: string[]
}

/**
 * Several consecutive successful calls with the key (STS GetCallerIdentity, and
 * ListObjectsV2 on the state bucket when known). IAM propagates a new key in seconds to
 * ~15 s, and one success does not prove it: a failure starts the count again. Propagation
 * errors are retried with backoff (withBackoff) until `waitMs`; any other error fails at once.
 */
async function proveKeyWorks(ctx: AwsContext, opts: ProveOptions, logger: Logger = silentLogger): Promise<ProveResult> {
  const warnings: string[] = []
  // Load the SDK modules and clients first: that is psb's own time, not waiting for IAM.
  const {GetCallerIdentityCommand} = await stsModule()
  const sts = await ctx.sts()
  const {ListObjectsV2Command} = opts.bucket ? await s3Module() : {ListObjectsV2Command: undefined}
  if (opts.bucket) {
    await ctx.s3()
    await opts.oldCtx?.s3()
  }
  const start = Date.now()
  let bucket = opts.bucket
  const listPrefix = `${prefixBase(opts.prefix)}.pulumi/`
  let calls = 0
  /** The call that failed last, to name it in the error. */
  let failedCall = 'sts' as 'sts' | 's3'
  // Access denied to the new key only (or, for a first key, at all) may be IAM still
  // propagating the user's policy: retried like the propagation errors.
  const deniedToNewKeyOnly = new WeakSet<object>()
  const retryIf = (error: unknown) => !isPsbError(error) && (isPropagationError(error) || deniedToNewKeyOnly.has(error as object))
  const s3List = async (c: AwsContext) => {
    const s3 = await c.s3()
    return s3.send(new ListObjectsV2Command!({Bucket: bucket!, Prefix: listPrefix, MaxKeys: 1}))
  }
  const round = async () => {
    calls++
    failedCall = 'sts'
    const who = await sts.send(new GetCallerIdentityCommand({}))
    if (opts.user && userNameOfArn(who.Arn ?? '') !== opts.user) {
      throw fail(`The new key belongs to ${who.Arn}, not to the IAM user ${opts.user}.`, {code: 'KeyOwnerMismatch'})
    }
    if (!bucket) return
    calls++
    failedCall = 's3'
    try {
      await s3List(ctx)
    } catch (error) {
      if (isPropagationError(error)) throw error
      // Not a credentials error. With the old key at hand: does it get the same answer?
      // Then the check does not apply here (wrong region, no such bucket, a policy
      // without ListBucket) and is skipped.
      const code = awsCode(error)
      const oldCode = opts.oldCtx
        ? await s3List(opts.oldCtx).then(
            () => 'ok',
            (e: unknown) => awsCode(e) ?? 'Error',
          )
        : undefined
      if (oldCode !== code) {
        if (isAccessDenied(error)) deniedToNewKeyOnly.add(error as object)
        throw error
      }
      warnings.push(`Skipped the state-bucket check: listing s3://${bucket}/${listPrefix} answers ${code} for the old key too.`)
      bucket = undefined
    }
  }
  // `successes` rounds in a row, `pollMs` apart: a failure retries the whole series.
  // A signal stops the wait at once (the caller rolls back).
  const pause = (ms: number) => sleepUnlessInterrupted(ms, 'stopped while waiting for IAM to accept the new key.')
  const series = async () => {
    for (let i = 0; i < opts.successes; i++) {
      if (i > 0) await pause(opts.pollMs)
      await round()
    }
  }
  try {
    await withBackoff(series, {
      maxMs: opts.waitMs,
      baseMs: Math.max(50, opts.pollMs),
      sleep: pause,
      retryIf,
      onRetry: (error, _attempt, delay) => logger.info(`The new key is not accepted everywhere yet (${awsCode(error)}); checking again in ${formatDuration(delay)}.`),
    })
  } catch (error) {
    if (isPsbError(error)) throw error
    if (!retryIf(error)) {
      throw failedCall === 's3'
        ? translateAwsError(error, {action: `s3:ListBucket (listing s3://${bucket}/${listPrefix} with the new key)`, resource: `arn:aws:s3:::${bucket}`})
        : translateAwsError(error, {action: 'sts:GetCallerIdentity', principal: 'the new key'})
    }
    // Still not accepted when the time was up.
    if (isAccessDenied(error) && bucket) {
      throw translateAwsError(error, {action: 's3:ListBucket', resource: `arn:aws:s3:::${bucket}`, principal: 'the new key'})
    }
    throw fail(`The new key did not work within ${formatDuration(opts.waitMs)} (last answer: ${awsCode(error) ?? 'unknown'}).`, {
      code: 'NewKeyNotAccepted',
      cause: error,
      hint: 'IAM usually accepts a new key within 15 s. Try again with a longer --wait (e.g. --wait 2m); check that nothing denies the user (SCP, permissions boundary).',
    })
  }
  return {waitedMs: Date.now() - start, calls, bucketChecked: Boolean(bucket), warnings}
}

// ---------------------------------------------------------------------------------------
// The journal: finishing or undoing interrupted runs

/**
 * How far IAM's clock (which dates keys) may be from this machine's. psb assumes a clock kept
 * by NTP; a key dated outside the request window widened by this much is not provably psb's.
 */
const CLOCK_SKEW_MS = 2000

interface RecoveryOutcome {
  entry: JournalEntry
  action: 'finished' | 'undone'
  message: string
  newKeyCreatedAt?: string
  /** Keys recovery found but could not prove to be psb's: reported, left alone. */
  unproven?: string[]
}

/** Steps after which the new key is proven (and the old key may be Inactive or gone). */
const PROVEN_STEPS: JournalEntry['step'][] = ['verified', 'deactivating', 'deactivated', 'deleting']

/** What recovery knows about one journal entry. */
interface RecoveryView {
  entry: JournalEntry
  where: string
  keys: IamKey[]
  actor: Actor
  holdersOfNew: string[]
  holdersOfOld: string[]
  newCtx?: AwsContext
}

/**
 * The keys an interrupted CreateAccessKey may have made, split by proof: a key is psb's only
 * when it was not there before (keysBefore), no profile holds it, and IAM dates it inside the
 * request window the journal recorded (start before the call; end at the answer, or at the
 * dead run's last heartbeat). Anything else is someone else's: reported, never deleted.
 */
export function orphanCandidates(entry: JournalEntry, keys: {id: string; created?: Date}[], heldByProfile: (id: string) => boolean): {provable: string[]; unproven: string[]} {
  const before = new Set([...(entry.keysBefore ?? []), ...(entry.oldKeyId ? [entry.oldKeyId] : [])])
  const unknown = keys.filter((k) => !before.has(k.id) && !heldByProfile(k.id))
  const w = entry.createWindow
  const from = w ? Math.floor((Date.parse(w.from) - CLOCK_SKEW_MS) / 1000) * 1000 : Number.NaN
  const to = w?.to ? Date.parse(w.to) + CLOCK_SKEW_MS : Number.NaN
  const inWindow = (k: {created?: Date}) => k.created !== undefined && k.created.getTime() >= from && k.created.getTime() <= to
  return {provable: unknown.filter(inWindow).map((k) => k.id), unproven: unknown.filter((k) => !inWindow(k)).map((k) => k.id)}
}

/** The secret of `keyId` in a backup of the credentials file (the old key, for a rollback); undefined when not there. */
function secretFromBackup(backup: string | undefined, keyId: string | undefined): string | undefined {
  const text = backup && keyId ? readTextIfExists(backup) : undefined
  if (!text || !keyId) return undefined
  try {
    const doc = parseIni(text, backup)
    for (const name of sectionNames(doc)) {
      const e = sectionEntries(doc, name)
      if (e?.aws_access_key_id === keyId && e.aws_secret_access_key) {
        registerSecret(e.aws_secret_access_key)
        return e.aws_secret_access_key
      }
    }
  } catch {}
  return undefined
}

async function recoveryView(state: RunState, entry: JournalEntry): Promise<RecoveryView> {
  const holdersOfNew = entry.newKeyId ? profilesHoldingKey(entry.newKeyId, state.env) : []
  const holdersOfOld = entry.oldKeyId ? profilesHoldingKey(entry.oldKeyId, state.env) : []
  const where = `the interrupted ${entry.kind === 'rotate' ? 'rotation' : 'first-key creation'} of profile "${entry.profile}" (user ${entry.user}, started ${entry.startedAt})`
  // readProfileCredentials registers the secrets it reads.
  const newCreds = holdersOfNew.length > 0 ? readProfileCredentials(holdersOfNew[0], state.env) : undefined
  const newCtx = newCreds && credsCtx(state, newCreds)
  // Before the new key is proven, the old key is still Active: act with it (its secret is in
  // the backup) rather than with a new key that IAM may never accept.
  const unproven = !PROVEN_STEPS.includes(entry.step)
  const oldSecret = unproven && holdersOfOld.length === 0 ? secretFromBackup(entry.backup, entry.oldKeyId) : undefined
  let actor: Actor | undefined
  if (state.admin) actor = {ctx: state.admin, label: 'the administrator profile', fresh: false}
  else if (oldSecret && entry.oldKeyId) actor = {ctx: credsCtx(state, {accessKeyId: entry.oldKeyId, secretAccessKey: oldSecret}), label: `profile ${entry.profile} (old key)`, fresh: false}
  else if (newCtx) actor = {ctx: newCtx, label: `profile ${holdersOfNew[0]} (new key)`, fresh: true}
  else if (holdersOfOld.length > 0) {
    const c = readProfileCredentials(holdersOfOld[0], state.env)!
    actor = {ctx: credsCtx(state, c), label: `profile ${holdersOfOld[0]}`, fresh: false}
  }
  if (!actor) {
    throw fail(`Cannot finish or undo ${where}: no profile holds its old or new key, and no --admin-profile was given.`, {
      code: 'RecoveryImpossible',
      hint: `Run again with --admin-profile <admin> --user ${entry.user}, or check the user's keys (psb keys list) and delete the entry from ${state.journal!.path}.`,
    })
  }
  const keys = await listUserKeys(state, actor, entry.user)
  return {entry, where, keys, actor, holdersOfNew, holdersOfOld, newCtx}
}

/**
 * Finishes or undoes one interrupted rotation recorded in the journal, from what the
 * credentials file holds now:
 *  - the file holds the new key → prove it works (unless done), then deactivate and delete
 *    the old key → finished; but when the new key is still not accepted (or the run was
 *    already rolling back), put the old key back and delete the new one → undone;
 *  - the file still holds the old key (or, for a first key, no key) → delete the new key:
 *    by id, or, when the run died inside CreateAccessKey, only a key it provably made
 *    (orphanCandidates) → undone; any other key is reported and left;
 *  - the file holds neither → stop and say so; the entry stays.
 */
async function recoverEntry(state: RunState, entry: JournalEntry): Promise<RecoveryOutcome> {
  const v = await recoveryView(state, entry)
  const exists = (id?: string) => Boolean(id && v.keys.some((k) => k.id === id))
  if (v.newCtx && exists(entry.newKeyId)) return recoverForward(state, v)
  const fileHoldsOld = entry.kind === 'rotate' ? v.holdersOfOld.length > 0 : !readProfileCredentials(entry.profile, state.env)
  if (fileHoldsOld || (entry.kind === 'create' && v.holdersOfNew.length === 0)) return recoverBackward(state, v)
  if (v.holdersOfNew.length > 0 && !exists(entry.newKeyId)) {
    throw fail(`Cannot finish ${v.where}: the file holds the new key ${maskKeyId(entry.newKeyId)}, but IAM no longer has it.`, {
      code: 'RecoveryImpossible',
      hint: entry.backup
        ? `Restore the previous credentials file from ${entry.backup} (it holds the old key ${maskKeyId(entry.oldKeyId)}), then delete ${state.journal!.path} and run again.`
        : `Write a working key into the profile (psb creds write), then delete ${state.journal!.path}.`,
    })
  }
  throw fail(`Cannot finish or undo ${v.where}: the credentials file holds neither its old key ${maskKeyId(entry.oldKeyId)} nor its new key ${maskKeyId(entry.newKeyId)}.`, {
    code: 'RecoveryImpossible',
    hint: `Someone changed the profile meanwhile. Check the user's keys (psb keys list --profile ${entry.profile}), delete any key no profile needs, then delete ${state.journal!.path}.`,
  })
}

/** The file holds the new key: prove it and remove the old key; or, when it is not accepted, roll back. */
async function recoverForward(state: RunState, v: RecoveryView): Promise<RecoveryOutcome> {
  const {entry, keys} = v
  const journal = state.journal!
  const proven = PROVEN_STEPS.includes(entry.step)
  if (entry.step === 'rolling-back') return recoverRollBack(state, v, 'the interrupted run had found the new key rejected and was rolling back')
  if (!proven) {
    try {
      const proof = await proveKeyWorks(v.newCtx!, {user: entry.user, successes: state.successes, pollMs: state.pollMs, waitMs: state.waitMs}, state.logger)
      state.waited += proof.waitedMs
    } catch (error) {
      if (!isPsbError(error) || error.code !== 'NewKeyNotAccepted') throw error
      return recoverRollBack(state, v, `the new key was still not accepted (${error.message})`)
    }
    journal.update(entry.id, {step: 'verified'})
  }
  const cleaner: Actor = state.admin ? v.actor : {ctx: v.newCtx!, label: `profile ${v.holdersOfNew[0]} (new key)`, fresh: true}
  const old = keys.find((k) => k.id === entry.oldKeyId)
  if (old && v.holdersOfOld.length === 0) {
    if (old.status === 'Active') await deactivateKey(state, cleaner, entry.user, old.id)
    if (!entry.keepOld) await deleteKey(state, cleaner, entry.user, old.id)
  }
  journal.remove(entry.id)
  return {
    entry,
    action: 'finished',
    message: `Finished ${v.where}: the file holds the new key ${maskKeyId(entry.newKeyId)}${old && v.holdersOfOld.length === 0 ? `, the old key ${maskKeyId(old.id)} was ${entry.keepOld ? 'deactivated' : 'deleted'}` : ''}.`,
    newKeyCreatedAt: keys.find((k) => k.id === entry.newKeyId)?.created?.toISOString(),
  }
}

/**
 * Rolls an interrupted rotation back although the file holds the new key: the old key (still
 * in IAM, its secret in the backup taken when the new key was written) goes back into the
 * profiles that hold the new key, under the file lock; then the new key is deleted. A first
 * key is removed from its profile. Without the old key or its secret, stops and says so.
 */
async function recoverRollBack(state: RunState, v: RecoveryView, why: string): Promise<RecoveryOutcome> {
  const {entry} = v
  const journal = state.journal!
  const oldSecret = secretFromBackup(entry.backup, entry.oldKeyId)
  const oldInIam = entry.oldKeyId !== undefined && v.keys.some((k) => k.id === entry.oldKeyId)
  if (entry.kind === 'rotate' && (!oldSecret || !oldInIam)) {
    throw fail(`Cannot finish or undo ${v.where}: ${why}, and the old key ${maskKeyId(entry.oldKeyId)} ${oldInIam ? `is not in the backup ${entry.backup ?? '(none recorded)'}` : 'is no longer in IAM'}.`, {
      code: 'RecoveryImpossible',
      hint: `Run again later with a longer --wait (IAM may still be propagating the new key), or write a working key into the profile (psb creds write), then delete ${journal.path}.`,
    })
  }
  journal.update(entry.id, {step: 'rolling-back'})
  const oldCreds = oldSecret ? {accessKeyId: entry.oldKeyId!, secretAccessKey: oldSecret} : undefined
  await putBackOldKey(state, entry.newKeyId!, oldCreds, entry.profile)
  const actor: Actor = state.admin ? v.actor : oldCreds ? {ctx: credsCtx(state, oldCreds), label: `profile ${entry.profile} (old key)`, fresh: false} : v.actor
  await deleteKey(state, actor, entry.user, entry.newKeyId!)
  journal.remove(entry.id)
  const holds = oldCreds ? `the old key ${maskKeyId(oldCreds.accessKeyId)} again` : 'no key again'
  return {entry, action: 'undone', message: `Rolled back ${v.where}: ${why}; the profile(s) ${v.holdersOfNew.join(', ')} hold ${holds}, and the new key ${maskKeyId(entry.newKeyId)} is deleted.`}
}

/** The file still holds the old key: delete the key the run made, when it provably made one. */
async function recoverBackward(state: RunState, v: RecoveryView): Promise<RecoveryOutcome> {
  const {entry, keys} = v
  const held = (id: string) => profilesHoldingKey(id, state.env).length > 0
  const {provable, unproven} = entry.newKeyId
    ? {provable: keys.some((k) => k.id === entry.newKeyId) ? [entry.newKeyId] : [], unproven: []}
    : orphanCandidates(entry, keys, held)
  for (const id of provable) await deleteKey(state, v.actor, entry.user, id)
  state.journal!.remove(entry.id)
  const holds = entry.kind === 'rotate' ? `the old key ${maskKeyId(entry.oldKeyId)}` : 'no key for that profile'
  let message =
    provable.length > 0
      ? `Undid ${v.where}: deleted the key ${provable.map((k) => maskKeyId(k)).join(', ')} it had created; the file still holds ${holds}.`
      : `Undid ${v.where}: it had not created a key (or it was already deleted); the file still holds ${holds}.`
  if (unproven.length > 0) {
    message += ` The user also has the key ${unproven.map((k) => maskKeyId(k)).join(', ')}, which no profile holds and which psb cannot prove it made (IAM dates it outside the interrupted run's request): left alone. If nobody uses it, delete it by hand (psb keys list shows its last use).`
  }
  return {entry, action: 'undone', message, unproven}
}

async function recoverForProfile(state: RunState, profile: string, user: string | undefined): Promise<RecoveryOutcome[]> {
  const out: RecoveryOutcome[] = []
  for (const entry of state.journal!.list()) {
    if (entry.profile !== profile && !entry.profiles.includes(profile) && entry.user !== user) continue
    state.logger.info(`Found an unfinished key rotation of profile "${entry.profile}" in ${state.journal!.path} (step ${entry.step}).`)
    out.push(await recoverEntry(state, entry))
  }
  return out
}

// ---------------------------------------------------------------------------------------
// Rotation

function emptyResult(profile: string, user = ''): RotateResult {
  return {profile, user, result: 'planned', profilesUpdated: [], warnings: [], recovered: [], changes: [], timings: {totalMs: 0, propagationWaitMs: 0}, exitCode: 0}
}

function validateCommon(opts: {profiles: string[]; admin?: AwsContext; user?: string; create?: boolean; maxAgeMs?: number; waitMs?: number}): void {
  if (opts.profiles.length === 0) throw badInput('No profile to rotate.', 'Pass --profile <name> (repeatable).')
  for (const p of opts.profiles) validateProfileName(p)
  if (opts.create && (!opts.admin || !opts.user)) {
    throw badInput('--create needs --user and administrator credentials: a new profile has no key of its own to act with.', 'Example: psb keys rotate --create --profile pulumi --user pulumi-state --admin-profile admin')
  }
  if (opts.create && opts.profiles.length > 1) throw badInput('--create takes a single --profile.', 'Run once per profile to create.')
  if (opts.maxAgeMs !== undefined && (!Number.isFinite(opts.maxAgeMs) || opts.maxAgeMs < 0)) throw badInput('--max-age must be a positive duration.')
  if (opts.waitMs !== undefined && (!Number.isFinite(opts.waitMs) || opts.waitMs < 0)) throw badInput('--wait must be a positive duration.')
}

function makeState(opts: Omit<RotateOptions, 'profile'>): RunState {
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
  }
}

/** Runs `fn` holding the rotation lock of the credentials file, with its journal (neither for a dry run). */
async function underRotationLock<T>(state: RunState, dryRun: boolean | undefined, command: string, fn: () => Promise<T>): Promise<T> {
  if (dryRun) return fn()
  throwIfInterrupted('nothing was changed.')
  const lock = acquireRotationLock(state.credentialsFile, command)
  try {
    state.journal = new Journal(state.credentialsFile)
    // SIGINT / SIGTERM: stop at the next safe point, undo or record, release the lock.
    return await interruptible(fn)
  } finally {
    lock.release()
  }
}

/** Rotates the key of one profile. Throws a PsbError on failure (after rolling back). */
export async function rotateKey(opts: RotateOptions): Promise<RotateResult> {
  validateCommon({...opts, profiles: [opts.profile]})
  const state = makeState(opts)
  return underRotationLock(state, opts.dryRun, 'keys rotate', () => rotateOne(state, opts, opts.profile))
}

/**
 * Rotates several profiles in one run: one lock and one journal for the credentials file,
 * one administrator context. A failure of one profile is its result ('failed', with the
 * error); the others go on. Profiles sharing a key are rotated once.
 */
export async function rotateKeys(opts: RotateManyOptions): Promise<RotateResult[]> {
  const profiles = [...new Set(opts.profiles)]
  validateCommon({...opts, profiles})
  const state = makeState(opts)
  return underRotationLock(state, opts.dryRun, 'keys rotate', async () => {
    const results: RotateResult[] = []
    for (const profile of profiles) {
      const t = Date.now()
      try {
        results.push(await rotateOne(state, opts, profile))
      } catch (error) {
        const e = isPsbError(error) ? error : translateAwsError(error, {action: 'key rotation'})
        const r = emptyResult(profile)
        r.result = 'failed'
        r.error = {code: e.code, message: e.message, hint: e.hint, exitCode: e.exitCode}
        r.exitCode = e.exitCode
        r.timings.totalMs = Date.now() - t
        if (e.data?.user) r.user = String(e.data.user)
        results.push(r)
        // A signal ends the run: the profiles not begun yet are not touched.
        if (isInterrupted(e)) break
      }
    }
    return results
  })
}

/** The exit code of a run from its results: a failure, else cleanup pending, else not due when nothing was due, else 0. */
export function exitCodeOf(results: RotateResult[]): number {
  const failed = results.find((r) => r.result === 'failed')
  if (failed) return failed.exitCode || KEYS_EXIT.FAILED
  if (results.some((r) => r.cleanupPending)) return KEYS_EXIT.CLEANUP_PENDING
  if (results.length > 0 && results.every((r) => r.result === 'not-due')) return KEYS_EXIT.NOT_DUE
  return KEYS_EXIT.ROTATED
}

async function rotateOne(state: RunState, opts: Omit<RotateOptions, 'profile'>, profile: string): Promise<RotateResult> {
  const t0 = Date.now()
  state.waited = 0
  const res = emptyResult(profile, opts.user ?? '')
  const logger = state.logger
  const finish = (r: RotateResult): RotateResult => {
    r.timings = {totalMs: Date.now() - t0, propagationWaitMs: state.waited}
    return r
  }

  throwIfInterrupted(`nothing was changed for profile "${profile}". Run psb keys rotate again to rotate it.`)
  // 0. Interrupted runs recorded in the journal.
  let completed: RecoveryOutcome | undefined
  if (state.journal) {
    for (const o of await recoverForProfile(state, profile, opts.user)) {
      res.recovered.push(o.message)
      logger.info(o.message)
      if (o.action === 'finished' && o.entry.kind === 'rotate' && (o.entry.profiles.includes(profile) || o.entry.profile === profile)) completed = o
      if (o.action === 'finished' && o.entry.kind === 'create' && o.entry.profile === profile) completed = o
    }
  } else if (opts.dryRun) {
    for (const e of readJournalEntries(state.credentialsFile)) {
      if (e.profile === profile || e.profiles.includes(profile)) {
        res.changes.push({item: `unfinished rotation of ${e.profile} (${e.step})`, status: 'planned', detail: 'finish or undo it first'})
      }
    }
  }

  const creds = readProfileCredentials(profile, state.env)

  if (completed) {
    res.user = completed.entry.user
    res.result = completed.entry.kind === 'create' ? 'created' : 'rotated'
    res.oldKeyId = completed.entry.oldKeyId
    res.newKeyId = completed.entry.newKeyId
    res.newKeyCreatedAt = completed.newKeyCreatedAt
    res.profilesUpdated = completed.entry.profiles
    res.oldKey = completed.entry.oldKeyId ? (completed.entry.keepOld ? 'inactive' : 'deleted') : undefined
    res.changes.push({item: 'interrupted rotation', status: 'updated', detail: completed.message})
    return finish(res)
  }

  // A key this run already made (another --profile shared the old key).
  if (creds && state.rotatedKeys.has(creds.accessKeyId)) {
    const prev = state.rotatedKeys.get(creds.accessKeyId)!
    return finish({
      ...prev,
      profile,
      recovered: res.recovered,
      warnings: [],
      changes: [{item: `profile ${profile}`, status: 'updated', detail: `got the new key with profile ${prev.profile}`}],
      timings: {totalMs: 0, propagationWaitMs: 0},
    })
  }

  if (!creds) {
    if (opts.create && opts.admin && opts.user) {
      // A first key replaces nothing: one successful round proves it (see ensureProfileKey).
      const rounds = state.successes
      state.successes = opts.successes ?? FIRST_KEY_SUCCESSES
      let created: Awaited<ReturnType<typeof ensureKeyLocked>>
      try {
        created = await ensureKeyLocked(state, opts.admin, {user: opts.user, profile, bucket: opts.bucket, prefix: opts.prefix, dryRun: opts.dryRun}, [])
      } finally {
        state.successes = rounds
      }
      res.user = opts.user
      res.result = created.status === 'planned' ? 'planned' : created.status === 'unchanged' ? 'not-due' : 'created'
      res.newKeyId = created.accessKeyId
      res.changes.push(...created.changes)
      res.profilesUpdated = created.status === 'created' ? [profile] : []
      res.warnings.push(...created.warnings)
      res.exitCode = res.result === 'not-due' ? KEYS_EXIT.NOT_DUE : 0
      return finish(res)
    }
    throw fail(`The profile "${profile}" has no access key in ${state.credentialsFile}.`, {
      code: 'ProfileHasNoKey',
      exitCode: EXIT.USAGE,
      hint: `Check the name (psb rotates keys of the credentials file), or create it with its first key: psb keys rotate --create --profile ${profile} --user <iam-user> --admin-profile <admin>.`,
    })
  }
  if (creds.sessionToken) {
    throw fail(`The profile "${profile}" holds temporary credentials (a session token): only the long-term keys of an IAM user can be rotated.`, {
      code: 'TemporaryCredentials',
      exitCode: EXIT.USAGE,
      hint: 'Rotate the IAM user\'s own profile, or remove the stale aws_session_token line from the profile.',
    })
  }

  // 1. The user.
  const selfCtx = credsCtx(state, creds)
  const self: Actor = {ctx: selfCtx, label: `profile ${profile}`, fresh: false}
  let user = opts.user
  let userArn: string | undefined
  if (!opts.admin || !user) {
    const who = await callerIdentity(state, self)
    const parsed = userNameOfArn(who.arn)
    if (!parsed) {
      throw fail(`The key of profile "${profile}" belongs to ${who.arn}, which is not an IAM user: only IAM user keys can be rotated.`, {
        code: 'NotAnIamUser',
        hint: 'Root keys should be deleted rather than rotated; role sessions have no long-term keys.',
      })
    }
    if (user && user !== parsed) {
      throw fail(`The key of profile "${profile}" belongs to the IAM user ${parsed}, not ${user}.`, {
        code: 'UserMismatch',
        exitCode: EXIT.USAGE,
        hint: `Drop --user, or pass the profile that holds ${user}'s key.`,
      })
    }
    user = parsed
    userArn = who.arn
  }
  res.user = user
  res.userArn = userArn
  const actor: Actor = opts.admin ? {ctx: opts.admin, label: 'the administrator profile', fresh: false} : self
  const arn = userArn ?? `user ${user}`

  // Recovery may concern this user under another profile name, now that we know it.
  if (state.journal && !opts.user) {
    for (const o of await recoverForProfile(state, profile, user)) {
      res.recovered.push(o.message)
      logger.info(o.message)
    }
  }

  // 2. The user's keys.
  const keys = await listUserKeys(state, actor, user, arn)
  const current = keys.find((k) => k.id === creds.accessKeyId)
  if (!current) {
    throw fail(`The key ${maskKeyId(creds.accessKeyId)} of profile "${profile}" is not a key of the IAM user ${user}.`, {
      code: 'KeyNotOfUser',
      hint: opts.admin ? `Check --user, or drop it to let psb find the user from the profile's key.` : 'The key may have been deleted; write a working key into the profile first (psb creds write).',
    })
  }
  res.oldKeyId = current.id
  res.oldKeyCreatedAt = current.created?.toISOString()
  res.oldKeyAgeDays = daysOld(current.created)
  const ageMs = current.created ? Date.now() - current.created.getTime() : Number.POSITIVE_INFINITY

  if (opts.maxAgeMs !== undefined && ageMs < opts.maxAgeMs) {
    res.result = 'not-due'
    res.exitCode = KEYS_EXIT.NOT_DUE
    res.dueAt = current.created ? new Date(current.created.getTime() + opts.maxAgeMs).toISOString() : undefined
    res.changes.push({item: `key ${maskKeyId(current.id)}`, status: 'unchanged', detail: `${formatDuration(ageMs)} old, not due before ${res.dueAt}`})
    return finish(res)
  }

  const strays: IamKey[] = []
  for (const other of keys.filter((k) => k.id !== current.id)) {
    const holders = profilesHoldingKey(other.id, state.env)
    if (other.status === 'Inactive' && holders.length === 0) {
      strays.push(other)
      continue
    }
    const created = other.created ? `, created ${other.created.toISOString().slice(0, 10)}` : ''
    const held = holders.length > 0 ? `; profile(s) ${holders.join(', ')} of ${state.credentialsFile} hold it` : `, and no profile of ${state.credentialsFile} holds it`
    throw fail(
      `The IAM user ${user} already has a second access key, ${maskKeyId(other.id)} (${other.status}${created}), that profile "${profile}" does not hold${held}. IAM allows two keys per user, so there is no room for a new one, and psb never deletes a key it did not create. Nothing was changed.`,
      {
        code: 'SecondKeyInUse',
        data: {user, keyId: maskKeyId(other.id), status: other.status, profiles: holders},
        hint:
          holders.length > 0
            ? `Make the profiles use one key: rotate ${holders.map((h) => `"${h}"`).join(', ')} instead, or copy one key into all of them; then delete the other key.`
            : `If that key is no longer used (psb keys list shows when it was last used), delete it: aws iam delete-access-key --user-name ${user} --access-key-id <id> (aws iam list-access-keys --user-name ${user} shows the full id). Then run again.`,
      },
    )
  }

  const holdersOfOld = profilesHoldingKey(current.id, state.env)
  const {bucket, prefix} = opts.bucket ? {bucket: opts.bucket, prefix: opts.prefix} : await bucketFromTags(state, actor, user).then((t) => ({bucket: t.bucket, prefix: opts.prefix ?? t.prefix}))

  if (opts.dryRun) {
    for (const s of strays) res.changes.push({item: `stray key ${maskKeyId(s.id)}`, status: 'planned', detail: 'delete (Inactive, no profile holds it)'})
    res.changes.push(
      {item: 'new access key', status: 'planned', detail: `create for ${user}`},
      {item: `profile(s) ${holdersOfOld.join(', ')}`, status: 'planned', detail: `write the new key into ${state.credentialsFile} (backup first)`},
      {item: 'new key', status: 'planned', detail: `prove it works: ${state.successes} consecutive calls (STS${bucket ? `, s3://${bucket}` : ''}), waiting up to ${formatDuration(state.waitMs)}`},
      {item: `old key ${maskKeyId(current.id)}`, status: 'planned', detail: opts.keepOld ? 'deactivate (kept Inactive)' : 'deactivate, then delete'},
    )
    res.profilesUpdated = holdersOfOld
    return finish(res)
  }

  const journal = state.journal!
  for (const s of strays) {
    logger.info(`Deleting the Inactive key ${maskKeyId(s.id)} that no profile holds.`)
    await deleteKey(state, actor, user, s.id, arn)
    res.changes.push({item: `stray key ${maskKeyId(s.id)}`, status: 'deleted', detail: 'Inactive, no profile held it'})
  }

  // 3. The new key.
  throwIfInterrupted(`no new key was created for profile "${profile}", which holds its old key. Run psb keys rotate again to rotate it.`)
  const entry = journal.record({
    id: newEntryId(),
    kind: 'rotate',
    user,
    profile,
    profiles: holdersOfOld,
    oldKeyId: current.id,
    step: 'creating',
    keepOld: opts.keepOld,
    acting: opts.admin ? 'admin' : 'self',
    startedAt: new Date().toISOString(),
    createWindow: {from: new Date().toISOString()},
    keysBefore: keys.map((k) => k.id),
  })
  checkpoint('journaled')
  logger.info(`Creating a new access key for ${user}.`)
  const fresh = await createKeyJournaled(state, actor, user, entry, arn)
  checkpoint('key-created')
  journal.update(entry.id, {step: 'created', newKeyId: fresh.accessKeyId})
  checkpoint('key-journaled')
  res.newKeyId = fresh.accessKeyId
  res.newKeyCreatedAt = fresh.created?.toISOString()
  res.changes.push({item: `new key ${maskKeyId(fresh.accessKeyId)}`, status: 'created'})
  const newCreds: StaticCredentials = {accessKeyId: fresh.accessKeyId, secretAccessKey: fresh.secretAccessKey}
  const newCtx = credsCtx(state, newCreds)

  // 4 + 5. Write it, prove it works; roll back on any failure.
  let backup: string | undefined
  let written: string[] = []
  let phase = 'writing the credentials file'
  try {
    throwIfInterrupted(`the new key ${maskKeyId(fresh.accessKeyId)} was not written yet.`)
    journal.update(entry.id, {step: 'writing'})
    const w = await editIniFile(
      state.credentialsFile,
      (doc) => {
        written = profilesWithKeyIn(doc, current.id).sort()
        for (const p of written) {
          setSectionKeys(doc, p, {aws_access_key_id: newCreds.accessKeyId, aws_secret_access_key: newCreds.secretAccessKey, aws_session_token: undefined})
        }
        return written.length > 0
      },
      {backup: true, mode: 0o600},
    )
    checkpoint('file-written')
    if (!w.changed) throw fail(`No profile of ${state.credentialsFile} holds the old key ${maskKeyId(current.id)} any more.`, {code: 'FileChanged', hint: 'Someone changed the file during the rotation; run again.'})
    backup = w.backup
    journal.update(entry.id, {step: 'written', backup, profiles: written})
    checkpoint('write-journaled')
    res.profilesUpdated = written
    res.changes.push({item: `profile(s) ${written.join(', ')}`, status: 'updated', detail: `new key written${backup ? `; backup ${backup}` : ''}`})
    warnIfInConfigFile(state, current.id, res.warnings)

    phase = 'proving the new key works'
    logger.info(`Waiting until the new key works (${state.successes} consecutive successful calls, up to ${formatDuration(state.waitMs)}).`)
    const proof = await proveKeyWorks(newCtx, {user, bucket, prefix, successes: state.successes, pollMs: state.pollMs, waitMs: state.waitMs, oldCtx: selfCtx}, logger)
    state.waited += proof.waitedMs
    res.warnings.push(...proof.warnings)
    res.changes.push({item: `new key ${maskKeyId(fresh.accessKeyId)}`, status: 'updated', detail: `works: ${proof.calls} calls${proof.bucketChecked ? ` incl. s3://${bucket}` : ''} in ${formatDuration(proof.waitedMs)}`})
    journal.update(entry.id, {step: 'verified'})
    checkpoint('verified')
  } catch (error) {
    const cause = isPsbError(error) ? error : translateAwsError(error, {action: phase})
    journal.update(entry.id, {step: 'rolling-back', lastError: redact(cause.message)})
    checkpoint(ROLLBACK_KILL_STEP)
    const undo = await rollBack(state, {actor, user, arn, oldCreds: creds, newKeyId: fresh.accessKeyId, backup, profiles: written.length > 0 ? written : holdersOfOld})
    if (undo.newKeyDeleted && undo.fileRestored) journal.remove(entry.id)
    throw fail(
      `Key rotation of profile "${profile}" failed while ${phase}: ${cause.message} ${undo.summary}`,
      {code: cause.code, cause: error, hint: undo.hint ?? cause.hint, exitCode: cause.exitCode === EXIT.USAGE ? EXIT.FAILED : cause.exitCode, data: {user}},
    )
  }

  // 6. The old key: deactivate, then delete, with the new key (or the administrator).
  throwIfInterrupted(
    `profile(s) ${written.join(', ')} hold the new key ${maskKeyId(fresh.accessKeyId)}, which works; the old key ${maskKeyId(current.id)} is still Active. Run psb keys rotate --profile ${profile} again to remove it (recorded in ${journal.path}).`,
  )
  const cleaner: Actor = opts.admin ? actor : {ctx: newCtx, label: `profile ${profile} (new key)`, fresh: true}
  res.result = 'rotated'
  state.rotatedKeys.set(fresh.accessKeyId, res)
  try {
    journal.update(entry.id, {step: 'deactivating'})
    if (current.status === 'Active') await deactivateKey(state, cleaner, user, current.id, arn)
    checkpoint('old-deactivated')
    journal.update(entry.id, {step: 'deactivated'})
    res.oldKey = 'inactive'
    if (!opts.keepOld) {
      journal.update(entry.id, {step: 'deleting'})
      await deleteKey(state, cleaner, user, current.id, arn)
      checkpoint('old-deleted')
      res.oldKey = 'deleted'
    }
    res.changes.push({item: `old key ${maskKeyId(current.id)}`, status: opts.keepOld ? 'updated' : 'deleted', detail: opts.keepOld ? 'deactivated (kept, --keep-old)' : 'deactivated, then deleted'})
    journal.remove(entry.id)
  } catch (error) {
    const e = isPsbError(error) ? error : translateAwsError(error, {action: 'removing the old key'})
    res.oldKey ??= 'active'
    res.cleanupPending = true
    res.exitCode = KEYS_EXIT.CLEANUP_PENDING
    journal.update(entry.id, {lastError: redact(e.message)})
    res.warnings.push(
      `The profile holds the new, working key, but the old key ${maskKeyId(current.id)} could not be ${res.oldKey === 'active' ? 'deactivated' : 'deleted'}: ${e.message} The next \`psb keys rotate\` of this profile finishes it (it is recorded in ${journal.path}).`,
    )
  }
  return finish(res)
}

function warnIfInConfigFile(state: RunState, keyId: string, warnings: string[]): void {
  const text = readTextIfExists(configFilePath(state.env))
  if (text?.includes(keyId)) {
    warnings.push(`The config file ${configFilePath(state.env)} also holds the old key ${maskKeyId(keyId)}; psb updated only the credentials file (which wins). Remove the key from the config file.`)
  }
}

/**
 * Puts the old key back where the new key is, as a fresh read-modify-write under the file
 * lock: only the rotated profiles' two key lines change, so whatever anyone else wrote into
 * the file meanwhile (another profile, a comment) is kept. Without an old key (a first key),
 * the new key is removed from the profile instead: `undo` (the texts around psb's own write)
 * lets the section psb appended go again byte for byte, when it is still the file's end.
 */
async function putBackOldKey(state: RunState, newKeyId: string, old: StaticCredentials | undefined, profile: string, undo?: {before: string; after: string}): Promise<void> {
  const put = (doc: IniDocument): boolean => {
    const ps = profilesWithKeyIn(doc, newKeyId)
    const values = old ? {aws_access_key_id: old.accessKeyId, aws_secret_access_key: old.secretAccessKey} : {aws_access_key_id: undefined, aws_secret_access_key: undefined}
    let changed = false
    for (const p of ps) changed = setSectionKeys(doc, p, values) || changed
    if (!old && changed) removeEmptySection(doc, profile)
    return changed
  }
  await lockedUpdate(
    state.credentialsFile,
    (text) => {
      const added = undo ? appendedBy(undo.before, undo.after) : undefined
      if (!old && added && added.suffix.includes(`[${profile}]`) && added.suffix.includes(newKeyId) && text.endsWith(added.suffix)) {
        return text.slice(0, text.length - added.suffix.length) + added.replaced
      }
      const doc = parseIni(text, state.credentialsFile)
      return put(doc) ? serializeIni(doc) : text
    },
    {backup: false, mode: 0o600, env: state.env},
  )
}

/** Removes the section `name` when nothing but blank lines is left in it, with the blank line psb put before it. */
function removeEmptySection(doc: IniDocument, name: string): void {
  const h = doc.lines.findIndex((l) => l.kind === 'section' && l.section === name)
  if (h === -1) return
  let end = h + 1
  while (end < doc.lines.length && doc.lines[end].kind !== 'section') {
    if (doc.lines[end].kind !== 'blank') return
    end++
  }
  const start = h > 0 && doc.lines[h - 1].kind === 'blank' ? h - 1 : h
  const endsFile = end === doc.lines.length && doc.lines[end - 1].eol === ''
  doc.lines.splice(start, end - start)
  // The file ended without a newline there, and keeps doing so.
  if (endsFile && start > 0) doc.lines[start - 1].eol = ''
}

/** What a write changed at the end of a text: `after` = common head + `suffix`, `before` = common head + `replaced`. */
function appendedBy(before: string, after: string): {suffix: string; replaced: string} {
  let i = 0
  while (i < before.length && i < after.length && before[i] === after[i]) i++
  return {suffix: after.slice(i), replaced: before.slice(i)}
}

/**
 * Undoes steps 3-5: puts the old key back into the profiles that hold the new key (a fresh,
 * locked edit that keeps anyone else's change; never a whole-file restore), then deletes the
 * new key with the old key (or the administrator).
 */
async function rollBack(
  state: RunState,
  o: {actor: Actor; user: string; arn: string; oldCreds: StaticCredentials; newKeyId: string; backup?: string; profiles: string[]},
): Promise<{fileRestored: boolean; newKeyDeleted: boolean; summary: string; hint?: string}> {
  let fileRestored = true
  let fileMsg = 'The credentials file is unchanged'
  if (profilesHoldingKey(o.newKeyId, state.env).length > 0) {
    try {
      await putBackOldKey(state, o.newKeyId, o.oldCreds, o.profiles[0])
      fileMsg = 'The old key is back in the credentials file'
    } catch (error) {
      fileRestored = false
      fileMsg = `The credentials file could NOT be restored (${messageOf(error)})${o.backup ? `; its backup is ${o.backup}` : ''}`
    }
  }
  if (!fileRestored) {
    // The file still holds the new key: deleting it would lock the profile out. Keep it; the
    // journal entry stays, and the next run finishes the rotation from the file.
    return {
      fileRestored,
      newKeyDeleted: false,
      summary: `${fileMsg}. It holds the new key ${maskKeyId(o.newKeyId)}, which is kept (the old key ${maskKeyId(o.oldCreds.accessKeyId)} too); the next run finishes the rotation.`,
      hint: `Fix what stopped the write, then run psb keys rotate again.`,
    }
  }
  let newKeyDeleted = true
  let keyMsg = `the new key ${maskKeyId(o.newKeyId)} is deleted`
  try {
    await deleteKey(state, o.actor, o.user, o.newKeyId, o.arn)
  } catch (error) {
    newKeyDeleted = false
    keyMsg = `the new key ${maskKeyId(o.newKeyId)} could NOT be deleted (${messageOf(error)}); the next run deletes it`
  }
  const summary = `${fileMsg}, ${keyMsg}; profile(s) ${o.profiles.join(', ')} still hold the old key ${maskKeyId(o.oldCreds.accessKeyId)}, which works.`
  return {fileRestored, newKeyDeleted, summary}
}

// ---------------------------------------------------------------------------------------
// The first key (psb init)

export interface EnsureProfileKeyOptions {
  user: string
  profile: string
  region: string
  endpoint?: string
  bucket?: string
  prefix?: string
  dryRun?: boolean
  waitMs?: number
  env?: Env
  logger?: Logger
  successes?: number
  pollMs?: number
}

export interface EnsureProfileKeyResult {
  status: 'created' | 'unchanged' | 'planned'
  accessKeyId?: string
  changes: Change[]
  warnings: string[]
  /** Set when the key came from another local profile of the same user instead of a new key. */
  reusedFrom?: string
  timings: RotateTimings
}

/**
 * First key for init: creates a key for `user` with the admin context when `profile` does
 * not already hold a working key of that user, writes it into the profile, proves it works.
 * Idempotent: a profile that holds a working key of the user is left unchanged. When another
 * profile of the credentials file already holds an Active key of the user, that key is
 * copied rather than a second key created (rotation then updates both profiles together).
 */
export async function ensureProfileKey(admin: AwsContext, opts: EnsureProfileKeyOptions): Promise<EnsureProfileKeyResult> {
  validateProfileName(opts.profile)
  if (!opts.user) throw badInput('No IAM user given for the new key.', 'Pass --user <name>.')
  // The strict proof (several consecutive successes) guards the destructive step of a
  // rotation: deleting the old key. A first key replaces nothing, so one successful round
  // (STS, and the state bucket when known) is enough; `psb verify` then retries a
  // just-created key's propagation errors (VerifyOptions.newKeyGraceMs).
  const state = makeState({...opts, admin, successes: opts.successes ?? FIRST_KEY_SUCCESSES})
  return underRotationLock(state, opts.dryRun, 'first key', async () => {
    const t0 = Date.now()
    const r = await withPartialChanges((changes) => ensureKeyLocked(state, admin, opts, changes))
    return {...r, timings: {totalMs: Date.now() - t0, propagationWaitMs: state.waited}}
  })
}

async function ensureKeyLocked(
  state: RunState,
  admin: AwsContext,
  opts: {user: string; profile: string; bucket?: string; prefix?: string; dryRun?: boolean},
  changes: Change[],
): Promise<Omit<EnsureProfileKeyResult, 'timings'>> {
  const {user, profile} = opts
  const warnings: string[] = []
  const logger = state.logger
  const actor: Actor = {ctx: admin, label: 'the administrator profile', fresh: false}
  if (state.journal) for (const o of await recoverForProfile(state, profile, user)) {
    warnings.push(o.message)
    logger.info(o.message)
  }
  const keys = await listUserKeys(state, actor, user)
  const creds = readProfileCredentials(profile, state.env)
  let replacing: string | undefined
  if (creds) {
    const mine = keys.find((k) => k.id === creds.accessKeyId)
    if (mine && mine.status === 'Active') {
      // Already set up: check that it works (it may be seconds old, from a previous run).
      if (!opts.dryRun) {
        const proof = await proveKeyWorks(credsCtx(state, creds), {user, successes: 1, pollMs: state.pollMs, waitMs: state.waitMs}, logger)
        state.waited += proof.waitedMs
      }
      changes.push({item: `profile ${profile}`, status: 'unchanged', detail: `holds ${user}'s key ${maskKeyId(creds.accessKeyId)}`})
      return {status: 'unchanged', accessKeyId: creds.accessKeyId, changes, warnings}
    }
    if (!mine) {
      // Someone else's key, or a dead one?
      const probe = await callerIdentity(state, {ctx: credsCtx(state, creds), label: `profile ${profile}`, fresh: false}).then(
        (who) => ({ok: true as const, arn: who.arn}),
        (error: unknown) => ({ok: false as const, error}),
      )
      if (probe.ok) {
        throw fail(`The profile "${profile}" already holds a working key of ${probe.arn}, not of the IAM user ${user}; psb does not overwrite it.`, {
          code: 'ProfileHoldsOtherKey',
          hint: 'Choose another --profile name, or remove that profile from the credentials file first.',
        })
      }
      if (!isPropagationError(probe.error)) throw translateAwsError(probe.error, {action: 'sts:GetCallerIdentity', principal: `profile ${profile}`})
      warnings.push(`The profile "${profile}" held a key (${maskKeyId(creds.accessKeyId)}) that AWS no longer accepts; psb replaces it.`)
    } else {
      replacing = mine.id
      warnings.push(`The profile "${profile}" holds ${user}'s Inactive key ${maskKeyId(mine.id)}; psb replaces it with a new key.`)
    }
  }

  // Room for a new key: strays, keys held by other profiles.
  const strays: IamKey[] = []
  for (const k of keys) {
    if (k.id === replacing) continue
    const holders = profilesHoldingKey(k.id, state.env).filter((p) => p !== profile)
    if (k.status === 'Inactive' && holders.length === 0) {
      strays.push(k)
      continue
    }
    if (k.status === 'Active' && holders.length > 0) {
      // Reuse the key another local profile holds: no second key, one rotation updates both.
      const source = readProfileCredentials(holders[0], state.env)
      if (source && !source.sessionToken) {
        if (opts.dryRun) {
          changes.push({item: `profile ${profile}`, status: 'planned', detail: `copy ${user}'s key ${maskKeyId(k.id)} from profile ${holders[0]}`})
          return {status: 'planned', accessKeyId: k.id, changes, warnings, reusedFrom: holders[0]}
        }
        const w = await writeProfile({profile, accessKeyId: source.accessKeyId, secretAccessKey: source.secretAccessKey, region: state.region, env: state.env})
        warnings.push(...w.warnings)
        changes.push({item: `profile ${profile}`, status: 'created', detail: `holds ${user}'s key ${maskKeyId(k.id)}, copied from profile ${holders[0]}`})
        return {status: 'created', accessKeyId: k.id, changes, warnings, reusedFrom: holders[0]}
      }
    }
    const created = k.created ? `, created ${k.created.toISOString().slice(0, 10)}` : ''
    throw fail(
      `The IAM user ${user} already has an access key, ${maskKeyId(k.id)} (${k.status}${created}), that no profile of ${state.credentialsFile} holds. psb cannot read its secret, and creating a second key would leave no room for rotation. Nothing was changed.`,
      {
        code: 'UnknownKeyInUse',
        data: {user, keyId: maskKeyId(k.id), status: k.status},
        hint: `If you have that key's secret, write it into the profile (psb creds write --profile ${profile}). If it is no longer used, delete it (aws iam delete-access-key --user-name ${user} --access-key-id <id>; aws iam list-access-keys --user-name ${user} shows the full id). Then run again.`,
      },
    )
  }

  if (opts.dryRun) {
    for (const s of strays) changes.push({item: `stray key ${maskKeyId(s.id)}`, status: 'planned', detail: 'delete (Inactive, no profile holds it)'})
    if (replacing) changes.push({item: `inactive key ${maskKeyId(replacing)}`, status: 'planned', detail: 'delete after the new key works'})
    changes.push(
      {item: 'access key', status: 'planned', detail: `create for ${user}`},
      {item: `profile ${profile}`, status: 'planned', detail: `write the key into ${state.credentialsFile}`},
    )
    return {status: 'planned', changes, warnings}
  }

  const journal = state.journal!
  for (const s of strays) {
    await deleteKey(state, actor, user, s.id)
    changes.push({item: `stray key ${maskKeyId(s.id)}`, status: 'deleted', detail: 'Inactive, no profile held it'})
  }
  const entry = journal.record({
    id: newEntryId(),
    kind: replacing ? 'rotate' : 'create',
    user,
    profile,
    profiles: [profile],
    oldKeyId: replacing,
    step: 'creating',
    acting: 'admin',
    startedAt: new Date().toISOString(),
    createWindow: {from: new Date().toISOString()},
    keysBefore: keys.map((k) => k.id),
  })
  checkpoint('journaled')
  const fresh = await createKeyJournaled(state, actor, user, entry)
  checkpoint('key-created')
  journal.update(entry.id, {step: 'created', newKeyId: fresh.accessKeyId})
  checkpoint('key-journaled')
  changes.push({item: `access key ${maskKeyId(fresh.accessKeyId)}`, status: 'created', detail: `for ${user}`})
  let backup: string | undefined
  let phase = 'writing the credentials file'
  // The texts around psb's own write: a rollback takes away exactly what it appended.
  const undo = {before: readTextIfExists(state.credentialsFile) ?? '', after: ''}
  try {
    throwIfInterrupted(`the new key ${maskKeyId(fresh.accessKeyId)} was not written yet.`)
    journal.update(entry.id, {step: 'writing'})
    const w = await writeProfile({profile, accessKeyId: fresh.accessKeyId, secretAccessKey: fresh.secretAccessKey, region: state.region, env: state.env})
    checkpoint('file-written')
    undo.after = readTextIfExists(state.credentialsFile) ?? ''
    backup = w.backup
    warnings.push(...w.warnings)
    journal.update(entry.id, {step: 'written', backup})
    checkpoint('write-journaled')
    changes.push({item: `profile ${profile}`, status: creds ? 'updated' : 'created', detail: `in ${w.credentialsFile}`})
    phase = 'proving the new key works'
    const proof = await proveKeyWorks(
      credsCtx(state, fresh),
      {user, bucket: opts.bucket, prefix: opts.prefix, successes: state.successes, pollMs: state.pollMs, waitMs: state.waitMs},
      logger,
    )
    state.waited += proof.waitedMs
    warnings.push(...proof.warnings)
    journal.update(entry.id, {step: 'verified'})
    checkpoint('verified')
  } catch (error) {
    const cause = isPsbError(error) ? error : translateAwsError(error, {action: phase})
    journal.update(entry.id, {step: 'rolling-back', lastError: redact(cause.message)})
    checkpoint(ROLLBACK_KILL_STEP)
    let fileMsg = 'the credentials file is unchanged'
    let restored = true
    if (profilesHoldingKey(fresh.accessKeyId, state.env).length > 0) {
      try {
        // Only this profile's keys go (a fresh, locked edit); others' writes meanwhile stay.
        await putBackOldKey(state, fresh.accessKeyId, creds && !creds.sessionToken ? creds : undefined, profile, undo.after ? undo : undefined)
        fileMsg = 'the credentials file is restored'
      } catch (e) {
        restored = false
        fileMsg = `the credentials file could NOT be restored (${messageOf(e)})`
      }
    }
    // A key the file still holds is never deleted (that would lock the profile out); the
    // journal entry stays and the next run finishes from the file.
    let keyMsg = `the new key ${maskKeyId(fresh.accessKeyId)} is kept: the profile holds it; the next run finishes`
    if (restored) {
      keyMsg = `the new key ${maskKeyId(fresh.accessKeyId)} is deleted`
      try {
        await deleteKey(state, actor, user, fresh.accessKeyId)
        journal.remove(entry.id)
      } catch (e) {
        keyMsg = `the new key ${maskKeyId(fresh.accessKeyId)} could NOT be deleted (${messageOf(e)}); the next run deletes it`
      }
    }
    throw fail(`Creating the first key of profile "${profile}" failed while ${phase}: ${cause.message} Rolled back: ${fileMsg}, ${keyMsg}.`, {
      code: cause.code,
      cause: error,
      hint: cause.hint,
      exitCode: cause.exitCode === EXIT.USAGE ? EXIT.FAILED : cause.exitCode,
    })
  }
  if (replacing) {
    try {
      await deleteKey(state, actor, user, replacing)
      changes.push({item: `inactive key ${maskKeyId(replacing)}`, status: 'deleted'})
    } catch (e) {
      warnings.push(`The Inactive key ${maskKeyId(replacing)} could not be deleted: ${messageOf(e)}`)
    }
  }
  journal.remove(entry.id)
  return {status: 'created', accessKeyId: fresh.accessKeyId, changes, warnings}
}

// ---------------------------------------------------------------------------------------
// The list

export interface ListKeysOptions {
  /** The profile whose key identifies the user (and acts, without `admin`). */
  profile?: string
  user?: string
  admin?: AwsContext
  region: string
  endpoint?: string
  env?: Env
  logger?: Logger
}

export interface KeyInfo {
  accessKeyId: string
  status: 'Active' | 'Inactive'
  createdAt?: string
  ageDays?: number
  lastUsed?: {date?: string; service?: string; region?: string}
  /** Profiles of the local credentials file that hold this key. */
  profiles: string[]
}

export interface ListKeysResult {
  user: string
  userArn?: string
  keys: KeyInfo[]
  /** Unfinished rotations of this user in the journal. */
  pending: {profile: string; step: string; startedAt: string}[]
  warnings: string[]
}

/** The keys of a user: status, age, last use, and which local profiles hold each. */
export async function listKeys(opts: ListKeysOptions): Promise<ListKeysResult> {
  const env = opts.env ?? process.env
  if (opts.profile) validateProfileName(opts.profile)
  if (!opts.profile && !(opts.admin && opts.user)) throw badInput('Say whose keys to list.', 'Pass --profile <name>, or --user <name> with --admin-profile <admin>.')
  const state = makeState({region: opts.region, endpoint: opts.endpoint, env, logger: opts.logger, admin: opts.admin})
  const warnings: string[] = []
  let user = opts.user
  let userArn: string | undefined
  let actor: Actor | undefined = opts.admin ? {ctx: opts.admin, label: 'the administrator profile', fresh: false} : undefined
  if (opts.profile && (!opts.admin || !user)) {
    const creds = readProfileCredentials(opts.profile, env)
    if (!creds) {
      throw fail(`The profile "${opts.profile}" has no access key in ${state.credentialsFile}.`, {
        code: 'ProfileHasNoKey',
        exitCode: EXIT.USAGE,
        hint: 'Pass a profile that holds a key, or --user <name> with --admin-profile <admin>.',
      })
    }
    const self: Actor = {ctx: credsCtx(state, creds), label: `profile ${opts.profile}`, fresh: false}
    const who = await callerIdentity(state, self)
    const parsed = userNameOfArn(who.arn)
    if (!parsed) throw fail(`The key of profile "${opts.profile}" belongs to ${who.arn}, which is not an IAM user.`, {code: 'NotAnIamUser'})
    if (user && user !== parsed) {
      throw fail(`The key of profile "${opts.profile}" belongs to ${parsed}, not ${user}.`, {
        code: 'UserMismatch',
        exitCode: EXIT.USAGE,
        hint: `A profile's own key lists only its own user's keys. To list the keys of ${user}, act as an administrator: --user ${user} --admin-profile <admin>.`,
      })
    }
    user = parsed
    userArn = who.arn
    actor ??= self
  }
  const keys = await listUserKeys(state, actor!, user!, userArn)
  const {GetAccessKeyLastUsedCommand} = await iamModule()
  const iam = await actor!.ctx.iam()
  let denied = false
  const infos: KeyInfo[] = []
  for (const k of keys) {
    const info: KeyInfo = {
      accessKeyId: k.id,
      status: k.status,
      createdAt: k.created?.toISOString(),
      ageDays: daysOld(k.created),
      profiles: profilesHoldingKey(k.id, env),
    }
    if (!denied) {
      try {
        const r = await iam.send(new GetAccessKeyLastUsedCommand({AccessKeyId: k.id}))
        const u = r.AccessKeyLastUsed
        const na = (v?: string) => (v && v !== 'N/A' ? v : undefined)
        info.lastUsed = {date: u?.LastUsedDate?.toISOString(), service: na(u?.ServiceName), region: na(u?.Region)}
      } catch (error) {
        if (isAccessDenied(error)) {
          denied = true
          warnings.push(`Last use is not shown: ${actor!.label} may not call iam:GetAccessKeyLastUsed.`)
        } else {
          warnings.push(`Last use of ${maskKeyId(k.id)} is not shown: ${redact(translateAwsError(error, {action: 'iam:GetAccessKeyLastUsed'}).message)}`)
        }
      }
    }
    infos.push(info)
  }
  let pending: ListKeysResult['pending'] = []
  try {
    pending = readJournalEntries(state.credentialsFile)
      .filter((e) => e.user === user)
      .map((e) => ({profile: e.profile, step: e.step, startedAt: e.startedAt}))
  } catch (error) {
    warnings.push(messageOf(error))
  }
  if (pending.length > 0) warnings.push(`An interrupted rotation of ${user} is recorded in the journal; the next \`psb keys rotate\` finishes or undoes it.`)
  return {user: user!, userArn, keys: infos, pending, warnings}
}
