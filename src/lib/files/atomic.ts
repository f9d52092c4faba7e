/**
 * The files/ domain: this atomic writer (entry point: lockedUpdate / writeFileAtomic), the one
 * lock primitive (lock.ts), the byte-exact ini editor (ini.ts), and the AWS credentials and
 * config files (credentials.ts: writeProfile; aws-config.ts: profiles and regions).
 *
 * Safe file writes for files that hold secrets (the AWS credentials and config files).
 *
 * - Atomic: the new content goes to a temp file in the same folder, is fsync'ed, renamed
 *   over the target, and the folder is fsync'ed. A reader (or a crash) sees the old file
 *   or the new one, never a mix and never an empty file.
 * - Through symlinks: a symlinked file is written at its target; the link stays.
 * - Mode 0600: a wider existing mode is narrowed, with a warning. A missing folder is
 *   created 0700 (`~/.aws`).
 * - Backed up: the previous content is kept as `<name>.psb-backup-<timestamp>` (0600),
 *   the newest few only; made only when the write goes ahead. A file reached through a
 *   symlink is backed up in psb's state folder instead (see backupDir).
 * - Byte-exact: lockedUpdateBytes hands over and writes bytes, not decoded text.
 * - A file whose owner has no write bit is not replaced (exit 1, hint chmod u+w).
 * - Locked: the read-modify-write runs under `<target>.psb-lock` (the waiting lock of
 *   lock.ts, re-exported here), a file created with
 *   O_EXCL that names its holder (pid, host). A lock whose holder is gone (a dead pid on
 *   this host) is broken at once; any other lock older than the stale time is broken too,
 *   so a killed writer never blocks the next run for long.
 *
 * Test hooks (environment, never set in normal use):
 *   PSB_TEST_PAUSE_BEFORE_RENAME_MS  sleep between writing the temp file and the rename.
 * Tunables: PSB_LOCK_TIMEOUT_MS (default 30000), PSB_LOCK_STALE_MS (default 30000),
 *   PSB_BACKUPS_KEEP (default 5).
 */
import {
  closeSync,
  existsSync,
  fchownSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  chmodSync,
} from 'node:fs'
import {homedir} from 'node:os'
import {basename, dirname, isAbsolute, join, resolve} from 'node:path'
import {createHash, randomBytes} from 'node:crypto'
import type {Env} from './aws-config.js'
import {PsbError, messageOf} from '../errors.js'
import {type Logger, silentLogger} from '../types.js'
import {code, envNumber, pidAlive, withFileLock, type FileLock, type LockOptions} from './lock.js'

/** The lock lives in lock.ts; these names stay reachable from here. */
export {acquireLock, lockPathFor, withFileLock, type FileLock, type LockOptions} from './lock.js'

const SECRET_FILE_MODE = 0o600
const SECRET_DIR_MODE = 0o700
const DEFAULT_KEEP_BACKUPS = 5
const BACKUP_TAG = '.psb-backup-'
const TEMP_TAG = '.psb-tmp-'


/** A file-system failure as a PsbError (exit 1) that names the file and the OS reason. */
export function fileError(action: string, path: string, error: unknown): PsbError {
  if (error instanceof PsbError) return error
  const c = code(error)
  const hint =
    c === 'EACCES' || c === 'EPERM'
      ? `Check the owner and permissions of ${path} and its folder (ls -l), or run psb as the user who owns them.`
      : c === 'ENOSPC'
        ? 'The disk is full: free some space and run psb again.'
        : c === 'EROFS'
          ? 'The file system is read-only: point AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE at a writable place.'
          : `Check that ${path} is a regular file you can write.`
  return new PsbError(`Cannot ${action} ${path}: ${messageOf(error)}`, {cause: error, code: 'FileWriteFailed', hint, data: {path}})
}

/** Follows a chain of symlinks at the last path component (also dangling ones) to the file they name. */
export function resolveSymlinks(path: string): string {
  let p = resolve(path)
  for (let hops = 0; hops < 40; hops++) {
    let st
    try {
      st = lstatSync(p)
    } catch (error) {
      if (code(error) === 'ENOENT') return p
      throw fileError('read', p, error)
    }
    if (!st.isSymbolicLink()) return p
    p = resolve(dirname(p), readlinkSync(p))
  }
  throw new PsbError(`Too many levels of symbolic links at ${path}.`, {code: 'FileWriteFailed', hint: `Check the symlinks with ls -l ${path}.`})
}

