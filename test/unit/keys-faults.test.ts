/**
 * Key rotation under faults, in process against the shared moto (IAM enforcement on) with a
 * loopback proxy in front of it that injects AWS errors (test/support/fault-proxy.ts); plus
 * the rotation lock and journal on their own.
 */
import {expect} from 'chai'
import {spawn, spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync} from 'node:fs'
import {CreateUserCommand} from '@aws-sdk/client-iam'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {useMoto} from '../support/moto.js'
import {FaultProxy, awsError, notYetPropagated} from '../support/fault-proxy.js'
import {
  assertNoSecrets,
  credentialsText,
  expectedAfterRotation,
  iamClient,
  keyWorks,
  makeStateUser,
  tempHomeDir,
  until,
  userKeys,
  writeCredentials,
  type TestUser,
} from '../support/keys-fixture.js'
import {ensureProfileKey, orphanCandidates, rotateKey, type RotateOptions, type RotateResult} from '../../src/lib/keys/rotate.js'
import {createAwsContext} from '../../src/lib/aws/client.js'
import {HEARTBEAT_MS, Journal, acquireRotationLock, journalPath, lockPath, processStartTime, readJournalEntries} from '../../src/lib/keys/journal.js'
import {isPsbError, type PsbError} from '../../src/lib/errors.js'
import {readProfileCredentials, writeProfile} from '../../src/lib/files/credentials.js'
import {ROOT} from '../support/cli.js'
import {rejection} from '../support/errors.js'

const isRoot = process.getuid?.() === 0

/** Makes a folder unwritable: chattr +i as root (root ignores permission bits), chmod 0555 otherwise. */
function makeReadOnly(dir: string): boolean {
  if (isRoot) return spawnSync('chattr', ['+i', dir]).status === 0
  chmodSync(dir, 0o555)
  return true
}

/**
 * When no folder can be made read-only: as root only `chattr +i` does it (root ignores mode
 * bits), and some file systems (tmpfs, overlay) refuse it. Skipped off CI only; in CI the
 * test fails, so a green CI always ran it.
 */
function needsReadOnly(test: Mocha.Context): never {
  if (process.env.CI) throw new Error('cannot make a folder read-only here: as root that needs `chattr +i` on a file system that supports it')
  test.skip()
}

function makeWritable(dir: string): void {
  if (!existsSync(dir)) return
  if (isRoot) spawnSync('chattr', ['-i', dir])
  else chmodSync(dir, 0o755)
}

