/**
 * A rotation killed with SIGKILL after each step in turn (the test-only hook
 * PSB_TEST_KILL_AFTER_STEP), then a second run: in every case the user ends with exactly
 * one Active key, the one in the credentials file, and it works; the original key is gone;
 * every other byte of the file is kept; no journal or lock is left; no secret was printed.
 */
import {expect} from 'chai'
import {existsSync, readFileSync} from 'node:fs'
import {useMoto, type Keys} from '../support/moto.js'
import {runPsb, TempHome, type RunResult} from '../support/cli.js'
import {
  addKey,
  assertNoSecrets,
  credentialsText,
  expectedAfterRotation,
  iamClient,
  keyWorks,
  makeStateUser,
  spawnPsb,
  until,
  userKeys,
  writeCredentials,
} from '../support/keys-fixture.js'
import {CreateUserCommand} from '@aws-sdk/client-iam'
import {KILL_STEPS, ROLLBACK_KILL_STEP} from '../../src/lib/keys/rotate.js'
import {readJournalEntries} from '../../src/lib/keys/journal.js'
import {readProfileCredentials} from '../../src/lib/files/credentials.js'
import {FaultProxy, notYetPropagated} from '../support/fault-proxy.js'
import {FakePulumi} from '../support/fake-pulumi.js'

describe('psb keys rotate killed with SIGKILL after each step, then run again (moto)', () => {
  const moto = useMoto()
  let home: TempHome
  const outputs: string[] = []

  beforeEach(() => {
    home = new TempHome('psb-kill-')
    outputs.length = 0
  })
  afterEach(() => home.cleanup())

  const psb = async (args: string[], env: Record<string, string> = {}): Promise<RunResult> => {
    const r = await runPsb([...args, '--endpoint', moto.endpoint, '--region', 'us-east-1'], home, {env: {PSB_KEY_PROPAGATION_POLL_MS: '20', ...env}})
    outputs.push(r.stdout, r.stderr)
    return r
  }
  const keyOf = (profile: string): Keys => {
    const text = readFileSync(home.credentialsFile, 'utf8')
    const m = new RegExp(`\\[${profile}\\]\\n(?:#.*\\n)?aws_access_key_id = (\\S+)\\naws_secret_access_key\\s*=\\s*(\\S+)`).exec(text)
    if (!m) throw new Error(`no key for ${profile} in\n${text}`)
    return {accessKeyId: m[1], secretAccessKey: m[2]}
  }
  const noJournalNoLock = () => {
    expect(existsSync(`${home.credentialsFile}.psb-rotation.json`), 'journal left').to.equal(false)
    expect(existsSync(`${home.credentialsFile}.psb-rotate.lock`), 'lock left').to.equal(false)
  }

  for (const step of KILL_STEPS) {
    it(`killed after "${step}": the next run finishes or undoes it`, async () => {
      const u = await makeStateUser(moto.endpoint, moto.admin, 'pulumi')
      const text = credentialsText({pulumi: u.key, ci: u.key})
      writeCredentials(home.credentialsFile, text)

      const killed = await psb(['keys', 'rotate', '--profile', 'pulumi'], {PSB_TEST_KILL_AFTER_STEP: step})
      expect(killed.signal, killed.stderr).to.equal('SIGKILL')
      expect(existsSync(`${home.credentialsFile}.psb-rotation.json`), 'the killed run left its journal').to.equal(true)
      // Whatever the moment of the kill, the file holds a key of the user that works (or will, once propagated).
      const between = keyOf('pulumi')
      expect(keyOf('ci')).to.deep.equal(between)
      expect(await keyWorks(moto.endpoint, between, 'pulumi')).to.equal('ok')

      const second = await psb(['keys', 'rotate', '--profile', 'pulumi', '--json'])
      expect(second.code, second.stderr).to.equal(0)
      const rec = JSON.parse(second.stdout).results[0]
      expect(rec.result).to.equal('rotated')
      expect(rec.recovered, 'the second run reports what it recovered').to.have.length(1)

      const fresh = keyOf('pulumi')
      expect(keyOf('ci')).to.deep.equal(fresh)
      expect(fresh.accessKeyId).to.not.equal(u.key.accessKeyId)
      expect(await userKeys(moto.endpoint, moto.admin, 'pulumi')).to.deep.equal([{id: fresh.accessKeyId, status: 'Active'}])
      expect(await keyWorks(moto.endpoint, fresh, 'pulumi')).to.equal('ok')
      expect(await keyWorks(moto.endpoint, u.key)).to.equal('InvalidClientTokenId')
      expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(expectedAfterRotation(text, [{old: u.key, fresh}]))
      noJournalNoLock()
      assertNoSecrets(outputs, [u.key.secretAccessKey, between.secretAccessKey, fresh.secretAccessKey, moto.admin.secretAccessKey])
    })
  }

  for (const step of ['key-created', 'file-written'] as const) {
    it(`the first key (--create) killed after "${step}": the next run ends with one working key in the profile`, async () => {
      await iamClient(moto.endpoint, moto.admin).send(new CreateUserCommand({UserName: 'first'}))
      writeCredentials(home.credentialsFile, credentialsText({admin: moto.admin}))
      const args = ['keys', 'rotate', '--create', '--profile', 'newp', '--user', 'first', '--admin-profile', 'admin']
      const killed = await psb(args, {PSB_TEST_KILL_AFTER_STEP: step})
      expect(killed.signal, killed.stderr).to.equal('SIGKILL')
      const second = await psb([...args, '--json'])
      expect(second.code, second.stderr).to.equal(0)
      expect(JSON.parse(second.stdout).results[0].result).to.equal('created')
      const key = keyOf('newp')
      expect(await userKeys(moto.endpoint, moto.admin, 'first')).to.deep.equal([{id: key.accessKeyId, status: 'Active'}])
      expect(await keyWorks(moto.endpoint, key, 'first')).to.equal('ok')
      noJournalNoLock()
      assertNoSecrets(outputs, [key.secretAccessKey, moto.admin.secretAccessKey])
    })
  }
})

