/**
 * The first key of a profile (src/lib/keys/first-key.ts, ensureProfileKey), in process against
 * moto (IAM enforcement on) behind the fault proxy, so that Stryker's mutants of first-key.ts
 * are seen (the CLI tests run dist/ in a subprocess). Each test asserts what a user relies on:
 * the result and its changes, the keys in IAM after, the credentials file's bytes, the error.
 */
import {expect} from 'chai'
import {existsSync, readFileSync, rmSync} from 'node:fs'
import {hostname} from 'node:os'
import {CreateUserCommand} from '@aws-sdk/client-iam'
import {useMoto} from '../support/moto.js'
import {FaultProxy, awsError, notYetPropagated} from '../support/fault-proxy.js'
import {addKey, credentialsText, iamClient, keyWorks, tempHomeDir, userKeys, writeCredentials} from '../support/keys-fixture.js'
import {ensureProfileKey, type EnsureProfileKeyOptions} from '../../src/lib/keys/first-key.js'
import {createAwsContext} from '../../src/lib/aws/client.js'
import {Journal, readJournalEntries} from '../../src/lib/keys/journal.js'
import {readProfileCredentials} from '../../src/lib/files/credentials.js'
import {maskKeyId} from '../../src/lib/redact.js'
import {rejection} from '../support/errors.js'