describe('keys rotate: faults (moto behind a fault-injecting proxy)', () => {
  const moto = useMoto()
  let proxy: FaultProxy
  let home: ReturnType<typeof tempHomeDir>
  let u: TestUser
  let original: string
  let output: string[]
  const readOnly: string[] = []

  beforeEach(async () => {
    proxy = new FaultProxy(moto.endpoint)
    await proxy.start()
    home = tempHomeDir()
    u = await makeStateUser(moto.endpoint, moto.admin, 'rot')
    original = credentialsText({pulumi: u.key})
    writeCredentials(home.credentialsFile, original)
    output = []
  })

  afterEach(async () => {
    await proxy.stop()
    for (const d of readOnly.splice(0)) makeWritable(d)
    rmSync(home.dir, {recursive: true, force: true})
  })

  const logger = {info: (m: string) => output.push(m), warn: (m: string) => output.push(m)}
  const rotate = (extra: Partial<RotateOptions> = {}): Promise<RotateResult> =>
    rotateKey({profile: 'pulumi', region: 'us-east-1', endpoint: proxy.endpoint, env: home.env, pollMs: 50, waitMs: 20_000, logger, ...extra})
  const failure = rejection
  /** The secrets of the run: the old key's and any key the test saw the proxy use. */
  const noSecrets = (extra: unknown[] = []) => {
    const newSecrets = readFileSync(home.credentialsFile, 'utf8').match(/aws_secret_access_key\s*=\s*(\S+)/g) ?? []
    assertNoSecrets([...output, ...extra.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)))], [u.key.secretAccessKey, ...newSecrets.map((l) => l.split('=').pop()!.trim())])
  }
  const newKeyOf = (r: RotateResult) => {
    const text = readFileSync(home.credentialsFile, 'utf8')
    const secret = /\[pulumi\][\s\S]*?aws_secret_access_key\s*=\s*(\S+)/.exec(text)![1]
    return {accessKeyId: r.newKeyId!, secretAccessKey: secret}
  }

  it('waits while IAM answers InvalidClientTokenId for the new key, then succeeds', async () => {
    const known = new Set([u.key.accessKeyId, moto.admin.accessKeyId])
    const firstSeen = new Map<string, number>()
    proxy.rules.push((req) => {
      if (!req.keyId || known.has(req.keyId)) return undefined
      if (!firstSeen.has(req.keyId)) firstSeen.set(req.keyId, Date.now())
      return Date.now() - firstSeen.get(req.keyId)! < 2000 ? notYetPropagated(req.service) : undefined
    })
    const r = await rotate()
    expect(r.result).to.equal('rotated')
    expect(proxy.calls.filter((c) => c.faulted).length).to.be.greaterThan(0)
    expect(r.timings.propagationWaitMs).to.be.at.least(1800)
    expect(r.timings.totalMs).to.be.at.least(r.timings.propagationWaitMs)
    const fresh = newKeyOf(r)
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(expectedAfterRotation(original, [{old: u.key, fresh}]))
    expect(await keyWorks(moto.endpoint, fresh, 'rot')).to.equal('ok')
    expect(await keyWorks(moto.endpoint, u.key)).to.equal('InvalidClientTokenId')
    expect(await userKeys(moto.endpoint, moto.admin, 'rot')).to.deep.equal([{id: fresh.accessKeyId, status: 'Active'}])
    // After the new key first failed, it had to succeed 3 times in a row.
    expect(output.some((m) => /not accepted everywhere yet \(InvalidClientTokenId\)/.test(m))).to.equal(true)
    noSecrets([r])
  })

  it('rolls back when the new key is not accepted within --wait: the old key put back (the file byte for byte as before), the new key deleted', async () => {
    const known = new Set([u.key.accessKeyId, moto.admin.accessKeyId])
    proxy.rules.push((req) => (req.keyId && !known.has(req.keyId) ? notYetPropagated(req.service) : undefined))
    const e = await failure(rotate({waitMs: 800}))
    expect(e.exitCode).to.equal(1)
    expect(e.message).to.match(/failed while proving the new key works/)
    expect(e.message).to.match(/The old key is back in the credentials file, the new key AKIA…\w{4} is deleted/)
    expect(e.hint).to.match(/--wait/)
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(original)
    expect(statSync(home.credentialsFile).mode & 0o777).to.equal(0o600)
    expect(await userKeys(moto.endpoint, moto.admin, 'rot')).to.deep.equal([{id: u.key.accessKeyId, status: 'Active'}])
    expect(await keyWorks(moto.endpoint, u.key, 'rot')).to.equal('ok')
    expect(existsSync(journalPath(home.credentialsFile))).to.equal(false)
    expect(existsSync(lockPath(home.credentialsFile))).to.equal(false)
    noSecrets([e.message, e.hint])
  })

  it('retries throttling on CreateAccessKey and creates exactly one key', async () => {
    let throttled = 0
    proxy.rules.push((req) => (req.action === 'CreateAccessKey' && throttled++ < 2 ? awsError('iam', 400, 'Throttling', 'Rate exceeded') : undefined))
    const r = await rotate()
    expect(r.result).to.equal('rotated')
    expect(proxy.calls.filter((c) => c.action === 'CreateAccessKey').map((c) => c.faulted)).to.deep.equal([true, true, false])
    const fresh = newKeyOf(r)
    expect(await userKeys(moto.endpoint, moto.admin, 'rot')).to.deep.equal([{id: fresh.accessKeyId, status: 'Active'}])
    expect(await keyWorks(moto.endpoint, fresh, 'rot')).to.equal('ok')
    noSecrets([r])
  })

  it('the file write fails (the credentials file is immutable): the new key is deleted, the file unchanged', async function () {
    // Reading works, the lock and the temp file beside it too; the rename over the file fails.
    if (!isRoot || spawnSync('chattr', ['+i', home.credentialsFile]).status !== 0) needsReadOnly(this)
    readOnly.push(home.credentialsFile)
    const e = await failure(rotate())
    expect(e.exitCode).to.equal(1)
    expect(e.message).to.match(/failed while writing the credentials file/)
    expect(e.message).to.match(/credentials file is unchanged, the new key AKIA…\w{4} is deleted; profile\(s\) pulumi still hold the old key/)
    expect(proxy.calls.filter((c) => c.action === 'CreateAccessKey')).to.have.length(1)
    expect(proxy.calls.filter((c) => c.action === 'DeleteAccessKey')).to.have.length(1)
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(original)
    expect(await userKeys(moto.endpoint, moto.admin, 'rot')).to.deep.equal([{id: u.key.accessKeyId, status: 'Active'}])
    expect(await keyWorks(moto.endpoint, u.key, 'rot')).to.equal('ok')
    expect(existsSync(journalPath(home.credentialsFile))).to.equal(false)
    noSecrets([e.message, e.hint])
  })

  it('the credentials file is a symlink into a read-only folder: the lock follows the real file there, so the run stops before any AWS change', async function () {
    const ro = join(home.dir, 'ro')
    mkdirSync(ro)
    writeCredentials(join(ro, 'credentials'), original)
    rmSync(home.credentialsFile)
    symlinkSync(join(ro, 'credentials'), home.credentialsFile)
    if (!makeReadOnly(ro)) needsReadOnly(this)
    readOnly.push(ro)
    const e = await failure(rotate())
    expect(e.exitCode).to.equal(1)
    expect(e.message).to.match(/Cannot create the rotation lock .*ro\/credentials\.psb-rotate\.lock.*Nothing was changed/)
    expect(proxy.calls).to.have.length(0)
    expect(await userKeys(moto.endpoint, moto.admin, 'rot')).to.deep.equal([{id: u.key.accessKeyId, status: 'Active'}])
  })

  it('the credentials folder itself is read-only: stops before any AWS change', async function () {
    const aws = join(home.dir, '.aws')
    if (!makeReadOnly(aws)) needsReadOnly(this)
    readOnly.push(aws)
    const e = await failure(rotate())
    expect(e.exitCode).to.equal(1)
    expect(e.message).to.match(/rotation lock/)
    expect(proxy.calls).to.have.length(0)
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(original)
    expect(await userKeys(moto.endpoint, moto.admin, 'rot')).to.deep.equal([{id: u.key.accessKeyId, status: 'Active'}])
  })

  it('deleting the old key fails: reported (exit 12), the file holds the working new key, the next run cleans up', async () => {
    proxy.rules.push((req) => (req.action === 'DeleteAccessKey' && req.body.includes(u.key.accessKeyId) ? awsError('iam', 403, 'AccessDenied', 'User is not authorized to perform: iam:DeleteAccessKey') : undefined))
    const r = await rotate()
    expect(r.result).to.equal('rotated')
    expect(r.cleanupPending).to.equal(true)
    expect(r.exitCode).to.equal(12)
    expect(r.oldKey).to.equal('inactive')
    expect(r.warnings.join('\n')).to.match(/could not be deleted: AWS denied iam:DeleteAccessKey.*next `psb keys rotate`/s)
    const fresh = newKeyOf(r)
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(expectedAfterRotation(original, [{old: u.key, fresh}]))
    expect(await keyWorks(moto.endpoint, fresh, 'rot')).to.equal('ok')
    expect(await userKeys(moto.endpoint, moto.admin, 'rot')).to.have.deep.members([
      {id: fresh.accessKeyId, status: 'Active'},
      {id: u.key.accessKeyId, status: 'Inactive'},
    ])
    expect(readJournalEntries(home.credentialsFile).map((e) => e.step)).to.deep.equal(['deleting'])

    proxy.rules.length = 0
    const again = await rotate()
    expect(again.result).to.equal('rotated')
    expect(again.recovered.join('\n')).to.match(/Finished the interrupted rotation of profile "pulumi".*old key AKIA…\w{4} was deleted/)
    expect(again.newKeyId).to.equal(fresh.accessKeyId)
    expect(await userKeys(moto.endpoint, moto.admin, 'rot')).to.deep.equal([{id: fresh.accessKeyId, status: 'Active'}])
    expect(await keyWorks(moto.endpoint, u.key)).to.equal('InvalidClientTokenId')
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(expectedAfterRotation(original, [{old: u.key, fresh}]))
    expect(existsSync(journalPath(home.credentialsFile))).to.equal(false)
    noSecrets([r, again])
  })

  it('the first key (ensureProfileKey) that IAM never accepts: the profile is removed again and the key deleted', async () => {
    const {CreateUserCommand} = await import('@aws-sdk/client-iam')
    await iamClient(moto.endpoint, moto.admin).send(new CreateUserCommand({UserName: 'first'}))
    const known = new Set([u.key.accessKeyId, moto.admin.accessKeyId])
    proxy.rules.push((req) => (req.keyId && !known.has(req.keyId) ? notYetPropagated(req.service) : undefined))
    const admin = createAwsContext({region: 'us-east-1', endpoint: proxy.endpoint, credentials: moto.admin})
    const e = await failure(ensureProfileKey(admin, {user: 'first', profile: 'newp', region: 'us-east-1', endpoint: proxy.endpoint, env: home.env, pollMs: 50, waitMs: 600, logger}))
    expect(e.exitCode).to.equal(1)
    expect(e.message).to.match(/Creating the first key of profile "newp" failed while proving the new key works.*Rolled back: the credentials file is restored, the new key AKIA…\w{4} is deleted/s)
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(original)
    expect(await userKeys(moto.endpoint, moto.admin, 'first')).to.deep.equal([])
    expect(existsSync(journalPath(home.credentialsFile))).to.equal(false)
    noSecrets([e.message, e.hint])
  })
  it('a lost CreateAccessKey answer (500 after IAM made the key): says an orphan may exist; the next run deletes exactly that key, then rotates', async () => {
    let lost = 0
    proxy.rules.push((req) => (req.action === 'CreateAccessKey' && lost++ === 0 ? {loseAnswer: awsError('iam', 500, 'ServiceFailure', 'Internal failure')} : undefined))
    // One retry is enough to meet the key the lost answer made (LimitExceeded); moto's answer is retried as a server error.
    process.env.PSB_MAX_ATTEMPTS = '2'
    const e = await failure(rotate()).finally(() => delete process.env.PSB_MAX_ATTEMPTS)
    expect(e.code).to.equal('CreateAccessKeyUncertain')
    expect(e.message).to.match(/LimitExceeded/)
    expect(e.message).to.match(/IAM may have made the key even so.*orphan key that no profile holds may exist/s)
    expect(e.hint).to.match(/Run psb keys rotate again: it first removes that orphan key/)
    expect(proxy.calls.filter((c) => c.action === 'CreateAccessKey').map((c) => c.fate)[0]).to.equal('answer-lost')
    const keys = await userKeys(moto.endpoint, moto.admin, 'rot')
    expect(keys, 'IAM made the key whose answer was lost').to.have.length(2)
    const orphan = keys.find((k) => k.id !== u.key.accessKeyId)!
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(original)
    const [entry] = readJournalEntries(home.credentialsFile)
    expect(entry.step).to.equal('creating')
    expect(entry.createWindow?.to, 'the window is closed').to.be.a('string')

    const again = await rotate()
    expect(again.result).to.equal('rotated')
    expect(again.recovered.join('\n')).to.match(new RegExp(`deleted the key ${orphan.id.slice(0, 4)}…${orphan.id.slice(-4)} it had created`))
    const fresh = newKeyOf(again)
    expect(await userKeys(moto.endpoint, moto.admin, 'rot')).to.deep.equal([{id: fresh.accessKeyId, status: 'Active'}])
    expect(existsSync(journalPath(home.credentialsFile))).to.equal(false)
    noSecrets([e.message, e.hint, again])
  })

  it('a rotation rollback keeps a write that another process made while the rollback waited for the file lock (the race widened with a paused writer)', async () => {
    // The new key is "not yet propagated" until the gate opens; then STS refuses it outright, so the rollback starts at once.
    const known = new Set([u.key.accessKeyId, moto.admin.accessKeyId])
    let gate = false
    proxy.rules.push((req) => {
      if (!req.keyId || known.has(req.keyId)) return undefined
      return gate ? awsError(req.service, 403, 'AccessDenied', 'Explicit deny') : notYetPropagated(req.service)
    })
    const run = failure(rotate({waitMs: 60_000}))
    await until(() => readJournalEntries(home.credentialsFile)[0]?.step === 'written', 'the new key is written')
    // Another writer (creds write of another profile) takes the file lock and pauses before its rename.
    const other = {accessKeyId: 'AKIAOTHEROTHEROTHER1', secretAccessKey: 'otherSecretotherSecretotherSecretother12'}
    const script = `import {writeProfile} from ${JSON.stringify(join(ROOT, 'src/lib/files/credentials.ts'))}
      await writeProfile({profile: 'other', accessKeyId: '${other.accessKeyId}', secretAccessKey: '${other.secretAccessKey}'})`
    const writer = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      env: {...process.env, ...home.env, PSB_TEST_PAUSE_BEFORE_RENAME_MS: '2500'},
      stdio: 'ignore',
    })
    const writerDone = new Promise((r) => writer.on('close', r))
    await until(() => readdirSync(join(home.dir, '.aws')).some((n) => n.includes('.psb-tmp-')), 'the writer holds the lock, paused before its rename')
    gate = true
    const e = await run
    await writerDone
    const text = readFileSync(home.credentialsFile, 'utf8')
    expect(text, 'the other writer\'s profile survives the rollback').to.include(`[other]\naws_access_key_id = ${other.accessKeyId}`)
    expect(e.message).to.match(/The old key is back in the credentials file, the new key AKIA…\w{4} is deleted/)
    expect(text.startsWith(original.replace(/\n?$/, ''))).to.equal(true)
    expect(readProfileCredentials('pulumi', home.env)?.accessKeyId).to.equal(u.key.accessKeyId)
    expect(await userKeys(moto.endpoint, moto.admin, 'rot')).to.deep.equal([{id: u.key.accessKeyId, status: 'Active'}])
    noSecrets([e.message, e.hint])
  })

  it('a first-key rollback keeps a `creds write` of another profile made while it waited for IAM', async () => {
    await iamClient(moto.endpoint, moto.admin).send(new CreateUserCommand({UserName: 'first'}))
    const known = new Set([u.key.accessKeyId, moto.admin.accessKeyId])
    proxy.rules.push((req) => (req.keyId && !known.has(req.keyId) ? notYetPropagated(req.service) : undefined))
    const admin = createAwsContext({region: 'us-east-1', endpoint: proxy.endpoint, credentials: moto.admin})
    const run = failure(ensureProfileKey(admin, {user: 'first', profile: 'newp', region: 'us-east-1', endpoint: proxy.endpoint, env: home.env, pollMs: 50, waitMs: 2500, logger}))
    await until(() => readJournalEntries(home.credentialsFile)[0]?.step === 'written', 'the first key is written')
    const other = {accessKeyId: 'AKIAOTHEROTHEROTHER1', secretAccessKey: 'otherSecretotherSecretotherSecretother12'}
    await writeProfile({profile: 'other', ...other, env: home.env})
    const e = await run
    expect(e.message).to.match(/Rolled back: the credentials file is restored, the new key AKIA…\w{4} is deleted/)
    const text = readFileSync(home.credentialsFile, 'utf8')
    expect(text).to.include(`[other]\naws_access_key_id = ${other.accessKeyId}`)
    expect(text).to.not.include('[newp]')
    expect(readProfileCredentials('pulumi', home.env)?.accessKeyId).to.equal(u.key.accessKeyId)
    expect(await userKeys(moto.endpoint, moto.admin, 'first')).to.deep.equal([])
    noSecrets([e.message, e.hint])
  })
})

