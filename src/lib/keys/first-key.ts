import {type AwsContext, type StaticCredentials} from '../aws/client.js'
import {type Env} from '../files/aws-config.js'
import {translateAwsError} from '../aws/errors.js'
import {EXIT, badInput, isPsbError, messageOf} from '../errors.js'
import {profilesHoldingKey, readProfileCredentials, validateProfileName, writeProfile} from '../files/credentials.js'
import {type JournalEntry} from './journal.js'
import {maskKeyId} from '../redact.js'
import {withPartialChanges, type Change, type Logger} from '../types.js'
import {putBackOldKey} from './file-edits.js'
import {callerIdentity, deleteKey, isPropagationError, listUserKeys, type IamKey} from './iam-calls.js'
import {createStep, proveStep, rollBackStep, writeStep} from './steps.js'
import {proveKeyWorks} from './prove.js'
import {recoverForProfile} from './recovery.js'
import {Actor, FIRST_KEY_SUCCESSES, RotateTimings, RotationSession, RunState, credsCtx, fail, makeState, readTextIfExists, underRotationLock} from './run.js'


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
  /** The rotation lock and journal, held by the caller for several first keys at once (psb init over a fleet). */
  session?: RotationSession
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

type FirstKeyOptions = {user: string; profile: string; bucket?: string; prefix?: string; dryRun?: boolean}
type FirstKeyOut = Omit<EnsureProfileKeyResult, 'timings'>

/** What one first-key run works with. */
interface FirstKey {
  state: RunState
  actor: Actor
  opts: FirstKeyOptions
  changes: Change[]
  warnings: string[]
  keys: IamKey[]
  /** What the profile holds now. */
  creds?: StaticCredentials
  /** The profile's own Inactive key, replaced by the new one. */
  replacing?: string
}

/** The first key of a profile under the rotation lock: a driver over the checks and the journal's states (steps.ts). */
export async function ensureKeyLocked(state: RunState, admin: AwsContext, opts: FirstKeyOptions, changes: Change[]): Promise<FirstKeyOut> {
  const {user, profile} = opts
  const warnings: string[] = []
  const actor: Actor = {ctx: admin, label: 'the administrator profile', fresh: false}
  if (state.journal) for (const o of await recoverForProfile(state, profile, user)) {
    warnings.push(o.message)
    state.logger.info(o.message)
  }
  const keys = await listUserKeys(state, actor, user)
  const creds = readProfileCredentials(profile, state.env)
  const f: FirstKey = {state, actor, opts, changes, warnings, keys, creds}
  if (creds) {
    const held = await judgeHeldKey(f, creds)
    if (typeof held === 'object') return held
    f.replacing = held
  }
  const room = await roomForFirstKey(f)
  if (!Array.isArray(room)) return room
  if (opts.dryRun) {
    for (const s of room) changes.push({item: `stray key ${maskKeyId(s.id)}`, status: 'planned', detail: 'delete (Inactive, no profile holds it)'})
    if (f.replacing) changes.push({item: `inactive key ${maskKeyId(f.replacing)}`, status: 'planned', detail: 'delete after the new key works'})
    changes.push(
      {item: 'access key', status: 'planned', detail: `create for ${user}`},
      {item: `profile ${profile}`, status: 'planned', detail: `write the key into ${state.credentialsFile}`},
    )
    return {status: 'planned', changes, warnings}
  }
  for (const s of room) {
    await deleteKey(state, actor, user, s.id)
    changes.push({item: `stray key ${maskKeyId(s.id)}`, status: 'deleted', detail: 'Inactive, no profile held it'})
  }
  return createFirstKey(f)
}

/**
 * The key the profile holds already: the user's Active key is proven and kept (the result);
 * its Inactive key is replaced (its id); a dead key is replaced (undefined); a working key of
 * someone else stops the run.
 */
async function judgeHeldKey(f: FirstKey, creds: StaticCredentials): Promise<FirstKeyOut | string | undefined> {
  const {state, opts, changes, warnings} = f
  const {user, profile} = opts
  const mine = f.keys.find((k) => k.id === creds.accessKeyId)
  if (mine && mine.status === 'Active') {
    // Already set up: check that it works (it may be seconds old, from a previous run).
    if (!opts.dryRun) {
      const proof = await proveKeyWorks(credsCtx(state, creds), {user, successes: 1, pollMs: state.pollMs, waitMs: state.waitMs}, state.logger)
      state.waited += proof.waitedMs
    }
    changes.push({item: `profile ${profile}`, status: 'unchanged', detail: `holds ${user}'s key ${maskKeyId(creds.accessKeyId)}`})
    return {status: 'unchanged', accessKeyId: creds.accessKeyId, changes, warnings}
  }
  if (mine) {
    warnings.push(`The profile "${profile}" holds ${user}'s Inactive key ${maskKeyId(mine.id)}; psb replaces it with a new key.`)
    return mine.id
  }
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
  // Stryker disable next-line ObjectLiteral,StringLiteral: callerIdentity's errors come translated (awsCall), and translateAwsError passes a PsbError through unchanged
  if (!isPropagationError(probe.error)) throw translateAwsError(probe.error, {action: 'sts:GetCallerIdentity', principal: `profile ${profile}`})
  warnings.push(`The profile "${profile}" held a key (${maskKeyId(creds.accessKeyId)}) that AWS no longer accepts; psb replaces it.`)
  return undefined
}

/**
 * Room for a new key: the strays to delete (Inactive, no profile holds them); or the result
 * of copying an Active key another local profile holds (no second key, one rotation updates
 * both). Any other key stops the run.
 */
