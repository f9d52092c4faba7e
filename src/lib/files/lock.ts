/**
 * The one lock primitive of psb's files, in two forms:
 *  - the waiting lock (`acquireLock`, `withFileLock`): `<target>.psb-lock`, taken around every
 *    read-modify-write of the atomic writer (atomic.ts); a second writer waits for it, and a
 *    lock whose holder is gone, or that is older than the stale time, is broken;
 *  - the one-shot lock (`acquireOneShotLock`): taken at once or not at all, for a long run
 *    (the key rotation, keys/journal.ts); another host's lock is judged by its start time.
 * Both are files created with O_EXCL that name their holder (pid, host, nonce), and both
 * judge a holder on this host by whether its pid is alive (`pidAlive`).
 */
import {closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeSync} from 'node:fs'
import {spawnSync} from 'node:child_process'
import {hostname} from 'node:os'
import {dirname} from 'node:path'
import {randomBytes} from 'node:crypto'
import type {Env} from './aws-config.js'
import {sleep} from '../aws/errors.js'
import {PsbError} from '../errors.js'
import {type Logger, silentLogger} from '../types.js'
import {ensureDir, fileError} from './atomic.js'

const SECRET_FILE_MODE = 0o600
const LOCK_SUFFIX = '.psb-lock'

/** A non-negative number from the environment, or the fallback. */
export function envNumber(env: Env, name: string, fallback: number): number {
  // Unset is Number(undefined), NaN: not finite, so the fallback.
  const n = Number(env[name])
  return env[name] !== '' && Number.isFinite(n) && n >= 0 ? n : fallback
}

/** The errno code of a file-system error. */
export function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException)?.code
}

/** True when a process with this pid exists on this machine. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return code(error) === 'EPERM'
  }
}

// ---------------------------------------------------------------- the waiting lock

export interface LockOptions {
  /** Give up after this long (default PSB_LOCK_TIMEOUT_MS or 30 s). */
  timeoutMs?: number
  /** A lock older than this is broken (default PSB_LOCK_STALE_MS or 30 s). */
  staleMs?: number
  env?: Env
  logger?: Logger
}

interface LockInfo {
  pid: number
  host: string
  nonce: string
  time: number
}

export interface FileLock {
  readonly path: string
  readonly nonce: string
  /** True while the lock file is still ours (nobody broke it as stale). */
  held(): boolean
}

export function lockPathFor(target: string): string {
  return target + LOCK_SUFFIX
}

function readLock(path: string): {raw: string; info?: LockInfo; mtimeMs: number} | undefined {
  try {
    const raw = readFileSync(path, 'utf8')
    const mtimeMs = statSync(path).mtimeMs
    let info: LockInfo | undefined
    try {
      const j = JSON.parse(raw)
      // Stryker disable next-line OptionalChaining: JSON.parse gives null only for "null", and j.pid on null throws inside this try, which leaves info undefined just the same
      if (typeof j?.pid === 'number' && typeof j?.host === 'string') info = j
    } catch {}
    return {raw, info, mtimeMs}
  } catch (error) {
    if (code(error) === 'ENOENT') return undefined
    throw error
  }
}

/** Why a lock is stale, or undefined when its holder may still be working. */
function staleReason(lock: {info?: LockInfo; mtimeMs: number}, staleMs: number): string | undefined {
  const age = Date.now() - lock.mtimeMs
  if (lock.info && lock.info.host === hostname() && !pidAlive(lock.info.pid)) {
    return `its holder (pid ${lock.info.pid}) is no longer running`
  }
  // A half-written lock file (the holder was killed between create and write) is young.
  if (!lock.info && age > Math.min(staleMs, 2000)) return 'it is empty or unreadable'
  if (age > staleMs) return `it is ${Math.round(age / 1000)} s old`
  return undefined
}

/**
 * Removes a stale lock without ever removing a live one: the lock is renamed aside and
 * compared with what was judged stale; if someone took the lock in between, it is put back.
 */
