/**
 * The rotation journal and the rotation lock, both beside the credentials file.
 *
 * Journal (`<credentials>.psb-rotation.json`): one entry per key rotation (or first-key
 * creation) in progress, rewritten atomically before and after each step. It records key
 * ids, user, profiles, step and times: never a secret. A run killed at any step leaves
 * its entry behind; the next run reads it and finishes or undoes that rotation.
 *
 * Lock (`<credentials>.psb-rotate.lock`): the one-shot lock of files/lock.ts, created with
 * O_EXCL and holding the pid, host, start time and a random nonce. A second run finds it
 * and stops (exit 11), unless the holder is dead (same host, no such pid) or the lock is
 * older than STALE_AFTER_MS; then
 * it breaks the stale lock under a short-lived break lock, so that two runs never break
 * the same stale lock and both go on.
 */
import {readFileSync, realpathSync, statSync, unlinkSync, utimesSync} from 'node:fs'
import {randomBytes} from 'node:crypto'
import {hostname} from 'node:os'
import {basename, dirname, join} from 'node:path'
import {PsbError, messageOf} from '../errors.js'
import {resolveSymlinks, writeFileAtomic} from '../files/atomic.js'
import {acquireOneShotLock, type LockHolder, type OneShotLock} from '../files/lock.js'

export {processStartTime, type LockHolder} from '../files/lock.js'

export const EXIT_LOCKED = 11

/** The kinds of work a journal entry describes. */
export type JournalKind = 'rotate' | 'create'

/**
 * Steps, in order. Each is written before the action it names ("creating", "writing",
 * "deactivating", "deleting") and after it ("created", "written", "verified", "deactivated").
 */
export type JournalStep =
  | 'creating'
  | 'created'
  | 'writing'
  | 'written'
  | 'verified'
  | 'deactivating'
  | 'deactivated'
  | 'deleting'
  | 'rolling-back'

export interface JournalEntry {
  /** Random id of this rotation. */
  id: string
  kind: JournalKind
  /** The IAM user the keys belong to. */
  user: string
  /** The profile the run was asked to rotate (or create). */
  profile: string
  /** Every profile of the credentials file that held the old key (and gets the new one). */
  profiles: string[]
  oldKeyId?: string
  newKeyId?: string
  step: JournalStep
  /** Leave the old key Inactive instead of deleting it. */
  keepOld?: boolean
  /** Who makes the IAM calls: the profile's own key, or an administrator. */
  acting: 'self' | 'admin'
  /** The backup of the credentials file taken when the new key was written. */
  backup?: string
  startedAt: string
  updatedAt: string
  pid: number
  host: string
  /** The last error met (already redacted, never a secret). */
  lastError?: string
  /**
   * When CreateAccessKey was asked for: `from` is written before the request, `to` once the
   * run knows the request is over (an answer, an error, or, for a run that died waiting, its
   * last heartbeat). A key may be deleted as this run's only if IAM dates it inside.
   */
  createWindow?: {from: string; to?: string}
  /** The user's key ids before CreateAccessKey: none of them can be the key this run made. */
  keysBefore?: string[]
}

interface JournalFile {
  version: 1
  credentialsFile: string
  rotations: JournalEntry[]
}

/**
 * The real file behind a credentials path: symlinks followed (at the file and in its
 * folders), so that `~/.aws/credentials` (a link into a dotfiles repository) and the
 * target's own path share one lock and one journal.
 */
export function realCredentialsFile(credentialsFile: string): string {
  const target = resolveSymlinks(credentialsFile)
  try {
    return join(realpathSync(dirname(target)), basename(target))
  } catch {
    return target
  }
}

export function journalPath(credentialsFile: string): string {
  return `${realCredentialsFile(credentialsFile)}.psb-rotation.json`
}

export function lockPath(credentialsFile: string): string {
  return `${realCredentialsFile(credentialsFile)}.psb-rotate.lock`
}

/** How often a run waiting on CreateAccessKey touches the journal (its proof of life). */
export const HEARTBEAT_MS = 1000
/** How long after its last heartbeat a dead run's request may still have been answered by IAM. */
const AFTER_DEATH_MS = 1000

function nowIso(): string {
  return new Date().toISOString()
}

export function newEntryId(): string {
  return randomBytes(6).toString('hex')
}

/**
 * The journal of one credentials file. All writes happen under the rotation lock, so
 * read-modify-write here needs no further locking.
 */
export class Journal {
  readonly path: string
  private entries: JournalEntry[]

  /**
   * Reads the journal. Call only under the rotation lock: every entry then belongs to a run
   * that has ended, and a CreateAccessKey window it left open is closed at its last
   * heartbeat (the journal's modification time) before anything else writes the journal.
   */
  constructor(readonly credentialsFile: string) {
    this.path = journalPath(credentialsFile)
    this.entries = readJournalEntries(credentialsFile)
    const open = this.entries.filter((e) => e.createWindow && !e.createWindow.to)
    if (open.length > 0) {
      const lastAlive = statSync(this.path).mtimeMs
      const to = new Date(lastAlive + HEARTBEAT_MS + AFTER_DEATH_MS).toISOString()
      for (const e of open) e.createWindow = {...e.createWindow!, to}
      this.save()
    }
  }

