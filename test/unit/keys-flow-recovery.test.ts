/**
 * Crash recovery of key rotations (src/lib/keys/recovery.ts), in process against moto (IAM
 * enforcement on) behind the fault proxy: each test writes the journal entry a run killed at
 * some step leaves, and the credentials file as it was then, and checks what recovery does
 * (finish or undo), what it says, the keys in IAM after, and the file's bytes. Stryker sees
 * these (the kill tests run dist/ in a subprocess).
 */
import {expect} from 'chai'
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {useMoto} from '../support/moto.js'
import {FaultProxy, notYetPropagated} from '../support/fault-proxy.js'
import {CreateUserCommand} from '@aws-sdk/client-iam'
import {addKey, credentialsText, iamClient, journalEntry, makeStateUser, tempHomeDir, userKeys, writeCredentials, type TestUser} from '../support/keys-fixture.js'
import {CLOCK_SKEW_MS, orphanCandidates, recoverEntry, recoverForProfile, secretFromBackup} from '../../src/lib/keys/recovery.js'
import {Journal, readJournalEntries, type JournalEntry} from '../../src/lib/keys/journal.js'
import {makeState, type RunState, type RotationSession} from '../../src/lib/keys/run.js'
import {createAwsContext} from '../../src/lib/aws/client.js'
import {clearRegisteredSecrets, maskKeyId, redact} from '../../src/lib/redact.js'
import {rejection} from '../support/errors.js'
import {type Keys} from '../support/moto.js'

const entryOf = (fields: Partial<JournalEntry>): JournalEntry =>
  journalEntry({id: 'e', user: 'u', profile: 'p', profiles: ['p'], step: 'creating', ...fields})

