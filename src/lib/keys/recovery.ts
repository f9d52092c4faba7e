import {type AwsContext} from '../aws/client.js'
import {isPsbError} from '../errors.js'
import {profilesHoldingKey, readProfileCredentials} from '../files/credentials.js'
import {parseIni, sectionEntries, sectionNames} from '../files/ini.js'
import {type JournalEntry} from './journal.js'
import {maskKeyId, registerSecret} from '../redact.js'
import {putBackOldKey} from './file-edits.js'
import {IamKey, deactivateKey, deleteKey, listUserKeys} from './iam-calls.js'
import {proveKeyWorks} from './prove.js'
import {advance, isProven} from './steps.js'
import {Actor, RunState, credsCtx, fail, readTextIfExists} from './run.js'


/**
 * How far IAM's clock (which dates keys) may be from this machine's. psb assumes a clock kept
 * by NTP; a key dated outside the request window widened by this much is not provably psb's.
 */
export const CLOCK_SKEW_MS = 2000

export interface RecoveryOutcome {
  entry: JournalEntry
  action: 'finished' | 'undone'
  message: string
  newKeyCreatedAt?: string
  /** Keys recovery found but could not prove to be psb's: reported, left alone. */
  unproven?: string[]
}


/** What recovery knows about one journal entry. */
export interface RecoveryView {
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
export function secretFromBackup(backup: string | undefined, keyId: string | undefined): string | undefined {
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

export async function recoveryView(state: RunState, entry: JournalEntry): Promise<RecoveryView> {
  const holdersOfNew = entry.newKeyId ? profilesHoldingKey(entry.newKeyId, state.env) : []
  const holdersOfOld = entry.oldKeyId ? profilesHoldingKey(entry.oldKeyId, state.env) : []
  const where = `the interrupted ${entry.kind === 'rotate' ? 'rotation' : 'first-key creation'} of profile "${entry.profile}" (user ${entry.user}, started ${entry.startedAt})`
  // readProfileCredentials registers the secrets it reads.
  const newCreds = holdersOfNew.length > 0 ? readProfileCredentials(holdersOfNew[0], state.env) : undefined
  const newCtx = newCreds && credsCtx(state, newCreds)
  // Before the new key is proven, the old key is still Active: act with it (its secret is in
  // the backup) rather than with a new key that IAM may never accept.
  const unproven = !isProven(entry.step)
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
export async function recoverEntry(state: RunState, entry: JournalEntry): Promise<RecoveryOutcome> {
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
export async function recoverForward(state: RunState, v: RecoveryView): Promise<RecoveryOutcome> {
  const {entry, keys} = v
  const journal = state.journal!
  const proven = isProven(entry.step)
  if (entry.step === 'rolling-back') return recoverRollBack(state, v, 'the interrupted run had found the new key rejected and was rolling back')
  if (!proven) {
    try {
      const proof = await proveKeyWorks(v.newCtx!, {user: entry.user, successes: state.successes, pollMs: state.pollMs, waitMs: state.waitMs}, state.logger)
      state.waited += proof.waitedMs
    } catch (error) {
      if (!isPsbError(error) || error.code !== 'NewKeyNotAccepted') throw error
      return recoverRollBack(state, v, `the new key was still not accepted (${error.message})`)
    }
    advance(journal, entry, 'verified')
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
export async function recoverRollBack(state: RunState, v: RecoveryView, why: string): Promise<RecoveryOutcome> {
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
  advance(journal, entry, 'rolling-back')
  const oldCreds = oldSecret ? {accessKeyId: entry.oldKeyId!, secretAccessKey: oldSecret} : undefined
  await putBackOldKey(state, entry.newKeyId!, oldCreds, entry.profile)
  const actor: Actor = state.admin ? v.actor : oldCreds ? {ctx: credsCtx(state, oldCreds), label: `profile ${entry.profile} (old key)`, fresh: false} : v.actor
  await deleteKey(state, actor, entry.user, entry.newKeyId!)
  journal.remove(entry.id)
  const holds = oldCreds ? `the old key ${maskKeyId(oldCreds.accessKeyId)} again` : 'no key again'
  return {entry, action: 'undone', message: `Rolled back ${v.where}: ${why}; the profile(s) ${v.holdersOfNew.join(', ')} hold ${holds}, and the new key ${maskKeyId(entry.newKeyId)} is deleted.`}
}

/** The file still holds the old key: delete the key the run made, when it provably made one. */
export async function recoverBackward(state: RunState, v: RecoveryView): Promise<RecoveryOutcome> {
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

export async function recoverForProfile(state: RunState, profile: string, user: string | undefined): Promise<RecoveryOutcome[]> {
  const out: RecoveryOutcome[] = []
  const session = state.session
  for (const entry of state.journal!.list()) {
    // In a shared session (init over a fleet) an entry made since it opened is a live run's,
    // and the same user name may be another account's user: only this profile's ended runs.
    if (session && (!session.inherited.has(entry.id) || (entry.profile !== profile && !entry.profiles.includes(profile)))) continue
    if (entry.profile !== profile && !entry.profiles.includes(profile) && entry.user !== user) continue
    state.logger.info(`Found an unfinished key rotation of profile "${entry.profile}" in ${state.journal!.path} (step ${entry.step}).`)
    out.push(await recoverEntry(state, entry))
  }
  return out
}
