/**
 * `psb keys list` (src/lib/keys/list.ts) and the user a rotation acts for
 * (preflight.ts resolveUser), in process against the shared moto (IAM enforcement on)
 * behind the fault proxy: the scenarios of test/moto/keys-rotate.test.ts "keys list: …" as
 * lib calls, so Stryker's mutants of list.ts are seen by a test (the CLI tests run dist/ in a
 * subprocess). One moto per file; each test a fresh user and temp home.
 */
import {expect} from 'chai'
import {rmSync, writeFileSync} from 'node:fs'
import {useMoto} from '../support/moto.js'
import {FaultProxy, awsError} from '../support/fault-proxy.js'
import {addKey, credentialsText, journalEntry, makeStateUser, tempHomeDir, userKeys, writeCredentials, type TestUser} from '../support/keys-fixture.js'
import {rejection} from '../support/errors.js'
import {listKeys, type ListKeysOptions} from '../../src/lib/keys/list.js'
import {recoverFirst, resolveUser} from '../../src/lib/keys/preflight.js'
import {emptyResult, makeState} from '../../src/lib/keys/run.js'
import {Journal, journalPath, type JournalEntry} from '../../src/lib/keys/journal.js'
import {createAwsContext, type AwsContext} from '../../src/lib/aws/client.js'

const entry = (fields: Partial<JournalEntry>): JournalEntry => journalEntry({user: 'lister', ...fields})

