/**
 * File guarantees that a mutant of src/lib/files/atomic.ts or journal.ts used to get past (issue
 * 10, "Test strength"): the atomic write (temp file, fsync, rename, fsync of the folder) and
 * the rotation lock. The mutant each test kills is in the comment above it.
 */
import {expect} from 'chai'
import fs, {chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {syncBuiltinESMExports} from 'node:module'
import {hostname, tmpdir} from 'node:os'
import {basename, dirname, join} from 'node:path'
import {listBackups, lockPathFor, lockedUpdate, writeFileAtomic} from '../../src/lib/files/atomic.js'
import {acquireRotationLock, lockPath} from '../../src/lib/keys/journal.js'
import {isPsbError, type PsbError} from '../../src/lib/errors.js'

type FsName = 'openSync' | 'writeSync' | 'fsyncSync' | 'closeSync' | 'renameSync'

/**
 * Records the order of the fs calls made while `fn` runs, by path (file descriptors are
 * named by the path they were opened with). files.ts imports these functions by name:
 * syncBuiltinESMExports() makes its bindings see the wrappers.
 */
function recordFsCalls(fn: () => void): string[] {
  const events: string[] = []
  const paths = new Map<number, string>()
  const originals = new Map<FsName, (...args: never[]) => unknown>()
  const wrap = <K extends FsName>(name: K, describe: (args: unknown[], result: unknown) => string | undefined) => {
    const original = fs[name] as (...args: unknown[]) => unknown
    originals.set(name, original as never)
    ;(fs as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      const result = original(...args)
      const e = describe(args, result)
      if (e) events.push(e)
      return result
    }
  }
  wrap('openSync', (args, fd) => {
    paths.set(fd as number, String(args[0]))
    return `open ${String(args[0])}`
  })
  wrap('writeSync', (args) => `write ${paths.get(args[0] as number)}`)
  wrap('fsyncSync', (args) => `fsync ${paths.get(args[0] as number)}`)
  wrap('closeSync', (args) => `close ${paths.get(args[0] as number)}`)
  wrap('renameSync', (args) => `rename ${String(args[0])} -> ${String(args[1])}`)
  syncBuiltinESMExports()
  try {
    fn()
  } finally {
    for (const [name, original] of originals) (fs as unknown as Record<string, unknown>)[name] = original
    syncBuiltinESMExports()
  }
  return events
}

describe('files: the atomic write, step by step', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'psb-atomic-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  // Mutant: the fsync of the temp file before the rename is dropped (and: the folder's fsync
  // after it). A crash test cannot see this on a healthy disk; the order of calls can.
  it('writes a temp file beside the target, fsyncs it after its last write and before the rename, then fsyncs the folder', () => {
    const target = join(dir, 'credentials')
    writeFileSync(target, 'old\n', {mode: 0o600})
    const events = recordFsCalls(() => writeFileAtomic(target, 'new content\n'))
    const rename = events.findIndex((e) => e.startsWith('rename '))
    expect(rename, events.join('\n')).to.be.greaterThan(-1)
    const tmp = /^rename (\S+) -> (\S+)$/.exec(events[rename])!
    expect(tmp[2]).to.equal(target)
    expect(dirname(tmp[1])).to.equal(dir)
    expect(basename(tmp[1])).to.match(/^\.credentials\.psb-tmp-/)
    const lastWrite = events.lastIndexOf(`write ${tmp[1]}`)
    const fsyncTmp = events.indexOf(`fsync ${tmp[1]}`)
    expect(lastWrite, events.join('\n')).to.be.greaterThan(-1)
    expect(fsyncTmp, `fsync of the temp file, in:\n${events.join('\n')}`).to.be.greaterThan(lastWrite)
    expect(fsyncTmp).to.be.lessThan(rename)
    expect(events.indexOf(`close ${tmp[1]}`)).to.be.greaterThan(fsyncTmp).and.lessThan(rename)
    expect(events.indexOf(`fsync ${dir}`, rename), `fsync of the folder after the rename, in:\n${events.join('\n')}`).to.be.greaterThan(rename)
    expect(readFileSync(target, 'utf8')).to.equal('new content\n')
  })

  // Mutant: the file is written in place (writeFileSync on the target) instead of temp + rename.
  it('never writes into the existing file: a reader holding it open, and the backup (a hard link to it), keep the old bytes', async () => {
    const target = join(dir, 'credentials')
    const old = '[a]\naws_access_key_id = AKIAOLDOLDOLDOLDOLD1\n'
    writeFileSync(target, old, {mode: 0o600})
    const inode = statSync(target).ino
    const reader = openSync(target, 'r')
    try {
      const r = await lockedUpdate(target, () => '[a]\naws_access_key_id = AKIANEWNEWNEWNEWNEW2\n', {backup: true})
      expect(r.changed).to.equal(true)
      expect(readFileSync(r.backup!, 'utf8')).to.equal(old)
      const buf = Buffer.alloc(200)
      const n = readSync(reader, buf, 0, buf.length, 0)
      expect(buf.subarray(0, n).toString('utf8')).to.equal(old)
      expect(statSync(target).ino).not.to.equal(inode)
      expect(readFileSync(target, 'utf8')).to.equal('[a]\naws_access_key_id = AKIANEWNEWNEWNEWNEW2\n')
    } finally {
      closeSync(reader)
    }
  })
})

