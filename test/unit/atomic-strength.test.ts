/**
 * What a mutant of src/lib/files/atomic.ts could change on the error paths without the
 * writer's tests noticing: the error each OS failure becomes (its hint says what to do),
 * symlink resolution and its limits, the folder it creates, and a target that is no file.
 */
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync} from 'node:fs'
import {homedir, tmpdir} from 'node:os'
import {join} from 'node:path'
import {backupDir, ensureDir, fileError, listBackups, lockedUpdate, removeStaleTemps, resolveSymlinks, stateDir} from '../../src/lib/files/atomic.js'
import {PsbError} from '../../src/lib/errors.js'
import {rejection, thrown} from '../support/errors.js'

const osError = (code: string) => Object.assign(new Error(`${code}: it failed`), {code})

describe('atomic writer: error paths and symlinks', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'psb-atomic-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('fileError names the action, the file and the OS reason, and hints per cause', () => {
    const hints: Record<string, string> = {
      EACCES: 'Check the owner and permissions of /x/f and its folder (ls -l), or run psb as the user who owns them.',
      EPERM: 'Check the owner and permissions of /x/f and its folder (ls -l), or run psb as the user who owns them.',
      ENOSPC: 'The disk is full: free some space and run psb again.',
      EROFS: 'The file system is read-only: point AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE at a writable place.',
      EIO: 'Check that /x/f is a regular file you can write.',
    }
    for (const [code, hint] of Object.entries(hints)) {
      const e = fileError('write', '/x/f', osError(code))
      expect(e.message, code).to.equal(`Cannot write /x/f: ${code}: it failed`)
      expect(e.hint, code).to.equal(hint)
      expect(e.code).to.equal('FileWriteFailed')
      expect(e.data).to.deep.equal({path: '/x/f'})
      expect(e.exitCode).to.equal(1)
    }
    const own = new PsbError('already said', {code: 'Other'})
    expect(fileError('write', '/x/f', own)).to.equal(own)
  })

  it('resolveSymlinks follows a chain (relative links too) to its end, also a dangling one', () => {
    writeFileSync(join(dir, 'real'), 'x')
    mkdirSync(join(dir, 'sub'))
    symlinkSync('../real', join(dir, 'sub', 'one'))
    symlinkSync(join(dir, 'sub', 'one'), join(dir, 'two'))
    expect(resolveSymlinks(join(dir, 'two'))).to.equal(join(dir, 'real'))
    symlinkSync('missing', join(dir, 'dangling'))
    expect(resolveSymlinks(join(dir, 'dangling'))).to.equal(join(dir, 'missing'))
    expect(resolveSymlinks(join(dir, 'real'))).to.equal(join(dir, 'real'))
  })

  it('resolveSymlinks stops a loop with a clear error, and reports a path it cannot look at', () => {
    symlinkSync('b', join(dir, 'a'))
    symlinkSync('a', join(dir, 'b'))
    const loop = thrown(() => resolveSymlinks(join(dir, 'a')))
    expect(loop.message).to.equal(`Too many levels of symbolic links at ${join(dir, 'a')}.`)
    expect(loop.hint).to.equal(`Check the symlinks with ls -l ${join(dir, 'a')}.`)
    expect(loop.code).to.equal('FileWriteFailed')
    // A chain of 39 links resolves; one of 40 is "too many" (the limit of 40 lookups).
    writeFileSync(join(dir, 'end'), 'x')
    let next = 'end'
    for (let i = 0; i < 40; i++) {
      symlinkSync(next, join(dir, `l${i}`))
      next = `l${i}`
    }
    expect(resolveSymlinks(join(dir, 'l38'))).to.equal(join(dir, 'end'))
    expect(thrown(() => resolveSymlinks(join(dir, 'l39'))).message).to.match(/^Too many levels of symbolic links/)
    writeFileSync(join(dir, 'file'), 'x')
    const through = thrown(() => resolveSymlinks(join(dir, 'file', 'below')))
    expect(through.message).to.match(/^Cannot read .*file\/below: .*ENOTDIR/)
  })

  it('ensureDir creates missing parents 0700, and names the folder when something is in the way', () => {
    ensureDir(join(dir, 'a', 'b'))
    expect(statSync(join(dir, 'a')).mode & 0o777).to.equal(0o700)
    expect(statSync(join(dir, 'a', 'b')).mode & 0o777).to.equal(0o700)
    writeFileSync(join(dir, 'blocker'), 'x')
    const e = thrown(() => ensureDir(join(dir, 'blocker', 'c')))
    expect(e.message).to.match(/^Cannot create the folder .*blocker\/c: /)
  })

  it('a target that is a folder is not written: "is not a regular file", with a hint', async () => {
    mkdirSync(join(dir, 'credentials'))
    const e = await rejection(lockedUpdate(join(dir, 'credentials'), () => 'x'))
    expect(e.message).to.match(/credentials is not a regular file\./)
    expect(e.hint).to.equal('Point AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE at a regular file.')
    expect(e.code).to.equal('FileWriteFailed')
  })
  it('stateDir: an absolute XDG_STATE_HOME, else ~/.local/state (HOME, else the OS home)', () => {
    expect(stateDir({XDG_STATE_HOME: '/xdg', HOME: '/h'})).to.equal('/xdg/psb')
    expect(stateDir({XDG_STATE_HOME: 'relative', HOME: '/h'})).to.equal('/h/.local/state/psb')
    expect(stateDir({HOME: '/h'})).to.equal('/h/.local/state/psb')
    expect(stateDir({})).to.equal(join(homedir(), '.local', 'state', 'psb'))
  })

  it('backupDir: beside a plain file; for a symlink, a folder in the state folder named after the real file and a hash of its path', () => {
    writeFileSync(join(dir, 'real'), 'x')
    symlinkSync(join(dir, 'real'), join(dir, 'link'))
    const env = {XDG_STATE_HOME: join(dir, 'state')}
    expect(backupDir(join(dir, 'real'), env)).to.equal(dir)
    const id = createHash('sha256').update(join(dir, 'real')).digest('hex').slice(0, 16)
    expect(backupDir(join(dir, 'link'), env)).to.equal(join(dir, 'state', 'psb', 'backups', `real-${id}`))
  })

  it("listBackups: only this file's backup names, oldest first, a same-millisecond sequence in number order", () => {
    const names = [
      'credentials.psb-backup-20261128T120000000Z-10',
      'credentials.psb-backup-20261128T120000000Z',
      'credentials.psb-backup-20261128T120000000Z-2',
      'credentials.psb-backup-20261127T235959999Z',
      'credentials.psb-backup-20261128T120000000Z-x',
      'credentials.psb-backup-2026112T120000000Z',
      'config.psb-backup-20261128T120000000Z',
      'credentials',
    ]
    for (const n of names) writeFileSync(join(dir, n), n)
    expect(listBackups(join(dir, 'credentials')).map((p) => p.slice(dir.length + 1))).to.deep.equal([
      'credentials.psb-backup-20261127T235959999Z',
      'credentials.psb-backup-20261128T120000000Z',
      'credentials.psb-backup-20261128T120000000Z-2',
      'credentials.psb-backup-20261128T120000000Z-10',
    ])
    expect(listBackups(join(dir, 'missing-folder', 'credentials'))).to.deep.equal([])
  })

  it("removeStaleTemps removes a dead writer's temp files (also a backup copy's) and old ones, and nothing else", () => {
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString())
    const live = process.pid
    const files = {
      deadOwn: `.credentials.psb-tmp-${dead}-ab12`,
      deadBackup: `.credentials.psb-backup-20261128T120000000Z-3.psb-tmp-${dead}-ff`,
      liveYoung: `.credentials.psb-tmp-${live}-cd34`,
      liveOld: `.credentials.psb-tmp-${live}-ef56`,
      otherFile: `.config.psb-tmp-${dead}-ab12`,
      notHex: `.credentials.psb-tmp-${dead}-xyz`,
      noDot: `credentials.psb-tmp-${dead}-ab12`,
      target: 'credentials',
    }
    for (const n of Object.values(files)) writeFileSync(join(dir, n), 'x')
    const old = new Date(Date.now() - 11 * 60_000)
    utimesSync(join(dir, files.liveOld), old, old)
    const young = new Date(Date.now() - 9 * 60_000)
    utimesSync(join(dir, files.liveYoung), young, young)
    removeStaleTemps(join(dir, 'credentials'))
    expect(readdirSync(dir).sort()).to.deep.equal([files.liveYoung, files.otherFile, files.notHex, files.noDot, files.target].sort())
    removeStaleTemps(join(dir, 'no-such-folder', 'credentials'))
  })

  it('keeps at least one backup, whatever keepBackups says', async () => {
    const path = join(dir, 'credentials')
    writeFileSync(path, 'v0', {mode: 0o600})
    for (const v of ['v1', 'v2', 'v3']) await lockedUpdate(path, () => v, {keepBackups: 0})
    expect(listBackups(path)).to.have.length(1)
    expect(existsSync(path)).to.equal(true)
  })
})
