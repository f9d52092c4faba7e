/**
 * The keys domain: access-key rotation that never leaves a profile without a working key,
 * the first key of a profile (`ensureProfileKey`, used by `psb init`), and the list of a
 * user's keys. This file is its one entry point (rotateKey, rotateKeys, ensureProfileKey,
 * listKeys); the rest of keys/ by role: run.ts (options, results, run state), preflight.ts
 * (checks before any change), steps.ts (the journal's state machine: one function per state
 * and the one transition table for the forward run, rollback and recovery), recovery.ts
 * (interrupted runs), prove.ts (a new key works), iam-calls.ts, file-edits.ts (the
 * credentials file edits and rollback), first-key.ts, list.ts, journal.ts (journal and lock).
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
import {type AwsContext, type StaticCredentials} from '../aws/client.js'
import {translateAwsError} from '../aws/errors.js'
import {EXIT, isPsbError} from '../errors.js'
import {editIniFile, profilesHoldingKey, readProfileCredentials} from '../files/credentials.js'
import {setSectionKeys} from '../files/ini.js'
import {isInterrupted, throwIfInterrupted} from '../interrupt.js'
import {type JournalEntry} from './journal.js'
import {maskKeyId, redact} from '../redact.js'
import {formatDuration} from '../duration.js'
import {type Change} from '../types.js'
import {profilesWithKeyIn, rollBack, warnIfInConfigFile} from './file-edits.js'
import {ensureKeyLocked} from './first-key.js'
import {bucketFromTags, deleteKey, listUserKeys, type IamKey} from './iam-calls.js'
import {checkLongTerm, currentKey, noKeyError, notDue, planRotation, recoverFirst, resolveUser, resultOfRecovery, strayKeys} from './preflight.js'
import {recoverForProfile} from './recovery.js'
import {createStep, proveStep, retireStep, rollBackStep, writeStep} from './steps.js'
import {FIRST_KEY_SUCCESSES, KEYS_EXIT, credsCtx, emptyResult, fail, makeState, underRotationLock, validateCommon, type Actor, type RotateManyOptions, type RotateOptions, type RotateResult, type RunState} from './run.js'

export {DEFAULT_SUCCESSES, DEFAULT_WAIT_MS, FIRST_KEY_SUCCESSES, KEYS_EXIT, KILL_STEPS, ROLLBACK_KILL_STEP, openRotationSession, type RotationSession} from './run.js'
export type {RotateManyOptions, RotateOptions, RotateOutcome, RotateResult, RotateTimings} from './run.js'
export {ensureProfileKey, type EnsureProfileKeyOptions, type EnsureProfileKeyResult} from './first-key.js'
export {listKeys, type KeyInfo, type ListKeysOptions, type ListKeysResult} from './list.js'
export {orphanCandidates} from './recovery.js'

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

/** One profile's rotation: a short driver over the checks (preflight.ts) and the journal's states (steps.ts). */
async function rotateOne(state: RunState, opts: Omit<RotateOptions, 'profile'>, profile: string): Promise<RotateResult> {
  const t0 = Date.now()
  state.waited = 0
  const res = emptyResult(profile, opts.user ?? '')
  const finish = (r: RotateResult): RotateResult => {
    r.timings = {totalMs: Date.now() - t0, propagationWaitMs: state.waited}
    return r
  }
  throwIfInterrupted(`nothing was changed for profile "${profile}". Run psb keys rotate again to rotate it.`)
  const completed = await recoverFirst(state, opts, profile, res)
  const creds = readProfileCredentials(profile, state.env)
  if (completed) return finish(resultOfRecovery(res, completed))
  // A key this run already made (another --profile shared the old key).
  const prev = creds && state.rotatedKeys.get(creds.accessKeyId)
  if (prev) {
    const changes: Change[] = [{item: `profile ${profile}`, status: 'updated', detail: `got the new key with profile ${prev.profile}`}]
    return finish({...prev, profile, recovered: res.recovered, warnings: [], changes, timings: {totalMs: 0, propagationWaitMs: 0}})
  }
  if (!creds) {
    if (opts.create && opts.admin && opts.user) return finish(await firstKeyOf(state, {...opts, admin: opts.admin, user: opts.user}, profile, res))
    throw noKeyError(state, profile)
  }
  checkLongTerm(profile, creds)
  const who = await resolveUser(state, opts, profile, creds)
  res.user = who.user
  res.userArn = who.userArn
  const r = await prepare(state, opts, profile, res, {creds, ...who})
  if (r === 'done') return finish(res)
  await deleteStrays(r)
  await runRotation(r)
  return finish(res)
}