/** A GetCallerIdentity answer naming `arn`. */
function callerIs(arn: string) {
  return {
    status: 200,
    body: `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>${arn}</Arn><UserId>AROAOTHER:s</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>fault</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
    headers: {'content-type': 'text/xml'},
  }
}

const ROLE_SESSION = 'arn:aws:sts::123456789012:assumed-role/deploy/session'
const mask = (id: string) => `${id.slice(0, 4)}…${id.slice(-4)}`

describe('keys list and the user of a profile (in process, moto behind the fault proxy)', () => {
  const moto = useMoto()
  let proxy: FaultProxy
  let home: ReturnType<typeof tempHomeDir>
  let u: TestUser
  let admin: AwsContext

  beforeEach(async () => {
    proxy = new FaultProxy(moto.endpoint)
    await proxy.start()
    home = tempHomeDir()
    u = await makeStateUser(moto.endpoint, moto.admin, 'lister')
    writeCredentials(home.credentialsFile, credentialsText({pulumi: u.key, ci: u.key}))
    admin = createAwsContext({region: 'us-east-1', endpoint: proxy.endpoint, credentials: moto.admin})
  })
  afterEach(async () => {
    await proxy.stop()
    rmSync(home.dir, {recursive: true, force: true})
  })

  const list = (o: Partial<ListKeysOptions>) => listKeys({region: 'us-east-1', endpoint: proxy.endpoint, env: home.env, ...o})
  const lastUsedCalls = () => proxy.calls.filter((c) => c.action === 'GetAccessKeyLastUsed')
  const awsCalls = () => proxy.calls.length

  it('bad input is exit 2 before any AWS call: nobody named, an invalid profile name, a profile with no key, a role profile', async () => {
    writeFileSync(home.configFile, '[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deploy\nsource_profile = pulumi\n')
    for (const o of [{}, {user: 'lister'}, {admin}]) {
      const e = await rejection(list(o))
      expect([e.exitCode, e.code, e.message, e.hint]).to.deep.equal([2, 'BadInput', 'Say whose keys to list.', 'Pass --profile <name>, or --user <name> with --admin-profile <admin>.'])
    }
    const name = await rejection(list({profile: 'a]b'}))
    expect([name.exitCode, name.code]).to.deep.equal([2, 'ProfileNameInvalid'])
    const nokey = await rejection(list({profile: 'nosuch'}))
    expect([nokey.exitCode, nokey.code]).to.deep.equal([2, 'ProfileHasNoKey'])
    expect(nokey.message).to.equal(`The profile "nosuch" has no access key in ${home.credentialsFile}.`)
    expect(nokey.hint).to.equal('Pass a profile that holds a key, or --user <name> with --admin-profile <admin>.')
    for (const o of [{profile: 'deploy'}, {profile: 'deploy', user: 'lister'}, {profile: 'deploy', admin}]) {
      const role = await rejection(list(o))
      expect([role.exitCode, role.code], JSON.stringify(o.profile)).to.deep.equal([2, 'ProfileAssumesRole'])
      expect(role.message).to.match(/^The profile "deploy" has no key to list: it assumes arn:aws:iam::123456789012:role\/deploy/)
    }
    expect(awsCalls()).to.equal(0)
  })

  it("with a profile's own key: its user, each key's status, date, age, last use and the profiles that hold it", async () => {
    const inactive = await addKey(moto.endpoint, moto.admin, 'lister', 'Inactive')
    const r = await list({profile: 'pulumi'})
    expect(r.user).to.equal('lister')
    expect(r.userArn).to.equal(u.arn)
    expect(r.pending).to.deep.equal([])
    expect(r.warnings).to.deep.equal([])
    expect(r.keys.map((k) => k.accessKeyId)).to.have.members([u.key.accessKeyId, inactive.accessKeyId])
    const own = r.keys.find((k) => k.accessKeyId === u.key.accessKeyId)!
    const other = r.keys.find((k) => k.accessKeyId === inactive.accessKeyId)!
    expect(own.status).to.equal('Active')
    expect(own.profiles).to.deep.equal(['ci', 'pulumi'])
    expect(own.createdAt).to.match(/^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
    expect(Date.now() - Date.parse(own.createdAt!)).to.be.within(-5000, 600_000)
    expect(own.ageDays).to.equal(0)
    // The profile's key was just used (STS, then IAM): its last use is known.
    expect(own.lastUsed?.date).to.match(/^20\d\d-\d\d-\d\dT/)
    expect(own.lastUsed?.service).to.be.a('string').and.not.equal('N/A')
    expect(own.lastUsed?.region).to.equal('us-east-1')
    expect(other).to.deep.include({status: 'Inactive', profiles: [], ageDays: 0})
    expect(other.lastUsed).to.deep.equal({date: undefined, service: undefined, region: undefined})
    // One last-use call per key, made with the profile's key.
    expect(lastUsedCalls().map((c) => c.keyId)).to.deep.equal([u.key.accessKeyId, u.key.accessKeyId])
  })

  it('as an administrator (--user with --admin-profile): no profile needed; the administrator makes every call', async () => {
    writeFileSync(home.configFile, '[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deploy\n')
    const r = await list({user: 'lister', admin})
    expect(r.user).to.equal('lister')
    expect(r.userArn).to.equal(undefined)
    expect(r.keys.map((k) => [k.accessKeyId, k.profiles])).to.deep.equal([[u.key.accessKeyId, ['ci', 'pulumi']]])
    expect(new Set(proxy.calls.map((c) => c.keyId))).to.deep.equal(new Set([moto.admin.accessKeyId]))
    expect(proxy.calls.map((c) => c.action)).to.not.include('GetCallerIdentity')
    // A role profile named with --user and --admin-profile is not refused: the administrator lists.
    const viaRole = await list({profile: 'deploy', user: 'lister', admin})
    expect(viaRole.user).to.equal('lister')
  })

  it("a profile's key with --admin-profile: the profile names the user (STS), the administrator lists", async () => {
    // The user's own key may not read its keys' last use; the administrator may.
    proxy.rules.push((req) => (req.action === 'GetAccessKeyLastUsed' && req.keyId === u.key.accessKeyId ? awsError('iam', 403, 'AccessDenied', 'not authorized') : undefined))
    const r = await list({profile: 'pulumi', admin})
    expect([r.user, r.userArn]).to.deep.equal(['lister', u.arn])
    expect(r.warnings).to.deep.equal([])
    expect(proxy.calls.find((c) => c.action === 'GetCallerIdentity')?.keyId).to.equal(u.key.accessKeyId)
    expect(proxy.calls.find((c) => c.action === 'ListAccessKeys')?.keyId).to.equal(moto.admin.accessKeyId)
  })

  it('last use denied: one warning naming who may not call it, and no further last-use call', async () => {
    await addKey(moto.endpoint, moto.admin, 'lister', 'Inactive')
    proxy.rules.push((req) => (req.action === 'GetAccessKeyLastUsed' ? awsError('iam', 403, 'AccessDenied', 'not authorized to perform: iam:GetAccessKeyLastUsed') : undefined))
    const r = await list({profile: 'pulumi'})
    expect(r.warnings).to.deep.equal(['Last use is not shown: profile pulumi may not call iam:GetAccessKeyLastUsed.'])
    expect(lastUsedCalls()).to.have.length(1)
    expect(r.keys.every((k) => k.lastUsed === undefined)).to.equal(true)
    const asAdmin = await list({user: 'lister', admin})
    expect(asAdmin.warnings).to.deep.equal(['Last use is not shown: the administrator profile may not call iam:GetAccessKeyLastUsed.'])
  })

  it('last use failing otherwise: a warning per key (masked id, the reason), and the other keys are still asked', async () => {
    const second = await addKey(moto.endpoint, moto.admin, 'lister', 'Inactive')
    proxy.rules.push((req) => (req.action === 'GetAccessKeyLastUsed' && req.body.includes(u.key.accessKeyId) ? awsError('iam', 400, 'NoSuchEntity', 'The key was not found.') : undefined))
    const r = await list({profile: 'pulumi'})
    expect(lastUsedCalls()).to.have.length(2)
    expect(r.warnings).to.have.length(1)
    expect(r.warnings[0]).to.match(new RegExp(`^Last use of ${mask(u.key.accessKeyId)} is not shown: .*The key was not found\\.`))
    expect(r.warnings[0]).to.not.include(u.key.accessKeyId)
    expect(r.keys.find((k) => k.accessKeyId === u.key.accessKeyId)!.lastUsed).to.equal(undefined)
    expect(r.keys.find((k) => k.accessKeyId === second.accessKeyId)!.lastUsed).to.deep.equal({date: undefined, service: undefined, region: undefined})
  })

  it('a key IAM lists without a creation date has no date and no age', async () => {
    proxy.rules.push((req) =>
      req.action === 'ListAccessKeys'
        ? {
            status: 200,
            headers: {'content-type': 'text/xml'},
            body: `<ListAccessKeysResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListAccessKeysResult><IsTruncated>false</IsTruncated><AccessKeyMetadata><member><UserName>lister</UserName><AccessKeyId>${u.key.accessKeyId}</AccessKeyId><Status>Active</Status></member></AccessKeyMetadata></ListAccessKeysResult><ResponseMetadata><RequestId>fault</RequestId></ResponseMetadata></ListAccessKeysResponse>`,
          }
        : undefined,
    )
    const r = await list({profile: 'pulumi'})
    expect(r.keys).to.have.length(1)
    expect(r.keys[0].createdAt).to.equal(undefined)
    expect(r.keys[0].ageDays).to.equal(undefined)
  })

  it('last use: an answer without AccessKeyLastUsed is "never used"; a rejected call is a warning naming iam:GetAccessKeyLastUsed', async () => {
    const second = await addKey(moto.endpoint, moto.admin, 'lister', 'Inactive')
    proxy.rules.push((req) => {
      if (req.action !== 'GetAccessKeyLastUsed') return undefined
      if (req.body.includes(second.accessKeyId)) return awsError('iam', 403, 'InvalidClientTokenId', 'The security token included in the request is invalid.')
      return {
        status: 200,
        headers: {'content-type': 'text/xml'},
        body: '<GetAccessKeyLastUsedResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetAccessKeyLastUsedResult><UserName>lister</UserName></GetAccessKeyLastUsedResult><ResponseMetadata><RequestId>fault</RequestId></ResponseMetadata></GetAccessKeyLastUsedResponse>',
      }
    })
    const r = await list({profile: 'pulumi'})
    expect(r.keys.find((k) => k.accessKeyId === u.key.accessKeyId)!.lastUsed).to.deep.equal({date: undefined, service: undefined, region: undefined})
    expect(r.keys.find((k) => k.accessKeyId === second.accessKeyId)!.lastUsed).to.equal(undefined)
    expect(r.warnings).to.have.length(1)
    expect(r.warnings[0]).to.match(new RegExp(`^Last use of ${mask(second.accessKeyId)} is not shown: AWS rejected the credentials for iam:GetAccessKeyLastUsed \\(InvalidClientTokenId\\)`))
  })

  it("a profile's key that is not an IAM user's, or of another user than --user, is refused", async () => {
    const other = await makeStateUser(moto.endpoint, moto.admin, 'someone', {createBucket: false})
    writeCredentials(home.credentialsFile, credentialsText({pulumi: u.key, theirs: other.key}))
    const mismatch = await rejection(list({profile: 'theirs', user: 'lister'}))
    expect([mismatch.exitCode, mismatch.code]).to.deep.equal([2, 'UserMismatch'])
    expect(mismatch.message).to.equal('The key of profile "theirs" belongs to someone, not lister.')
    expect(mismatch.hint).to.equal("A profile's own key lists only its own user's keys. To list the keys of lister, act as an administrator: --user lister --admin-profile <admin>.")
    expect(proxy.calls.map((c) => c.action)).to.deep.equal(['GetCallerIdentity'])
    // The same --user as the key's own user is fine.
    expect((await list({profile: 'theirs', user: 'someone'})).user).to.equal('someone')
    proxy.rules.push((req) => (req.action === 'GetCallerIdentity' ? callerIs(ROLE_SESSION) : undefined))
    const role = await rejection(list({profile: 'pulumi'}))
    expect([role.exitCode, role.code]).to.deep.equal([1, 'NotAnIamUser'])
    expect(role.message).to.equal(`The key of profile "pulumi" belongs to ${ROLE_SESSION}, which is not an IAM user.`)
  })

  it('a key AWS rejects is exit 1 naming the call, at once: neither the profile\'s key nor the administrator\'s is retried as a new key would be', async () => {
    writeCredentials(home.credentialsFile, credentialsText({pulumi: u.key, dead: {accessKeyId: 'AKIADEADDEADDEADDEAD', secretAccessKey: 'deaddeaddeaddeaddeaddeaddeaddeaddeaddead'}}))
    const started = Date.now()
    const dead = await rejection(list({profile: 'dead'}))
    expect([dead.exitCode, dead.code]).to.deep.equal([1, 'BadCredentials'])
    expect(dead.message).to.match(/^AWS rejected the credentials for sts:GetCallerIdentity \(InvalidClientTokenId\)/)
    expect(dead.hint).to.match(/^Check the access key of the profile psb acts with \(profile dead\)/)
    expect(proxy.calls.map((c) => c.action)).to.deep.equal(['GetCallerIdentity'])
    const badAdmin = createAwsContext({region: 'us-east-1', endpoint: proxy.endpoint, credentials: {accessKeyId: 'AKIADEADADMINADMIN01', secretAccessKey: 'd'.repeat(40)}})
    const denied = await rejection(list({user: 'lister', admin: badAdmin}))
    expect([denied.exitCode, denied.code]).to.deep.equal([1, 'BadCredentials'])
    expect(denied.hint).to.match(/\(the administrator profile\)/)
    expect(proxy.calls.map((c) => c.action)).to.deep.equal(['GetCallerIdentity', 'ListAccessKeys'])
    expect(Date.now() - started).to.be.below(10_000)
  })

  it("reports the journal's unfinished rotations of this user (not of others), and an unreadable journal as a warning", async () => {
    const j = new Journal(home.credentialsFile)
    j.record(entry({id: '111111111111', profile: 'pulumi', step: 'written', startedAt: '2026-02-03T04:05:06.000Z'}))
    j.record(entry({id: '222222222222', profile: 'dev', user: 'someone-else', step: 'creating'}))
    const r = await list({profile: 'pulumi'})
    expect(r.pending).to.deep.equal([{profile: 'pulumi', step: 'written', startedAt: '2026-02-03T04:05:06.000Z'}])
    expect(r.warnings).to.deep.equal(['An interrupted rotation of lister is recorded in the journal; the next `psb keys rotate` finishes or undoes it.'])
    writeFileSync(journalPath(home.credentialsFile), '{not json')
    const broken = await list({profile: 'pulumi'})
    expect(broken.pending).to.deep.equal([])
    expect(broken.warnings).to.have.length(1)
    expect(broken.warnings[0]).to.match(/journal/i)
    expect(broken.keys).to.have.length(1)
  })

  describe('resolveUser (keys rotate)', () => {
    const state = () => makeState({region: 'us-east-1', endpoint: proxy.endpoint, env: home.env})

    it("the profile's key names its user; --user with an administrator is taken as given, without STS", async () => {
      const r = await resolveUser(state(), {region: 'us-east-1'}, 'pulumi', u.key)
      expect([r.user, r.userArn, r.self.label, r.self.fresh]).to.deep.equal(['lister', u.arn, 'profile pulumi', false])
      const before = proxy.calls.length
      const given = await resolveUser(state(), {region: 'us-east-1', admin, user: 'named'}, 'pulumi', u.key)
      expect([given.user, given.userArn]).to.deep.equal(['named', undefined])
      expect(proxy.calls.length).to.equal(before)
      // --user naming the key's own user, without an administrator: STS confirms it.
      const same = await resolveUser(state(), {region: 'us-east-1', user: 'lister'}, 'pulumi', u.key)
      expect([same.user, same.userArn]).to.deep.equal(['lister', u.arn])
    })

    it('a key of a role session is NotAnIamUser; a key of another user than --user is UserMismatch (exit 2)', async () => {
      const mismatch = await rejection(resolveUser(state(), {region: 'us-east-1', user: 'other'}, 'pulumi', u.key))
      expect([mismatch.exitCode, mismatch.code]).to.deep.equal([2, 'UserMismatch'])
      expect(mismatch.message).to.equal('The key of profile "pulumi" belongs to the IAM user lister, not other.')
      expect(mismatch.hint).to.equal("Drop --user, or pass the profile that holds other's key.")
      proxy.rules.push((req) => (req.action === 'GetCallerIdentity' ? callerIs(ROLE_SESSION) : undefined))
      const role = await rejection(resolveUser(state(), {region: 'us-east-1'}, 'pulumi', u.key))
      expect([role.exitCode, role.code]).to.deep.equal([1, 'NotAnIamUser'])
      expect(role.message).to.equal(`The key of profile "pulumi" belongs to ${ROLE_SESSION}, which is not an IAM user: only IAM user keys can be rotated.`)
      expect(role.hint).to.equal('Root keys should be deleted rather than rotated; role sessions have no long-term keys.')
    })
  })

  describe('recoverFirst (keys rotate): which finished recovery completes this profile', () => {
    /** The user has its old key and a new one; `holders` hold the new key in the file (as after an interrupted write). */
    async function interrupted(holders: string[]) {
      const fresh = await addKey(moto.endpoint, moto.admin, 'lister')
      const profiles: Record<string, typeof fresh> = {}
      for (const p of holders) profiles[p] = fresh
      writeCredentials(home.credentialsFile, credentialsText(profiles))
      const logs: string[] = []
      const logger = {info: (m: string) => logs.push(m), warn: (m: string) => logs.push(m)}
      const state = makeState({region: 'us-east-1', endpoint: proxy.endpoint, env: home.env, pollMs: 50, waitMs: 5000, successes: 1, logger})
      state.journal = new Journal(home.credentialsFile)
      return {fresh, state, logs}
    }

    it('a finished rotation recorded for this profile (its holders not yet recorded) completes it; the old key is deleted', async () => {
      const {fresh, state, logs} = await interrupted(['pulumi'])
      state.journal!.record(entry({id: '111111111111', profile: 'pulumi', profiles: [], oldKeyId: u.key.accessKeyId, newKeyId: fresh.accessKeyId, step: 'verified'}))
      const res = emptyResult('pulumi')
      const done = await recoverFirst(state, {region: 'us-east-1'}, 'pulumi', res)
      expect(done?.action).to.equal('finished')
      expect(done?.entry.id).to.equal('111111111111')
      expect(res.recovered).to.have.length(1)
      expect(res.recovered[0]).to.match(/^Finished the interrupted rotation of profile "pulumi"/)
      expect(logs).to.include(res.recovered[0])
      expect(await userKeys(moto.endpoint, moto.admin, 'lister')).to.deep.equal([{id: fresh.accessKeyId, status: 'Active'}])
      expect(state.journal!.list()).to.deep.equal([])
    })

    it('a finished rotation of another profile of the same user (found through --user) does not complete this profile', async () => {
      const {fresh, state} = await interrupted(['ci'])
      state.journal!.record(entry({id: '666666666666', profile: 'ci', profiles: ['ci'], oldKeyId: u.key.accessKeyId, newKeyId: fresh.accessKeyId, step: 'verified'}))
      const res = emptyResult('pulumi')
      expect(await recoverFirst(state, {region: 'us-east-1', user: 'lister'}, 'pulumi', res)).to.equal(undefined)
      expect(res.recovered).to.have.length(1)
      expect(res.recovered[0]).to.match(/^Finished the interrupted rotation of profile "ci"/)
      expect(await userKeys(moto.endpoint, moto.admin, 'lister')).to.deep.equal([{id: fresh.accessKeyId, status: 'Active'}])
    })

    it('an undone rotation or first key of this profile completes nothing: the run goes on to rotate', async () => {
      const {fresh, state} = await interrupted([])
      writeCredentials(home.credentialsFile, credentialsText({pulumi: u.key}))
      state.admin = admin
      state.journal!.record(entry({id: '444444444444', profile: 'pulumi', profiles: ['pulumi'], oldKeyId: u.key.accessKeyId, newKeyId: fresh.accessKeyId, step: 'created'}))
      state.journal!.record(entry({id: '555555555555', kind: 'create', profile: 'pulumi', profiles: ['pulumi'], newKeyId: 'AKIAGONEGONEGONEGONE', step: 'created'}))
      const res = emptyResult('pulumi')
      expect(await recoverFirst(state, {region: 'us-east-1'}, 'pulumi', res)).to.equal(undefined)
      expect(res.recovered).to.have.length(2)
      expect(res.recovered[0]).to.match(/^Undid the interrupted rotation of profile "pulumi".*deleted the key/)
      expect(res.recovered[1]).to.match(/^Undid the interrupted first-key creation of profile "pulumi"/)
      expect(await userKeys(moto.endpoint, moto.admin, 'lister')).to.deep.equal([{id: u.key.accessKeyId, status: 'Active'}])
    })

    it('a finished first-key creation completes only its own profile, not another profile of the same user', async () => {
      const {fresh, state} = await interrupted(['ci'])
      state.journal!.record(entry({id: '222222222222', kind: 'create', profile: 'ci', profiles: ['ci'], newKeyId: fresh.accessKeyId, step: 'verified'}))
      const res = emptyResult('pulumi')
      // Found through --user (the same IAM user): finished, but it is profile ci's run.
      expect(await recoverFirst(state, {region: 'us-east-1', user: 'lister'}, 'pulumi', res)).to.equal(undefined)
      expect(res.recovered).to.have.length(1)
      expect(res.recovered[0]).to.match(/^Finished the interrupted first-key creation of profile "ci"/)
      expect(state.journal!.list()).to.deep.equal([])
      // A first key has no old key: both of the user's keys are still there.
      expect(await userKeys(moto.endpoint, moto.admin, 'lister')).to.have.deep.members([
        {id: u.key.accessKeyId, status: 'Active'},
        {id: fresh.accessKeyId, status: 'Active'},
      ])
      state.journal!.record(entry({id: '333333333333', kind: 'create', profile: 'ci', profiles: ['ci'], newKeyId: fresh.accessKeyId, step: 'verified'}))
      const own = await recoverFirst(state, {region: 'us-east-1'}, 'ci', emptyResult('ci'))
      expect(own?.action).to.equal('finished')
      expect(own?.entry.id).to.equal('333333333333')
    })
  })
})
