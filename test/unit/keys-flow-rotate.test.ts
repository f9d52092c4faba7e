/**
 * Rotation paths the CLI tests cover only through dist/ (src/lib/keys/rotate.ts, prove.ts,
 * iam-calls.ts): --create, a dry run's plan, strays, recovery of the same user under another
 * profile name, the state-bucket proof, a file changed during the write, failed cleanup, and
 * the IAM calls' retries and refusals. In process against moto (IAM enforcement on) behind
 * the fault proxy, so Stryker's mutants are seen.
 */
import {expect} from 'chai'
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {CreateUserCommand} from '@aws-sdk/client-iam'
import {useMoto} from '../support/moto.js'
import {FaultProxy, awsError, notYetPropagated} from '../support/fault-proxy.js'
import {addKey, credentialsText, iamClient, makeStateUser, tempHomeDir, userKeys, writeCredentials, type TestUser} from '../support/keys-fixture.js'
import {exitCodeOf, rotateKey, type RotateOptions, type RotateResult} from '../../src/lib/keys/rotate.js'
import {emptyResult, KEYS_EXIT} from '../../src/lib/keys/run.js'
import {isPropagationError} from '../../src/lib/keys/iam-calls.js'
import {PsbError} from '../../src/lib/errors.js'
import {Journal, readJournalEntries} from '../../src/lib/keys/journal.js'
import {readProfileCredentials} from '../../src/lib/files/credentials.js'
import {createAwsContext} from '../../src/lib/aws/client.js'
import {maskKeyId} from '../../src/lib/redact.js'
import {rejection} from '../support/errors.js'

describe('keys rotate: exitCodeOf', () => {
  const r = (fields: Partial<RotateResult>): RotateResult => ({...emptyResult('p'), ...fields})
  it('a failure wins (its own code, or 1 when it has none), then cleanup pending, then all not due, else 0', () => {
    expect(exitCodeOf([r({result: 'rotated'}), r({result: 'failed', exitCode: 11}), r({cleanupPending: true})])).to.equal(11)
    expect(exitCodeOf([r({result: 'failed', exitCode: 0})])).to.equal(KEYS_EXIT.FAILED)
    expect(exitCodeOf([r({result: 'not-due'}), r({result: 'rotated', cleanupPending: true})])).to.equal(KEYS_EXIT.CLEANUP_PENDING)
    expect(exitCodeOf([r({result: 'not-due'}), r({result: 'not-due'})])).to.equal(KEYS_EXIT.NOT_DUE)
    expect(exitCodeOf([r({result: 'not-due'}), r({result: 'rotated'})])).to.equal(KEYS_EXIT.ROTATED)
    expect(exitCodeOf([r({result: 'rotated'}), r({result: 'not-due'})])).to.equal(KEYS_EXIT.ROTATED)
    expect(exitCodeOf([])).to.equal(KEYS_EXIT.ROTATED)
    expect([KEYS_EXIT.ROTATED, KEYS_EXIT.NOT_DUE, KEYS_EXIT.CLEANUP_PENDING]).to.deep.equal([0, 10, 12])
  })
})

describe('keys: isPropagationError', () => {
  it('an error of a key IAM does not know yet, directly or as the cause psb kept; nothing else', () => {
    const sdk = Object.assign(new Error('The security token included in the request is invalid.'), {name: 'InvalidClientTokenId'})
    expect(isPropagationError(sdk)).to.equal(true)
    expect(isPropagationError(new PsbError('AWS rejected the credentials', {code: 'BadCredentials', cause: sdk}))).to.equal(true)
    expect(isPropagationError(new PsbError('AWS denied', {code: 'AccessDenied', cause: Object.assign(new Error('x'), {name: 'AccessDenied'})}))).to.equal(false)
    expect(isPropagationError(new PsbError('no cause', {code: 'X'}))).to.equal(false)
    expect(isPropagationError(undefined)).to.equal(false)
    expect(isPropagationError(null)).to.equal(false)
  })
})