  /** Touches the journal every HEARTBEAT_MS until the returned function is called (proof that this run is alive). */
  heartbeat(): () => void {
    const beat = setInterval(() => {
      try {
        const now = new Date()
        utimesSync(this.path, now, now)
      } catch {}
    }, HEARTBEAT_MS)
    beat.unref()
    return () => clearInterval(beat)
  }

  list(): JournalEntry[] {
    return this.entries.map((e) => ({...e, profiles: [...e.profiles]}))
  }

  /** Entries that concern a profile (it was asked for, or it held the old key). */
  forProfile(profile: string): JournalEntry[] {
    return this.list().filter((e) => e.profile === profile || e.profiles.includes(profile))
  }

  /** Adds or updates an entry (by id) and writes the journal atomically. */
  record(entry: Omit<JournalEntry, 'updatedAt' | 'pid' | 'host'> & Partial<Pick<JournalEntry, 'updatedAt'>>): JournalEntry {
    const full: JournalEntry = {...entry, profiles: [...entry.profiles], updatedAt: nowIso(), pid: process.pid, host: hostname()}
    assertNoSecretShape(full)
    const i = this.entries.findIndex((e) => e.id === full.id)
    if (i === -1) this.entries.push(full)
    else this.entries[i] = full
    this.save()
    return full
  }

  /** Updates fields of an existing entry. */
  update(id: string, fields: Partial<Omit<JournalEntry, 'id' | 'pid' | 'host' | 'updatedAt'>>): JournalEntry {
    const current = this.entries.find((e) => e.id === id)
    if (!current) throw new Error(`journal entry ${id} not found`)
    return this.record({...current, ...fields})
  }

  /** Removes an entry (the rotation it describes is finished or undone). */
  remove(id: string): void {
    const before = this.entries.length
    this.entries = this.entries.filter((e) => e.id !== id)
    if (this.entries.length !== before) this.save()
  }

  private save(): void {
    if (this.entries.length === 0) {
      try {
        unlinkSync(this.path)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      }
      return
    }
    const doc: JournalFile = {version: 1, credentialsFile: this.credentialsFile, rotations: this.entries}
    writeFileAtomic(this.path, JSON.stringify(doc, null, 2) + '\n', {mode: 0o600})
  }
}

/** Key ids may be in the journal; anything shaped like a secret must not. */
function assertNoSecretShape(entry: JournalEntry): void {
  for (const [k, v] of Object.entries(entry)) {
    if (/secret|token/i.test(k)) throw new Error(`journal entries must not hold "${k}"`)
    if (typeof v === 'string' && k !== 'lastError' && /^[A-Za-z0-9/+=]{40}$/.test(v)) throw new Error(`journal field "${k}" looks like a secret`)
  }
}

/** The journal's entries; an empty list when there is none. A corrupt journal is an error. */
export function readJournalEntries(credentialsFile: string): JournalEntry[] {
  const path = journalPath(credentialsFile)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw new PsbError(`Cannot read the rotation journal ${path}: ${messageOf(error)}`, {code: 'JournalUnreadable', cause: error})
  }
  try {
    const doc = JSON.parse(text) as JournalFile
    if (doc.version !== 1 || !Array.isArray(doc.rotations)) throw new Error('unknown format')
    for (const e of doc.rotations) {
      if (typeof e.id !== 'string' || typeof e.user !== 'string' || typeof e.step !== 'string' || !Array.isArray(e.profiles)) {
        throw new Error('an entry lacks id, user, step or profiles')
      }
    }
    return doc.rotations
  } catch (error) {
    throw new PsbError(`The rotation journal ${path} is not readable: ${messageOf(error)}.`, {
      code: 'JournalCorrupt',
      hint: `It records unfinished key rotations (key ids, never secrets). Check the keys with \`psb keys list\`, fix them by hand if needed, then delete ${path} and run again.`,
    })
  }
}

// ---------------------------------------------------------------------------------------
// The lock: the one-shot lock of files/lock.ts

/** A lock older than this is stale whoever holds it: no rotation run takes that long. */
const STALE_AFTER_MS = 6 * 60 * 60 * 1000

export type RotationLock = OneShotLock

function lockedError(path: string, h: LockHolder | undefined): PsbError {
  const who = h ? `process ${h.pid} on ${h.host}, started ${h.startedAt}` : 'another process (its lock file is being written)'
  return new PsbError(`Another key rotation for this credentials file is in progress (${who}); this run changed nothing.`, {
    code: 'RotationLocked',
    exitCode: EXIT_LOCKED,
    hint: `Let the other run finish, then run again. If no psb run is in progress${h && h.host !== hostname() ? ` on ${h.host}` : ''}, delete ${path}.`,
    data: {lock: path, ...(h ? {pid: h.pid, host: h.host, startedAt: h.startedAt} : {})},
  })
}

/**
 * Takes the rotation lock of a credentials file, or throws `RotationLocked` (exit 11)
 * when a live run holds it. A lock left by a dead process is taken over.
 */
export function acquireRotationLock(credentialsFile: string, command = 'keys rotate'): RotationLock {
  return acquireOneShotLock(lockPath(credentialsFile), {name: 'rotation lock', command, staleAfterMs: STALE_AFTER_MS, lockedError})
}