describe('psb keys rotate: recovery that touches only what psb made, and signals (CLI against moto behind the fault proxy)', () => {
  const moto = useMoto()
  let home: TempHome
  let proxy: FaultProxy
  const outputs: string[] = []

  beforeEach(async () => {
    home = new TempHome('psb-recover-')
    outputs.length = 0
    proxy = new FaultProxy(moto.endpoint)
    await proxy.start()
  })
  afterEach(async () => {
    await proxy.stop()
    home.cleanup()
  })

  const args = (extra: string[]) => [...extra, '--endpoint', proxy.endpoint, '--region', 'us-east-1']
  const env = (extra: Record<string, string> = {}) => ({HOME: home.dir, PSB_KEY_PROPAGATION_POLL_MS: '20', ...extra})
  const psb = async (extra: string[], e: Record<string, string> = {}): Promise<RunResult> => {
    const r = await runPsb(args(extra), home, {env: env(e)})
    outputs.push(r.stdout, r.stderr)
    return r
  }
  const journal = () => (existsSync(`${home.credentialsFile}.psb-rotation.json`) ? readJournalEntries(home.credentialsFile) : [])
  const profileKey = (profile: string) => readProfileCredentials(profile, {HOME: home.dir})
  /** Rejects, as "not yet propagated", every request signed by the first key that is neither the user's old key nor the admin's. */
  const rejectFirstNewKey = (known: string[]) => {
    let rejected: string | undefined
    proxy.rules.push((req) => {
      if (!req.keyId || known.includes(req.keyId)) return undefined
      rejected ??= req.keyId
      return req.keyId === rejected ? notYetPropagated(req.service) : undefined
    })
    return () => rejected
  }

  it('killed while CreateAccessKey is held before it reaches IAM; an administrator then makes a key: the next run leaves that key alone and says so', async () => {
    const u = await makeStateUser(moto.endpoint, moto.admin, 'pulumi')
    const text = credentialsText({pulumi: u.key})
    writeCredentials(home.credentialsFile, text)
    let release!: () => void
    const held = new Promise<void>((r) => (release = r))
    proxy.rules.push((req) => (req.action === 'CreateAccessKey' ? {hold: held} : undefined))
    const run = spawnPsb(args(['keys', 'rotate', '--profile', 'pulumi']), home.dir, env())
    await proxy.arrived((r) => r.action === 'CreateAccessKey')
    run.child.kill('SIGKILL')
    const killed = await run.done
    outputs.push(killed.stdout, killed.stderr)
    release()
    expect(killed.signal).to.equal('SIGKILL')
    expect(journal().map((e) => [e.step, e.newKeyId])).to.deep.equal([['creating', undefined]])
    // Past the dead run's request window (its last heartbeat, plus the allowance for clocks): a CI key, made by hand.
    await new Promise((r) => setTimeout(r, 5500))
    const ci = await addKey(moto.endpoint, moto.admin, 'pulumi')
    proxy.rules.length = 0

    const next = await psb(['keys', 'rotate', '--profile', 'pulumi'])
    expect(proxy.calls.filter((c) => c.action === 'DeleteAccessKey'), 'nothing deleted').to.have.length(0)
    expect(await userKeys(moto.endpoint, moto.admin, 'pulumi')).to.have.deep.members([
      {id: u.key.accessKeyId, status: 'Active'},
      {id: ci.accessKeyId, status: 'Active'},
    ])
    const masked = `${ci.accessKeyId.slice(0, 4)}…${ci.accessKeyId.slice(-4)}`
    expect(next.stdout + next.stderr).to.include(`The user also has the key ${masked}, which no profile holds and which psb cannot prove it made`)
    // Then the usual rule for a second Active key: stop, changing nothing.
    expect(next.code).to.equal(1)
    expect(next.stderr).to.match(/already has a second access key/)
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(text)
    expect(journal()).to.deep.equal([])
    assertNoSecrets(outputs, [u.key.secretAccessKey, ci.secretAccessKey, moto.admin.secretAccessKey])
  })

  for (const when of ['during the proof', 'during the rollback'] as const) {
    it(`killed ${when} while the new key is rejected: the next run rolls back (old key back in the profile, new key deleted), then rotates`, async () => {
      const u = await makeStateUser(moto.endpoint, moto.admin, 'pulumi')
      const text = credentialsText({pulumi: u.key, ci: u.key})
      writeCredentials(home.credentialsFile, text)
      const rejected = rejectFirstNewKey([u.key.accessKeyId, moto.admin.accessKeyId])
      const step = when === 'during the proof' ? 'write-journaled' : ROLLBACK_KILL_STEP
      const killed = await psb(['keys', 'rotate', '--profile', 'pulumi', '--wait', '1s'], {PSB_TEST_KILL_AFTER_STEP: step})
      expect(killed.signal, killed.stderr).to.equal('SIGKILL')
      const first = profileKey('pulumi')!
      expect(first.accessKeyId).to.not.equal(u.key.accessKeyId)
      expect(journal()[0].step).to.equal(when === 'during the proof' ? 'written' : 'rolling-back')

      const next = await psb(['keys', 'rotate', '--profile', 'pulumi', '--wait', '1s', '--json'])
      expect(next.code, next.stderr).to.equal(0)
      const rec = JSON.parse(next.stdout).results[0]
      expect(rec.recovered.join('\n')).to.match(/Rolled back the interrupted rotation of profile "pulumi".*profile\(s\) ci, pulumi hold the old key AKIA…\w{4} again, and the new key AKIA…\w{4} is deleted/)
      expect(rec.result).to.equal('rotated')
      expect(rejected(), 'the key IAM never accepted').to.equal(first.accessKeyId)
      const fresh = profileKey('pulumi')!
      expect(profileKey('ci')).to.deep.equal(fresh)
      expect(fresh.accessKeyId).to.not.equal(first.accessKeyId)
      expect(await userKeys(moto.endpoint, moto.admin, 'pulumi')).to.deep.equal([{id: fresh.accessKeyId, status: 'Active'}])
      expect(await keyWorks(moto.endpoint, fresh, 'pulumi')).to.equal('ok')
      expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(expectedAfterRotation(text, [{old: u.key, fresh}]))
      expect(journal()).to.deep.equal([])
      assertNoSecrets(outputs, [u.key.secretAccessKey, first.secretAccessKey, fresh.secretAccessKey, moto.admin.secretAccessKey])
    })
  }

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal} while waiting for IAM to accept the new key: rolled back, lock released, one line saying so, exit ${code}`, async () => {
      const u = await makeStateUser(moto.endpoint, moto.admin, 'pulumi')
      const text = credentialsText({pulumi: u.key})
      writeCredentials(home.credentialsFile, text)
      rejectFirstNewKey([u.key.accessKeyId, moto.admin.accessKeyId])
      const run = spawnPsb(args(['keys', 'rotate', '--profile', 'pulumi', '--wait', '60s']), home.dir, env())
      await until(() => journal()[0]?.step === 'written', 'the new key is written and being proven')
      run.child.kill(signal)
      const r = await run.done
      outputs.push(r.stdout, r.stderr)
      expect(r.signal, r.stderr).to.equal(null)
      expect(r.code, r.stderr).to.equal(code)
      expect(r.stderr).to.match(new RegExp(`Interrupted \\(${signal}\\): stopped while waiting for IAM to accept the new key\\. The old key is back in the credentials file, the new key AKIA…\\w{4} is deleted; profile\\(s\\) pulumi still hold the old key`))
      expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(text)
      expect(await userKeys(moto.endpoint, moto.admin, 'pulumi')).to.deep.equal([{id: u.key.accessKeyId, status: 'Active'}])
      expect(existsSync(`${home.credentialsFile}.psb-rotate.lock`), 'lock released').to.equal(false)
      expect(journal()).to.deep.equal([])
      assertNoSecrets(outputs, [u.key.secretAccessKey, moto.admin.secretAccessKey])
    })
  }

  it('SIGINT during a command with no step to undo (keys list, its STS call held): one line, exit 130, at once', async () => {
    const u = await makeStateUser(moto.endpoint, moto.admin, 'pulumi')
    writeCredentials(home.credentialsFile, credentialsText({pulumi: u.key}))
    proxy.rules.push((req) => (req.action === 'GetCallerIdentity' ? {hold: new Promise(() => {})} : undefined))
    const run = spawnPsb(args(['keys', 'list', '--profile', 'pulumi']), home.dir, env())
    await proxy.arrived((r) => r.action === 'GetCallerIdentity')
    run.child.kill('SIGINT')
    const r = await run.done
    outputs.push(r.stdout, r.stderr)
    expect(r.code, r.stderr).to.equal(130)
    expect(r.stderr.trim().split('\n')).to.deep.equal([
      'psb: interrupted (SIGINT). No file is half-written (psb replaces files atomically); run the same command again to finish: a second run changes only what is still missing.',
    ])
    assertNoSecrets(outputs, [u.key.secretAccessKey, moto.admin.secretAccessKey])
  })

  it('SIGINT during `psb init` (its S3 calls held): one line, exit 130, not listr2\'s silent 127', async () => {
    const fake = new FakePulumi({version: '3.274.1'})
    try {
      writeCredentials(home.credentialsFile, `[admin]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n`)
      proxy.rules.push((req) => (req.service === 's3' ? {hold: new Promise(() => {})} : undefined))
      const initArgs = ['init', '--bucket', 'sigint-state', '--admin-profile', 'admin', '--profile', 'pulumi']
      const run = spawnPsb(args(initArgs), home.dir, fake.env({...env(), PULUMI_HOME: home.path('.pulumi')}) as Record<string, string>)
      await proxy.arrived((r) => r.service === 's3')
      run.child.kill('SIGINT')
      const r = await run.done
      outputs.push(r.stdout, r.stderr)
      expect(r.code, r.stderr).to.equal(130)
      expect(r.stderr).to.include('psb: interrupted (SIGINT). No file is half-written (psb replaces files atomically); run the same command again to finish')
      assertNoSecrets(outputs, [moto.admin.secretAccessKey])
    } finally {
      fake.cleanup()
    }
  })
})