/** Creates a folder (and missing parents) with mode 0700. */
export function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, {recursive: true, mode: SECRET_DIR_MODE})
  } catch (error) {
    throw fileError('create the folder', dir, error)
  }
}

interface ExistingFile {
  /** The file's bytes, exactly as on disk. */
  bytes: Buffer
  mode: number
  uid: number
  gid: number
}

function readExisting(path: string): ExistingFile | undefined {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (error) {
    if (code(error) === 'ENOENT') return undefined
    throw fileError('read', path, error)
  }
  try {
    const st = statSync(path)
    if (!st.isFile()) throw new PsbError(`${path} is not a regular file.`, {code: 'FileWriteFailed', hint: 'Point AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE at a regular file.'})
    return {bytes: readFileSync(fd), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid}
  } catch (error) {
    throw fileError('read', path, error)
  } finally {
    closeSync(fd)
  }
}

/** Blocks for `ms` (0: returns at once). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

function fsyncDir(dir: string): void {
  let fd: number | undefined
  try {
    fd = openSync(dir, 'r')
    fsyncSync(fd)
  } catch (error) {
    // Some platforms cannot fsync a folder (EISDIR, EINVAL, EPERM); the rename is still atomic.
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF'].includes(code(error) ?? '')) throw error
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

function tempPath(target: string): string {
  return join(dirname(target), `.${basename(target)}${TEMP_TAG}${process.pid}-${randomBytes(4).toString('hex')}`)
}

/** Writes `content` to a new temp file beside `target` (mode, fsync'ed) and returns its path. */
function writeTemp(target: string, content: string | Buffer, mode: number, owner?: {uid: number; gid: number}): string {
  const tmp = tempPath(target)
  const fd = openSync(tmp, 'wx', mode)
  try {
    // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: writeSync writes a string as UTF-8 in full (Buffer.from's default encoding too), and Buffer.from of a Buffer is a copy of the same bytes
    const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : content
    let off = 0
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off)
    // Stryker disable next-line OptionalChaining: process.getuid exists on every platform the tests run on (POSIX)
    if (owner && process.getuid?.() === 0 && (owner.uid !== 0 || owner.gid !== 0)) fchownSync(fd, owner.uid, owner.gid)
    fsyncSync(fd)
  } catch (error) {
    closeSync(fd)
    try {
      unlinkSync(tmp)
    } catch {}
    throw error
  }
  closeSync(fd)
  // The umask may have narrowed the mode further; make it exactly `mode`.
  chmodSync(tmp, mode)
  return tmp
}

export interface AtomicWriteOptions {
  mode?: number
  owner?: {uid: number; gid: number}
  env?: Env
}

/**
 * Replaces `target` (a resolved path, not a symlink) with `content` (a string is written as
 * UTF-8, a Buffer byte for byte) atomically: temp file in the same folder, fsync, rename,
 * fsync of the folder. Temp files that dead writers left beside `target` are removed first.
 */
export function writeFileAtomic(target: string, content: string | Buffer, opts: AtomicWriteOptions = {}): void {
  removeStaleTemps(target)
  replaceFile(target, content, opts)
}

/**
 * The atomic replace of writeFileAtomic; `beforeRename` runs once the temp file is complete,
 * just before the rename (a throw there cancels the write, the temp file is removed).
 */
function replaceFile(target: string, content: string | Buffer, opts: AtomicWriteOptions, beforeRename?: () => void): void {
  const env = opts.env ?? process.env
  let tmp: string | undefined
  try {
    tmp = writeTemp(target, content, opts.mode ?? SECRET_FILE_MODE, opts.owner)
    beforeRename?.()
    sleepSync(envNumber(env, 'PSB_TEST_PAUSE_BEFORE_RENAME_MS', 0))
    renameSync(tmp, target)
    tmp = undefined
    fsyncDir(dirname(target))
  } catch (error) {
    if (tmp) {
      try {
        unlinkSync(tmp)
      } catch {}
    }
    throw fileError('write', target, error)
  }
}

/** A temp file older than this is stale whoever wrote it (a write takes milliseconds). */
const STALE_TEMP_MS = 10 * 60 * 1000

