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
import {assertNoSecrets, credentialsText, expectedAfterRotation, iamClient, keyWorks, makeStateUser, userKeys, writeCredentials} from '../support/keys-fixture.js'
import {CreateUserCommand} from '@aws-sdk/client-iam'
import {KILL_STEPS} from '../../src/lib/keys.js'

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