/** What one profile's rotation works with, once the checks passed. */
interface Rotation {
  state: RunState
  opts: Omit<RotateOptions, 'profile'>
  profile: string
  res: RotateResult
  user: string
  arn: string
  actor: Actor
  self: Actor
  creds: StaticCredentials
  keys: IamKey[]
  current: IamKey
  strays: IamKey[]
  holdersOfOld: string[]
  bucket?: string
  prefix?: string
}

/** The checks before any change (recovery of the user, its keys, age, room); 'done' when the result is final (not due, dry run). */
async function prepare(
  state: RunState,
  opts: Omit<RotateOptions, 'profile'>,
  profile: string,
  res: RotateResult,
  w: {creds: StaticCredentials; user: string; userArn?: string; self: Actor},
): Promise<Rotation | 'done'> {
  const {user, creds} = w
  const actor: Actor = opts.admin ? {ctx: opts.admin, label: 'the administrator profile', fresh: false} : w.self
  const arn = w.userArn ?? `user ${user}`
  // Recovery may concern this user under another profile name, now that we know it.
  if (state.journal && !opts.user) {
    for (const o of await recoverForProfile(state, profile, user)) {
      res.recovered.push(o.message)
      state.logger.info(o.message)
    }
  }
  const keys = await listUserKeys(state, actor, user, arn)
  const current = currentKey(keys, creds, {profile, user, admin: Boolean(opts.admin)}, res)
  if (notDue(res, current, opts.maxAgeMs)) return 'done'
  const strays = strayKeys(state, keys, current, user, profile)
  const holdersOfOld = profilesHoldingKey(current.id, state.env)
  const {bucket, prefix} = opts.bucket ? {bucket: opts.bucket, prefix: opts.prefix} : await bucketFromTags(state, actor, user).then((t) => ({bucket: t.bucket, prefix: opts.prefix ?? t.prefix}))
  if (opts.dryRun) {
    planRotation(state, res, {strays, user, holdersOfOld, bucket, current, keepOld: opts.keepOld})
    return 'done'
  }
  return {state, opts, profile, res, user, arn, actor, self: w.self, creds, keys, current, strays, holdersOfOld, bucket, prefix}
}

/** The first key of a profile (--create), in the rotation's result. */
async function firstKeyOf(state: RunState, opts: Omit<RotateOptions, 'profile'> & {admin: AwsContext; user: string}, profile: string, res: RotateResult): Promise<RotateResult> {
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
  return res
}

async function deleteStrays(r: Rotation): Promise<void> {
  for (const s of r.strays) {
    r.state.logger.info(`Deleting the Inactive key ${maskKeyId(s.id)} that no profile holds.`)
    await deleteKey(r.state, r.actor, r.user, s.id, r.arn)
    r.res.changes.push({item: `stray key ${maskKeyId(s.id)}`, status: 'deleted', detail: 'Inactive, no profile held it'})
  }
}

/** The journal's states in order: created, written and verified (or rolled back), then the old key retired. */
async function runRotation(r: Rotation): Promise<void> {
  const {state, opts, res, user, current} = r
  throwIfInterrupted(`no new key was created for profile "${r.profile}", which holds its old key. Run psb keys rotate again to rotate it.`)
  const e = {kind: 'rotate' as const, user, profile: r.profile, profiles: r.holdersOfOld, oldKeyId: current.id, keepOld: opts.keepOld, acting: opts.admin ? ('admin' as const) : ('self' as const), keys: r.keys}
  const {entry, fresh} = await createStep(state, r.actor, e, {arn: r.arn, say: `Creating a new access key for ${user}.`})
  res.newKeyId = fresh.accessKeyId
  res.newKeyCreatedAt = fresh.created?.toISOString()
  res.changes.push({item: `new key ${maskKeyId(fresh.accessKeyId)}`, status: 'created'})
  const newCreds: StaticCredentials = {accessKeyId: fresh.accessKeyId, secretAccessKey: fresh.secretAccessKey}
  const newCtx = credsCtx(state, newCreds)
  const written = await writeAndProve(r, entry, newCreds, newCtx)
  // 6. The old key: deactivate, then delete, with the new key (or the administrator).
  throwIfInterrupted(
    `profile(s) ${written.join(', ')} hold the new key ${maskKeyId(fresh.accessKeyId)}, which works; the old key ${maskKeyId(current.id)} is still Active. Run psb keys rotate --profile ${r.profile} again to remove it (recorded in ${state.journal!.path}).`,
  )
  const cleaner: Actor = opts.admin ? r.actor : {ctx: newCtx, label: `profile ${r.profile} (new key)`, fresh: true}
  res.result = 'rotated'
  state.rotatedKeys.set(fresh.accessKeyId, res)
  await retireOldKey(r, entry, cleaner)
}

