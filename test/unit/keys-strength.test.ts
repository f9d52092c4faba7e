/**
 * Rotation guards that a mutant of src/lib/keys/rotate.ts used to get past (issue 10, "Test
 * strength"): in process against the shared moto (IAM enforcement on) behind the fault
 * proxy. Each test names, in its title, the rule it holds; the mutant it kills is in the
 * comment above it (docs/testing.md lists them all).
 */
import {expect} from 'chai'
import {appendFileSync, readFileSync, rmSync} from 'node:fs'
import {useMoto} from '../support/moto.js'
import {FaultProxy, awsError, notYetPropagated} from '../support/fault-proxy.js'
import {credentialsText, keyWorks, makeStateUser, tempHomeDir, userKeys, writeCredentials, type TestUser} from '../support/keys-fixture.js'
import {exitCodeOf, rotateKey, rotateKeys, type RotateOptions, type RotateResult} from '../../src/lib/keys/rotate.js'
import {readJournalEntries} from '../../src/lib/keys/journal.js'
import {readProfileCredentials} from '../../src/lib/files/credentials.js'
import {clearRegisteredSecrets, redact} from '../../src/lib/redact.js'
import {rejection} from '../support/errors.js'

/** A GetCallerIdentity answer naming another IAM user. */
function callerIs(arn: string) {
  return {
    status: 200,
    body: `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>${arn}</Arn><UserId>AIDAOTHER</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>fault</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
    headers: {'content-type': 'text/xml'},
  }
}

describe('keys rotate: guards a mutant got past (moto behind the fault proxy)', () => {
  const moto = useMoto()
  let proxy: FaultProxy
  let home: ReturnType<typeof tempHomeDir>
  let u: TestUser
  let output: string[]
  /** Runs on each logger.info message (a hook into the middle of a rotation). */
  let onInfo: (m: string) => void

  beforeEach(async () => {
    proxy = new FaultProxy(moto.endpoint)
    await proxy.start()
    home = tempHomeDir()
    u = await makeStateUser(moto.endpoint, moto.admin, 'guard')
    writeCredentials(home.credentialsFile, credentialsText({pulumi: u.key}))
    output = []
    onInfo = () => {}
  })
  afterEach(async () => {
    await proxy.stop()
    rmSync(home.dir, {recursive: true, force: true})
  })

  const logger = {
    info: (m: string) => {
      output.push(m)
      onInfo(m)
    },
    warn: (m: string) => output.push(m),
  }
  const opts = (extra: Partial<RotateOptions> = {}) => ({region: 'us-east-1', endpoint: proxy.endpoint, env: home.env, pollMs: 50, waitMs: 20_000, logger, ...extra})
  const rotate = (extra: Partial<RotateOptions> = {}): Promise<RotateResult> => rotateKey({profile: 'pulumi', ...opts(extra)})
  const failure = rejection
  const known = () => new Set([u.key.accessKeyId, moto.admin.accessKeyId])
  /** IAM never accepts a key other than the old one and the administrator's. */
  const newKeyNeverAccepted = () => proxy.rules.push((req) => (req.keyId && !known().has(req.keyId) ? notYetPropagated(req.service) : undefined))
  const keyIdOf = (profile: string) => readProfileCredentials(profile, home.env)?.accessKeyId

  // Mutant: rollBack always restores the whole file from its backup.
  it('a rollback keeps what another writer changed while the new key was being proven; only the rotated profile gets its old key back', async () => {
    newKeyNeverAccepted()
    const other = '\n[written-meanwhile]\naws_access_key_id = AKIAMEANWHILE0000001\naws_secret_access_key = meanwhile/secret/value/0000000000000000\n'
    onInfo = (m) => {
      // The new key is in the file now; someone else adds a profile before the proof ends.
      if (/Waiting until the new key works/.test(m)) appendFileSync(home.credentialsFile, other)
    }
    const e = await failure(rotate({waitMs: 600}))
    expect(e.message).to.match(/failed while proving the new key works/)
    const text = readFileSync(home.credentialsFile, 'utf8')
    expect(text).to.equal(credentialsText({pulumi: u.key}) + other)
    expect(await userKeys(moto.endpoint, moto.admin, 'guard')).to.deep.equal([{id: u.key.accessKeyId, status: 'Active'}])
  })

  // Mutant: recovery deletes the old key although a profile still holds it.
  it('recovery never deactivates or deletes an old key that a profile still holds', async () => {
    proxy.rules.push((req) => (req.action === 'UpdateAccessKey' && req.body.includes(u.key.accessKeyId) ? awsError('iam', 403, 'AccessDenied', 'not authorized to perform: iam:UpdateAccessKey') : undefined))
    const first = await rotate()
    expect(first.cleanupPending).to.equal(true)
    expect(readJournalEntries(home.credentialsFile)).to.have.length(1)
    // Meanwhile someone copies the old key into another profile.
    appendFileSync(home.credentialsFile, `\n[copy]\naws_access_key_id = ${u.key.accessKeyId}\naws_secret_access_key = ${u.key.secretAccessKey}\n`)
    proxy.rules.length = 0
    const again = await rotate()
    expect(again.recovered.join('\n')).to.match(/Finished the interrupted rotation of profile "pulumi"/)
    expect(await userKeys(moto.endpoint, moto.admin, 'guard')).to.have.deep.members([
      {id: first.newKeyId!, status: 'Active'},
      {id: u.key.accessKeyId, status: 'Active'},
    ])
    expect(await keyWorks(moto.endpoint, u.key, 'guard')).to.equal('ok')
    expect(readJournalEntries(home.credentialsFile)).to.have.length(0)
  })

  // Mutant: the journal entry is removed although the rollback could not delete the new key.
  it('a rollback that cannot delete the new key keeps its journal entry, and the next run deletes that key', async () => {
    newKeyNeverAccepted()
    proxy.rules.unshift((req) => (req.action === 'DeleteAccessKey' && !req.body.includes(u.key.accessKeyId) ? awsError('iam', 403, 'AccessDenied', 'not authorized to perform: iam:DeleteAccessKey') : undefined))
    const e = await failure(rotate({waitMs: 600}))
    expect(e.message).to.match(/could NOT be deleted/)
    const entries = readJournalEntries(home.credentialsFile)
    expect(entries).to.have.length(1)
    const orphan = entries[0].newKeyId!
    expect(orphan).to.match(/^AKIA/)
    expect((await userKeys(moto.endpoint, moto.admin, 'guard')).map((k) => k.id)).to.include(orphan)
    expect(keyIdOf('pulumi')).to.equal(u.key.accessKeyId)

    proxy.rules.length = 0
    const again = await rotate()
    expect(again.recovered.join('\n')).to.match(/Undid the interrupted rotation of profile "pulumi".*deleted the key/s)
    expect(again.result).to.equal('rotated')
    expect((await userKeys(moto.endpoint, moto.admin, 'guard')).map((k) => k.id)).to.deep.equal([again.newKeyId])
  })

  // Mutant: createKey never registers the new secret for redaction.
  it('registers the new secret for redaction the moment the key is created', async () => {
    let seenWhileProving: string | undefined
    onInfo = (m) => {
      if (!/Waiting until the new key works/.test(m)) return
      const secret = /\[pulumi\][\s\S]*?aws_secret_access_key\s*=\s*(\S+)/.exec(readFileSync(home.credentialsFile, 'utf8'))![1]
      seenWhileProving = redact(`error: ${secret} was rejected`)
    }
    clearRegisteredSecrets()
    const r = await rotate()
    expect(r.result).to.equal('rotated')
    expect(seenWhileProving).to.equal('error: **** was rejected')
  })

  // Mutant: rotateKeys lets one failed profile abort the others.
  it('a failed profile of a multi-profile run is its result; the other profiles are still rotated', async () => {
    appendFileSync(home.credentialsFile, '\n[ghost]\naws_access_key_id = AKIAGHOSTGHOSTGHOST1\naws_secret_access_key = ghost/secret/value/00000000000000000000\n')
    const results = await rotateKeys({profiles: ['ghost', 'pulumi'], ...opts()})
    expect(results.map((r) => [r.profile, r.result])).to.deep.equal([
      ['ghost', 'failed'],
      ['pulumi', 'rotated'],
    ])
    expect(results[0].error?.code).to.be.a('string')
    expect(exitCodeOf(results)).to.equal(results[0].exitCode).and.not.equal(0)
    expect(keyIdOf('pulumi')).to.equal(results[1].newKeyId)
  })

  // Mutant: rotateKeys rotates a key shared by several --profile again for each of them.
  it('profiles sharing one key are rotated once: one new key, written into all of them', async () => {
    writeCredentials(home.credentialsFile, credentialsText({a: u.key, b: u.key}))
    const results = await rotateKeys({profiles: ['a', 'b', 'a'], ...opts()})
    expect(results.map((r) => r.profile)).to.deep.equal(['a', 'b'])
    expect(proxy.calls.filter((c) => c.action === 'CreateAccessKey')).to.have.length(1)
    expect(results[1].newKeyId).to.equal(results[0].newKeyId)
    expect(results[1].changes[0].detail).to.match(/got the new key with profile a/)
    expect([keyIdOf('a'), keyIdOf('b')]).to.deep.equal([results[0].newKeyId, results[0].newKeyId])
    expect(await userKeys(moto.endpoint, moto.admin, 'guard')).to.deep.equal([{id: results[0].newKeyId, status: 'Active'}])
  })

  // Mutant: the check that the new key belongs to the user (KeyOwnerMismatch) is dropped.
  it('a new key that answers as another IAM user is not accepted: rolled back', async () => {
    proxy.rules.push((req) => (req.action === 'GetCallerIdentity' && req.keyId && !known().has(req.keyId) ? callerIs('arn:aws:iam::123456789012:user/someone-else') : undefined))
    const e = await failure(rotate())
    expect(e.code).to.equal('KeyOwnerMismatch')
    expect(e.message).to.match(/belongs to arn:aws:iam::123456789012:user\/someone-else, not to the IAM user guard/)
    expect(keyIdOf('pulumi')).to.equal(u.key.accessKeyId)
    expect(await userKeys(moto.endpoint, moto.admin, 'guard')).to.deep.equal([{id: u.key.accessKeyId, status: 'Active'}])
  })

  // Mutant: the check that --user names the owner of the profile's key is dropped.
  it('--user that is not the owner of the profile\'s key is bad input (exit 2), nothing changed', async () => {
    const e = await failure(rotate({user: 'someone-else'}))
    expect(e.code).to.equal('UserMismatch')
    expect(e.exitCode).to.equal(2)
    expect(proxy.calls.filter((c) => c.action === 'CreateAccessKey')).to.have.length(0)
    expect(await userKeys(moto.endpoint, moto.admin, 'guard')).to.deep.equal([{id: u.key.accessKeyId, status: 'Active'}])
  })

  // Mutant: with an administrator, a profile key of another user is not refused.
  it('an administrator run refuses a profile whose key is not one of --user\'s keys', async () => {
    const other = await makeStateUser(moto.endpoint, moto.admin, 'guard-other')
    const {createAwsContext} = await import('../../src/lib/aws/client.js')
    const admin = createAwsContext({region: 'us-east-1', endpoint: proxy.endpoint, credentials: moto.admin})
    const e = await failure(rotate({admin, user: other.user}))
    expect(e.code).to.equal('KeyNotOfUser')
    expect(proxy.calls.filter((c) => c.action === 'CreateAccessKey')).to.have.length(0)
    expect(await userKeys(moto.endpoint, moto.admin, other.user)).to.deep.equal([{id: other.key.accessKeyId, status: 'Active'}])
  })
})