function breakLock(path: string, judged: string): boolean {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    renameSync(path, aside)
  } catch (error) {
    if (code(error) === 'ENOENT') return true
    throw fileError('remove the stale lock', path, error)
  }
  let raw = ''
  try {
    raw = readFileSync(aside, 'utf8')
  } catch {}
  if (raw === judged) {
    try {
      unlinkSync(aside)
    } catch {}
    return true
  }
  // Not the lock we judged: put it back (unless another one took its place meanwhile,
  // in which case that holder's ownership check makes it retry).
  try {
    renameSync(aside, path)
  } catch {}
  return false
}

/** Creates the lock file with O_EXCL and writes `body` into it; false when it exists already. */
function tryCreateLock(path: string, body: string): boolean {
  let fd: number | undefined
  try {
    fd = openSync(path, 'wx', SECRET_FILE_MODE)
    writeSync(fd, body)
    closeSync(fd)
    return true
  } catch (error) {
    if (fd !== undefined) {
      // Created but not written (disk full?): do not leave an empty lock behind.
      closeSync(fd)
      try {
        unlinkSync(path)
      } catch {}
    }
    if (code(error) !== 'EEXIST') throw fileError('create the lock file', path, error)
    return false
  }
}

function heldLock(path: string, nonce: string, body: string): FileLock & {release(): void} {
  const lock = {
    path,
    nonce,
    held(): boolean {
      try {
        return readFileSync(path, 'utf8') === body
      } catch {
        return false
      }
    },
    release(): void {
      if (lock.held()) {
        try {
          unlinkSync(path)
        } catch {}
      }
    },
  }
  return lock
}

/**
 * The waiting lock of `target` (`<target>.psb-lock`): retried with backoff until `timeoutMs`;
 * a lock whose holder is gone (a dead pid on this host), or older than `staleMs`, is broken.
 */
export async function acquireLock(target: string, opts: LockOptions = {}): Promise<FileLock & {release(): void}> {
  const env = opts.env ?? process.env
  const timeoutMs = opts.timeoutMs ?? envNumber(env, 'PSB_LOCK_TIMEOUT_MS', 30000)
  const staleMs = opts.staleMs ?? envNumber(env, 'PSB_LOCK_STALE_MS', 30000)
  const logger = opts.logger ?? silentLogger
  const path = lockPathFor(target)
  const nonce = randomBytes(8).toString('hex')
  const body = JSON.stringify({pid: process.pid, host: hostname(), nonce, time: Date.now()} satisfies LockInfo)
  const started = Date.now()
  let wait = 5
  for (;;) {
    if (tryCreateLock(path, body)) return heldLock(path, nonce, body)
    let current
    try {
      current = readLock(path)
    } catch (error) {
      throw fileError('read the lock file', path, error)
    }
    // No current lock: it was just released, or the lock path is a dangling symlink (which
    // O_EXCL counts as taken). Either way wait like for a live lock, never spin.
    const why = current && staleReason(current, staleMs)
    if (current && why) {
      if (breakLock(path, current.raw)) logger.info(`Removed the stale lock ${path}: ${why}.`)
      continue
    }
    if (Date.now() - started >= timeoutMs) {
      const holder = current?.info ? ` (held by pid ${current.info.pid} on ${current.info.host})` : ''
      throw new PsbError(`Timed out after ${Math.round(timeoutMs / 1000)} s waiting for the lock ${path}${holder}.`, {
        code: 'FileLocked',
        hint: `Another psb is writing ${target}. If no psb is running, delete ${path} and run again.`,
        data: {lock: path},
      })
    }
    await sleep(wait + Math.floor(Math.random() * wait))
    wait = Math.min(wait * 2, 100)
  }
}