/** written, then verified; any failure rolls back (rolling-back) and throws. Returns the profiles written. */
async function writeAndProve(r: Rotation, entry: JournalEntry, newCreds: StaticCredentials, newCtx: AwsContext): Promise<string[]> {
  const {state, res, current} = r
  let backup: string | undefined
  let written: string[] = []
  let phase = 'writing the credentials file'
  try {
    await writeStep(
      state,
      entry,
      async () => editIniFile(state.credentialsFile, (doc) => {
        written = profilesWithKeyIn(doc, current.id).sort()
        for (const p of written) {
          setSectionKeys(doc, p, {aws_access_key_id: newCreds.accessKeyId, aws_secret_access_key: newCreds.secretAccessKey, aws_session_token: undefined})
        }
        return written.length > 0
      }, {backup: true, mode: 0o600}),
      (w) => {
        if (!w.changed) throw fail(`No profile of ${state.credentialsFile} holds the old key ${maskKeyId(current.id)} any more.`, {code: 'FileChanged', hint: 'Someone changed the file during the rotation; run again.'})
        backup = w.backup
        return {backup, profiles: written}
      },
    )
    res.profilesUpdated = written
    res.changes.push({item: `profile(s) ${written.join(', ')}`, status: 'updated', detail: `new key written${backup ? `; backup ${backup}` : ''}`})
    warnIfInConfigFile(state, current.id, res.warnings)
    phase = 'proving the new key works'
    state.logger.info(`Waiting until the new key works (${state.successes} consecutive successful calls, up to ${formatDuration(state.waitMs)}).`)
    const proof = await proveStep(state, entry, newCtx, {user: r.user, bucket: r.bucket, prefix: r.prefix, successes: state.successes, pollMs: state.pollMs, waitMs: state.waitMs, oldCtx: r.self.ctx})
    res.warnings.push(...proof.warnings)
    res.changes.push({item: `new key ${maskKeyId(newCreds.accessKeyId)}`, status: 'updated', detail: `works: ${proof.calls} calls${proof.bucketChecked ? ` incl. s3://${r.bucket}` : ''} in ${formatDuration(proof.waitedMs)}`})
    return written
  } catch (error) {
    const cause = isPsbError(error) ? error : translateAwsError(error, {action: phase})
    rollBackStep(state, entry, cause.message)
    const undo = await rollBack(state, {actor: r.actor, user: r.user, arn: r.arn, oldCreds: r.creds, newKeyId: newCreds.accessKeyId, backup, profiles: written.length > 0 ? written : r.holdersOfOld})
    if (undo.newKeyDeleted && undo.fileRestored) state.journal!.remove(entry.id)
    throw fail(`Key rotation of profile "${r.profile}" failed while ${phase}: ${cause.message} ${undo.summary}`, {
      code: cause.code,
      cause: error,
      hint: undo.hint ?? cause.hint,
      exitCode: cause.exitCode === EXIT.USAGE ? EXIT.FAILED : cause.exitCode,
      data: {user: r.user},
    })
  }
}

/** deactivating → deactivated → deleting; a failure leaves the entry for the next run (exit 12). */
async function retireOldKey(r: Rotation, entry: JournalEntry, cleaner: Actor): Promise<void> {
  const {state, res, current, opts} = r
  const journal = state.journal!
  try {
    await retireStep(state, entry, {cleaner, user: r.user, old: current, arn: r.arn, keepOld: opts.keepOld}, (what) => {
      res.oldKey = what
    })
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
}
