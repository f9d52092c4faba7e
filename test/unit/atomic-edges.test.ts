/**
 * What a mutant of src/lib/files/atomic.ts could change without a test noticing (issue 10,
 * "Test strength"), in process: files it cannot open or read, descriptors left open, a
 * folder fsync a platform refuses, a disk that fills up mid-write, backup names that are
 * taken, backups copied across file systems (owner, mode, leftovers) or that cannot be
 * written, modes narrowed or refused, and a rename that fails after the backup was made.
 * Real files and real OS errors (a socket, /proc/self/mem, a small tmpfs, bind mounts);
 * fs hooks only for the folder-fsync errors of other platforms.
 */
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {backupDir, listBackups, lockedUpdate, lockedUpdateBytes, writeFileAtomic} from '../../src/lib/files/atomic.js'
import {rejection} from '../support/errors.js'
import {fillUp, mountTmpfs, openFds, osError, unmount, withFsHooks} from '../support/fs-hook.js'

const deadPid = (): number => spawnSync('true').pid!
const mode = (p: string) => statSync(p).mode & 0o777
const root = process.getuid?.() === 0
const stamp = (ms: number): string =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.(\d{3})Z$/, '$1Z')

describe('atomic writer: edges', () => {
  let dir: string
  let target: string
  let mounts: string[]
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'psb-edges-'))
    target = join(dir, 'credentials')
    mounts = []
  })
  afterEach(() => {
    for (const m of mounts.reverse()) unmount(m)
    rmSync(dir, {recursive: true, force: true})
  })
  /** A 64 KiB tmpfs at dir/<name> (skips the test where mounting is not allowed). */
  function tmpfs(ctx: Mocha.Context, name: string): string {
    const mnt = join(dir, name)
    mkdirSync(mnt)
    // Skip reason: mounting needs root; CI runs as root.
    if (!mountTmpfs(mnt, '64k')) ctx.skip()
    mounts.push(mnt)
    return mnt
  }
  /** Bind-mounts the file `path` onto itself, read-only when asked (skips where not allowed). */
  function bindMount(ctx: Mocha.Context, path: string, readOnly: boolean): void {
    // Skip reason: bind mounts need root; CI runs as root.
    if (spawnSync('mount', ['--bind', path, path]).status !== 0) ctx.skip()
    mounts.push(path)
    if (readOnly && spawnSync('mount', ['-o', 'remount,bind,ro', path]).status !== 0) ctx.skip()
  }

  it('a file it cannot open (a socket) or read (/proc/self/mem) is an error naming it; nothing is written, nothing left open', async () => {
    const sock = join(dir, 'sock')
    const server = createServer()
    await new Promise<void>((r) => server.listen(sock, r))
    try {
      for (const dryRun of [false, true]) {
        const e = await rejection(lockedUpdate(sock, () => 'x\n', {dryRun}))
        expect(e.message).to.equal(`Cannot read ${sock}: ENXIO: no such device or address, open '${sock}'`)
        expect(e.code).to.equal('FileWriteFailed')
        expect(lstatSync(sock).isSocket()).to.equal(true)
      }
    } finally {
      server.close()
    }
    const fds = openFds()
    const mem = await rejection(lockedUpdate('/proc/self/mem', () => 'x\n', {dryRun: true}))
    expect(mem.message).to.equal('Cannot read /proc/self/mem: EIO: i/o error, read')
    expect(openFds()).to.equal(fds)
  })

  it('closes every file it opens (the file, its temp copy, the folder it fsyncs)', async () => {
    writeFileSync(target, 'a\n', {mode: 0o600})
    const fds = openFds()
    await lockedUpdate(target, () => 'b\n')
    writeFileAtomic(target, 'c\n')
    await lockedUpdate(target, () => 'c\n', {dryRun: true})
    expect(openFds()).to.equal(fds)
    expect(readFileSync(target, 'utf8')).to.equal('c\n')
  })

  it("a folder fsync the platform refuses (EISDIR, EINVAL, EPERM, EBADF) still writes; any other error is reported", async () => {
    for (const code of ['EISDIR', 'EINVAL', 'EPERM', 'EBADF', 'EIO']) {
      for (const step of ['openSync', 'fsyncSync'] as const) {
        let dirFd = -1
        const fds = openFds()
        const content = `${code} ${step}\n`
        const outcome = await withFsHooks(
          {
            openSync: (original, ...args) => {
              if (args[0] === dir && step === 'openSync') throw osError(code)
              const fd = original(...args)
              if (args[0] === dir) dirFd = fd as number
              return fd
            },
            fsyncSync: (original, ...args) => {
              if (args[0] === dirFd && step === 'fsyncSync') throw osError(code)
              return original(...args)
            },
          },
          () => {
            try {
              writeFileAtomic(target, content)
              return 'written'
            } catch (error) {
              return (error as Error).message
            }
          },
        )
        expect(outcome, `${code} at ${step}`).to.equal(code === 'EIO' ? `Cannot write ${target}: EIO: injected` : 'written')
        expect(readFileSync(target, 'utf8')).to.equal(content)
        expect(openFds(), `${code} at ${step}`).to.equal(fds)
      }
    }
  })

  it('a disk that fills up mid-write: "disk full", the target kept, no temp file and nothing left open', async function () {
    const mnt = tmpfs(this, 'small')
    const file = join(mnt, 'credentials')
    writeFileSync(file, 'old\n', {mode: 0o600})
    writeFileSync(join(mnt, 'filler'), Buffer.alloc(44 * 1024))
    const fds = openFds()
    let err: unknown
    try {
      writeFileAtomic(file, Buffer.alloc(40 * 1024, 0x61))
    } catch (error) {
      err = error
    }
    expect((err as Error).message).to.match(/^Cannot write .*credentials: ENOSPC: no space left on device, write$/)
    expect((err as {hint: string}).hint).to.equal('The disk is full: free some space and run psb again.')
    expect(readFileSync(file, 'utf8')).to.equal('old\n')
    expect(readdirSync(mnt).sort()).to.deep.equal(['credentials', 'filler'])
    expect(openFds()).to.equal(fds)
  })

  it('writeFileAtomic first removes the temp files a dead writer left beside the target', () => {
    const left = join(dir, `.credentials.psb-tmp-${deadPid()}-ab12`)
    writeFileSync(left, 'secret', {mode: 0o600})
    writeFileAtomic(target, 'x\n')
    expect(readdirSync(dir)).to.deep.equal(['credentials'])
  })

  it('a backup name already taken (same millisecond) gets the next free number; no other backup is touched', async () => {
    writeFileSync(target, 'old\n', {mode: 0o600})
    // Another writer made this millisecond's backup and its "-1" just before this one looks.
    const taken: string[] = []
    const r = await withFsHooks(
      {
        existsSync: (original, ...args) => {
          const p = String(args[0])
          if (taken.length === 0 && /\.psb-backup-\d{8}T\d{9}Z$/.test(p)) {
            for (const name of [p, `${p}-1`]) writeFileSync(name, 'decoy')
            taken.push(p, `${p}-1`)
          }
          return original(...args)
        },
      },
      () => lockedUpdate(target, () => 'new\n'),
    )
    expect(r.backup).to.equal(`${taken[0]}-2`)
    expect(readFileSync(r.backup!, 'utf8')).to.equal('old\n')
    expect(taken.map((p) => readFileSync(p, 'utf8'))).to.deep.equal(['decoy', 'decoy'])
  })

  it('a backup copy that cannot be renamed into place (a folder appeared there) is an error; no temp file is left', async () => {
    writeFileSync(target, 'old\n', {mode: 0o600})
    // Another process puts a folder at this millisecond's backup name just after psb looked.
    let base = ''
    const e = await withFsHooks(
      {
        existsSync: (original, ...args) => {
          const r = original(...args)
          if (!base && /\.psb-backup-\d{8}T\d{9}Z$/.test(String(args[0]))) {
            base = String(args[0])
            mkdirSync(join(base, 'inside'), {recursive: true})
          }
          return r
        },
      },
      () => rejection(lockedUpdate(target, () => 'new\n')),
    )
    expect(e.message).to.match(new RegExp(`^Cannot write the backup ${base}: `))
    expect(readFileSync(target, 'utf8')).to.equal('old\n')
    expect(readdirSync(dir).sort()).to.deep.equal(['credentials', base.slice(dir.length + 1)].sort())
    expect(readdirSync(base)).to.deep.equal(['inside'])
  })

  it('listBackups: oldest first whatever order the folder lists them in; a name with anything before the time is not a backup', () => {
    // Made in an order that goes up and down (readdirSync lists names sorted anyway).
    const stamps = Array.from({length: 12}, (_, i) => stamp(Date.UTC(2026, 0, 1) + ((i * 5) % 12) * 86_400_000 + i))
    for (const s of stamps) writeFileSync(`${target}.psb-backup-${s}`, s)
    writeFileSync(`${target}.psb-backup-x${stamps[0]}`, 'not a backup')
    const listed = listBackups(target).map((p) => p.slice(target.length + '.psb-backup-'.length))
    expect(listed).to.deep.equal([...stamps].sort())
  })

  it('the backup is the old file itself (a hard link), narrowed to 0600 first', async () => {
    writeFileSync(target, 'old\n')
    chmodSync(target, 0o644)
    const ino = statSync(target).ino
    const r = await lockedUpdate(target, () => 'new\n')
    expect(statSync(r.backup!).ino).to.equal(ino)
    expect(mode(r.backup!)).to.equal(0o600)
    expect(readFileSync(r.backup!, 'utf8')).to.equal('old\n')
    expect(mode(target)).to.equal(0o600)
  })

  it("across file systems the backup is a copy: 0600, the file's owner, and a dead writer's copy left there is removed", async function () {
    const mnt = tmpfs(this, 'dotfiles')
    const real = join(mnt, 'credentials')
    writeFileSync(real, 'old\n', {mode: 0o600})
    if (root) chownSync(real, 1234, 5678)
    const link = join(dir, 'credentials-link')
    symlinkSync(real, link)
    const env = {XDG_STATE_HOME: join(dir, 'state')}
    const bdir = backupDir(link, env)
    mkdirSync(bdir, {recursive: true})
    const left = join(bdir, `.credentials.psb-backup-20261128T120000000Z.psb-tmp-${deadPid()}-ab`)
    writeFileSync(left, 'secret')
    const r = await lockedUpdate(link, () => 'new\n', {env})
    expect(r.backup!.startsWith(bdir + '/')).to.equal(true)
    expect(readFileSync(r.backup!, 'utf8')).to.equal('old\n')
    expect(mode(r.backup!)).to.equal(0o600)
    if (root) expect([statSync(r.backup!).uid, statSync(r.backup!).gid]).to.deep.equal([1234, 5678])
    expect(existsSync(left)).to.equal(false)
    expect(readdirSync(bdir)).to.have.length(1)
    expect(readFileSync(real, 'utf8')).to.equal('new\n')
  })

  it('a backup copy that cannot be written (disk full): nothing is written, the file keeps its bytes and its mode', async function () {
    const mnt = tmpfs(this, 'state')
    writeFileSync(target, 'old\n')
    chmodSync(target, 0o644)
    const link = join(dir, 'link')
    symlinkSync(target, link)
    const env = {XDG_STATE_HOME: mnt}
    const bdir = backupDir(link, env)
    mkdirSync(bdir, {recursive: true})
    fillUp(mnt)
    const e = await rejection(lockedUpdate(link, () => 'new\n', {env}))
    expect(e.message).to.match(new RegExp(`^Cannot write the backup ${bdir}/credentials\\.psb-backup-\\d{8}T\\d{9}Z: ENOSPC`))
    expect(e.hint).to.equal('The disk is full: free some space and run psb again.')
    expect(readFileSync(target, 'utf8')).to.equal('old\n')
    expect(mode(target)).to.equal(0o644)
    expect(readdirSync(bdir)).to.deep.equal([])
    expect(readdirSync(dir).sort()).to.deep.equal(['credentials', 'link', 'state'])
  })

  it('a rename that fails after the backup was made: the backup is removed and the mode it narrowed is put back', async function () {
    writeFileSync(target, 'old\n')
    chmodSync(target, 0o644)
    bindMount(this, target, false)
    const e = await rejection(lockedUpdate(target, () => 'new\n'))
    expect(e.message).to.match(/^Cannot write .*credentials: EBUSY/)
    expect(readFileSync(target, 'utf8')).to.equal('old\n')
    expect(mode(target)).to.equal(0o644)
    expect(readdirSync(dir)).to.deep.equal(['credentials'])
  })

  it('a mode it cannot narrow (read-only mount) is an error naming the file, with a hint', async function () {
    writeFileSync(target, 'a\n')
    chmodSync(target, 0o644)
    bindMount(this, target, true)
    const e = await rejection(lockedUpdate(target, () => 'a\n'))
    expect(e.message).to.equal(`Cannot change the mode of ${target}: EROFS: read-only file system, chmod '${target}'`)
    expect(e.hint).to.equal('The file system is read-only: point AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE at a writable place.')
    expect(mode(target)).to.equal(0o644)
  })

  it('unchanged text keeps bytes that are not UTF-8 (nothing is written)', async () => {
    const bytes = Buffer.from([0x23, 0x20, 0xe9, 0xff, 0x0a])
    writeFileSync(target, bytes, {mode: 0o600})
    const r = await lockedUpdate(target, (text) => text)
    expect(r.changed).to.equal(false)
    expect(r.backup).to.equal(undefined)
    expect(readFileSync(target).equals(bytes)).to.equal(true)
  })

  it('a write that makes no backup (an empty file) prunes no backups', async () => {
    writeFileSync(target, 'v0\n', {mode: 0o600})
    for (let i = 1; i <= 4; i++) await lockedUpdate(target, () => `v${i}\n`, {keepBackups: 10})
    expect(listBackups(target)).to.have.length(4)
    writeFileSync(target, '')
    const r = await lockedUpdate(target, () => 'x\n', {keepBackups: 2})
    expect(r.backup).to.equal(undefined)
    expect(listBackups(target)).to.have.length(4)
  })

  it('narrows a wider mode to the mode asked for (written or not), and says so; a read-only file keeps lacking its write bit', async () => {
    writeFileSync(target, 'a\n')
    chmodSync(target, 0o644)
    const written = await lockedUpdate(target, () => 'b\n', {mode: 0o640})
    expect(mode(target)).to.equal(0o640)
    expect(written.warnings).to.deep.equal([`${target} had mode 0644 (readable by other users); psb narrowed it to 0640.`])
    chmodSync(target, 0o666)
    const kept = await lockedUpdate(target, () => 'b\n', {mode: 0o640})
    expect(mode(target)).to.equal(0o640)
    expect(kept.warnings).to.deep.equal([`${target} had mode 0666 (readable by other users); psb narrowed it to 0640.`])
    chmodSync(target, 0o444)
    const readOnly = await lockedUpdate(target, () => 'b\n')
    expect(mode(target)).to.equal(0o400)
    expect(readOnly.warnings).to.deep.equal([`${target} had mode 0444 (readable by other users); psb narrowed it to 0400.`])
  })

  it('refuses to change a file its owner cannot write: what, why, what to do, and the file untouched', async () => {
    writeFileSync(target, 'a\n')
    chmodSync(target, 0o400)
    const e = await rejection(lockedUpdateBytes(target, () => Buffer.from('b\n')))
    expect(e.message).to.equal(`${target} is read-only (mode 0400): its owner has no write permission, so psb leaves it as it is. Nothing was written.`)
    expect(e.code).to.equal('FileReadOnly')
    expect(e.exitCode).to.equal(1)
    expect(e.hint).to.equal(`If psb should change it, make it writable first: chmod u+w ${target}`)
    expect(e.data).to.deep.equal({path: target})
    expect(readFileSync(target, 'utf8')).to.equal('a\n')
    expect(readdirSync(dir)).to.deep.equal(['credentials'])
  })
})
