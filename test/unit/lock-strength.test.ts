/**
 * What a mutant of src/lib/files/lock.ts could change without a test noticing (issue 10,
 * "Test strength"), tested in process so that Stryker's mutants are seen: the waiting lock
 * (acquireLock, withFileLock), the one-shot lock of a long run (acquireOneShotLock, the
 * rotation lock's primitive), how a holder is judged (pidAlive, processStartTime) and every
 * error either lock throws. Real files in temp folders, real processes (a child that is
 * alive, one that has exited), real OS errors (ENAMETOOLONG, ENOTDIR, EISDIR, ENOSPC on a
 * small tmpfs); the fs hooks of test/support/fs-hook.ts only to land a second writer in the
 * few microseconds between two steps, which no real race does on cue.
 */
import {expect} from 'chai'
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {existsSync, lstatSync, lutimesSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {acquireLock, acquireOneShotLock, code, envNumber, lockPathFor, pidAlive, processStartTime, psStartTime, withFileLock, type LockHolder, type OneShotLockOptions} from '../../src/lib/files/lock.js'
import {PsbError} from '../../src/lib/errors.js'
import type {Logger} from '../../src/lib/types.js'
import {rejection, thrown} from '../support/errors.js'
import {fillUp, mountTmpfs, openFds, unmount, withFsHooks} from '../support/fs-hook.js'

/** The pid of a process that has exited. */
const deadPid = (): number => spawnSync('true').pid!
const ago = (path: string, ms: number) => {
  const t = new Date(Date.now() - ms)
  utimesSync(path, t, t)
}
const infos = () => {
  const lines: string[] = []
  const logger = {info: (m: string) => lines.push(m), warn: () => {}, debug: () => {}} as unknown as Logger
  return {lines, logger}
}
/** Runs `fn` counting the opens of `path` (each try to create the lock is one). */
async function countingOpens<T>(path: string, fn: () => T | Promise<T>): Promise<{n: number; result: T | PsbError}> {
  let n = 0
  const result = await withFsHooks(
    {
      openSync: (original, ...args) => {
        if (args[0] === path) n++
        return original(...args)
      },
    },
    async () => {
      try {
        return await fn()
      } catch (error) {
        if (error instanceof PsbError) return error
        throw error
      }
    },
  )
  return {n, result}
}

describe('lock: helpers', () => {
  it('envNumber takes a finite number >= 0 from the environment, else the fallback', () => {
    const table: Array<[string | undefined, number]> = [
      [undefined, 7],
      ['', 7],
      ['abc', 7],
      ['-1', 7],
      ['Infinity', 7],
      ['0', 0],
      ['2.5', 2.5],
      ['30000', 30000],
    ]
    for (const [value, want] of table) expect(envNumber(value === undefined ? {} : {X: value}, 'X', 7), String(value)).to.equal(want)
  })

  it('code is the errno code of an error, and undefined for anything else', () => {
    expect(code(Object.assign(new Error('x'), {code: 'ENOENT'}))).to.equal('ENOENT')
    expect(code(undefined)).to.equal(undefined)
    expect(code(null)).to.equal(undefined)
    expect(code('text')).to.equal(undefined)
  })

  it('pidAlive: this process and a live child are alive, an exited one is not', () => {
    expect(pidAlive(process.pid)).to.equal(true)
    expect(pidAlive(deadPid())).to.equal(false)
  })

  it("pidAlive: a live process we may not signal (EPERM) is alive (run as root: another user's process, seen with another euid)", async function () {
    // Skip reason: seteuid to another user and back needs root; CI runs as root.
    if (process.getuid?.() !== 0 || !process.seteuid) this.skip()
    const child = spawn('sleep', ['30'], {uid: 65534, gid: 65534, stdio: 'ignore'})
    await new Promise((r) => child.once('spawn', r))
    const dead = deadPid()
    let alive: boolean
    let gone: boolean
    process.seteuid(12345)
    try {
      alive = pidAlive(child.pid!)
      gone = pidAlive(dead)
    } finally {
      process.seteuid(0)
      child.kill('SIGKILL')
    }
    expect(alive).to.equal(true)
    expect(gone).to.equal(false)
  })
})

describe('lock: when a process started (processStartTime)', () => {
  let dir: string
  let child: ChildProcess | undefined
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'psb-pstart-'))
  })
  afterEach(() => {
    child?.kill('SIGKILL')
    child = undefined
    rmSync(dir, {recursive: true, force: true})
  })

  /** A live child whose command name holds a space and ") " (its /proc stat field 2). */
  async function oddlyNamed(): Promise<number> {
    const exe = join(dir, 'a b) c')
    symlinkSync(spawnSync('which', ['sleep']).stdout.toString().trim(), exe)
    child = spawn(exe, ['30'], {stdio: 'ignore'})
    await new Promise((r) => child!.once('spawn', r))
    return child.pid!
  }

  it('is field 22 of /proc/<pid>/stat, counted from the end of the command name, as "linux:<ticks>"', async () => {
    const pid = await oddlyNamed()
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const afterName = /^\d+ \(.*\) (.*)$/s.exec(stat)![1].split(' ')
    expect(afterName[19]).to.match(/^\d+$/)
    expect(processStartTime(pid)).to.equal(`linux:${afterName[19]}`)
    const own = readFileSync('/proc/self/stat', 'utf8')
    expect(processStartTime(process.pid)).to.equal(`linux:${/^\d+ \(.*\) (.*)$/s.exec(own)![1].split(' ')[19]}`)
  })

  it('is undefined for a process that is gone', () => {
    expect(processStartTime(deadPid())).to.equal(undefined)
  })

  it('without /proc it asks ps: "ps:<lstart>", undefined for a process that is gone', async () => {
    const pid = await oddlyNamed()
    const lstart = spawnSync('ps', ['-o', 'lstart=', '-p', String(pid)], {encoding: 'utf8'}).stdout.trim()
    expect(lstart).to.match(/\d\d:\d\d:\d\d/)
    expect(psStartTime(pid)).to.equal(`ps:${lstart}`)
    expect(psStartTime(deadPid())).to.equal(undefined)
  })
})