describe('keys recovery: pure parts (orphanCandidates, secretFromBackup)', () => {
  const from = '2026-01-01T00:00:10.500Z'
  const to = '2026-01-01T00:00:20.000Z'
  const at = (iso: string, deltaMs = 0) => new Date(Date.parse(iso) + deltaMs)
  const none = () => false

  it('a key is provable only inside the request window widened by the clock skew, its start rounded down to the second', () => {
    const e = entryOf({createWindow: {from, to}})
    // from - skew = 00:00:08.500, rounded down to 00:00:08.000 (IAM dates keys to the second).
    const keys = [
      {id: 'AKIAINSIDE0000000001', created: at(from)},
      {id: 'AKIAEARLYEDGE0000001', created: new Date('2026-01-01T00:00:08.000Z')},
      {id: 'AKIATOOEARLY00000001', created: new Date('2026-01-01T00:00:07.999Z')},
      {id: 'AKIALATEEDGE00000001', created: at(to, CLOCK_SKEW_MS)},
      {id: 'AKIATOOLATE000000001', created: at(to, CLOCK_SKEW_MS + 1)},
      {id: 'AKIANODATE0000000001'},
    ]
    expect(CLOCK_SKEW_MS).to.equal(2000)
    expect(orphanCandidates(e, keys, none)).to.deep.equal({
      provable: ['AKIAINSIDE0000000001', 'AKIAEARLYEDGE0000001', 'AKIALATEEDGE00000001'],
      unproven: ['AKIATOOEARLY00000001', 'AKIATOOLATE000000001', 'AKIANODATE0000000001'],
    })
  })

  it('keys there before, the old key, and keys a profile holds are never candidates; without a window or its end nothing is provable', () => {
    const keys = [
      {id: 'AKIABEFORE0000000001', created: at(from)},
      {id: 'AKIAOLDKEY0000000001', created: at(from)},
      {id: 'AKIAHELD000000000001', created: at(from)},
      {id: 'AKIANEW0000000000001', created: at(from)},
    ]
    const held = (id: string) => id === 'AKIAHELD000000000001'
    const e = entryOf({createWindow: {from, to}, keysBefore: ['AKIABEFORE0000000001'], oldKeyId: 'AKIAOLDKEY0000000001'})
    expect(orphanCandidates(e, keys, held)).to.deep.equal({provable: ['AKIANEW0000000000001'], unproven: []})
    expect(orphanCandidates({...e, createWindow: {from}}, keys, held)).to.deep.equal({provable: [], unproven: ['AKIANEW0000000000001']})
    expect(orphanCandidates({...e, createWindow: undefined}, keys, held)).to.deep.equal({provable: [], unproven: ['AKIANEW0000000000001']})
    expect(orphanCandidates(entryOf({createWindow: {from, to}}), keys.slice(0, 2), none)).to.deep.equal({provable: ['AKIABEFORE0000000001', 'AKIAOLDKEY0000000001'], unproven: []})
  })

  it('secretFromBackup finds the secret of a key id in a backup (and registers it for redaction); anything else is undefined', () => {
    const home = tempHomeDir()
    try {
      const backup = join(home.dir, 'credentials.bak')
      const secret = 'backup/secret/value/for/the/old/key/0001'
      writeFileSync(backup, `[a]\naws_access_key_id = AKIAOTHER00000000001\naws_secret_access_key = other/secret\n\n[p]\naws_access_key_id = AKIAOLD0000000000001\naws_secret_access_key = ${secret}\n`)
      clearRegisteredSecrets()
      expect(secretFromBackup(backup, 'AKIAOLD0000000000001')).to.equal(secret)
      expect(redact(`x ${secret} y`)).to.equal('x **** y')
      expect(secretFromBackup(backup, 'AKIANOTTHERE00000001')).to.equal(undefined)
      expect(secretFromBackup(backup, undefined)).to.equal(undefined)
      expect(secretFromBackup(undefined, 'AKIAOLD0000000000001')).to.equal(undefined)
      expect(secretFromBackup(join(home.dir, 'missing.bak'), 'AKIAOLD0000000000001')).to.equal(undefined)
      writeFileSync(backup, `[p]\naws_access_key_id = AKIAOLD0000000000001\n`)
      expect(secretFromBackup(backup, 'AKIAOLD0000000000001')).to.equal(undefined)
      writeFileSync(backup, `[p]\naws_access_key_id = AKIAOLD0000000000001\naws_secret_access_key = ${secret}\n[broken\n`)
      expect(secretFromBackup(backup, 'AKIAOLD0000000000001')).to.equal(undefined)
    } finally {
      rmSync(home.dir, {recursive: true, force: true})
    }
  })
})