describe('rotation lock: a lock file being written', () => {
  let dir: string
  let cred: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'psb-rlock-'))
    cred = join(dir, 'credentials')
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  // Mutant: a fresh lock file that cannot be read yet (its holder is writing it) is broken.
  it('respects a fresh empty or unreadable lock (exit 11, the file kept); breaks one left for more than 5 s', () => {
    for (const content of ['', '{"pid": 12']) {
      writeFileSync(lockPath(cred), content)
      let err: unknown
      try {
        acquireRotationLock(cred).release()
      } catch (error) {
        err = error
      }
      expect(isPsbError(err), `lock content ${JSON.stringify(content)}`).to.equal(true)
      expect((err as PsbError).exitCode).to.equal(11)
      expect((err as PsbError).code).to.equal('RotationLocked')
      expect(readFileSync(lockPath(cred), 'utf8')).to.equal(content)
      const past = new Date(Date.now() - 6000)
      utimesSync(lockPath(cred), past, past)
      const lock = acquireRotationLock(cred)
      expect(lock.holder.pid).to.equal(process.pid)
      lock.release()
      expect(existsSync(lockPath(cred))).to.equal(false)
    }
  })
})

describe('files: lockedUpdate and writeFileAtomic, edge by edge', () => {
  let dir: string
  let target: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'psb-locked-'))
    target = join(dir, 'file')
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))
  const leftovers = () => readdirSync(dir).filter((n) => n !== 'file')

  it('tells update whether the file exists, creates nothing for an empty result, backs up only a non-empty file', async () => {
    const seen: boolean[] = []
    const none = await lockedUpdate(target, (_b, exists) => (seen.push(exists), ''))
    expect(none).to.include({changed: false, created: false})
    expect(existsSync(target)).to.equal(false)
    const dry = await lockedUpdate(target, (_b, exists) => (seen.push(exists), 'x\n'), {dryRun: true})
    expect(dry).to.include({changed: true, created: true})
    const dryEmpty = await lockedUpdate(target, (_b, exists) => (seen.push(exists), ''), {dryRun: true})
    expect(dryEmpty).to.include({changed: false, created: false})
    writeFileSync(target, '', {mode: 0o600})
    const fromEmpty = await lockedUpdate(target, (_b, exists) => (seen.push(exists), 'a\n'))
    expect(fromEmpty).to.include({changed: true, created: false})
    expect(fromEmpty.backup).to.equal(undefined)
    const dryExisting = await lockedUpdate(target, (_b, exists) => (seen.push(exists), 'b\n'), {dryRun: true})
    expect(dryExisting).to.include({changed: true, created: false})
    expect(seen).to.deep.equal([false, false, false, true, true])
    expect(leftovers()).to.deep.equal([])
  })

  it('writes the mode asked for, exactly, whatever the umask; warns only when it narrows a wider mode', async () => {
    const old = process.umask(0o077)
    try {
      const r = await lockedUpdate(target, () => 'a\n', {mode: 0o640})
      expect(statSync(target).mode & 0o777).to.equal(0o640)
      expect(r.warnings).to.deep.equal([])
      writeAtomicWithMode(0o644)
      expect(statSync(target).mode & 0o777).to.equal(0o644)
    } finally {
      process.umask(old)
    }
    writeFileSync(target, 'a\n')
    chmodSync(target, 0o600)
    const same = await lockedUpdate(target, () => 'a\n')
    const changed = await lockedUpdate(target, () => 'b\n')
    expect([...same.warnings, ...changed.warnings]).to.deep.equal([])
    const dry = await lockedUpdate(target, () => 'c\n', {dryRun: true})
    expect(dry.warnings).to.deep.equal([])
    chmodSync(target, 0o644)
    const wide = await lockedUpdate(target, () => 'c\n', {dryRun: true})
    expect(wide.warnings.join()).to.match(/has mode 0644 \(readable by other users\); psb would narrow it to 0600/)
    expect(statSync(target).mode & 0o777).to.equal(0o644)
    expect(readFileSync(target, 'utf8')).to.equal('b\n')
  })

  function writeAtomicWithMode(mode: number): void {
    writeFileAtomic(target, 'w\n', {mode})
  }

  it('keeps PSB_BACKUPS_KEEP backups, and pauses PSB_TEST_PAUSE_BEFORE_RENAME_MS before the rename', async () => {
    writeFileSync(target, '0\n', {mode: 0o600})
    const env = {PSB_BACKUPS_KEEP: '2'}
    for (let i = 1; i <= 4; i++) await lockedUpdate(target, () => `${i}\n`, {env})
    expect(listBackups(target).map((b) => readFileSync(b, 'utf8'))).to.deep.equal(['2\n', '3\n'])
    const t0 = Date.now()
    writeFileAtomic(target, 'paused\n', {env: {PSB_TEST_PAUSE_BEFORE_RENAME_MS: '300'}})
    expect(Date.now() - t0).to.be.at.least(280)
  })

  it('a rename that fails leaves no temp file and says what failed (FileWriteFailed)', () => {
    mkdirSync(join(target, 'busy'), {recursive: true})
    let err: unknown
    try {
      writeFileAtomic(target, 'x\n')
    } catch (error) {
      err = error
    }
    expect(isPsbError(err)).to.equal(true)
    expect((err as PsbError).code).to.equal('FileWriteFailed')
    expect((err as PsbError).message).to.contain(`Cannot write ${target}`)
    expect(leftovers()).to.deep.equal([])
  })

  it('gives up waiting for a live lock after the timeout given in its lock options', async () => {
    writeFileSync(lockPathFor(target), JSON.stringify({pid: process.pid, host: hostname(), nonce: 'live', time: Date.now()}))
    const t0 = Date.now()
    const e = await lockedUpdate(target, () => 'x\n', {lock: {timeoutMs: 200}}).then(
      () => undefined,
      (error: unknown) => error,
    )
    expect((e as PsbError).code).to.equal('FileLocked')
    expect(Date.now() - t0).to.be.lessThan(5000)
  })

  it('keeps the owner of the file it replaces (run as root)', async function () {
    // Skip reason: only root can give a file another owner to keep; CI runs as root.
    if (process.getuid?.() !== 0) this.skip()
    for (const [uid, gid] of [[1234, 5678], [1234, 0], [0, 5678]]) {
      writeFileSync(target, 'a\n', {mode: 0o600})
      chownSync(target, uid, gid)
      await lockedUpdate(target, () => `${uid}:${gid}\n`)
      const st = statSync(target)
      expect([st.uid, st.gid], `owner ${uid}:${gid}`).to.deep.equal([uid, gid])
    }
  })
})