describe('rotation lock', () => {
  let home: ReturnType<typeof tempHomeDir>
  beforeEach(() => {
    home = tempHomeDir()
  })
  afterEach(() => rmSync(home.dir, {recursive: true, force: true}))

  it('a second run while the first holds the lock stops with exit 11 and a clear message', () => {
    const lock = acquireRotationLock(home.credentialsFile)
    try {
      let err: unknown
      try {
        acquireRotationLock(home.credentialsFile)
      } catch (error) {
        err = error
      }
      expect(isPsbError(err)).to.equal(true)
      const e = err as PsbError
      expect(e.exitCode).to.equal(11)
      expect(e.code).to.equal('RotationLocked')
      expect(e.message).to.include(`process ${process.pid} on ${hostname()}`)
      expect(e.hint).to.include(lockPath(home.credentialsFile))
    } finally {
      lock.release()
    }
    expect(existsSync(lockPath(home.credentialsFile))).to.equal(false)
    acquireRotationLock(home.credentialsFile).release()
  })

  it('a lock left by a dead process is taken over', () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString()
    writeFileSync(lockPath(home.credentialsFile), JSON.stringify({pid: Number(dead), host: hostname(), startedAt: new Date().toISOString(), nonce: 'dead'}))
    const lock = acquireRotationLock(home.credentialsFile)
    expect(lock.holder.pid).to.equal(process.pid)
    lock.release()
  })

  it('a lock of another host is respected until it is 6 hours old', () => {
    const young = {pid: 1, host: 'elsewhere', startedAt: new Date().toISOString(), nonce: 'x'}
    writeFileSync(lockPath(home.credentialsFile), JSON.stringify(young))
    expect(() => acquireRotationLock(home.credentialsFile)).to.throw(/on elsewhere/)
    writeFileSync(lockPath(home.credentialsFile), JSON.stringify({...young, startedAt: new Date(Date.now() - 7 * 3600_000).toISOString()}))
    acquireRotationLock(home.credentialsFile).release()
  })

  it('of several processes racing for a stale lock, exactly one gets it', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString()
    writeFileSync(lockPath(home.credentialsFile), JSON.stringify({pid: Number(dead), host: hostname(), startedAt: new Date().toISOString(), nonce: 'dead'}))
    const script = `
      import {acquireRotationLock} from ${JSON.stringify(join(ROOT, 'src/lib/keys/journal.ts'))}
      try { const l = acquireRotationLock(process.argv[1]); process.stdout.write('got'); setTimeout(() => l.release(), 1500) }
      catch (e) { process.stdout.write(e.code) }`
    const runs = Array.from({length: 4}, () =>
      new Promise<string>((resolve) => {
        const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, home.credentialsFile], {cwd: ROOT})
        let out = ''
        p.stdout.on('data', (d) => (out += d))
        p.on('close', () => resolve(out))
      }),
    )
    const results = await Promise.all(runs)
    expect(results.filter((r) => r === 'got')).to.have.length(1)
    expect(results.filter((r) => r === 'RotationLocked')).to.have.length(3)
  })
  it('follows the real file: a symlinked credentials path and its target share one lock and one journal', () => {
    const dotfiles = join(home.dir, 'dotfiles')
    mkdirSync(dotfiles)
    const target = join(dotfiles, 'credentials')
    writeFileSync(target, '', {mode: 0o600})
    rmSync(home.credentialsFile, {force: true})
    symlinkSync(target, home.credentialsFile)
    expect(lockPath(home.credentialsFile)).to.equal(lockPath(target))
    expect(journalPath(home.credentialsFile)).to.equal(journalPath(target))
    const lock = acquireRotationLock(home.credentialsFile)
    try {
      expect(() => acquireRotationLock(target)).to.throw(/Another key rotation for this credentials file is in progress/)
    } finally {
      lock.release()
    }
    // A folder reached through a symlink is the same folder.
    const linkedDir = join(home.dir, 'linked')
    symlinkSync(dotfiles, linkedDir)
    expect(lockPath(join(linkedDir, 'credentials'))).to.equal(lockPath(target))
  })

  it('a live pid that now belongs to another process (another start time) does not hold the lock', async () => {
    const other = spawn('sleep', ['30'])
    try {
      const holder = {pid: other.pid!, host: hostname(), startedAt: new Date().toISOString(), nonce: 'reused'}
      const start = processStartTime(other.pid!)
      expect(start, 'the OS tells the start time').to.be.a('string')
      writeFileSync(lockPath(home.credentialsFile), JSON.stringify({...holder, pidStart: start}))
      expect(() => acquireRotationLock(home.credentialsFile)).to.throw(/in progress \(process \d+/)
      writeFileSync(lockPath(home.credentialsFile), JSON.stringify({...holder, pidStart: `${start}0`}))
      const lock = acquireRotationLock(home.credentialsFile)
      expect(lock.holder.pid).to.equal(process.pid)
      expect(lock.holder.pidStart).to.equal(processStartTime(process.pid))
      lock.release()
    } finally {
      other.kill('SIGKILL')
    }
  })

  it('disk full while creating the lock: says so, leaves no lock behind, and the next run is not blocked', function () {
    // A 64 KiB tmpfs, filled up: creating the lock file works, writing into it fails (ENOSPC).
    const mnt = join(home.dir, 'full')
    mkdirSync(mnt)
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]).status !== 0) {
      // Skip reason: off CI only, where mounting a 64 KiB tmpfs (root) is not allowed; under CI it fails instead.
      if (process.env.CI) throw new Error('cannot mount a small tmpfs here (needs root)')
      this.skip()
    }
    try {
      const creds = join(mnt, 'credentials')
      writeFileSync(creds, '[p]\n', {mode: 0o600})
      spawnSync('dd', ['if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=1k', 'count=128'])
      let err: unknown
      try {
        acquireRotationLock(creds)
      } catch (error) {
        err = error
      }
      expect(isPsbError(err), String(err)).to.equal(true)
      expect((err as PsbError).code).to.equal('LockFailed')
      expect((err as PsbError).message).to.match(/The disk is full: cannot create the rotation lock .*Nothing was changed/)
      expect((err as PsbError).hint).to.match(/free some space/)
      expect(existsSync(lockPath(creds)), 'no empty lock left').to.equal(false)
      rmSync(join(mnt, 'filler'))
      acquireRotationLock(creds).release()
    } finally {
      spawnSync('umount', [mnt])
    }
  })
})