describe('keys: the first key of a profile, in process (ensureProfileKey)', () => {
  const moto = useMoto()
  let proxy: FaultProxy
  let home: ReturnType<typeof tempHomeDir>
  let output: string[]
  const USER = 'first'

  beforeEach(async () => {
    proxy = new FaultProxy(moto.endpoint)
    await proxy.start()
    home = tempHomeDir()
    output = []
    const iam = iamClient(moto.endpoint, moto.admin)
    await iam.send(new CreateUserCommand({UserName: USER}))
    iam.destroy()
  })
  afterEach(async () => {
    await proxy.stop()
    rmSync(home.dir, {recursive: true, force: true})
  })

  const logger = {info: (m: string) => output.push(m), warn: (m: string) => output.push(m)}
  const admin = () => createAwsContext({region: 'us-east-1', endpoint: proxy.endpoint, credentials: moto.admin})
  const ensure = (extra: Partial<EnsureProfileKeyOptions> = {}) =>
    ensureProfileKey(admin(), {user: USER, profile: 'newp', region: 'us-east-1', endpoint: proxy.endpoint, env: home.env, pollMs: 20, waitMs: 5000, logger, ...extra})
  const keys = () => userKeys(moto.endpoint, moto.admin, USER)
  const text = () => readFileSync(home.credentialsFile, 'utf8')
  const held = (profile: string) => readProfileCredentials(profile, home.env)
  const BASE = credentialsText({}) + '\n'
  const section = (profile: string, k: {accessKeyId: string; secretAccessKey: string}) =>
    `\n[${profile}]\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey}\n`

  it('bad input: an invalid profile name or no user is exit 2, before any AWS call', async () => {
    writeCredentials(home.credentialsFile, BASE)
    const badProfile = await rejection(ensure({profile: 'a]b'}))
    expect(badProfile.exitCode).to.equal(2)
    const noUser = await rejection(ensure({user: ''}))
    expect(noUser.exitCode).to.equal(2)
    expect(noUser.code).to.equal('BadInput')
    expect(noUser.message).to.equal('No IAM user given for the new key.')
    expect(noUser.hint).to.equal('Pass --user <name>.')
    expect(proxy.calls).to.deep.equal([])
    expect(text()).to.equal(BASE)
  })

  it('creates a key, appends the profile byte for byte, proves it, leaves no journal entry; a second run is unchanged and makes no write', async () => {
    writeCredentials(home.credentialsFile, BASE)
    let lockText = ''
    proxy.rules.push((req) => {
      if (req.action === 'CreateAccessKey') lockText = readFileSync(`${home.credentialsFile}.psb-rotate.lock`, 'utf8')
      return undefined
    })
    const r = await ensure()
    expect(r.status).to.equal('created')
    const fresh = held('newp')!
    // Under the rotation lock, named for this command; one proof round (a first key replaces nothing).
    expect(JSON.parse(lockText).command).to.equal('first key')
    expect(proxy.calls.filter((c) => c.service === 'sts' && c.keyId === fresh.accessKeyId)).to.have.length(1)
    expect(r.accessKeyId).to.equal(fresh.accessKeyId)
    expect(text()).to.equal(BASE + section('newp', fresh))
    expect(r.changes).to.deep.equal([
      {item: `access key ${maskKeyId(fresh.accessKeyId)}`, status: 'created', detail: `for ${USER}`},
      {item: 'profile newp', status: 'created', detail: `in ${home.credentialsFile}`},
    ])
    expect(r.warnings).to.deep.equal([])
    expect(r.reusedFrom).to.equal(undefined)
    expect(r.timings.totalMs).to.be.a('number').and.be.at.least(0).and.below(60_000)
    expect(r.timings.propagationWaitMs).to.be.a('number').and.be.at.least(0)
    expect(await keys()).to.deep.equal([{id: fresh.accessKeyId, status: 'Active'}])
    expect(await keyWorks(moto.endpoint, fresh, USER)).to.equal('ok')
    expect(readJournalEntries(home.credentialsFile)).to.deep.equal([])

    const writes = () => proxy.calls.filter((c) => /^(Create|Delete|Update)/.test(c.action))
    const before = writes().length
    const again = await ensure()
    expect(again.status).to.equal('unchanged')
    expect(again.accessKeyId).to.equal(fresh.accessKeyId)
    expect(again.changes).to.deep.equal([{item: 'profile newp', status: 'unchanged', detail: `holds ${USER}'s key ${maskKeyId(fresh.accessKeyId)}`}])
    expect(again.warnings).to.deep.equal([])
    expect(writes().length).to.equal(before)
    expect(text()).to.equal(BASE + section('newp', fresh))
  })

  it('an unchanged profile is proven with its own key (one STS round), not trusted blindly; a dry run does not call it', async () => {
    const k = await addKey(moto.endpoint, moto.admin, USER)
    writeCredentials(home.credentialsFile, BASE + section('newp', k))
    proxy.calls.length = 0
    const r = await ensure()
    expect(r.status).to.equal('unchanged')
    expect(proxy.calls.filter((c) => c.service === 'sts' && c.keyId === k.accessKeyId)).to.have.length(1)
    proxy.calls.length = 0
    const dry = await ensure({dryRun: true})
    expect(dry.status).to.equal('unchanged')
    expect(proxy.calls.filter((c) => c.keyId === k.accessKeyId)).to.deep.equal([])
    expect(existsSync(`${home.credentialsFile}.psb-rotate.lock`)).to.equal(false)
  })

  it('an unchanged profile whose key IAM never accepts fails (NewKeyNotAccepted) and changes nothing', async () => {
    const k = await addKey(moto.endpoint, moto.admin, USER)
    writeCredentials(home.credentialsFile, BASE + section('newp', k))
    proxy.rules.push((req) => (req.keyId === k.accessKeyId ? notYetPropagated(req.service) : undefined))
    const e = await rejection(ensure({waitMs: 200}))
    expect(e.code).to.equal('NewKeyNotAccepted')
    expect(text()).to.equal(BASE + section('newp', k))
    expect(await keys()).to.deep.equal([{id: k.accessKeyId, status: 'Active'}])
  })

  it('another profile holding an Active key of the user: that key is copied, no second key; a dry run plans the copy', async () => {
    const k = await addKey(moto.endpoint, moto.admin, USER)
    const start = BASE + section('ci', k)
    writeCredentials(home.credentialsFile, start)
    const dry = await ensure({dryRun: true})
    expect(dry).to.deep.include({status: 'planned', accessKeyId: k.accessKeyId, reusedFrom: 'ci', warnings: []})
    expect(dry.changes).to.deep.equal([{item: 'profile newp', status: 'planned', detail: `copy ${USER}'s key ${maskKeyId(k.accessKeyId)} from profile ci`}])
    expect(text()).to.equal(start)

    const r = await ensure()
    expect(r).to.deep.include({status: 'created', accessKeyId: k.accessKeyId, reusedFrom: 'ci'})
    expect(r.changes).to.deep.equal([{item: 'profile newp', status: 'created', detail: `holds ${USER}'s key ${maskKeyId(k.accessKeyId)}, copied from profile ci`}])
    expect(held('newp')).to.deep.include(k)
    expect(text()).to.equal(start + section('newp', k))
    expect(await keys()).to.deep.equal([{id: k.accessKeyId, status: 'Active'}])
  })

  it('a key of the user that no profile holds stops the run (UnknownKeyInUse), masked, with what to do; nothing changes', async () => {
    const k = await addKey(moto.endpoint, moto.admin, USER)
    // A default profile is no holder of the key (it holds another one).
    const start = BASE + section('default', moto.admin)
    writeCredentials(home.credentialsFile, start)
    const e = await rejection(ensure())
    const day = new Date().toISOString().slice(0, 10)
    expect(e.code).to.equal('UnknownKeyInUse')
    expect(e.exitCode).to.equal(1)
    expect(e.message).to.equal(
      `The IAM user ${USER} already has an access key, ${maskKeyId(k.accessKeyId)} (Active, created ${day}), that no profile of ${home.credentialsFile} holds. psb cannot read its secret, and creating a second key would leave no room for rotation. Nothing was changed.`,
    )
    expect(e.data).to.deep.equal({user: USER, keyId: maskKeyId(k.accessKeyId), status: 'Active'})
    expect(e.hint).to.include(`psb creds write --profile newp`)
    expect(e.hint).to.include(`aws iam delete-access-key --user-name ${USER} --access-key-id <id>`)
    expect(e.hint).to.not.include(k.accessKeyId)
    expect(text()).to.equal(start)
    expect(await keys()).to.deep.equal([{id: k.accessKeyId, status: 'Active'}])
  })

  it('an Active key held by the profile being created only (not another) is not "copied" from itself', async () => {
    // A session-token profile holding the user's key cannot be copied from: the key is unknown.
    const k = await addKey(moto.endpoint, moto.admin, USER)
    const start = BASE + section('ci', k).replace('\n', '\n').trimEnd() + '\naws_session_token = tok\n'
    writeCredentials(home.credentialsFile, start)
    const e = await rejection(ensure())
    expect(e.code).to.equal('UnknownKeyInUse')
    expect(text()).to.equal(start)
  })

  it('Inactive keys no profile holds are strays: planned in a dry run, deleted before the new key is created', async () => {
    const s1 = await addKey(moto.endpoint, moto.admin, USER, 'Inactive')
    const s2 = await addKey(moto.endpoint, moto.admin, USER, 'Inactive')
    writeCredentials(home.credentialsFile, BASE)
    const dry = await ensure({dryRun: true})
    expect(dry.status).to.equal('planned')
    expect(dry.accessKeyId).to.equal(undefined)
    expect(dry.changes).to.deep.equal([
      {item: `stray key ${maskKeyId(s1.accessKeyId)}`, status: 'planned', detail: 'delete (Inactive, no profile holds it)'},
      {item: `stray key ${maskKeyId(s2.accessKeyId)}`, status: 'planned', detail: 'delete (Inactive, no profile holds it)'},
      {item: 'access key', status: 'planned', detail: `create for ${USER}`},
      {item: 'profile newp', status: 'planned', detail: `write the key into ${home.credentialsFile}`},
    ])
    expect(await keys()).to.have.length(2)
    expect(text()).to.equal(BASE)

    const r = await ensure()
    expect(r.status).to.equal('created')
    expect(r.changes.slice(0, 2)).to.deep.equal([
      {item: `stray key ${maskKeyId(s1.accessKeyId)}`, status: 'deleted', detail: 'Inactive, no profile held it'},
      {item: `stray key ${maskKeyId(s2.accessKeyId)}`, status: 'deleted', detail: 'Inactive, no profile held it'},
    ])
    expect(await keys()).to.deep.equal([{id: r.accessKeyId!, status: 'Active'}])
  })

  it("an Inactive key another profile holds is no stray: it is the user's key in use, and stops the run", async () => {
    const k = await addKey(moto.endpoint, moto.admin, USER, 'Inactive')
    const start = BASE + section('ci', k)
    writeCredentials(home.credentialsFile, start)
    const e = await rejection(ensure())
    expect(e.code).to.equal('UnknownKeyInUse')
    expect(e.message).to.include(`(Inactive, created `)
    expect(await keys()).to.deep.equal([{id: k.accessKeyId, status: 'Inactive'}])
    expect(text()).to.equal(start)
  })

  it("the profile's own Inactive key is replaced: planned, then a new key written over it and the Inactive key deleted", async () => {
    const k = await addKey(moto.endpoint, moto.admin, USER, 'Inactive')
    const start = BASE + section('newp', k)
    writeCredentials(home.credentialsFile, start)
    const warning = `The profile "newp" holds ${USER}'s Inactive key ${maskKeyId(k.accessKeyId)}; psb replaces it with a new key.`
    const dry = await ensure({dryRun: true})
    expect(dry.status).to.equal('planned')
    expect(dry.warnings).to.deep.equal([warning])
    expect(dry.changes).to.deep.equal([
      {item: `inactive key ${maskKeyId(k.accessKeyId)}`, status: 'planned', detail: 'delete after the new key works'},
      {item: 'access key', status: 'planned', detail: `create for ${USER}`},
      {item: 'profile newp', status: 'planned', detail: `write the key into ${home.credentialsFile}`},
    ])
    expect(text()).to.equal(start)

    const r = await ensure()
    const fresh = held('newp')!
    expect(r.status).to.equal('created')
    expect(r.warnings).to.deep.equal([warning])
    expect(r.changes).to.deep.equal([
      {item: `access key ${maskKeyId(fresh.accessKeyId)}`, status: 'created', detail: `for ${USER}`},
      {item: 'profile newp', status: 'updated', detail: `in ${home.credentialsFile}`},
      {item: `inactive key ${maskKeyId(k.accessKeyId)}`, status: 'deleted'},
    ])
    expect(text()).to.equal(BASE + section('newp', fresh))
    expect(await keys()).to.deep.equal([{id: fresh.accessKeyId, status: 'Active'}])
    expect(readJournalEntries(home.credentialsFile)).to.deep.equal([])
  })

  it('the replaced Inactive key that cannot be deleted is a warning; the new key stays', async () => {
    const k = await addKey(moto.endpoint, moto.admin, USER, 'Inactive')
    writeCredentials(home.credentialsFile, BASE + section('newp', k))
    proxy.rules.push((req) => (req.action === 'DeleteAccessKey' ? awsError('iam', 403, 'AccessDenied', 'not authorized to perform: iam:DeleteAccessKey') : undefined))
    const r = await ensure()
    const fresh = held('newp')!
    expect(r.status).to.equal('created')
    expect(r.warnings).to.have.length(2)
    expect(r.warnings[1]).to.match(new RegExp(`^The Inactive key ${maskKeyId(k.accessKeyId)} could not be deleted: .*DeleteAccessKey`))
    expect(r.changes.map((c) => c.status)).to.deep.equal(['created', 'updated'])
    expect(await keys()).to.have.deep.members([
      {id: fresh.accessKeyId, status: 'Active'},
      {id: k.accessKeyId, status: 'Inactive'},
    ])
    expect(readJournalEntries(home.credentialsFile)).to.deep.equal([])
  })

  it("a profile holding another principal's working key is never overwritten (ProfileHoldsOtherKey)", async () => {
    const start = BASE + section('newp', moto.admin)
    writeCredentials(home.credentialsFile, start)
    const e = await rejection(ensure())
    expect(e.code).to.equal('ProfileHoldsOtherKey')
    expect(e.message).to.equal(`The profile "newp" already holds a working key of arn:aws:iam::123456789012:user/psb-test-admin, not of the IAM user ${USER}; psb does not overwrite it.`)
    expect(e.hint).to.equal('Choose another --profile name, or remove that profile from the credentials file first.')
    expect(text()).to.equal(start)
    expect(await keys()).to.deep.equal([])
  })

  it('a profile holding a key AWS no longer accepts is replaced, with a warning', async () => {
    const dead = {accessKeyId: 'AKIADEADDEADDEAD0001', secretAccessKey: 'dead/secret/value/000000000000000000000'}
    writeCredentials(home.credentialsFile, BASE + section('newp', dead))
    const r = await ensure()
    const fresh = held('newp')!
    expect(r.status).to.equal('created')
    expect(r.warnings).to.deep.equal([`The profile "newp" held a key (${maskKeyId(dead.accessKeyId)}) that AWS no longer accepts; psb replaces it.`])
    expect(r.changes[1]).to.deep.equal({item: 'profile newp', status: 'updated', detail: `in ${home.credentialsFile}`})
    expect(text()).to.equal(BASE + section('newp', fresh))
    expect(await keys()).to.deep.equal([{id: fresh.accessKeyId, status: 'Active'}])
  })

  it("a profile whose key's probe fails for another reason stops the run naming sts:GetCallerIdentity; nothing changes", async () => {
    const other = {accessKeyId: 'AKIAOTHEROTHEROTHER1', secretAccessKey: 'other/secret/value/000000000000000000000'}
    const start = BASE + section('newp', other)
    writeCredentials(home.credentialsFile, start)
    proxy.rules.push((req) => (req.keyId === other.accessKeyId ? awsError('sts', 403, 'RegionDisabledException', 'STS is not activated in this region') : undefined))
    const e = await rejection(ensure())
    expect(e.message).to.match(/sts:GetCallerIdentity/)
    expect(e.message).to.match(/RegionDisabledException/)
    expect(text()).to.equal(start)
    expect(await keys()).to.deep.equal([])
  })

  it('a new key IAM never accepts is rolled back: the appended profile goes byte for byte, the key is deleted, exit 1', async () => {
    writeCredentials(home.credentialsFile, BASE)
    const known = new Set([moto.admin.accessKeyId])
    proxy.rules.push((req) => (req.keyId && !known.has(req.keyId) ? notYetPropagated(req.service) : undefined))
    const e = await rejection(ensure({waitMs: 300}))
    expect(e.message).to.match(/^Creating the first key of profile "newp" failed while proving the new key works: .+ Rolled back: the credentials file is restored, the new key AKIA…\w{4} is deleted\.$/)
    expect(e.code).to.equal('NewKeyNotAccepted')
    expect(e.exitCode).to.equal(1)
    expect(e.hint).to.be.a('string').and.not.equal('')
    expect(text()).to.equal(BASE)
    expect(await keys()).to.deep.equal([])
    expect(readJournalEntries(home.credentialsFile)).to.deep.equal([])
  })

  it('a first key that replaced an Inactive key and is never accepted: the old key is written back, the new one deleted', async () => {
    const k = await addKey(moto.endpoint, moto.admin, USER, 'Inactive')
    const start = BASE + section('newp', k)
    writeCredentials(home.credentialsFile, start)
    const known = new Set([moto.admin.accessKeyId, k.accessKeyId])
    proxy.rules.push((req) => (req.keyId && !known.has(req.keyId) ? notYetPropagated(req.service) : undefined))
    const e = await rejection(ensure({waitMs: 300}))
    expect(e.message).to.match(/Rolled back: the credentials file is restored, the new key AKIA…\w{4} is deleted\.$/)
    expect(text()).to.equal(start)
    expect(await keys()).to.deep.equal([{id: k.accessKeyId, status: 'Inactive'}])
    expect(readJournalEntries(home.credentialsFile)).to.deep.equal([])
  })

  it('a rollback that cannot delete the new key says so and keeps the journal entry; the next run deletes that key', async () => {
    writeCredentials(home.credentialsFile, BASE)
    const known = new Set([moto.admin.accessKeyId])
    proxy.rules.push((req) => (req.action === 'DeleteAccessKey' ? awsError('iam', 403, 'AccessDenied', 'not authorized to perform: iam:DeleteAccessKey') : undefined))
    proxy.rules.push((req) => (req.keyId && !known.has(req.keyId) ? notYetPropagated(req.service) : undefined))
    const e = await rejection(ensure({waitMs: 300}))
    expect(e.message).to.match(/Rolled back: the credentials file is restored, the new key AKIA…\w{4} could NOT be deleted \(.*\); the next run deletes it\.$/)
    expect(text()).to.equal(BASE)
    const entries = readJournalEntries(home.credentialsFile)
    expect(entries).to.have.length(1)
    expect(entries[0]).to.deep.include({kind: 'create', user: USER, profile: 'newp', profiles: ['newp'], step: 'rolling-back', acting: 'admin'})
    // The backup writeProfile took is journaled: it holds the file as it was.
    expect(readFileSync(entries[0].backup!, 'utf8')).to.equal(BASE)
    const orphan = entries[0].newKeyId!
    expect(await keys()).to.deep.equal([{id: orphan, status: 'Active'}])

    proxy.rules.length = 0
    const again = await ensure()
    expect(again.status).to.equal('created')
    expect(again.warnings).to.have.length(1)
    expect(again.warnings[0]).to.match(/^Undid the interrupted first-key creation of profile "newp".*deleted the key/)
    expect(output.some((m) => /Found an unfinished key rotation of profile "newp"/.test(m))).to.equal(true)
    expect(await keys()).to.deep.equal([{id: again.accessKeyId!, status: 'Active'}])
    expect(readJournalEntries(home.credentialsFile)).to.deep.equal([])
  })

  it('a rollback that cannot restore the file keeps the new key (the profile holds it) and says the next run finishes', async () => {
    writeCredentials(home.credentialsFile, BASE)
    const known = new Set([moto.admin.accessKeyId])
    // A live writer takes the file lock while the new key is being proven: the restore cannot edit the file.
    const lockFile = `${home.credentialsFile}.psb-lock`
    proxy.rules.push((req) => {
      if (!req.keyId || known.has(req.keyId)) return undefined
      writeCredentials(lockFile, JSON.stringify({pid: process.pid, host: hostname(), nonce: 'x', time: Date.now()}))
      return notYetPropagated(req.service)
    })
    try {
      const e = await rejection(ensure({waitMs: 300, env: {...home.env, PSB_LOCK_TIMEOUT_MS: '200'}}))
      expect(e.message, e.message).to.match(/Rolled back: the credentials file could NOT be restored \(.+\), the new key AKIA…\w{4} is kept: the profile holds it; the next run finishes\.$/)
      const entries = readJournalEntries(home.credentialsFile)
      expect(entries).to.have.length(1)
      expect(entries[0].step).to.equal('rolling-back')
      expect(await keys()).to.deep.equal([{id: entries[0].newKeyId!, status: 'Active'}])
      expect(held('newp')?.accessKeyId).to.equal(entries[0].newKeyId)
    } finally {
      rmSync(lockFile, {force: true})
    }
  })

  it('an interrupted run recorded in the journal is finished first, and its message is a warning of this run', async () => {
    writeCredentials(home.credentialsFile, BASE)
    const orphan = await addKey(moto.endpoint, moto.admin, USER)
    const j = new Journal(home.credentialsFile)
    j.record({id: 'e1', kind: 'create', user: USER, profile: 'newp', profiles: ['newp'], newKeyId: orphan.accessKeyId, step: 'created', acting: 'admin', startedAt: new Date().toISOString()})
    const r = await ensure()
    expect(r.status).to.equal('created')
    expect(r.warnings).to.have.length(1)
    expect(r.warnings[0]).to.match(new RegExp(`^Undid the interrupted first-key creation of profile "newp" \\(user ${USER}, .*deleted the key ${maskKeyId(orphan.accessKeyId)}`))
    expect(output).to.include(r.warnings[0])
    expect(await keys()).to.deep.equal([{id: r.accessKeyId!, status: 'Active'}])
  })

  it('the administrator acts for the IAM calls, and a refusal names it in the hint', async () => {
    const s1 = await addKey(moto.endpoint, moto.admin, USER, 'Inactive')
    writeCredentials(home.credentialsFile, BASE)
    proxy.rules.push((req) => (req.action === 'DeleteAccessKey' ? awsError('iam', 403, 'AccessDenied', 'not authorized to perform: iam:DeleteAccessKey') : undefined))
    const e = await rejection(ensure())
    expect(e.code).to.equal('AccessDenied')
    expect(e.hint).to.include('(the administrator profile)')
    expect(proxy.calls.filter((c) => c.service === 'iam').every((c) => c.keyId === moto.admin.accessKeyId)).to.equal(true)
    expect(await keys()).to.deep.equal([{id: s1.accessKeyId, status: 'Inactive'}])
    expect(text()).to.equal(BASE)
  })

  it('a rollback after the profile vanished from the file meanwhile: the file is left unchanged, the new key is deleted', async () => {
    writeCredentials(home.credentialsFile, BASE)
    const known = new Set([moto.admin.accessKeyId])
    proxy.rules.push((req) => {
      if (!req.keyId || known.has(req.keyId)) return undefined
      // Someone puts the file back as it was while the new key is being proven.
      writeCredentials(home.credentialsFile, BASE)
      return notYetPropagated(req.service)
    })
    const e = await rejection(ensure({waitMs: 300}))
    expect(e.message).to.match(/ Rolled back: the credentials file is unchanged, the new key AKIA…\w{4} is deleted\.$/)
    expect(text()).to.equal(BASE)
    expect(await keys()).to.deep.equal([])
    expect(readJournalEntries(home.credentialsFile)).to.deep.equal([])
  })

  it('a dead key with a session token is replaced; when the new key is never accepted, the profile gets no key back (a temporary key is not restored)', async () => {
    const dead = {accessKeyId: 'AKIADEADDEADDEAD0002', secretAccessKey: 'dead/secret/value/000000000000000000000'}
    const start = BASE + section('newp', dead) + 'aws_session_token = tok\n'
    writeCredentials(home.credentialsFile, start)
    const known = new Set([moto.admin.accessKeyId])
    proxy.rules.push((req) => (req.keyId && !known.has(req.keyId) ? notYetPropagated(req.service) : undefined))
    const e = await rejection(ensure({waitMs: 300}))
    expect(e.message).to.match(/Rolled back: the credentials file is restored, the new key AKIA…\w{4} is deleted\.$/)
    expect(held('newp')?.accessKeyId).to.not.equal(dead.accessKeyId)
    expect(text()).to.not.include(dead.accessKeyId)
    expect(await keys()).to.deep.equal([])
  })

  it('a dead key is probed once with its own key (not retried as a new key), and a profile holding it is replaced by a copy of the key another profile holds', async () => {
    const k = await addKey(moto.endpoint, moto.admin, USER)
    const dead = {accessKeyId: 'AKIADEADDEADDEAD0003', secretAccessKey: 'dead/secret/value/000000000000000000000'}
    writeCredentials(home.credentialsFile, BASE + section('ci', k) + section('newp', dead))
    const r = await ensure()
    expect(r).to.deep.include({status: 'created', accessKeyId: k.accessKeyId, reusedFrom: 'ci'})
    expect(r.warnings[0]).to.equal(`The profile "newp" held a key (${maskKeyId(dead.accessKeyId)}) that AWS no longer accepts; psb replaces it.`)
    expect(proxy.calls.filter((c) => c.keyId === dead.accessKeyId)).to.have.length(1)
    expect(held('newp')).to.deep.include(k)
    expect(await keys()).to.deep.equal([{id: k.accessKeyId, status: 'Active'}])
  })

  it("a probe refused for another reason names the profile psb acted with in the hint", async () => {
    const other = {accessKeyId: 'AKIAOTHEROTHEROTHER2', secretAccessKey: 'other/secret/value/000000000000000000000'}
    writeCredentials(home.credentialsFile, BASE + section('newp', other))
    proxy.rules.push((req) => (req.keyId === other.accessKeyId ? awsError('sts', 403, 'AccessDenied', 'not authorized to perform: sts:GetCallerIdentity') : undefined))
    const e = await rejection(ensure())
    expect(e.message).to.match(/^AWS denied sts:GetCallerIdentity/)
    expect(e.hint).to.include('(profile newp)')
  })

  it('the wait for an unchanged profile key to be accepted counts as propagation wait', async () => {
    const k = await addKey(moto.endpoint, moto.admin, USER)
    writeCredentials(home.credentialsFile, BASE + section('newp', k))
    let refused = 0
    proxy.rules.push((req) => (req.keyId === k.accessKeyId && refused++ === 0 ? notYetPropagated(req.service) : undefined))
    const r = await ensure()
    expect(r.status).to.equal('unchanged')
    expect(r.timings.propagationWaitMs).to.be.greaterThan(0)
    expect(r.timings.totalMs).to.be.at.least(r.timings.propagationWaitMs)
  })

  it('a write of the credentials file that fails: the new key is deleted and the file is unchanged', async () => {
    writeCredentials(home.credentialsFile, BASE)
    writeCredentials(`${home.credentialsFile}.psb-lock`, JSON.stringify({pid: process.pid, host: hostname(), nonce: 'x', time: Date.now()}))
    try {
      const e = await rejection(ensure({env: {...home.env, PSB_LOCK_TIMEOUT_MS: '100'}}))
      expect(e.message).to.match(/^Creating the first key of profile "newp" failed while writing the credentials file: .+ Rolled back: the credentials file is unchanged, the new key AKIA…\w{4} is deleted\.$/)
      expect(e.exitCode).to.not.equal(2)
    } finally {
      rmSync(`${home.credentialsFile}.psb-lock`, {force: true})
    }
    expect(text()).to.equal(BASE)
    expect(await keys()).to.deep.equal([])
    expect(readJournalEntries(home.credentialsFile)).to.deep.equal([])
  })

  it('with no credentials file at all, a first key never accepted leaves the file empty again', async () => {
    const known = new Set([moto.admin.accessKeyId])
    proxy.rules.push((req) => (req.keyId && !known.has(req.keyId) ? notYetPropagated(req.service) : undefined))
    const e = await rejection(ensure({waitMs: 300}))
    expect(e.message).to.match(/Rolled back: the credentials file is restored, the new key AKIA…\w{4} is deleted\.$/)
    expect(existsSync(home.credentialsFile) ? text() : '').to.equal('')
    expect(await keys()).to.deep.equal([])
  })

  it('a base without a final newline is restored byte for byte after a failed first key', async () => {
    const start = credentialsText({})
    writeCredentials(home.credentialsFile, start)
    const known = new Set([moto.admin.accessKeyId])
    proxy.rules.push((req) => (req.keyId && !known.has(req.keyId) ? notYetPropagated(req.service) : undefined))
    await rejection(ensure({waitMs: 300}))
    expect(text()).to.equal(start)
  })
})
