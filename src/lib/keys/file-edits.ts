import {type StaticCredentials} from '../aws/client.js'
import {configFilePath} from '../files/aws-config.js'
import {messageOf} from '../errors.js'
import {profilesHoldingKey} from '../files/credentials.js'
import {lockedUpdate} from '../files/atomic.js'
import {parseIni, sectionEntries, sectionNames, serializeIni, setSectionKeys, type IniDocument} from '../files/ini.js'
import {maskKeyId} from '../redact.js'
import {deleteKey} from './iam-calls.js'
import {Actor, RunState, readTextIfExists} from './run.js'

/** The profiles of an ini document whose effective `aws_access_key_id` is `keyId`. */
export function profilesWithKeyIn(doc: IniDocument, keyId: string): string[] {
  // Stryker disable next-line OptionalChaining: a name from sectionNames always has entries (sectionEntries matches its own name), so `?.` never sees undefined
  return sectionNames(doc).filter((n) => sectionEntries(doc, n)?.aws_access_key_id === keyId)
}

export function warnIfInConfigFile(state: RunState, keyId: string, warnings: string[]): void {
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
export async function putBackOldKey(state: RunState, newKeyId: string, old: StaticCredentials | undefined, profile: string, undo?: {before: string; after: string}): Promise<void> {
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
export function removeEmptySection(doc: IniDocument, name: string): void {
  // Stryker disable next-line ConditionalExpression: the first line that belongs to a section is its header, so the kind test never changes the index found
  const h = doc.lines.findIndex((l) => l.kind === 'section' && l.section === name)
  if (h === -1) return
  let end = h + 1
  while (end < doc.lines.length && doc.lines[end].kind !== 'section') {
    if (doc.lines[end].kind !== 'blank') return
    end++
  }
  const start = h > 0 && doc.lines[h - 1].kind === 'blank' ? h - 1 : h
  // Stryker disable next-line ConditionalExpression: only the file's last line can have no line ending, so the eol test alone decides
  const endsFile = end === doc.lines.length && doc.lines[end - 1].eol === ''
  doc.lines.splice(start, end - start)
  // The file ended without a newline there, and keeps doing so.
  if (endsFile && start > 0) doc.lines[start - 1].eol = ''
}

/** What a write changed at the end of a text: `after` = common head + `suffix`, `before` = common head + `replaced`. */
export function appendedBy(before: string, after: string): {suffix: string; replaced: string} {
  let i = 0
  // Stryker disable next-line LogicalOperator,EqualityOperator,ConditionalExpression: past a string's end its index is undefined, never equal to a character, so the bounds matter only where both strings end, and there a mutant stops one step later with the same slices
  while (i < before.length && i < after.length && before[i] === after[i]) i++
  return {suffix: after.slice(i), replaced: before.slice(i)}
}

/**
 * Undoes steps 3-5: puts the old key back into the profiles that hold the new key (a fresh,
 * locked edit that keeps anyone else's change; never a whole-file restore), then deletes the
 * new key with the old key (or the administrator).
 */
export async function rollBack(
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