/**
 * Removes the temp files that writers of `target` left behind when they were killed: only
 * psb's own name patterns (`.<name>.psb-tmp-<pid>-<hex>`, and a backup copy's
 * `.<name>.psb-backup-<time>.psb-tmp-<pid>-<hex>`), and only when the writing process
 * is gone or the file is older than 10 minutes. A live writer's temp file is never touched.
 * Such a file is 0600 but may hold a secret that was since deleted, so it must not linger.
 */
export function removeStaleTemps(target: string): void {
  const dir = dirname(target)
  const prefix = `.${basename(target)}`
  // The file's own temp files, and those of a backup copy (`.<name>.psb-backup-<time>.psb-tmp-…`).
  const rest = new RegExp(`^(${BACKUP_TAG.replaceAll('.', '\\.')}\\d{8}T\\d{9}Z(-\\d+)?)?${TEMP_TAG.replaceAll('.', '\\.')}(\\d+)-[0-9a-f]+$`)
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return
  }
  for (const n of names) {
    const m = n.startsWith(prefix) ? rest.exec(n.slice(prefix.length)) : null
    if (!m) continue
    const pid = Number(m[3])
    const path = join(dir, n)
    try {
      const dead = !pidAlive(pid)
      if (dead || Date.now() - lstatSync(path).mtimeMs > STALE_TEMP_MS) unlinkSync(path)
    } catch {}
  }
}

// ---------------------------------------------------------------- backups

function timestamp(d = new Date()): string {
  const iso = d.toISOString().replace(/[-:]/g, '')
  // Stryker disable next-line Regex: toISOString always ends in ".sssZ", so the end anchor changes nothing
  return iso.replace(/\.(\d{3})Z$/, '$1Z')
}

/** psb's state folder: $XDG_STATE_HOME/psb, else ~/.local/state/psb. */
export function stateDir(env: Env = process.env): string {
  const xdg = env.XDG_STATE_HOME
  return xdg && isAbsolute(xdg) ? join(xdg, 'psb') : join(env.HOME || homedir(), '.local', 'state', 'psb')
}

/**
 * Where the backups of the file at `path` go. Beside the file, unless `path` is a symlink
 * (e.g. ~/.aws/credentials into a dotfiles repository, where `git add` would pick them
 * up): then in psb's state folder (0700), in a folder named after the real file's path.
 */
export function backupDir(path: string, env: Env = process.env): string {
  const target = resolveSymlinks(path)
  if (target === resolve(path)) return dirname(target)
  const id = createHash('sha256').update(target).digest('hex').slice(0, 16)
  return join(stateDir(env), 'backups', `${basename(target)}-${id}`)
}

/** Backups of the file at `path` (a symlink's backups are in the state folder), oldest first. */
export function listBackups(path: string, env: Env = process.env): string[] {
  const dir = backupDir(path, env)
  const prefix = basename(resolveSymlinks(path)) + BACKUP_TAG
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  const parsed = names
    .filter((n) => n.startsWith(prefix) && /^\d{8}T\d{9}Z(-\d+)?$/.test(n.slice(prefix.length)))
    .map((n) => {
      const [stamp, seq] = n.slice(prefix.length).split('-')
      return {n, stamp, seq: Number(seq ?? 0)}
    })
  // Stryker disable next-line ConditionalExpression,UnaryOperator: readdirSync (libuv's scandir) lists names sorted, so different stamps already come in order; only a same-millisecond sequence (-2 before -10) needs this comparator, and the tests sort those
  parsed.sort((a, b) => (a.stamp < b.stamp ? -1 : a.stamp > b.stamp ? 1 : a.seq - b.seq))
  return parsed.map((p) => join(dir, p.n))
}

/**
 * Keeps the current content of `target` as a new backup in `dir`, mode 0600, and returns its
 * path. Call under the lock, once the new content is ready to be renamed into place (so a
 * write that cannot happen makes no backup); prune with pruneBackups after the rename.
 *
 * psb never changes a file in place (it renames a new file over it), so the current file
 * itself becomes the backup: a hard link to it, made 0600 first. That costs no copy and no
 * fsync, whatever the file's size. Where hard links are not possible (another file system,
 * an immutable file), `content` is copied.
 */