describe('rotation journal', () => {
  const moto = useMoto()
  let home: ReturnType<typeof tempHomeDir>
  beforeEach(() => {
    home = tempHomeDir()
  })
  afterEach(() => rmSync(home.dir, {recursive: true, force: true}))

  const base = {kind: 'rotate' as const, user: 'u', profile: 'p', profiles: ['p'], oldKeyId: 'AKIAOLDOLDOLDOLDOLD1', step: 'creating' as const, acting: 'self' as const, startedAt: new Date().toISOString()}

  it('is written atomically with mode 0600, holds key ids and steps, and disappears when empty', () => {
    const j = new Journal(home.credentialsFile)
    j.record({...base, id: 'a1'})
    j.update('a1', {step: 'created', newKeyId: 'AKIANEWNEWNEWNEWNEW2'})
    const path = journalPath(home.credentialsFile)
    expect(statSync(path).mode & 0o777).to.equal(0o600)
    const doc = JSON.parse(readFileSync(path, 'utf8'))
    expect(doc.rotations[0]).to.include({id: 'a1', step: 'created', newKeyId: 'AKIANEWNEWNEWNEWNEW2', oldKeyId: 'AKIAOLDOLDOLDOLDOLD1', pid: process.pid})
    expect(new Journal(home.credentialsFile).forProfile('p')).to.have.length(1)
    j.remove('a1')
    expect(existsSync(path)).to.equal(false)
  })

  it('refuses to record anything shaped like a secret', () => {
    const j = new Journal(home.credentialsFile)
    expect(() => j.record({...base, id: 'b', oldKeyId: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'})).to.throw(/looks like a secret/)
    expect(() => j.record({...base, id: 'c', secretAccessKey: 'x'} as never)).to.throw(/must not hold/)
    expect(existsSync(journalPath(home.credentialsFile))).to.equal(false)
  })

  it('a corrupt journal stops the run with a hint, and changes nothing', async () => {
    const u = await makeStateUser(moto.endpoint, moto.admin, 'corrupt')
    const text = credentialsText({pulumi: u.key})
    writeCredentials(home.credentialsFile, text)
    const corrupt = '{"version": 1, "rotations": [{"id": 1}'
    writeFileSync(journalPath(home.credentialsFile), corrupt)
    const before = readdirSync(join(home.dir, '.aws')).sort()
    const e = await rotateKey({profile: 'pulumi', region: 'us-east-1', endpoint: moto.endpoint, env: home.env, pollMs: 50}).then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(isPsbError(e), String(e)).to.equal(true)
    expect((e as PsbError).code).to.equal('JournalCorrupt')
    expect((e as PsbError).message).to.match(/not readable/)
    expect((e as PsbError).hint).to.match(/psb keys list/)
    // Nothing changed: no key created, the file, the journal and the folder as they were, no lock left.
    expect(await userKeys(moto.endpoint, moto.admin, 'corrupt')).to.deep.equal([{id: u.key.accessKeyId, status: 'Active'}])
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(text)
    expect(readFileSync(journalPath(home.credentialsFile), 'utf8')).to.equal(corrupt)
    expect(readdirSync(join(home.dir, '.aws')).sort()).to.deep.equal(before)
    expect(() => readJournalEntries(home.credentialsFile)).to.throw(/not readable/)
  })
  it('a CreateAccessKey window left open by a dead run is closed at its last heartbeat', () => {
    const j = new Journal(home.credentialsFile)
    const from = new Date(Date.now() - 60_000).toISOString()
    j.record({...base, id: 'w', createWindow: {from}, keysBefore: ['AKIAOLDOLDOLDOLDOLD1']})
    const beat = new Date(Date.now() - 30_000)
    utimesSync(journalPath(home.credentialsFile), beat, beat)
    const [e] = new Journal(home.credentialsFile).list()
    expect(Date.parse(e.createWindow!.to!) - beat.getTime()).to.be.within(HEARTBEAT_MS, HEARTBEAT_MS + 1500)
    expect(readJournalEntries(home.credentialsFile)[0].createWindow?.to, 'written back at once').to.equal(e.createWindow!.to)
  })

  it('orphanCandidates: only a key IAM dates inside the request window, not there before and held by no profile, is provably psb\'s', () => {
    const t = Date.parse('2026-11-28T12:00:00Z')
    const entry = {...base, id: 'o', pid: 1, host: 'h', updatedAt: '', createWindow: {from: new Date(t).toISOString(), to: new Date(t + 3000).toISOString()}, keysBefore: ['AKIAOLDOLDOLDOLDOLD1', 'AKIABEFOREBEFOREBEF1']}
    const at = (ms: number) => new Date(t + ms)
    const keys = [
      {id: 'AKIAOLDOLDOLDOLDOLD1', created: at(-86_400_000)},
      {id: 'AKIABEFOREBEFOREBEF1', created: at(1000)},
      {id: 'AKIAINSIDEINSIDEINS1', created: at(1500)},
      {id: 'AKIAHELDHELDHELDHEL1', created: at(1500)},
      {id: 'AKIALATERLATERLATER1', created: at(60_000)},
      {id: 'AKIAEARLYEARLYEARLY1', created: at(-60_000)},
    ]
    const r = orphanCandidates(entry, keys, (id) => id === 'AKIAHELDHELDHELDHEL1')
    expect(r.provable).to.deep.equal(['AKIAINSIDEINSIDEINS1'])
    expect(r.unproven).to.deep.equal(['AKIALATERLATERLATER1', 'AKIAEARLYEARLYEARLY1'])
    // A window that was never closed (a journal from before windows were recorded) proves nothing.
    const open = orphanCandidates({...entry, createWindow: {from: entry.createWindow.from}}, keys, () => false)
    expect(open.provable).to.deep.equal([])
  })
})