/** Runs `fn` holding the lock of `target`; the lock is released however `fn` ends. */
export async function withFileLock<T>(target: string, fn: (lock: FileLock) => T | Promise<T>, opts: LockOptions = {}): Promise<T> {
  const lock = await acquireLock(target, opts)
  // Keep the lock young while we hold it, so a slow holder is not taken for a dead one.
  const beat = setInterval(() => {
    try {
      const now = new Date()
      if (lock.held()) utimesSync(lock.path, now, now)
    } catch {}
  }, 2000)
  // Stryker disable next-line CallExpression: unref only lets the process exit while fn is still pending, which no in-process test can watch
  beat.unref()
  try {
    return await fn(lock)
  } finally {
    // Stryker disable next-line CallExpression: a beat left running after release finds the lock not held (its nonce is gone) and touches nothing
    clearInterval(beat)
    lock.release()
  }
}


// ---------------------------------------------------------------- the one-shot lock

/** A break lock (held for milliseconds) older than this was left by a killed process. */
const BREAK_STALE_MS = 10_000

export interface LockHolder {
  pid: number
  host: string
  startedAt: string
  nonce: string
  command?: string
  /** When the holder process started, as the OS tells it: a live pid with another start time is a new process. */
  pidStart?: string
}

function readHolder(path: string): LockHolder | 'missing' | 'unreadable' {
  let text: string
  try {
    // Stryker disable next-line StringLiteral: without an encoding readFileSync gives a Buffer, which JSON.parse reads as the same text
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing'
    return 'unreadable'
  }
  try {
    const h = JSON.parse(text) as LockHolder
    if (typeof h.pid !== 'number' || typeof h.nonce !== 'string') return 'unreadable'
    return h
  } catch {
    return 'unreadable'
  }
}

/** The nonce of what readHolder found: 'missing' and 'unreadable' are strings, which have none. */
const nonceOf = (found: LockHolder | 'missing' | 'unreadable'): string | undefined => (found as Partial<LockHolder>).nonce

/**
 * When a process started, as the OS tells it (undefined when it cannot): field 22 of
 * /proc/<pid>/stat (clock ticks since boot) on Linux, `ps -o lstart=` elsewhere. A pid
 * that is alive but started at another time is a different process that reuses the pid.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) is in parentheses and may hold spaces: count from its end.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return fields[19] ? `linux:${fields[19]}` : undefined
  } catch {}
  // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: on Linux this line is reached only for a pid /proc does not have (gone), for which ps says nothing either; Windows is not a test platform
  return process.platform === 'win32' ? undefined : psStartTime(pid)
}

/** When a process started, as `ps -o lstart=` tells it (processStartTime where there is no /proc). */
export function psStartTime(pid: number): string | undefined {
  const r = spawnSync('ps', ['-o', 'lstart=', '-p', String(pid)], {encoding: 'utf8', timeout: 2000})
  const out = r.status === 0 ? r.stdout.trim() : ''
  return out ? `ps:${out}` : undefined
}

function holderIsStale(h: LockHolder, staleAfterMs: number, now = Date.now()): boolean {
  const started = Date.parse(h.startedAt)
  if (Number.isFinite(started) && now - started > staleAfterMs) return true
  if (h.host !== hostname()) return false
  if (!pidAlive(h.pid)) return true
  // Alive: the holder itself, or another process that got its pid after the holder died.
  if (h.pidStart === undefined) return false
  const current = processStartTime(h.pid)
  return current !== undefined && current !== h.pidStart
}

function fileAgeMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs
  } catch {
    return 0
  }
}