describe('lock: the waiting lock (acquireLock, withFileLock)', () => {
  let dir: string
  let target: string
  let path: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'psb-wlock-'))
    target = join(dir, 'credentials')
    path = lockPathFor(target)
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))
  const lockBody = (pid: number, host = hostname()) => JSON.stringify({pid, host, nonce: 'n0', time: Date.now()})
  const timedOut = (holder = '') => `Timed out after 0 s waiting for the lock ${path}${holder}.`

  it('writes a 0600 lock naming its holder; held() until it is removed or replaced; release keeps a lock that is not its own', async () => {
    const lock = await acquireLock(target)
    expect(lock.path).to.equal(path)
    expect(statSync(path).mode & 0o777).to.equal(0o600)
    const body = JSON.parse(readFileSync(path, 'utf8'))
    expect(Object.keys(body).sort()).to.deep.equal(['host', 'nonce', 'pid', 'time'])
    expect(body).to.include({pid: process.pid, host: hostname(), nonce: lock.nonce})
    expect(lock.nonce).to.match(/^[0-9a-f]{16}$/)
    expect(body.time).to.be.within(Date.now() - 5000, Date.now())
    expect(lock.held()).to.equal(true)
    unlinkSync(path)
    expect(lock.held()).to.equal(false)
    writeFileSync(path, 'someone else')
    expect(lock.held()).to.equal(false)
    lock.release()
    expect(readFileSync(path, 'utf8')).to.equal('someone else')
  })

  it("breaks at once the lock of a holder that is gone, says why, and leaves no file aside", async () => {
    const dead = deadPid()
    writeFileSync(path, lockBody(dead))
    const {lines, logger} = infos()
    const lock = await acquireLock(target, {logger, timeoutMs: 5000})
    expect(lines).to.deep.equal([`Removed the stale lock ${path}: its holder (pid ${dead}) is no longer running.`])
    expect(readdirSync(dir)).to.deep.equal(['credentials.psb-lock'])
    lock.release()
    expect(readdirSync(dir)).to.deep.equal([])
  })

  it("waits for a live holder, and for another host's holder whatever its pid; the timeout names both, with a hint", async () => {
    const dead = deadPid()
    for (const [body, holder] of [
      [lockBody(process.pid), ` (held by pid ${process.pid} on ${hostname()})`],
      [lockBody(dead, 'other-host'), ` (held by pid ${dead} on other-host)`],
    ]) {
      writeFileSync(path, body)
      const e = await rejection(acquireLock(target, {timeoutMs: 300}))
      expect(e.message).to.equal(timedOut(holder))
      expect(e.code).to.equal('FileLocked')
      expect(e.exitCode).to.equal(1)
      expect(e.hint).to.equal(`Another psb is writing ${target}. If no psb is running, delete ${path} and run again.`)
      expect(e.data).to.deep.equal({lock: path})
      expect(readFileSync(path, 'utf8')).to.equal(body)
    }
  })

  it('a lock that names no holder (no pid or host, not JSON, empty) is waited for while young; broken after 2 s, or the stale time if shorter', async () => {
    for (const body of ['', 'not json', 'null', JSON.stringify({pid: deadPid()}), JSON.stringify({host: hostname()})]) {
      writeFileSync(path, body)
      const e = await rejection(acquireLock(target, {timeoutMs: 200}))
      expect(e.message, body).to.equal(timedOut())
      expect(readFileSync(path, 'utf8')).to.equal(body)
      ago(path, 2500)
      const {lines, logger} = infos()
      ;(await acquireLock(target, {logger, timeoutMs: 5000})).release()
      expect(lines, body).to.deep.equal([`Removed the stale lock ${path}: it is empty or unreadable.`])
      writeFileSync(path, body)
      ago(path, 800)
      ;(await acquireLock(target, {staleMs: 500, timeoutMs: 5000})).release()
      expect(existsSync(path)).to.equal(false)
    }
  })

  it('breaks any lock older than the stale time (PSB_LOCK_STALE_MS), saying how old', async () => {
    writeFileSync(path, lockBody(process.pid))
    ago(path, 100_000)
    const young = await rejection(acquireLock(target, {timeoutMs: 200, env: {PSB_LOCK_STALE_MS: '200000'}}))
    expect(young.code).to.equal('FileLocked')
    const {lines, logger} = infos()
    ;(await acquireLock(target, {logger, env: {PSB_LOCK_STALE_MS: '50000'}})).release()
    expect(lines).to.deep.equal([`Removed the stale lock ${path}: it is 100 s old.`])
  })

  it('waits PSB_LOCK_TIMEOUT_MS, and says how long in seconds', async () => {
    writeFileSync(path, lockBody(process.pid))
    const t0 = Date.now()
    const e = await rejection(acquireLock(target, {env: {PSB_LOCK_TIMEOUT_MS: '1400'}}))
    expect(Date.now() - t0).to.be.within(1400, 10_000)
    expect(e.message).to.equal(`Timed out after 1 s waiting for the lock ${path} (held by pid ${process.pid} on ${hostname()}).`)
  })

  it('polls a held lock with a backoff from 5 ms, doubling up to 100 ms, with up to as much again of jitter', async () => {
    writeFileSync(path, lockBody(process.pid))
    const {n, result} = await countingOpens(path, () => acquireLock(target, {timeoutMs: 2000}))
    expect((result as PsbError).code).to.equal('FileLocked')
    // Sleeps of 5-9, 10-19, 20-39, 40-79, 80-159, then 100-199 ms: 14 to 24 tries in 2 s
    // (fewer when the machine is slow). Without jitter growth (max), 6 at most; sleeps
    // that shrink, or jitter taken off, 30 and more.
    expect(n).to.be.within(8, 24)
  })

  it('a dangling symlink in place of the lock is waited for (no spinning), then reported with no holder', async () => {
    symlinkSync(join(dir, 'nowhere'), path)
    const {n, result} = await countingOpens(path, () => acquireLock(target, {timeoutMs: 300}))
    expect((result as PsbError).message).to.equal(timedOut())
    expect(n).to.be.within(2, 20)
    expect(lstatSync(path).isSymbolicLink()).to.equal(true)
  })

  it('a lock it cannot read, or cannot create, is an error that names it (FileWriteFailed)', async () => {
    mkdirSync(path)
    const unreadable = await rejection(acquireLock(target, {timeoutMs: 300}))
    expect(unreadable.message).to.equal(`Cannot read the lock file ${path}: EISDIR: illegal operation on a directory, read`)
    expect(unreadable.code).to.equal('FileWriteFailed')
    writeFileSync(join(dir, 'file'), 'x')
    const under = join(dir, 'file', 'credentials')
    const uncreatable = await rejection(acquireLock(under, {timeoutMs: 300}))
    expect(uncreatable.message).to.equal(`Cannot create the lock file ${under}.psb-lock: ENOTDIR: not a directory, open '${under}.psb-lock'`)
    expect(uncreatable.hint).to.equal(`Check that ${under}.psb-lock is a regular file you can write.`)
  })

  it('disk full while writing the lock: says so, and leaves no empty lock and no open file behind', async function () {
    const mnt = join(dir, 'full')
    mkdirSync(mnt)
    // Skip reason: mounting a small tmpfs needs root; CI runs as root.
    if (!mountTmpfs(mnt, '64k')) this.skip()
    try {
      fillUp(mnt)
      const fds = openFds()
      const e = await rejection(acquireLock(join(mnt, 'credentials'), {timeoutMs: 300}))
      expect(e.message).to.match(/^Cannot create the lock file .*credentials\.psb-lock: ENOSPC/)
      expect(e.hint).to.equal('The disk is full: free some space and run psb again.')
      expect(readdirSync(mnt)).to.deep.equal(['filler'])
      expect(openFds()).to.equal(fds)
    } finally {
      unmount(mnt)
    }
  })

  it('a stale lock it cannot move aside (a mount point: EBUSY) is an error that names it; the lock is kept', async function () {
    writeFileSync(path, lockBody(deadPid()))
    // Skip reason: bind mounts need root; CI runs as root.
    if (spawnSync('mount', ['--bind', path, path]).status !== 0) this.skip()
    try {
      const e = await rejection(acquireLock(target, {timeoutMs: 300}))
      expect(e.message).to.match(new RegExp(`^Cannot remove the stale lock ${path}: EBUSY: resource busy or locked, rename`))
      expect(e.code).to.equal('FileWriteFailed')
    } finally {
      spawnSync('umount', [path])
    }
    expect(JSON.parse(readFileSync(path, 'utf8')).nonce).to.equal('n0')
    expect(readdirSync(dir)).to.deep.equal(['credentials.psb-lock'])
  })

  describe('another writer between judging a stale lock and breaking it', () => {
    it('took the lock: its lock is put back and waited for, nothing is logged, nothing is left aside', async () => {
      writeFileSync(path, lockBody(deadPid()))
      const theirs = lockBody(process.pid)
      const {lines, logger} = infos()
      const e = await withFsHooks(
        {
          renameSync: (original, from, to) => {
            if (from === path && String(to).includes('.stale-') && readFileSync(path, 'utf8') !== theirs) writeFileSync(path, theirs)
            return original(from, to)
          },
        },
        () => rejection(acquireLock(target, {logger, timeoutMs: 300})),
      )
      expect(e.code).to.equal('FileLocked')
      expect(readFileSync(path, 'utf8')).to.equal(theirs)
      expect(readdirSync(dir)).to.deep.equal(['credentials.psb-lock'])
      expect(lines).to.deep.equal([])
    })

    it('removed it (before the move aside, or after it): the lock is taken', async () => {
      for (const when of ['before', 'after']) {
        writeFileSync(path, '')
        ago(path, 3000)
        const {lines, logger} = infos()
        const lock = await withFsHooks(
          {
            renameSync: (original, from, to) => {
              if (from !== path || !String(to).includes('.stale-')) return original(from, to)
              if (when === 'before') unlinkSync(path)
              const r = original(from, to)
              if (when === 'after') unlinkSync(String(to))
              return r
            },
          },
          () => acquireLock(target, {logger, timeoutMs: 2000}),
        )
        expect(lines, when).to.deep.equal([`Removed the stale lock ${path}: it is empty or unreadable.`])
        expect(lock.held()).to.equal(true)
        lock.release()
        expect(readdirSync(dir), when).to.deep.equal([])
      }
    })
  })

  it('withFileLock keeps its lock young while it holds it, stops when the lock is no longer its own, and releases it', async () => {
    let seen = ''
    await withFileLock(target, async (lock) => {
      ago(lock.path, 20_000)
      await sleep(2300)
      expect(Date.now() - statSync(lock.path).mtimeMs).to.be.lessThan(2500)
      writeFileSync(lock.path, 'someone else')
      ago(lock.path, 20_000)
      await sleep(2200)
      expect(Date.now() - statSync(lock.path).mtimeMs).to.be.greaterThan(19_000)
      seen = 'ran'
    })
    expect(seen).to.equal('ran')
    expect(readFileSync(path, 'utf8')).to.equal('someone else')
    unlinkSync(path)
    const r = await withFileLock(target, () => 42)
    expect(r).to.equal(42)
    expect(existsSync(path)).to.equal(false)
    const e = await withFileLock(target, () => {
      throw new Error('fn failed')
    }).catch((error: Error) => error)
    expect((e as Error).message).to.equal('fn failed')
    expect(existsSync(path)).to.equal(false)
  })
})

