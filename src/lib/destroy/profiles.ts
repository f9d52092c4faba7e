/**
 * The local side of `psb destroy`: every profile that holds an access key being deleted loses
 * that key (credentials file, and the config file when a key was put there); a profile left
 * with nothing loses its section, and its config section too when that holds only what psb
 * writes there (region). Each file is edited the safe way (editIniFile: locked, atomic, 0600,
 * a backup), every other byte kept.
 */
import {configFilePath, credentialsFilePath, readProfiles, type Env} from '../files/aws-config.js'
import {editIniFile} from '../files/credentials.js'
import {configSectionFor, sectionEntries, setSectionKeys, type IniDocument} from '../files/ini.js'
import {removeEmptySection} from '../keys/file-edits.js'
import {maskKeyId} from '../redact.js'
import type {Change} from '../types.js'
import type {ProfileEdit} from './options.js'

const KEY_LINES = ['aws_access_key_id', 'aws_secret_access_key', 'aws_session_token', 'aws_security_token']
/** What psb writes into a profile's config section. */
const PSB_CONFIG_KEYS = new Set(['region'])

/** The profiles holding one of `keys`, and whether each goes whole (config section included). */
export function planProfiles(keys: string[], env: Env): ProfileEdit[] {
  if (keys.length === 0) return []
  const profiles = readProfiles(env)
  const edits: ProfileEdit[] = []
  for (const [profile, values] of Object.entries(profiles).sort(([a], [b]) => a.localeCompare(b))) {
    const id = values.aws_access_key_id
    if (!id || !keys.includes(id)) continue
    const rest = Object.keys(values).filter((k) => !KEY_LINES.includes(k))
    edits.push({profile, keys: [id], config: rest.every((k) => PSB_CONFIG_KEYS.has(k))})
  }
  return edits
}

/** The planned lines of the profile edits. */
export function profileChanges(edits: ProfileEdit[], status: 'planned' | 'deleted'): Change[] {
  return edits.map((e) => ({
    item: `profile ${e.profile}`,
    status,
    detail: e.config ? `the key ${e.keys.map(maskKeyId).join(', ')} and the profile (credentials and config)` : `the key ${e.keys.map(maskKeyId).join(', ')} (the profile's other settings stay)`,
  }))
}

/** Removes the key lines of `profile` when they hold one of `keys`; the section too when it is left empty. */
function dropKeys(doc: IniDocument, section: string, keys: string[], whole: boolean): boolean {
  const entries = sectionEntries(doc, section)
  if (!entries) return false
  let changed = false
  if (entries.aws_access_key_id !== undefined && keys.includes(entries.aws_access_key_id)) {
    changed = setSectionKeys(doc, section, Object.fromEntries(KEY_LINES.map((k) => [k, undefined])))
  }
  if (whole) {
    const left = Object.keys(sectionEntries(doc, section) ?? {})
    if (left.length > 0 && left.every((k) => PSB_CONFIG_KEYS.has(k))) changed = setSectionKeys(doc, section, {region: undefined}) || changed
    changed = dropEmptySection(doc, section) || changed
  }
  return changed
}

/**
 * Removes the section when nothing but blank lines is left in it. Between two sections, the
 * blank lines after it go with it (the ones before it stay, separating its neighbours); at the
 * end of the file, the blank line before it goes (removeEmptySection).
 */
function dropEmptySection(doc: IniDocument, section: string): boolean {
  const before = doc.lines.length
  const h = doc.lines.findIndex((l) => l.kind === 'section' && l.section === section)
  if (h === -1) return false
  let end = h + 1
  while (end < doc.lines.length && doc.lines[end].kind === 'blank') end++
  if (end < doc.lines.length && doc.lines[end].kind === 'section') doc.lines.splice(h, end - h)
  else removeEmptySection(doc, section)
  return doc.lines.length !== before
}

/**
 * Applies the edits: the config file first, then the credentials file (so a run killed in
 * between still finds the key in the credentials file, and a re-run finishes the edit).
 */
export async function applyProfiles(edits: ProfileEdit[], env: Env, changes: Change[]): Promise<string[]> {
  const backups: string[] = []
  if (edits.length === 0) return backups
  const keys = edits.flatMap((e) => e.keys)
  const conf = await editIniFile(
    configFilePath(env),
    (doc) => {
      let changed = false
      for (const e of edits) changed = dropKeys(doc, configSectionFor(doc, e.profile), keys, e.config) || changed
      return changed
    },
    {env},
  )
  const cred = await editIniFile(
    credentialsFilePath(env),
    (doc) => {
      let changed = false
      for (const e of edits) changed = dropKeys(doc, e.profile, keys, e.config) || changed
      return changed
    },
    {env},
  )
  for (const r of [conf, cred]) if (r.backup) backups.push(r.backup)
  changes.push(...profileChanges(edits, 'deleted'))
  return backups
}