function createBackup(target: string, dir: string, content: Buffer, opts: AtomicWriteOptions = {}): string {
  const base = join(dir, `${basename(target)}${BACKUP_TAG}${timestamp()}`)
  let path = base
  for (let i = 1; existsSync(path); i++) path = `${base}-${i}`
  let linked = false
  try {
    if ((statSync(target).mode & 0o777) !== SECRET_FILE_MODE) chmodSync(target, SECRET_FILE_MODE)
    linkSync(target, path)
    linked = true
  } catch {}
  if (!linked) {
    let tmp: string | undefined
    try {
      tmp = writeTemp(path, content, SECRET_FILE_MODE, opts.owner)
      renameSync(tmp, path)
      tmp = undefined
    } catch (error) {
      if (tmp) {
        try {
          unlinkSync(tmp)
        } catch {}
      }
      throw fileError('write the backup', path, error)
    }
  }
  return path
}

/** Deletes all but the newest `keep` (at least 1) backups of the file at `path`. */
function pruneBackups(path: string, keep: number, env: Env): void {
  const all = listBackups(path, env)
  for (const p of all.slice(0, Math.max(0, all.length - Math.max(1, keep)))) {
    try {
      unlinkSync(p)
    } catch {}
  }
}

// ---------------------------------------------------------------- locked update

export interface LockedUpdateOptions {
  /** Mode of the written file (default 0600). A wider existing mode is narrowed with a warning. */
  mode?: number
  /** Keep a backup of the previous content (default true). */
  backup?: boolean
  /** How many backups to keep (default PSB_BACKUPS_KEEP or 5). */
  keepBackups?: number
  /** Compute the change, write nothing (no lock, no folder, no backup). */
  dryRun?: boolean
  logger?: Logger
  env?: Env
  lock?: LockOptions
}

export interface LockedUpdateResult {
  /** The file written: the symlink's target when `path` is a symlink. */
  path: string
  changed: boolean
  /** The file did not exist before. */
  created: boolean
  backup?: string
  before: string
  after: string
  warnings: string[]
}

/**
 * Read-modify-write of one file under its lock: `update` gets the current content ('' when
 * missing) and returns the new content (or the same string for no change). Atomic, 0600,
 * backed up, through symlinks. A wider mode is narrowed even when the content is unchanged.
 * The new content is written as UTF-8; use lockedUpdateBytes to keep bytes that are not.
 */
export async function lockedUpdate(path: string, update: (before: string, exists: boolean) => string, opts: LockedUpdateOptions = {}): Promise<LockedUpdateResult> {
  return lockedUpdateBytes(
    path,
    (bytes, exists) => {
      const before = bytes.toString('utf8')
      const after = update(before, exists)
      // Stryker disable next-line StringLiteral: Buffer.from's default encoding is UTF-8
      return after === before ? bytes : Buffer.from(after, 'utf8')
    },
    opts,
  )
}

/**
 * lockedUpdate on bytes: `update` gets the file's bytes exactly as on disk (empty when
 * missing) and returns the new bytes. The result's `before` / `after` are decoded as UTF-8
 * (for showing a diff). A file whose owner has no write bit (0400) is refused (exit 1) when
 * it would change: that is the owner's intent, and psb does not override it.
 */
export async function lockedUpdateBytes(path: string, update: (before: Buffer, exists: boolean) => Buffer, opts: LockedUpdateOptions = {}): Promise<LockedUpdateResult> {
  const env = opts.env ?? process.env
  const logger = opts.logger ?? silentLogger
  const mode = opts.mode ?? SECRET_FILE_MODE
  const target = resolveSymlinks(path)
  const warnings: string[] = []
  const warn = (m: string) => {
    warnings.push(m)
    logger.warn(m)
  }
  const run = (existing: ExistingFile | undefined) => applyUpdate(target, existing, update, warnings)

  if (opts.dryRun) {
    const existing = readExisting(target)
    const r = run(existing)
    const narrowTo = existing && wantedMode(existing.mode, mode, r.changed)
    if (existing && narrowTo !== undefined) warn(`${target} has mode ${octal(existing.mode)} (readable by other users); psb would narrow it to ${octal(narrowTo)}.`)
    return r.result()
  }

  ensureDir(dirname(target))
  return withFileLock(
    target,
    (lock) => {
      removeStaleTemps(target)
      const existing = readExisting(target)
      const r = run(existing)
      const narrowTo = existing && wantedMode(existing.mode, mode, r.changed)
      const narrowed = () => warn(`${target} had mode ${octal(existing!.mode)} (readable by other users); psb narrowed it to ${octal(narrowTo!)}.`)
      if (!r.changed) {
        if (existing && narrowTo !== undefined) {
          try {
            chmodSync(target, narrowTo)
          } catch (error) {
            throw fileError('change the mode of', target, error)
          }
          narrowed()
        }
        return r.result()
      }
      const keep = opts.keepBackups ?? envNumber(env, 'PSB_BACKUPS_KEEP', DEFAULT_KEEP_BACKUPS)
      const backup = commitUpdate({path, target, existing, after: r.after, lock, mode, env, keep: opts.backup === false ? undefined : keep})
      if (narrowTo !== undefined) narrowed()
      return r.result(backup)
    },
    {...opts.lock, env, logger},
  )
}