describe('keys rotate: paths through rotate.ts, prove.ts, iam-calls.ts (moto behind the fault proxy)', () => {
  const moto = useMoto()
  let proxy: FaultProxy
  let home: ReturnType<typeof tempHomeDir>
  let u: TestUser
  let output: string[]
  let onInfo: (m: string) => void

  beforeEach(async () => {
    proxy = new FaultProxy(moto.endpoint)
    await proxy.start()
    home = tempHomeDir()
    u = await makeStateUser(moto.endpoint, moto.admin, 'flow')
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
  const admin = () => createAwsContext({region: 'us-east-1', endpoint: proxy.endpoint, credentials: moto.admin})
  const rotate = (extra: Partial<RotateOptions> = {}): Promise<RotateResult> =>
    rotateKey({profile: 'pulumi', region: 'us-east-1', endpoint: proxy.endpoint, env: home.env, pollMs: 20, waitMs: 5000, logger, ...extra})
  const keys = (user = 'flow') => userKeys(moto.endpoint, moto.admin, user)
  const text = () => readFileSync(home.credentialsFile, 'utf8')
  const m = (id: string) => maskKeyId(id)

  it('--create: a dry run plans the first key of a new profile; then it is created, written and proven in one round', async () => {
    const iam = iamClient(moto.endpoint, moto.admin)
    await iam.send(new CreateUserCommand({UserName: 'fresh'}))
    iam.destroy()
    const dry = await rotate({profile: 'newp', create: true, admin: admin(), user: 'fresh', dryRun: true})
    expect(dry).to.deep.include({result: 'planned', user: 'fresh', exitCode: 0, profilesUpdated: []})
    expect(dry.changes.map((c) => c.status)).to.deep.equal(['planned', 'planned'])
    expect(await keys('fresh')).to.deep.equal([])

    const r = await rotate({profile: 'newp', create: true, admin: admin(), user: 'fresh'})
    const k = readProfileCredentials('newp', home.env)!
    expect(r).to.deep.include({result: 'created', user: 'fresh', newKeyId: k.accessKeyId, exitCode: 0, profilesUpdated: ['newp']})
    expect(r.changes.map((c) => c.item)).to.deep.equal([`access key ${m(k.accessKeyId)}`, 'profile newp'])
    expect(proxy.calls.filter((c) => c.service === 'sts' && c.keyId === k.accessKeyId)).to.have.length(1)
    expect(await keys('fresh')).to.deep.equal([{id: k.accessKeyId, status: 'Active'}])

  })

  it('--create with more proof rounds asked for makes that many; without --create a profile that does not exist fails, naming it', async () => {
    const iam = iamClient(moto.endpoint, moto.admin)
    await iam.send(new CreateUserCommand({UserName: 'fresh'}))
    iam.destroy()
    const r = await rotate({profile: 'newp', create: true, admin: admin(), user: 'fresh', successes: 2})
    expect(proxy.calls.filter((c) => c.service === 'sts' && c.keyId === r.newKeyId)).to.have.length(2)
    const e = await rejection(rotate({profile: 'nosuch'}))
    expect(e.message).to.include('nosuch')
  })

  it('a dry run lists the plan (strays, the new key, the profiles, the proof, the old key) and changes nothing', async () => {
    const stray = await addKey(moto.endpoint, moto.admin, 'flow', 'Inactive')
    const before = text()
    const r = await rotate({dryRun: true, bucket: 'state-flow'})
    expect(r.result).to.equal('planned')
    expect(r.changes).to.deep.equal([
      {item: `stray key ${m(stray.accessKeyId)}`, status: 'planned', detail: 'delete (Inactive, no profile holds it)'},
      {item: 'new access key', status: 'planned', detail: 'create for flow'},
      {item: 'profile(s) pulumi', status: 'planned', detail: `write the new key into ${home.credentialsFile} (backup first)`},
      {item: 'new key', status: 'planned', detail: 'prove it works: 3 consecutive calls (STS, s3://state-flow), waiting up to 5s'},
      {item: `old key ${m(u.key.accessKeyId)}`, status: 'planned', detail: 'deactivate, then delete'},
    ])
    expect(text()).to.equal(before)
    expect(await keys()).to.have.length(2)
  })

  it('an Inactive key no profile holds is deleted first (said, and in the changes), then the rotation runs', async () => {
    const stray = await addKey(moto.endpoint, moto.admin, 'flow', 'Inactive')
    const r = await rotate()
    expect(r.result).to.equal('rotated')
    expect(output).to.include(`Deleting the Inactive key ${m(stray.accessKeyId)} that no profile holds.`)
    expect(r.changes[0]).to.deep.equal({item: `stray key ${m(stray.accessKeyId)}`, status: 'deleted', detail: 'Inactive, no profile held it'})
    expect(await keys()).to.deep.equal([{id: r.newKeyId!, status: 'Active'}])
  })

  it('the proof lists the state bucket: the change says so; the backup is named', async () => {
    const r = await rotate({bucket: 'state-flow'})
    const proof = r.changes.find((c) => c.item === `new key ${m(r.newKeyId!)}` && c.status === 'updated')!
    expect(proof.detail).to.match(/^works: 6 calls incl\. s3:\/\/state-flow in \d/)
    const written = r.changes.find((c) => c.item === 'profile(s) pulumi')!
    expect(written.detail).to.match(/^new key written; backup \S+/)
    expect(proxy.calls.some((c) => c.service === 's3' && c.keyId === r.newKeyId)).to.equal(true)
  })

  it('a state-bucket list error the old key gets too skips the check, with a warning; the rotation succeeds', async () => {
    proxy.rules.push((req) => (req.service === 's3' ? awsError('s3', 403, 'AccessDenied', 'Access Denied') : undefined))
    const r = await rotate({bucket: 'state-flow'})
    expect(r.result).to.equal('rotated')
    expect(r.warnings).to.include('Skipped the state-bucket check: listing s3://state-flow/.pulumi/ answers AccessDenied for the old key too.')
    const proof = r.changes.find((c) => c.item === `new key ${m(r.newKeyId!)}` && c.status === 'updated')!
    expect(proof.detail).to.match(/^works: \d+ calls in /)
  })

  it('a state-bucket error only the new key gets (not a propagation error) fails at once, naming s3:ListBucket; rolled back', async () => {
    const old = u.key.accessKeyId
    proxy.rules.push((req) => (req.service === 's3' && req.keyId !== old ? awsError('s3', 404, 'NoSuchBucket', 'The specified bucket does not exist') : undefined))
    const e = await rejection(rotate({bucket: 'state-flow'}))
    expect(e.message).to.match(/failed while proving the new key works: s3:ListBucket \(listing s3:\/\/state-flow\/\.pulumi\/ with the new key\) .*NoSuchBucket/)
    expect(text()).to.equal(credentialsText({pulumi: u.key}))
    expect(await keys()).to.deep.equal([{id: old, status: 'Active'}])
  })

  it('a new key that belongs to someone else is refused (KeyOwnerMismatch) and rolled back', async () => {
    proxy.rules.push((req) =>
      req.service === 'sts' && req.keyId !== u.key.accessKeyId
        ? {
            status: 200,
            body: '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/other</Arn><UserId>AIDAOTHER</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></GetCallerIdentityResponse>',
            headers: {'content-type': 'text/xml'},
          }
        : undefined,
    )
    const e = await rejection(rotate())
    expect(e.code).to.equal('KeyOwnerMismatch')
    expect(e.message).to.include('The new key belongs to arn:aws:iam::123456789012:user/other, not to the IAM user flow.')
    expect(await keys()).to.deep.equal([{id: u.key.accessKeyId, status: 'Active'}])
  })

  it('IAM slow to accept the new key: its calls are retried, said, and counted as propagation wait', async () => {
    let rejected = 0
    proxy.rules.push((req) => (req.service === 'iam' && req.keyId !== u.key.accessKeyId && req.action === 'UpdateAccessKey' && rejected++ < 2 ? notYetPropagated('iam') : undefined))
    const r = await rotate()
    expect(r.result).to.equal('rotated')
    expect(output.filter((l) => /^IAM does not accept the new key yet \(InvalidClientTokenId\); retrying in \d/.test(l))).to.have.length(2)
    expect(r.timings.propagationWaitMs).to.be.greaterThan(0)
  })

  it('the old key vanishing from the file while the key is created stops with FileChanged; the new key is deleted', async () => {
    onInfo = (msg) => {
      if (msg.startsWith('Creating a new access key')) writeCredentials(home.credentialsFile, credentialsText({}))
    }
    const e = await rejection(rotate())
    expect(e.code).to.equal('FileChanged')
    expect(e.message).to.include(`failed while writing the credentials file: No profile of ${home.credentialsFile} holds the old key ${m(u.key.accessKeyId)} any more.`)
    expect(await keys()).to.deep.equal([{id: u.key.accessKeyId, status: 'Active'}])
  })

  it('CreateAccessKey refused cleanly (4xx, one attempt): nothing made, the journal entry is gone', async () => {
    proxy.rules.push((req) => (req.action === 'CreateAccessKey' ? awsError('iam', 403, 'AccessDenied', 'not authorized to perform: iam:CreateAccessKey') : undefined))
    const e = await rejection(rotate())
    expect(e.message).to.match(/^AWS denied iam:CreateAccessKey /)
    expect(e.code).to.not.equal('CreateAccessKeyUncertain')
    expect(await keys()).to.deep.equal([{id: u.key.accessKeyId, status: 'Active'}])
    expect(readJournalEntries(home.credentialsFile)).to.deep.equal([])
    expect(text()).to.equal(credentialsText({pulumi: u.key}))
  })

  it('the old key cannot be deactivated: exit 12, the error is journaled (lastError), and the next run finishes', async () => {
    proxy.rules.push((req) => (req.action === 'UpdateAccessKey' ? awsError('iam', 403, 'AccessDenied', 'not authorized to perform: iam:UpdateAccessKey') : undefined))
    const r = await rotate()
    expect(r).to.deep.include({result: 'rotated', cleanupPending: true, oldKey: 'active', exitCode: KEYS_EXIT.CLEANUP_PENDING})
    const entries = readJournalEntries(home.credentialsFile)
    expect(entries).to.have.length(1)
    expect(entries[0].lastError).to.match(/^AWS denied iam:UpdateAccessKey /)
    expect(r.warnings.some((w) => w.startsWith(`The profile holds the new, working key, but the old key ${m(u.key.accessKeyId)} could not be deactivated: `))).to.equal(true)
    proxy.rules.length = 0
    const again = await rotate()
    expect(again.recovered).to.have.length(1)
    expect(again.recovered[0]).to.match(/^Finished the interrupted rotation of profile "pulumi"/)
  })

  it("without --user, an interrupted run of the same user under another profile name is recovered once the user is known", async () => {
    const orphan = await addKey(moto.endpoint, moto.admin, 'flow')
    new Journal(home.credentialsFile).record({
      id: 'x1',
      kind: 'rotate',
      user: 'flow',
      profile: 'gone',
      profiles: ['gone'],
      oldKeyId: u.key.accessKeyId,
      newKeyId: orphan.accessKeyId,
      step: 'created',
      acting: 'self',
      startedAt: '2026-11-01T00:00:00.000Z',
    })
    writeFileSync(home.credentialsFile, text() + `\n[gone]\naws_access_key_id = ${u.key.accessKeyId}\naws_secret_access_key = ${u.key.secretAccessKey}\n`)
    const r = await rotate()
    expect(r.recovered).to.have.length(1)
    expect(r.recovered[0]).to.match(new RegExp(`^Undid the interrupted rotation of profile "gone" \\(user flow.*deleted the key ${m(orphan.accessKeyId)}`))
    expect(output).to.include(r.recovered[0])
    expect(r.result).to.equal('rotated')
    expect(await keys()).to.deep.equal([{id: r.newKeyId!, status: 'Active'}])
  })
})