describe('lock: the one-shot lock (acquireOneShotLock)', () => {
  let dir: string
  let path: string
  let seen: Array<LockHolder | string | undefined>
  let child: ChildProcess | undefined
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'psb-oslock-'))
    path = join(dir, 'run.lock')
    seen = []
  })
  afterEach(() => {
    child?.kill('SIGKILL')
    child = undefined
    rmSync(dir, {recursive: true, force: true})
  })
  const opts = (over: Partial<OneShotLockOptions> = {}): OneShotLockOptions => ({
    name: 'test lock',
    command: 'test run',
    staleAfterMs: 60_000,
    lockedError: (p, h) => {
      seen.push(h)
      return new PsbError(`locked: ${p}`, {code: 'TestLocked'})
    },
    ...over,
  })
  const holder = (over: Partial<LockHolder>): LockHolder => ({pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), nonce: 'theirs', ...over})
  const write = (h: LockHolder | string) => writeFileSync(path, typeof h === 'string' ? h : JSON.stringify(h) + '\n')
  async function liveChild(): Promise<number> {
    child = spawn('sleep', ['30'], {stdio: 'ignore'})
    await new Promise((r) => child!.once('spawn', r))
    return child.pid!
  }

  it('creates the lock 0600 (its folder 0700), one fsynced JSON line naming this process; release removes it and its exit hook', async () => {
    path = join(dir, 'state', 'sub', 'run.lock')
    const fds = openFds()
    const exitHooks = process.listenerCount('exit')
    const events: string[] = []
    let fd = -1
    const lock = await withFsHooks(
      {
        openSync: (original, ...args) => {
          const r = original(...args)
          if (args[0] === path) fd = r as number
          return r
        },
        writeSync: (original, ...args) => (args[0] === fd && events.push('write'), original(...args)),
        fsyncSync: (original, ...args) => (args[0] === fd && events.push('fsync'), original(...args)),
        closeSync: (original, ...args) => (args[0] === fd && events.push('close'), original(...args)),
      },
      () => acquireOneShotLock(path, opts()),
    )
    expect(events).to.deep.equal(['write', 'fsync', 'close'])
    expect(statSync(path).mode & 0o777).to.equal(0o600)
    expect(statSync(join(dir, 'state')).mode & 0o777).to.equal(0o700)
    expect(statSync(join(dir, 'state', 'sub')).mode & 0o777).to.equal(0o700)
    expect(readFileSync(path, 'utf8')).to.equal(JSON.stringify(lock.holder) + '\n')
    expect(lock.path).to.equal(path)
    expect(lock.holder).to.deep.include({pid: process.pid, host: hostname(), command: 'test run', pidStart: processStartTime(process.pid)})
    expect(lock.holder.nonce).to.match(/^[0-9a-f]{16}$/)
    expect(Date.parse(lock.holder.startedAt)).to.be.within(Date.now() - 5000, Date.now())
    expect(process.listenerCount('exit')).to.equal(exitHooks + 1)
    lock.release()
    expect(existsSync(path)).to.equal(false)
    expect(process.listenerCount('exit')).to.equal(exitHooks)
    lock.release()
    expect(openFds()).to.equal(fds)
  })

  it('release leaves a lock that is no longer its own (another nonce, unreadable) and does not mind a missing one', () => {
    for (const replacement of [(h: LockHolder) => ({...h, nonce: 'someone else'}), () => 'garbage']) {
      const lock = acquireOneShotLock(path, opts())
      const now = replacement(lock.holder)
      write(now)
      lock.release()
      expect(existsSync(path)).to.equal(true)
      unlinkSync(path)
    }
    const lock = acquireOneShotLock(path, opts())
    unlinkSync(path)
    lock.release()
    expect(existsSync(path)).to.equal(false)
  })

  it('a live holder makes it fail at once, with that holder; its lock is kept', async () => {
    const pid = await liveChild()
    const live = [
      holder({}),
      holder({pid}),
      holder({pid, pidStart: processStartTime(pid)}),
      holder({pid: deadPid(), host: 'other-host'}),
      holder({pid, startedAt: 'not a time'}),
    ]
    for (const h of live) {
      write(h)
      const {n, result} = await countingOpens(path, () => acquireOneShotLock(path, opts()))
      expect((result as PsbError).code, JSON.stringify(h)).to.equal('TestLocked')
      expect(n).to.equal(1)
      expect(seen.pop()).to.deep.equal(h)
      expect(JSON.parse(readFileSync(path, 'utf8'))).to.deep.equal(h)
    }
  })

  it('breaks a stale holder: a dead pid here, a pid now owned by a process started at another time, anyone who started longer ago than staleAfterMs', async () => {
    const pid = await liveChild()
    const old = new Date(Date.now() - 120_000).toISOString()
    const stale = [
      holder({pid: deadPid()}),
      holder({pid, pidStart: 'linux:1'}),
      holder({pid: deadPid(), host: 'other-host', startedAt: old}),
      holder({pid: process.pid, startedAt: old}),
    ]
    const fds = openFds()
    for (const h of stale) {
      write(h)
      const lock = acquireOneShotLock(path, opts())
      expect(lock.holder.pid, JSON.stringify(h)).to.equal(process.pid)
      expect(readdirSync(dir)).to.deep.equal(['run.lock'])
      lock.release()
    }
    expect(seen).to.deep.equal([])
    expect(openFds(), 'the break lock is closed').to.equal(fds)
  })

  it('a lock being written (empty, not JSON, no number pid, no nonce) fails with no holder while young; older than 5 s it is broken', () => {
    for (const body of ['', 'not json', JSON.stringify({pid: '12', nonce: 'n', host: 'other-host'}), JSON.stringify({pid: 12, host: 'other-host', startedAt: new Date().toISOString()})]) {
      write(body)
      expect(thrown(() => acquireOneShotLock(path, opts())).code, body).to.equal('TestLocked')
      expect(seen.pop(), body).to.equal(undefined)
      expect(readFileSync(path, 'utf8')).to.equal(body)
      ago(path, 6000)
      acquireOneShotLock(path, opts()).release()
      expect(existsSync(path)).to.equal(false)
    }
  })

  it('while another run breaks the same stale lock (a fresh break lock), gives up after 20 tries, touching nothing; a break lock older than 10 s is removed', async () => {
    const stale = holder({pid: deadPid()})
    write(stale)
    writeFileSync(`${path}.break`, '')
    const {n, result} = await countingOpens(path, () => acquireOneShotLock(path, opts()))
    expect((result as PsbError).code).to.equal('TestLocked')
    expect(n).to.equal(20)
    expect(seen).to.deep.equal([undefined])
    expect(JSON.parse(readFileSync(path, 'utf8'))).to.deep.equal(stale)
    expect(existsSync(`${path}.break`)).to.equal(true)
    ago(`${path}.break`, 11_000)
    const lock = acquireOneShotLock(path, opts())
    expect(readdirSync(dir)).to.deep.equal(['run.lock'])
    lock.release()
  })

  it('a dangling symlink in place of the lock gets 20 tries, then fails with no holder; a folder fails at once while young', async () => {
    symlinkSync(join(dir, 'nowhere'), path)
    const dangling = await countingOpens(path, () => acquireOneShotLock(path, opts()))
    expect((dangling.result as PsbError).code).to.equal('TestLocked')
    expect(dangling.n).to.equal(20)
    expect(lstatSync(path).isSymbolicLink()).to.equal(true)
    unlinkSync(path)
    mkdirSync(path)
    const folder = await countingOpens(path, () => acquireOneShotLock(path, opts()))
    expect((folder.result as PsbError).code).to.equal('TestLocked')
    expect(folder.n).to.equal(1)
    expect(seen).to.deep.equal([undefined, undefined])
    expect(statSync(path).isDirectory()).to.equal(true)
  })

  it('a lock path it cannot even look at (a symlink loop) is never broken, however old', () => {
    symlinkSync('run.lock', path)
    const old = new Date(Date.now() - 60_000)
    lutimesSync(path, old, old)
    expect(thrown(() => acquireOneShotLock(path, opts())).code).to.equal('TestLocked')
    expect(seen).to.deep.equal([undefined])
    expect(lstatSync(path).isSymbolicLink()).to.equal(true)
  })

  it('the lock changed while it was being broken (a new holder took it): the new lock is kept and its holder named', async () => {
    for (const stale of [JSON.stringify(holder({pid: deadPid()})) + '\n', '']) {
      write(stale)
      if (stale === '') ago(path, 6000)
      const theirs = holder({nonce: 'new holder'})
      const e = await withFsHooks(
        {
          openSync: (original, ...args) => {
            if (args[0] === `${path}.break`) write(theirs)
            return original(...args)
          },
        },
        () => thrown(() => acquireOneShotLock(path, opts())),
      )
      expect(e.code).to.equal('TestLocked')
      expect(seen.pop()).to.deep.equal(theirs)
      expect(JSON.parse(readFileSync(path, 'utf8'))).to.deep.equal(theirs)
      expect(readdirSync(dir)).to.deep.equal(['run.lock'])
    }
  })

  it('every error says what failed, why, and that nothing was changed', () => {
    const long = join(dir, 'x'.repeat(256))
    const e = thrown(() => acquireOneShotLock(long, opts()))
    expect(e.message).to.equal(`Cannot create the test lock ${long}: ENAMETOOLONG: name too long, open '${long}'. Nothing was changed.`)
    expect(e.code).to.equal('LockFailed')
    expect(e.hint).to.equal(`Check that ${long} is a regular file you can write.`)
    expect(code(e.cause)).to.equal('ENAMETOOLONG')
    // A lock name that fits, whose break lock (".break" added) does not.
    const near = join(dir, 'y'.repeat(252))
    writeFileSync(near, JSON.stringify(holder({pid: deadPid()})))
    const b = thrown(() => acquireOneShotLock(near, opts()))
    expect(b.message).to.equal(`Cannot create the break lock ${near}.break: ENAMETOOLONG: name too long, open '${near}.break'`)
    expect(b.code).to.equal('FileWriteFailed')
    writeFileSync(join(dir, 'file'), 'x')
    const under = join(dir, 'file', 'sub', 'run.lock')
    expect(thrown(() => acquireOneShotLock(under, opts())).message).to.match(/^Cannot create the folder .*file\/sub: ENOTDIR/)
  })

  it('disk full while writing the lock: "the disk is full", no lock and no open file left', async function () {
    const mnt = join(dir, 'full')
    mkdirSync(mnt)
    // Skip reason: mounting a small tmpfs needs root; CI runs as root.
    if (!mountTmpfs(mnt, '64k')) this.skip()
    try {
      fillUp(mnt)
      const full = join(mnt, 'run.lock')
      const fds = openFds()
      const e = thrown(() => acquireOneShotLock(full, opts()))
      expect(e.message).to.equal(`The disk is full: cannot create the test lock ${full}. Nothing was changed.`)
      expect(e.code).to.equal('LockFailed')
      expect(e.hint).to.equal('The disk is full: free some space and run psb again.')
      expect(code(e.cause)).to.equal('ENOSPC')
      expect(readdirSync(mnt)).to.deep.equal(['filler'])
      expect(openFds()).to.equal(fds)
    } finally {
      unmount(mnt)
    }
  })
})
