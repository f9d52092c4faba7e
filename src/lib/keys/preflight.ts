/**
 * What a rotation checks before it changes anything: the journal's unfinished runs, the
 * profile's key and the IAM user it belongs to, the user's other keys (room for a new one),
 * the key's age (--max-age), and the plan of a dry run.
 */
import {type StaticCredentials} from '../aws/client.js'
import {EXIT} from '../errors.js'
import {profilesHoldingKey} from '../files/credentials.js'
import {readJournalEntries} from './journal.js'
import {maskKeyId} from '../redact.js'
import {formatDuration} from '../duration.js'
import {userNameOfArn} from '../aws/arn.js'
import {callerIdentity, type IamKey} from './iam-calls.js'
import {recoverForProfile, type RecoveryOutcome} from './recovery.js'
import {KEYS_EXIT, credsCtx, daysOld, fail, type Actor, type RotateOptions, type RotateResult, type RunState} from './run.js'

type Opts = Omit<RotateOptions, 'profile'>

/** Finishes or undoes the journal's unfinished runs of this profile (a dry run only lists them); returns the one that completed this profile. */
export async function recoverFirst(state: RunState, opts: Opts, profile: string, res: RotateResult): Promise<RecoveryOutcome | undefined> {
  let completed: RecoveryOutcome | undefined
  if (state.journal) {
    for (const o of await recoverForProfile(state, profile, opts.user)) {
      res.recovered.push(o.message)
      state.logger.info(o.message)
      // A run of this profile: asked for it, or it held the old key. One rule for both kinds (a first key's entry holds profiles: [profile]).
      if (o.action === 'finished' && (o.entry.profiles.includes(profile) || o.entry.profile === profile)) completed = o
    }
  } else if (opts.dryRun) {
    for (const e of readJournalEntries(state.credentialsFile)) {
      if (e.profile === profile || e.profiles.includes(profile)) {
        res.changes.push({item: `unfinished rotation of ${e.profile} (${e.step})`, status: 'planned', detail: 'finish or undo it first'})
      }
    }
  }
  return completed
}

/** The result of a profile whose rotation recovery just finished. */
export function resultOfRecovery(res: RotateResult, completed: RecoveryOutcome): RotateResult {
  res.user = completed.entry.user
  res.result = completed.entry.kind === 'create' ? 'created' : 'rotated'
  res.oldKeyId = completed.entry.oldKeyId
  res.newKeyId = completed.entry.newKeyId
  res.newKeyCreatedAt = completed.newKeyCreatedAt
  res.profilesUpdated = completed.entry.profiles
  res.oldKey = completed.entry.oldKeyId ? (completed.entry.keepOld ? 'inactive' : 'deleted') : undefined
  res.changes.push({item: 'interrupted rotation', status: 'updated', detail: completed.message})
  return res
}

/** A profile with no key: an error, unless --create (then the caller makes its first key). */
export function noKeyError(state: RunState, profile: string): Error {
  return fail(`The profile "${profile}" has no access key in ${state.credentialsFile}.`, {
    code: 'ProfileHasNoKey',
    exitCode: EXIT.USAGE,
    hint: `Check the name (psb rotates keys of the credentials file), or create it with its first key: psb keys rotate --create --profile ${profile} --user <iam-user> --admin-profile <admin>.`,
  })
}

/** Temporary credentials cannot be rotated. */
export function checkLongTerm(profile: string, creds: StaticCredentials): void {
  if (creds.sessionToken) {
    throw fail(`The profile "${profile}" holds temporary credentials (a session token): only the long-term keys of an IAM user can be rotated.`, {
      code: 'TemporaryCredentials',
      exitCode: EXIT.USAGE,
      hint: 'Rotate the IAM user\'s own profile, or remove the stale aws_session_token line from the profile.',
    })
  }
}

/** The IAM user of the profile's key (STS with the key itself), unless an administrator named it. */
export async function resolveUser(state: RunState, opts: Opts, profile: string, creds: StaticCredentials): Promise<{user: string; userArn?: string; self: Actor}> {
  const self: Actor = {ctx: credsCtx(state, creds), label: `profile ${profile}`, fresh: false}
  const user = opts.user
  if (opts.admin && user) return {user, self}
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
  return {user: parsed, userArn: who.arn, self}
}

/** The profile's key among the user's keys, recorded in the result; not there is an error. */
export function currentKey(keys: IamKey[], creds: StaticCredentials, o: {profile: string; user: string; admin: boolean}, res: RotateResult): IamKey {
  const current = keys.find((k) => k.id === creds.accessKeyId)
  if (!current) {
    throw fail(`The key ${maskKeyId(creds.accessKeyId)} of profile "${o.profile}" is not a key of the IAM user ${o.user}.`, {
      code: 'KeyNotOfUser',
      hint: o.admin ? `Check --user, or drop it to let psb find the user from the profile's key.` : 'The key may have been deleted; write a working key into the profile first (psb creds write).',
    })
  }
  res.oldKeyId = current.id
  res.oldKeyCreatedAt = current.created?.toISOString()
  res.oldKeyAgeDays = daysOld(current.created)
  return current
}

/** With --max-age: true (and the result says when it is due) when the key is younger. */
export function notDue(res: RotateResult, current: IamKey, maxAgeMs: number | undefined): boolean {
  const ageMs = current.created ? Date.now() - current.created.getTime() : Number.POSITIVE_INFINITY
  if (maxAgeMs === undefined || ageMs >= maxAgeMs) return false
  res.result = 'not-due'
  res.exitCode = KEYS_EXIT.NOT_DUE
  res.dueAt = current.created ? new Date(current.created.getTime() + maxAgeMs).toISOString() : undefined
  res.changes.push({item: `key ${maskKeyId(current.id)}`, status: 'unchanged', detail: `${formatDuration(ageMs)} old, not due before ${res.dueAt}`})
  return true
}

/**
 * Room for the new key: the user's other keys are Inactive strays that no profile holds
 * (returned, to be deleted); any other second key stops the run, untouched.
 */
export function strayKeys(state: RunState, keys: IamKey[], current: IamKey, user: string, profile: string): IamKey[] {
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
  return strays
}

/** The plan of a dry run, into the result. */
export function planRotation(state: RunState, res: RotateResult, p: {strays: IamKey[]; user: string; holdersOfOld: string[]; bucket?: string; current: IamKey; keepOld?: boolean}): RotateResult {
  for (const s of p.strays) res.changes.push({item: `stray key ${maskKeyId(s.id)}`, status: 'planned', detail: 'delete (Inactive, no profile holds it)'})
  res.changes.push(
    {item: 'new access key', status: 'planned', detail: `create for ${p.user}`},
    {item: `profile(s) ${p.holdersOfOld.join(', ')}`, status: 'planned', detail: `write the new key into ${state.credentialsFile} (backup first)`},
    {item: 'new key', status: 'planned', detail: `prove it works: ${state.successes} consecutive calls (STS${p.bucket ? `, s3://${p.bucket}` : ''}), waiting up to ${formatDuration(state.waitMs)}`},
    {item: `old key ${maskKeyId(p.current.id)}`, status: 'planned', detail: p.keepOld ? 'deactivate (kept Inactive)' : 'deactivate, then delete'},
  )
  res.profilesUpdated = p.holdersOfOld
  return res
}