/** Runs `update` on the file's bytes; refuses a change to a read-only file; builds the result. */
function applyUpdate(target: string, existing: ExistingFile | undefined, update: (before: Buffer, exists: boolean) => Buffer, warnings: string[]) {
  const before = existing?.bytes ?? Buffer.alloc(0)
  const after = update(before, existing !== undefined)
  const changed = !after.equals(before)
  if (changed && existing) refuseReadOnly(target, existing.mode)
  const result = (backup?: string): LockedUpdateResult => ({
    path: target,
    changed,
    created: changed && !existing,
    ...(backup ? {backup} : {}),
    before: before.toString('utf8'),
    after: after.toString('utf8'),
    warnings,
  })
  return {after, changed, result}
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0')
}

/**
 * The mode to narrow an existing file to, or undefined when it is not wider than `mode`.
 * A read-only file that is not rewritten keeps lacking its write bit.
 */
function wantedMode(existing: number, mode: number, rewritten: boolean): number | undefined {
  if ((existing & 0o077 & ~mode) === 0) return undefined
  return !rewritten && (existing & 0o200) === 0 ? existing & 0o700 & mode : mode
}

/** A file its owner cannot write (no `u+w`) is not replaced: exit 1, the file untouched. */
function refuseReadOnly(target: string, mode: number): void {
  if ((mode & 0o200) !== 0) return
  throw new PsbError(`${target} is read-only (mode ${octal(mode)}): its owner has no write permission, so psb leaves it as it is. Nothing was written.`, {
    code: 'FileReadOnly',
    hint: `If psb should change it, make it writable first: chmod u+w ${target}`,
    data: {path: target},
  })
}

/**
 * Writes `after` over `target` (atomic, under `lock`). The backup of the current file is
 * made only once the new content is ready to be renamed into place, is removed again when
 * the rename fails, and old backups are pruned only after the write succeeded. Returns the
 * backup's path. `keep` undefined: no backup.
 */
function commitUpdate(a: {path: string; target: string; existing?: ExistingFile; after: Buffer; lock: FileLock; mode: number; env: Env; keep?: number}): string | undefined {
  const {target, existing, lock} = a
  const owner = existing ? {uid: existing.uid, gid: existing.gid} : undefined
  let backup: string | undefined
  try {
    replaceFile(target, a.after, {mode: a.mode, owner, env: a.env}, () => {
      if (!lock.held()) {
        throw new PsbError(`The lock ${lock.path} was taken over while psb was writing ${target}; nothing was written.`, {
          code: 'FileLocked',
          hint: "Another process removed psb's lock. Run the command again.",
        })
      }
      if (existing && a.keep !== undefined && existing.bytes.length > 0) {
        const dir = backupDir(a.path, a.env)
        if (dir !== dirname(target)) {
          ensureDir(dir)
          removeStaleTemps(join(dir, basename(target)))
        }
        backup = createBackup(target, dir, existing.bytes, {owner})
      }
    })
  } catch (error) {
    if (backup) {
      try {
        unlinkSync(backup)
      } catch {}
    }
    // The hard-link backup may have narrowed the file's mode: the file is left as it was.
    if (existing) {
      try {
        if ((statSync(target).mode & 0o7777) !== existing.mode) chmodSync(target, existing.mode)
      } catch {}
    }
    throw error
  }
  if (backup) pruneBackups(a.path, a.keep!, a.env)
  return backup
}