/** Removes a stale lock, under a break lock so that only one process removes it. */
function breakStaleLock(path: string, stale: LockHolder | 'unreadable'): void {
  const breakPath = `${path}.break`
  let fd: number
  try {
    fd = openSync(breakPath, 'wx', 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw fileError('create the break lock', breakPath, error)
    // Someone else is breaking it right now, or died doing so long ago.
    if (fileAgeMs(breakPath) > BREAK_STALE_MS) {
      try {
        unlinkSync(breakPath)
      } catch {}
    }
    return
  }
  try {
    closeSync(fd)
    const again = readHolder(path)
    const same = stale === 'unreadable' ? again === 'unreadable' : nonceOf(again) === stale.nonce
    if (same) {
      try {
        unlinkSync(path)
      } catch {}
    }
  } finally {
    try {
      unlinkSync(breakPath)
    } catch {}
  }
}

/** The lock could not be created or written: nothing was changed, and no lock is left behind. */
function lockFailed(path: string, error: unknown, name: string): PsbError {
  const e = fileError(`create the ${name}`, path, error)
  const full = (error as NodeJS.ErrnoException).code === 'ENOSPC'
  return new PsbError(full ? `The disk is full: cannot create the ${name} ${path}. Nothing was changed.` : `${e.message}. Nothing was changed.`, {
    code: 'LockFailed',
    cause: error,
    hint: e.hint,
  })
}

/** Writes the holder into a new lock file; on failure (disk full) removes the file, so no empty lock is left. */
function writeHolder(fd: number, path: string, holder: LockHolder, name: string): void {
  try {
    writeSync(fd, JSON.stringify(holder) + '\n')
    fsyncSync(fd)
    closeSync(fd)
  } catch (error) {
    try {
      closeSync(fd)
    } catch {}
    try {
      unlinkSync(path)
    } catch {}
    throw lockFailed(path, error, name)
  }
}

export interface OneShotLock {
  readonly path: string
  readonly holder: LockHolder
  release(): void
}

export interface OneShotLockOptions {
  /** What the lock guards, for messages: "rotation lock". */
  name: string
  /** Written into the lock file for whoever finds it. */
  command?: string
  /** A lock whose holder started longer ago than this is stale, on any host. */
  staleAfterMs: number
  /** The error when a live holder has it (undefined: its file is being written). */
  lockedError: (path: string, holder: LockHolder | undefined) => Error
}

/** Creates the lock file with O_EXCL (its fd); a live holder throws `lockedError`; 'retry' after a stale lock was broken or vanished. */
function tryOneShot(path: string, holder: LockHolder, o: OneShotLockOptions): 'retry' | number {
  try {
    return openSync(path, 'wx', 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw lockFailed(path, error, o.name)
  }
  const current = readHolder(path)
  if (current === 'missing') return 'retry'
  if (current === 'unreadable') {
    // Being written right now (young), or left half-written by a killed process (old).
    if (fileAgeMs(path) < 5000) throw o.lockedError(path, undefined)
    breakStaleLock(path, 'unreadable')
    return 'retry'
  }
  if (!holderIsStale(current, o.staleAfterMs)) throw o.lockedError(path, current)
  breakStaleLock(path, current)
  return 'retry'
}

/**
 * The one-shot lock: taken at once or not at all (no waiting). It holds the pid, host, start
 * time and a random nonce; a live holder makes it fail at once (`lockedError`), unless the
 * holder is dead (same host, no such pid, or the pid now belongs to a process started at
 * another time) or started longer ago than `staleAfterMs` (any host: another host's lock is
 * judged by its start time). A stale lock is broken under a short-lived break lock, so that
 * two runs never break the same stale lock and both go on. Released on exit.
 */
export function acquireOneShotLock(path: string, o: OneShotLockOptions): OneShotLock {
  ensureDir(dirname(path))
  const holder: LockHolder = {pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), nonce: randomBytes(8).toString('hex'), command: o.command, pidStart: processStartTime(process.pid)}
  for (let attempt = 0; attempt < 20; attempt++) {
    const fd = tryOneShot(path, holder, o)
    if (fd === 'retry') continue
    writeHolder(fd, path, holder, o.name)
    let released = false
    const release = () => {
      if (released) return
      // Stryker disable next-line BooleanLiteral: a second release finds the lock gone or another's (another nonce) and removes nothing either way
      released = true
      process.removeListener('exit', release)
      const now = readHolder(path)
      if (nonceOf(now) === holder.nonce) {
        try {
          unlinkSync(path)
        } catch {}
      }
    }
    process.once('exit', release)
    return {path, holder, release}
  }
  throw o.lockedError(path, undefined)
}