describe('keys recovery: journal entries of interrupted runs, against moto (recoverEntry, recoverForProfile)', () => {
  const moto = useMoto()
  let proxy: FaultProxy
  let home: ReturnType<typeof tempHomeDir>
  let u: TestUser
  let output: string[]
  let backup: string
  const STARTED = '2026-11-01T10:00:00.000Z'

  beforeEach(async () => {
    proxy = new FaultProxy(moto.endpoint)
    await proxy.start()
    home = tempHomeDir()
    u = await makeStateUser(moto.endpoint, moto.admin, 'rec')
    backup = join(home.dir, 'credentials.psb-backup')
    output = []
  })
  afterEach(async () => {
    await proxy.stop()
    rmSync(home.dir, {recursive: true, force: true})
  })

  const logger = {info: (m: string) => output.push(m), warn: (m: string) => output.push(m)}
  const adminCtx = () => createAwsContext({region: 'us-east-1', endpoint: proxy.endpoint, credentials: moto.admin})
  const stateOf = (extra: {admin?: boolean; session?: RotationSession; waitMs?: number} = {}): RunState => {
    const s = makeState({region: 'us-east-1', endpoint: proxy.endpoint, env: home.env, logger, pollMs: 20, waitMs: extra.waitMs ?? 5000, admin: extra.admin ? adminCtx() : undefined, session: extra.session})
    s.journal = new Journal(home.credentialsFile)
    return s
  }
  const record = (fields: Partial<JournalEntry>): JournalEntry => {
    const j = new Journal(home.credentialsFile)
    return j.record({id: 'r1', kind: 'rotate', user: 'rec', profile: 'pulumi', profiles: ['pulumi'], step: 'written', acting: 'self', startedAt: STARTED, ...fields})
  }
  const keys = () => userKeys(moto.endpoint, moto.admin, 'rec')
  const makeUser = async (name: string) => {
    const iam = iamClient(moto.endpoint, moto.admin)
    await iam.send(new CreateUserCommand({UserName: name}))
    iam.destroy()
  }
  const text = () => readFileSync(home.credentialsFile, 'utf8')
  const where = (kind = 'rotation', profile = 'pulumi') => `the interrupted ${kind} of profile "${profile}" (user rec, started ${STARTED})`
  const m = (k: Keys | string) => maskKeyId(typeof k === 'string' ? k : k.accessKeyId)
  /** The file as psb leaves it after writing the new key, and the backup holding the old key. */
  const newKeyWritten = async () => {
    const fresh = await addKey(moto.endpoint, moto.admin, 'rec')
    writeFileSync(backup, credentialsText({pulumi: u.key}))
    writeCredentials(home.credentialsFile, credentialsText({pulumi: fresh}))
    return fresh
  }
  const run = async (entry: JournalEntry, extra: Parameters<typeof stateOf>[0] = {}) => {
    const state = stateOf(extra)
    const out = await recoverEntry(state, state.journal!.list().find((e) => e.id === entry.id)!)
    return {out, state}
  }

  it('the file holds the new key, not yet proven: it is proven, the old key deactivated and deleted with the new key, the entry removed', async () => {
    const fresh = await newKeyWritten()
    const entry = record({oldKeyId: u.key.accessKeyId, newKeyId: fresh.accessKeyId, backup, step: 'written'})
    let refused = 0
    proxy.rules.push((req) => (req.service === 'sts' && req.keyId === fresh.accessKeyId && refused++ === 0 ? notYetPropagated('sts') : undefined))
    const {out, state} = await run(entry)
    expect(out.action).to.equal('finished')
    expect(state.waited, 'the wait for the new key counts').to.be.greaterThan(0)
    expect(out.message).to.equal(`Finished ${where()}: the file holds the new key ${m(fresh)}, the old key ${m(u.key)} was deleted.`)
    expect(out.newKeyCreatedAt).to.match(/^20\d\d-\d\d-\d\dT/)
    expect(out.entry.id).to.equal('r1')
    expect(state.waited).to.be.a('number')
    expect(await keys()).to.deep.equal([{id: fresh.accessKeyId, status: 'Active'}])
    expect(readJournalEntries(home.credentialsFile)).to.deep.equal([])
    expect(text()).to.equal(credentialsText({pulumi: fresh}))
    // The proof is made with the new key; the old key's removal too (no administrator).
    expect(proxy.calls.some((c) => c.service === 'sts' && c.keyId === fresh.accessKeyId)).to.equal(true)
    expect(proxy.calls.filter((c) => c.action === 'UpdateAccessKey').map((c) => c.keyId)).to.deep.equal([fresh.accessKeyId])
    expect(proxy.calls.filter((c) => c.action === 'DeleteAccessKey').map((c) => c.keyId)).to.deep.equal([fresh.accessKeyId])
  })

  it('--keep-old: the old key is deactivated, not deleted; a proven entry is not proven again; an administrator cleans up', async () => {
    const fresh = await newKeyWritten()
    const entry = record({oldKeyId: u.key.accessKeyId, newKeyId: fresh.accessKeyId, backup, step: 'verified', keepOld: true})
    const {out} = await run(entry, {admin: true})
    expect(out.message).to.equal(`Finished ${where()}: the file holds the new key ${m(fresh)}, the old key ${m(u.key)} was deactivated.`)
    expect(await keys()).to.have.deep.members([
      {id: fresh.accessKeyId, status: 'Active'},
      {id: u.key.accessKeyId, status: 'Inactive'},
    ])
    expect(proxy.calls.filter((c) => c.service === 'sts')).to.deep.equal([])
    expect(proxy.calls.filter((c) => c.action === 'UpdateAccessKey').map((c) => c.keyId)).to.deep.equal([moto.admin.accessKeyId])
    expect(proxy.calls.filter((c) => c.action === 'DeleteAccessKey')).to.deep.equal([])
  })

  it('an old key that is already Inactive is deleted without another UpdateAccessKey', async () => {
    const fresh = await newKeyWritten()
    const iamUpdate = await import('@aws-sdk/client-iam')
    const iam = new iamUpdate.IAMClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin})
    await iam.send(new iamUpdate.UpdateAccessKeyCommand({UserName: 'rec', AccessKeyId: u.key.accessKeyId, Status: 'Inactive'}))
    iam.destroy()
    const entry = record({oldKeyId: u.key.accessKeyId, newKeyId: fresh.accessKeyId, backup, step: 'deactivated'})
    const {out} = await run(entry)
    expect(out.action).to.equal('finished')
    expect(proxy.calls.filter((c) => c.action === 'UpdateAccessKey')).to.deep.equal([])
    expect(await keys()).to.deep.equal([{id: fresh.accessKeyId, status: 'Active'}])
  })

  it('an old key another profile still holds is left alone when finishing', async () => {
    const fresh = await addKey(moto.endpoint, moto.admin, 'rec')
    const start = credentialsText({pulumi: fresh, ci: u.key})
    writeCredentials(home.credentialsFile, start)
    const entry = record({oldKeyId: u.key.accessKeyId, newKeyId: fresh.accessKeyId, step: 'verified'})
    const {out} = await run(entry)
    expect(out.message).to.equal(`Finished ${where()}: the file holds the new key ${m(fresh)}.`)
    expect(await keys()).to.have.deep.members([
      {id: fresh.accessKeyId, status: 'Active'},
      {id: u.key.accessKeyId, status: 'Active'},
    ])
    expect(text()).to.equal(start)
  })

  it('an entry that was rolling back: the old key goes back into the profile (from the backup), the new key is deleted', async () => {
    const fresh = await newKeyWritten()
    const entry = record({oldKeyId: u.key.accessKeyId, newKeyId: fresh.accessKeyId, backup, step: 'rolling-back'})
    const {out} = await run(entry)
    expect(out.action).to.equal('undone')
    expect(out.message).to.equal(
      `Rolled back ${where()}: the interrupted run had found the new key rejected and was rolling back; the profile(s) pulumi hold the old key ${m(u.key)} again, and the new key ${m(fresh)} is deleted.`,
    )
    expect(text()).to.equal(credentialsText({pulumi: u.key}))
    expect(await keys()).to.deep.equal([{id: u.key.accessKeyId, status: 'Active'}])
    expect(readJournalEntries(home.credentialsFile)).to.deep.equal([])
    // Without an administrator the new key is deleted with the old key (IAM may never have accepted the new one).
    expect(proxy.calls.filter((c) => c.action === 'DeleteAccessKey').map((c) => c.keyId)).to.deep.equal([u.key.accessKeyId])
  })

  it('a new key IAM still does not accept is rolled back, saying why', async () => {
    const fresh = await newKeyWritten()
    proxy.rules.push((req) => (req.keyId === fresh.accessKeyId ? notYetPropagated(req.service) : undefined))
    const entry = record({oldKeyId: u.key.accessKeyId, newKeyId: fresh.accessKeyId, backup, step: 'written'})
    const {out} = await run(entry, {waitMs: 200})
    expect(out.action).to.equal('undone')
    expect(out.message).to.match(new RegExp(`^Rolled back ${where().replace(/[()]/g, '\\$&')}: the new key was still not accepted \\(The new key did not work within .*\\); the profile\\(s\\) pulumi hold the old key`))
    expect(text()).to.equal(credentialsText({pulumi: u.key}))
    expect(await keys()).to.deep.equal([{id: u.key.accessKeyId, status: 'Active'}])
  })

  it('a rollback without the old key in the backup, or without the old key in IAM, stops (RecoveryImpossible) and keeps the entry', async () => {
    const fresh = await newKeyWritten()
    const entry = record({oldKeyId: u.key.accessKeyId, newKeyId: fresh.accessKeyId, step: 'rolling-back'})
    const e = await rejection(run(entry))
    expect(e.code).to.equal('RecoveryImpossible')
    expect(e.message).to.equal(
      `Cannot finish or undo ${where()}: the interrupted run had found the new key rejected and was rolling back, and the old key ${m(u.key)} is not in the backup (none recorded).`,
    )
    expect(e.hint).to.equal(
      `Run again later with a longer --wait (IAM may still be propagating the new key), or write a working key into the profile (psb creds write), then delete ${new Journal(home.credentialsFile).path}.`,
    )
    const gone = record({id: 'r1', oldKeyId: 'AKIAGONEGONEGONE0001', newKeyId: fresh.accessKeyId, backup, step: 'rolling-back'})
    const e2 = await rejection(run(gone))
    expect(e2.message).to.match(/the old key AKIA…0001 is no longer in IAM\.$/)
    expect(readJournalEntries(home.credentialsFile)).to.have.length(1)
    expect(await keys()).to.have.length(2)
    expect(text()).to.equal(credentialsText({pulumi: fresh}))
  })

  it('a first key that was rolling back is taken out of its profile and deleted', async () => {
    const fresh = await addKey(moto.endpoint, moto.admin, 'rec')
    const start = credentialsText({})
    writeCredentials(home.credentialsFile, start + `\n[newp]\naws_access_key_id = ${fresh.accessKeyId}\naws_secret_access_key = ${fresh.secretAccessKey}\n`)
    const entry = record({kind: 'create', profile: 'newp', profiles: ['newp'], acting: 'admin', newKeyId: fresh.accessKeyId, step: 'rolling-back'})
    const {out} = await run(entry, {admin: true})
    expect(out.message).to.equal(`Rolled back ${where('first-key creation', 'newp')}: the interrupted run had found the new key rejected and was rolling back; the profile(s) newp hold no key again, and the new key ${m(fresh)} is deleted.`)
    expect(text()).to.not.include(fresh.accessKeyId)
    expect(await keys()).to.deep.equal([{id: u.key.accessKeyId, status: 'Active'}])
  })

  it('the file still holds the old key: the new key (by id) is deleted, acting with the old key; no new key: nothing deleted', async () => {
    const fresh = await addKey(moto.endpoint, moto.admin, 'rec')
    const start = credentialsText({pulumi: u.key})
    writeCredentials(home.credentialsFile, start)
    const entry = record({oldKeyId: u.key.accessKeyId, newKeyId: fresh.accessKeyId, step: 'created'})
    const {out} = await run(entry)
    expect(out.action).to.equal('undone')
    expect(out.message).to.equal(`Undid ${where()}: deleted the key ${m(fresh)} it had created; the file still holds the old key ${m(u.key)}.`)
    expect(out.unproven).to.deep.equal([])
    expect(await keys()).to.deep.equal([{id: u.key.accessKeyId, status: 'Active'}])
    expect(proxy.calls.filter((c) => c.action === 'ListAccessKeys' || c.action === 'DeleteAccessKey').map((c) => c.keyId)).to.deep.equal([u.key.accessKeyId, u.key.accessKeyId])
    expect(readJournalEntries(home.credentialsFile)).to.deep.equal([])
    expect(text()).to.equal(start)

    const again = record({id: 'r2', oldKeyId: u.key.accessKeyId, newKeyId: fresh.accessKeyId, step: 'created'})
    const {out: out2} = await run(again)
    expect(out2.message).to.equal(`Undid ${where()}: it had not created a key (or it was already deleted); the file still holds the old key ${m(u.key)}.`)
    expect(await keys()).to.deep.equal([{id: u.key.accessKeyId, status: 'Active'}])
  })

  it('a run that died inside CreateAccessKey: a key IAM dates inside its request window is deleted; one outside is reported and left', async () => {
    writeCredentials(home.credentialsFile, credentialsText({pulumi: u.key}))
    const orphan = await addKey(moto.endpoint, moto.admin, 'rec')
    const now = Date.now()
    const inWindow = record({oldKeyId: u.key.accessKeyId, step: 'creating', keysBefore: [u.key.accessKeyId], createWindow: {from: new Date(now - 60_000).toISOString(), to: new Date(now + 60_000).toISOString()}})
    const {out} = await run(inWindow)
    expect(out.message).to.equal(`Undid ${where()}: deleted the key ${m(orphan)} it had created; the file still holds the old key ${m(u.key)}.`)
    expect(await keys()).to.deep.equal([{id: u.key.accessKeyId, status: 'Active'}])

    const other = await addKey(moto.endpoint, moto.admin, 'rec')
    const outside = record({id: 'r2', oldKeyId: u.key.accessKeyId, step: 'creating', keysBefore: [u.key.accessKeyId], createWindow: {from: '2020-01-01T00:00:00.000Z', to: '2020-01-01T00:00:01.000Z'}})
    const {out: out2} = await run(outside)
    expect(out2.unproven).to.deep.equal([other.accessKeyId])
    expect(out2.message).to.equal(
      `Undid ${where()}: it had not created a key (or it was already deleted); the file still holds the old key ${m(u.key)}. The user also has the key ${m(other)}, which no profile holds and which psb cannot prove it made (IAM dates it outside the interrupted run's request): left alone. If nobody uses it, delete it by hand (psb keys list shows its last use).`,
    )
    expect(await keys()).to.have.deep.members([
      {id: u.key.accessKeyId, status: 'Active'},
      {id: other.accessKeyId, status: 'Active'},
    ])
    expect(readJournalEntries(home.credentialsFile)).to.deep.equal([])
  })

  it('a first key whose profile was never written: its key is deleted and the file says "no key for that profile"', async () => {
    const fresh = await addKey(moto.endpoint, moto.admin, 'rec')
    writeCredentials(home.credentialsFile, credentialsText({}))
    const entry = record({kind: 'create', profile: 'newp', profiles: ['newp'], acting: 'admin', newKeyId: fresh.accessKeyId, step: 'created'})
    const {out} = await run(entry, {admin: true})
    expect(out.message).to.equal(`Undid ${where('first-key creation', 'newp')}: deleted the key ${m(fresh)} it had created; the file still holds no key for that profile.`)
    expect(await keys()).to.deep.equal([{id: u.key.accessKeyId, status: 'Active'}])
  })

  it('the file holds the new key but IAM no longer has it: stop (RecoveryImpossible), pointing at the backup when there is one', async () => {
    const gone = {accessKeyId: 'AKIAGONEGONEGONE0002', secretAccessKey: 'gone/secret/value/0000000000000000000000'}
    writeFileSync(backup, credentialsText({pulumi: u.key}))
    writeCredentials(home.credentialsFile, credentialsText({pulumi: gone}))
    const entry = record({oldKeyId: u.key.accessKeyId, newKeyId: gone.accessKeyId, backup, step: 'written'})
    const journalFile = new Journal(home.credentialsFile).path
    const e = await rejection(run(entry, {admin: true}))
    expect(e.code).to.equal('RecoveryImpossible')
    expect(e.message).to.equal(`Cannot finish ${where()}: the file holds the new key ${m(gone)}, but IAM no longer has it.`)
    expect(e.hint).to.equal(`Restore the previous credentials file from ${backup} (it holds the old key ${m(u.key)}), then delete ${journalFile} and run again.`)
    record({id: 'r1', oldKeyId: u.key.accessKeyId, newKeyId: gone.accessKeyId, step: 'written', backup: undefined})
    const e2 = await rejection(run(entry, {admin: true}))
    expect(e2.hint).to.equal(`Write a working key into the profile (psb creds write), then delete ${journalFile}.`)
    expect(readJournalEntries(home.credentialsFile)).to.have.length(1)
  })

  it('the file holds neither key: stop (RecoveryImpossible) and change nothing', async () => {
    const fresh = await addKey(moto.endpoint, moto.admin, 'rec')
    const start = credentialsText({pulumi: moto.admin})
    writeCredentials(home.credentialsFile, start)
    const entry = record({oldKeyId: u.key.accessKeyId, newKeyId: fresh.accessKeyId, step: 'written'})
    const e = await rejection(run(entry, {admin: true}))
    expect(e.code).to.equal('RecoveryImpossible')
    expect(e.message).to.equal(`Cannot finish or undo ${where()}: the credentials file holds neither its old key ${m(u.key)} nor its new key ${m(fresh)}.`)
    expect(e.hint).to.equal(`Someone changed the profile meanwhile. Check the user's keys (psb keys list --profile pulumi), delete any key no profile needs, then delete ${new Journal(home.credentialsFile).path}.`)
    expect(await keys()).to.have.length(2)
    expect(text()).to.equal(start)
  })

  it('nobody to act with (no administrator, no profile holding either key, no backup): stop (RecoveryImpossible) before any call', async () => {
    writeCredentials(home.credentialsFile, credentialsText({}))
    const entry = record({oldKeyId: u.key.accessKeyId, newKeyId: 'AKIANEWNEWNEWNEW0001', step: 'created'})
    const e = await rejection(run(entry))
    expect(e.code).to.equal('RecoveryImpossible')
    expect(e.message).to.equal(`Cannot finish or undo ${where()}: no profile holds its old or new key, and no --admin-profile was given.`)
    expect(e.hint).to.equal(`Run again with --admin-profile <admin> --user rec, or check the user's keys (psb keys list) and delete the entry from ${new Journal(home.credentialsFile).path}.`)
    expect(proxy.calls).to.deep.equal([])
  })

  it('before the new key is proven and with no profile holding the old key, recovery acts with the old key from the backup', async () => {
    const fresh = await newKeyWritten()
    const entry = record({oldKeyId: u.key.accessKeyId, newKeyId: fresh.accessKeyId, backup, step: 'written'})
    await run(entry)
    expect(proxy.calls.find((c) => c.action === 'ListAccessKeys')?.keyId).to.equal(u.key.accessKeyId)
    // Proven: the new key acts.
    proxy.calls.length = 0
    const fresh2 = await addKey(moto.endpoint, moto.admin, 'rec')
    writeFileSync(backup, credentialsText({pulumi: fresh}))
    writeCredentials(home.credentialsFile, credentialsText({pulumi: fresh2}))
    const proven = record({id: 'r2', oldKeyId: fresh.accessKeyId, newKeyId: fresh2.accessKeyId, backup, step: 'verified'})
    const {out} = await run(proven)
    expect(out.action).to.equal('finished')
    expect(proxy.calls.find((c) => c.action === 'ListAccessKeys')?.keyId).to.equal(fresh2.accessKeyId)
  })

  /** Profile `pulumi` holds rec's key, a second user `someone` exists; the journal, and an entry's common fields. */
  const twoUsersJournal = async () => {
    writeCredentials(home.credentialsFile, credentialsText({pulumi: u.key}))
    await makeUser('someone')
    const base = {kind: 'rotate' as const, step: 'created' as const, acting: 'self' as const, startedAt: STARTED, oldKeyId: u.key.accessKeyId, newKeyId: 'AKIANOTINIAM00000001'}
    return {j: new Journal(home.credentialsFile), base}
  }

  it('recoverForProfile handles the entries of this profile, of a profile that held the old key, and of this user; it logs each', async () => {
    const {j, base} = await twoUsersJournal()
    j.record({...base, id: 'mine', user: 'rec', profile: 'pulumi', profiles: ['pulumi']})
    j.record({...base, id: 'held', user: 'someone', profile: 'other', profiles: ['other', 'pulumi']})
    j.record({...base, id: 'user', user: 'rec', profile: 'elsewhere', profiles: ['elsewhere']})
    j.record({...base, id: 'skip', user: 'someone', profile: 'elsewhere', profiles: ['elsewhere']})
    const state = stateOf({admin: true})
    const outs = await recoverForProfile(state, 'pulumi', 'rec')
    expect(outs.map((o) => o.entry.id)).to.deep.equal(['mine', 'held', 'user'])
    expect(readJournalEntries(home.credentialsFile).map((e) => e.id)).to.deep.equal(['skip'])
    expect(output.filter((l) => l.startsWith('Found an unfinished key rotation'))).to.deep.equal([
      `Found an unfinished key rotation of profile "pulumi" in ${j.path} (step created).`,
      `Found an unfinished key rotation of profile "other" in ${j.path} (step created).`,
      `Found an unfinished key rotation of profile "elsewhere" in ${j.path} (step created).`,
    ])
  })

  it('in a shared session only entries inherited from ended runs, and only of this profile, are recovered', async () => {
    const {j, base} = await twoUsersJournal()
    j.record({...base, id: 'ended', user: 'rec', profile: 'pulumi', profiles: ['pulumi']})
    j.record({...base, id: 'heldby', user: 'someone', profile: 'o', profiles: ['o', 'pulumi']})
    j.record({...base, id: 'live', user: 'rec', profile: 'pulumi', profiles: ['pulumi']})
    j.record({...base, id: 'sameuser', user: 'rec', profile: 'elsewhere', profiles: ['elsewhere']})
    const session: RotationSession = {credentialsFile: home.credentialsFile, journal: j, inherited: new Set(['ended', 'heldby', 'sameuser']), release: () => {}}
    const state = stateOf({admin: true, session})
    state.journal = j
    const outs = await recoverForProfile(state, 'pulumi', 'rec')
    expect(outs.map((o) => o.entry.id)).to.deep.equal(['ended', 'heldby'])
    expect(readJournalEntries(home.credentialsFile).map((e) => e.id)).to.deep.equal(['live', 'sameuser'])
  })

  it('a proof that fails for another reason than propagation (the key answers as someone else) stops recovery; nothing is undone', async () => {
    const fresh = await newKeyWritten()
    proxy.rules.push((req) =>
      req.service === 'sts' && req.keyId === fresh.accessKeyId
        ? {
            status: 200,
            body: '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/other</Arn><UserId>AIDAOTHER</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></GetCallerIdentityResponse>',
            headers: {'content-type': 'text/xml'},
          }
        : undefined,
    )
    const entry = record({oldKeyId: u.key.accessKeyId, newKeyId: fresh.accessKeyId, backup, step: 'written'})
    const e = await rejection(run(entry))
    expect(e.code).to.equal('KeyOwnerMismatch')
    expect(readJournalEntries(home.credentialsFile).map((x) => x.step)).to.deep.equal(['written'])
    expect(text()).to.equal(credentialsText({pulumi: fresh}))
    expect(await keys()).to.have.length(2)
  })

  it('a run that died inside CreateAccessKey: a key a profile holds is never its orphan, even inside the window', async () => {
    const other = await addKey(moto.endpoint, moto.admin, 'rec')
    const start = credentialsText({pulumi: u.key, ci: other})
    writeCredentials(home.credentialsFile, start)
    const now = Date.now()
    const entry = record({oldKeyId: u.key.accessKeyId, step: 'creating', keysBefore: [u.key.accessKeyId], createWindow: {from: new Date(now - 60_000).toISOString(), to: new Date(now + 60_000).toISOString()}})
    const {out} = await run(entry)
    expect(out.unproven).to.deep.equal([])
    expect(out.message).to.equal(`Undid ${where()}: it had not created a key (or it was already deleted); the file still holds the old key ${m(u.key)}.`)
    expect(await keys()).to.have.length(2)
    expect(text()).to.equal(start)
  })
})