async function roomForFirstKey(f: FirstKey): Promise<IamKey[] | FirstKeyOut> {
  const {state, opts, changes, warnings} = f
  const {user, profile} = opts
  const strays: IamKey[] = []
  for (const k of f.keys) {
    if (k.id === f.replacing) continue
    // Stryker disable next-line MethodExpression,ConditionalExpression: no key of f.keys that this profile holds gets here (its Active key returned 'unchanged', its Inactive key is f.replacing), so the filter never drops one
    const holders = profilesHoldingKey(k.id, state.env).filter((p) => p !== profile)
    if (k.status === 'Inactive' && holders.length === 0) {
      strays.push(k)
      continue
    }
    const source = k.status === 'Active' && holders.length > 0 ? readProfileCredentials(holders[0], state.env) : undefined
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
  return strays
}

/** The journal's states: created, written, verified (or rolled back); then the replaced Inactive key goes. */
async function createFirstKey(f: FirstKey): Promise<FirstKeyOut> {
  const {state, opts, changes, warnings, replacing} = f
  const {user, profile} = opts
  const kind = replacing ? ('rotate' as const) : ('create' as const)
  const {entry, fresh} = await createStep(state, f.actor, {kind, user, profile, profiles: [profile], oldKeyId: replacing, acting: 'admin', keys: f.keys})
  changes.push({item: `access key ${maskKeyId(fresh.accessKeyId)}`, status: 'created', detail: `for ${user}`})
  await writeAndProveFirst(f, entry, fresh)
  if (replacing) {
    try {
      await deleteKey(state, f.actor, user, replacing)
      changes.push({item: `inactive key ${maskKeyId(replacing)}`, status: 'deleted'})
    } catch (e) {
      warnings.push(`The Inactive key ${maskKeyId(replacing)} could not be deleted: ${messageOf(e)}`)
    }
  }
  state.journal!.remove(entry.id)
  return {status: 'created', accessKeyId: fresh.accessKeyId, changes, warnings}
}

/** written, then verified; a failure rolls back (rolling-back): only this profile's keys go, then the new key. */
async function writeAndProveFirst(f: FirstKey, entry: JournalEntry, fresh: StaticCredentials): Promise<void> {
  const {state, opts, changes, warnings} = f
  let phase = 'writing the credentials file'
  // The texts around psb's own write: a rollback takes away exactly what it appended.
  const undo = {before: readTextIfExists(state.credentialsFile) ?? '', after: ''}
  try {
    const write = () => writeProfile({profile: opts.profile, accessKeyId: fresh.accessKeyId, secretAccessKey: fresh.secretAccessKey, region: state.region, env: state.env})
    const w = await writeStep(state, entry, write, (w) => {
      undo.after = readTextIfExists(state.credentialsFile) ?? ''
      warnings.push(...w.warnings)
      return {backup: w.backup}
    })
    changes.push({item: `profile ${opts.profile}`, status: f.creds ? 'updated' : 'created', detail: `in ${w.credentialsFile}`})
    phase = 'proving the new key works'
    const proof = await proveStep(state, entry, credsCtx(state, fresh), {user: opts.user, bucket: opts.bucket, prefix: opts.prefix, successes: state.successes, pollMs: state.pollMs, waitMs: state.waitMs})
    warnings.push(...proof.warnings)
  } catch (error) {
    const cause = isPsbError(error) ? error : translateAwsError(error, {action: phase})
    rollBackStep(state, entry, cause.message)
    const undone = await undoFirstKey(f, entry, fresh.accessKeyId, undo)
    throw fail(`Creating the first key of profile "${opts.profile}" failed while ${phase}: ${cause.message} Rolled back: ${undone}.`, {
      code: cause.code,
      cause: error,
      hint: cause.hint,
      exitCode: cause.exitCode === EXIT.USAGE ? EXIT.FAILED : cause.exitCode,
    })
  }
}

/** Takes the new key out of the profile (or puts the replaced key back), then deletes it; says what became of both. */
async function undoFirstKey(f: FirstKey, entry: JournalEntry, newKeyId: string, undo: {before: string; after: string}): Promise<string> {
  const {state, creds} = f
  let fileMsg = 'the credentials file is unchanged'
  let restored = true
  if (profilesHoldingKey(newKeyId, state.env).length > 0) {
    try {
      // Only this profile's keys go (a fresh, locked edit); others' writes meanwhile stay.
      await putBackOldKey(state, newKeyId, creds && !creds.sessionToken ? creds : undefined, f.opts.profile, undo.after ? undo : undefined)
      fileMsg = 'the credentials file is restored'
    } catch (e) {
      restored = false
      fileMsg = `the credentials file could NOT be restored (${messageOf(e)})`
    }
  }
  // A key the file still holds is never deleted (that would lock the profile out); the
  // journal entry stays and the next run finishes from the file.
  let keyMsg = `the new key ${maskKeyId(newKeyId)} is kept: the profile holds it; the next run finishes`
  if (restored) {
    keyMsg = `the new key ${maskKeyId(newKeyId)} is deleted`
    try {
      await deleteKey(state, f.actor, f.opts.user, newKeyId)
      state.journal!.remove(entry.id)
    } catch (e) {
      keyMsg = `the new key ${maskKeyId(newKeyId)} could NOT be deleted (${messageOf(e)}); the next run deletes it`
    }
  }
  return `${fileMsg}, ${keyMsg}`
}
