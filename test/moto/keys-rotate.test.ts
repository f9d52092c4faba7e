/**
 * `psb keys rotate` and `psb keys list` as a user runs them: the built CLI in a subprocess,
 * against moto with IAM enforcement on. Every run's stdout and stderr are searched for
 * every secret involved.
 */
import {expect} from 'chai'
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {useMoto, type Keys} from '../support/moto.js'
import {runPsb, TempHome, type RunResult} from '../support/cli.js'
import {addKey, assertNoSecrets, credentialsText, expectedAfterRotation, keyWorks, makeStateUser, userKeys, writeCredentials, iamClient} from '../support/keys-fixture.js'
import {CreateUserCommand, CreateAccessKeyCommand} from '@aws-sdk/client-iam'
import {ensureProfileKey, rotateKey} from '../../src/lib/keys/rotate.js'
import {createAwsContext} from '../../src/lib/aws/client.js'
import {isPsbError, type PsbError} from '../../src/lib/errors.js'
import {FaultProxy, awsError} from '../support/fault-proxy.js'

describe('psb keys rotate / keys list (CLI against moto, IAM enforcement on)', () => {
  const moto = useMoto()
  let home: TempHome
  let callLog: string
  const secrets: string[] = []
  const outputs: string[] = []

  beforeEach(() => {
    home = new TempHome('psb-keys-')
    callLog = home.path('calls.log')
    secrets.length = 0
    outputs.length = 0
  })
  afterEach(() => {
    // No secret in any output of any run of this test: old, new, admin.
    const fileSecrets = existsSync(home.credentialsFile) ? (readFileSync(home.credentialsFile, 'utf8').match(/aws_secret_access_key\s*=\s*(\S+)/g) ?? []).map((l) => l.split('=').pop()!.trim()) : []
    assertNoSecrets(outputs, [...secrets, ...fileSecrets, moto.admin.secretAccessKey])
    home.cleanup()
  })

  const psb = async (args: string[], env: Record<string, string> = {}): Promise<RunResult> => {
    const r = await runPsb([...args, '--endpoint', moto.endpoint, '--region', 'us-east-1'], home, {
      env: {PSB_KEY_PROPAGATION_POLL_MS: '20', PSB_CALL_LOG: callLog, ...env},
    })
    outputs.push(r.stdout, r.stderr)
    return r
  }
  const calls = (): string[] => (existsSync(callLog) ? readFileSync(callLog, 'utf8').trim().split('\n').filter(Boolean) : [])
  const resetCalls = () => rmSync(callLog, {force: true})
  const fileKey = (profile: string): Keys => {
    const text = readFileSync(home.credentialsFile, 'utf8')
    const m = new RegExp(`\\[${profile}\\]\\n# the key Pulumi uses\\naws_access_key_id = (\\S+)\\naws_secret_access_key   =   (\\S+)`).exec(text)
    if (!m) throw new Error(`profile ${profile} not found in\n${text}`)
    return {accessKeyId: m[1], secretAccessKey: m[2]}
  }
  const setup = async (user = 'pulumi', opts: {profiles?: string[]; tag?: boolean} = {}) => {
    const u = await makeStateUser(moto.endpoint, moto.admin, user, {tag: opts.tag})
    secrets.push(u.key.secretAccessKey)
    const profiles = Object.fromEntries((opts.profiles ?? ['pulumi']).map((p) => [p, u.key]))
    const text = credentialsText(profiles)
    writeCredentials(home.credentialsFile, text)
    return {u, text}
  }
  const json = (r: RunResult) => JSON.parse(r.stdout) as {results: Record<string, any>[]; exitCode: number}

  it('rotates with the profile\'s own key under the least-privilege policy of `user create`: old key rejected, new key works, every other byte kept', async () => {
    const {u, text} = await setup()
    const r = await psb(['keys', 'rotate', '--profile', 'pulumi'])
    expect(r.code, r.stderr).to.equal(0)
    const fresh = fileKey('pulumi')
    expect(fresh.accessKeyId).to.not.equal(u.key.accessKeyId)
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(expectedAfterRotation(text, [{old: u.key, fresh}]))
    expect(statSync(home.credentialsFile).mode & 0o777).to.equal(0o600)
    expect(await keyWorks(moto.endpoint, fresh, 'pulumi')).to.equal('ok')
    expect(await keyWorks(moto.endpoint, u.key)).to.equal('InvalidClientTokenId')
    expect(await userKeys(moto.endpoint, moto.admin, 'pulumi')).to.deep.equal([{id: fresh.accessKeyId, status: 'Active'}])
    expect(r.stdout).to.match(/rotated pulumi \(user pulumi\): AKIA…\w{4} \(0 days old\) → AKIA…\w{4}; profiles updated: pulumi; old key deleted in .* waiting for IAM\)/)
    // The bucket from the psb-bucket tag (read with iam:GetUser) was listed with the new key.
    expect(calls()).to.include.members(['iam GetUser', 's3 ListObjectsV2', 'iam CreateAccessKey', 'iam UpdateAccessKey', 'iam DeleteAccessKey'])
    expect(r.stderr).to.not.match(/Skipped the state-bucket check/)
    // A backup of the previous file, 0600; no lock or journal left behind.
    const backups = readdirSync(home.path('.aws')).filter((n) => n.startsWith('credentials.psb-backup-'))
    expect(backups).to.have.length(1)
    expect(readFileSync(home.path('.aws', backups[0]), 'utf8')).to.equal(text)
    expect(readdirSync(home.path('.aws')).filter((n) => /psb-(rotation|rotate)/.test(n))).to.deep.equal([])
  })

  it('rotates a profile whose key names are in capitals (AWS_ACCESS_KEY_ID = …) in place, in that spelling, and the lower-case profile holding the same key too (issue 10 defect 6)', async () => {
    const u = await makeStateUser(moto.endpoint, moto.admin, 'pulumi')
    secrets.push(u.key.secretAccessKey)
    const k = u.key
    writeCredentials(home.credentialsFile, `[pulumi]\nAWS_ACCESS_KEY_ID = ${k.accessKeyId}\nAWS_SECRET_ACCESS_KEY = ${k.secretAccessKey}\n\n[ci]\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey}\n`)
    const r = await psb(['keys', 'rotate', '--profile', 'pulumi'])
    expect(r.code, r.stderr).to.equal(0)
    const after = readFileSync(home.credentialsFile, 'utf8')
    const m = /^\[pulumi\]\nAWS_ACCESS_KEY_ID = (\S+)\nAWS_SECRET_ACCESS_KEY = (\S+)\n\n\[ci\]\naws_access_key_id = (\S+)\naws_secret_access_key = (\S+)\n$/.exec(after)
    expect(m, 'one line per key, in its own spelling').to.not.equal(null)
    secrets.push(m![2])
    const fresh = {accessKeyId: m![1], secretAccessKey: m![2]}
    expect(fresh.accessKeyId).to.not.equal(k.accessKeyId)
    expect([m![3], m![4]]).to.deep.equal([fresh.accessKeyId, fresh.secretAccessKey])
    expect(await keyWorks(moto.endpoint, fresh, 'pulumi')).to.equal('ok')
    expect(await userKeys(moto.endpoint, moto.admin, 'pulumi')).to.deep.equal([{id: fresh.accessKeyId, status: 'Active'}])
    // botocore (the AWS CLI) still parses the file: it refuses one with the same key twice in a section.
    const cli = spawnSync('aws', ['configure', 'get', 'aws_access_key_id', '--profile', 'pulumi'], {
      env: {PATH: process.env.PATH, HOME: home.dir, AWS_SHARED_CREDENTIALS_FILE: home.credentialsFile, AWS_CONFIG_FILE: home.configFile},
      encoding: 'utf8',
    })
    expect(cli.status, cli.stderr).to.equal(0)
    expect(cli.stdout.trim()).to.equal(fresh.accessKeyId)
  })

  it('a user limited to a prefix of the bucket (psb-prefix tag): the proof lists <prefix>/.pulumi/, which its policy allows', async () => {
    const u = await makeStateUser(moto.endpoint, moto.admin, 'team-a', {bucket: 'shared-state', prefix: 'team-a'})
    secrets.push(u.key.secretAccessKey)
    const text = credentialsText({pulumi: u.key})
    writeCredentials(home.credentialsFile, text)
    const r = await psb(['keys', 'rotate', '--profile', 'pulumi'])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stderr).to.not.match(/Skipped the state-bucket check/)
    expect(calls().filter((c) => c === 's3 ListObjectsV2')).to.have.length(3)
    // With the wrong prefix the listing is denied for the old key too: the check is skipped, with a warning, not failed.
    const again = await psb(['keys', 'rotate', '--profile', 'pulumi', '--bucket', 'shared-state', '--prefix', 'team-b'])
    expect(again.code, again.stderr).to.equal(0)
    expect(again.stderr).to.match(/Skipped the state-bucket check: listing s3:\/\/shared-state\/team-b\/.pulumi\/ answers AccessDenied for the old key too/)
    expect(await userKeys(moto.endpoint, moto.admin, 'team-a')).to.have.length(1)
  })

  it('--json prints one document: a record per profile with masked key ids, ages, result and timings', async () => {
    const {u} = await setup()
    const r = await psb(['keys', 'rotate', '--profile', 'pulumi', '--json'])
    expect(r.code, r.stderr).to.equal(0)
    const doc = json(r)
    expect(doc.exitCode).to.equal(0)
    expect(doc.results).to.have.length(1)
    const rec = doc.results[0]
    expect(rec).to.include({profile: 'pulumi', user: 'pulumi', result: 'rotated', oldKeyAgeDays: 0, oldKey: 'deleted', cleanupPending: false})
    expect(rec.oldKeyId).to.equal(`${u.key.accessKeyId.slice(0, 4)}…${u.key.accessKeyId.slice(-4)}`)
    expect(rec.newKeyId).to.match(/^AKIA…\w{4}$/)
    expect(rec.profilesUpdated).to.deep.equal(['pulumi'])
    expect(rec.timings.totalMs).to.be.at.least(rec.timings.propagationWaitMs)
    expect(r.stdout).to.not.include(u.key.accessKeyId)
    expect(r.stdout).to.not.include(fileKey('pulumi').accessKeyId)
  })

  it('--max-age: a younger key is "not due" (exit 0, or 10 with --detailed-exitcode; nothing changed); an older one is rotated', async () => {
    const {u, text} = await setup()
    const r = await psb(['keys', 'rotate', '--profile', 'pulumi', '--max-age', '90d'])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.match(/not-due pulumi \(user pulumi\): key AKIA…\w{4} is 0 days old, younger than 90d; due 20\d\d-/)
    expect(calls().filter((c) => !/ (List|Get)/.test(c))).to.deep.equal([])
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(text)
    const j = await psb(['keys', 'rotate', '--profile', 'pulumi', '--max-age', '2w', '--json', '--detailed-exitcode'])
    expect(j.code).to.equal(10)
    expect(json(j).results[0]).to.include({result: 'not-due', exitCode: 10})
    const plain = await psb(['keys', 'rotate', '--profile', 'pulumi', '--max-age', '2w', '--json'])
    expect(plain.code).to.equal(0)
    expect(json(plain).results[0]).to.include({result: 'not-due', exitCode: 0})
    resetCalls()
    const due = await psb(['keys', 'rotate', '--profile', 'pulumi', '--max-age', '0s'])
    expect(due.code, due.stderr).to.equal(0)
    expect(fileKey('pulumi').accessKeyId).to.not.equal(u.key.accessKeyId)
  })

  it('two keys: an Inactive key that no profile holds is deleted first, then the rotation runs', async () => {
    const {u} = await setup()
    const stray = await addKey(moto.endpoint, moto.admin, 'pulumi', 'Inactive')
    secrets.push(stray.secretAccessKey)
    const r = await psb(['keys', 'rotate', '--profile', 'pulumi', '--json'])
    expect(r.code, r.stderr).to.equal(0)
    expect(json(r).results[0].changes[0]).to.deep.include({status: 'deleted', detail: 'Inactive, no profile held it'})
    const fresh = fileKey('pulumi')
    expect(await userKeys(moto.endpoint, moto.admin, 'pulumi')).to.deep.equal([{id: fresh.accessKeyId, status: 'Active'}])
    expect(await keyWorks(moto.endpoint, stray)).to.equal('InvalidClientTokenId')
    expect(await keyWorks(moto.endpoint, u.key)).to.equal('InvalidClientTokenId')
  })

  it('two keys: an Active key the profile does not hold stops the run with a clear message, untouched', async () => {
    const {u, text} = await setup()
    const other = await addKey(moto.endpoint, moto.admin, 'pulumi', 'Active')
    secrets.push(other.secretAccessKey)
    const r = await psb(['keys', 'rotate', '--profile', 'pulumi'])
    expect(r.code).to.equal(1)
    const masked = `${other.accessKeyId.slice(0, 4)}…${other.accessKeyId.slice(-4)}`
    expect(r.stderr).to.include(`already has a second access key, ${masked} (Active`)
    expect(r.stderr).to.include('Nothing was changed')
    expect(r.stderr).to.match(/Hint: If that key is no longer used .*aws iam delete-access-key --user-name pulumi/)
    expect(r.stderr).to.not.include(other.accessKeyId)
    expect(calls()).to.not.include('iam CreateAccessKey')
    expect(calls()).to.not.include('iam DeleteAccessKey')
    expect(await userKeys(moto.endpoint, moto.admin, 'pulumi')).to.have.deep.members([
      {id: u.key.accessKeyId, status: 'Active'},
      {id: other.accessKeyId, status: 'Active'},
    ])
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(text)
  })

  it('writes the new key into every profile holding the old one; --keep-old leaves the old key Inactive and the next run deletes it', async () => {
    const {u, text} = await setup('pulumi', {profiles: ['pulumi', 'ci']})
    const r = await psb(['keys', 'rotate', '--profile', 'pulumi', '--keep-old', '--json'])
    expect(r.code, r.stderr).to.equal(0)
    expect(json(r).results[0]).to.include({oldKey: 'inactive'})
    expect(json(r).results[0].profilesUpdated).to.deep.equal(['ci', 'pulumi'])
    const fresh = fileKey('pulumi')
    expect(fileKey('ci')).to.deep.equal(fresh)
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(expectedAfterRotation(text, [{old: u.key, fresh}]))
    expect(await userKeys(moto.endpoint, moto.admin, 'pulumi')).to.have.deep.members([
      {id: fresh.accessKeyId, status: 'Active'},
      {id: u.key.accessKeyId, status: 'Inactive'},
    ])
    // The next rotation (either profile) deletes the Inactive key first.
    const next = await psb(['keys', 'rotate', '--profile', 'ci'])
    expect(next.code, next.stderr).to.equal(0)
    const newer = fileKey('ci')
    expect(fileKey('pulumi')).to.deep.equal(newer)
    expect(await userKeys(moto.endpoint, moto.admin, 'pulumi')).to.deep.equal([{id: newer.accessKeyId, status: 'Active'}])
  })

  it('repeatable --profile rotates several users in one run', async () => {
    const a = await makeStateUser(moto.endpoint, moto.admin, 'team-a')
    const b = await makeStateUser(moto.endpoint, moto.admin, 'team-b')
    secrets.push(a.key.secretAccessKey, b.key.secretAccessKey)
    const text = credentialsText({a: a.key, b: b.key})
    writeCredentials(home.credentialsFile, text)
    const r = await psb(['keys', 'rotate', '--profile', 'a', '--profile', 'b', '--json'])
    expect(r.code, r.stderr).to.equal(0)
    expect(json(r).results.map((x) => [x.profile, x.user, x.result])).to.deep.equal([
      ['a', 'team-a', 'rotated'],
      ['b', 'team-b', 'rotated'],
    ])
    const fa = fileKey('a')
    const fb = fileKey('b')
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(expectedAfterRotation(text, [{old: a.key, fresh: fa}, {old: b.key, fresh: fb}]))
    expect(await keyWorks(moto.endpoint, fa, 'team-a')).to.equal('ok')
    expect(await keyWorks(moto.endpoint, fb, 'team-b')).to.equal('ok')
  })

  it('an administrator rotates on the user\'s behalf (--admin-profile, --user), for a user without rotation rights', async () => {
    const iam = iamClient(moto.endpoint, moto.admin)
    await iam.send(new CreateUserCommand({UserName: 'bare'}))
    const k = (await iam.send(new CreateAccessKeyCommand({UserName: 'bare'}))).AccessKey!
    const key = {accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey!}
    secrets.push(key.secretAccessKey)
    const text = credentialsText({pulumi: key, admin: moto.admin})
    writeCredentials(home.credentialsFile, text)
    const own = await psb(['keys', 'rotate', '--profile', 'pulumi'])
    expect(own.code).to.equal(1)
    expect(own.stderr).to.match(/AWS denied iam:ListAccessKeys/)
    const r = await psb(['keys', 'rotate', '--profile', 'pulumi', '--user', 'bare', '--admin-profile', 'admin'])
    expect(r.code, r.stderr).to.equal(0)
    const fresh = fileKey('pulumi')
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(expectedAfterRotation(text, [{old: key, fresh}]))
    expect(await userKeys(moto.endpoint, moto.admin, 'bare')).to.deep.equal([{id: fresh.accessKeyId, status: 'Active'}])
    expect(await keyWorks(moto.endpoint, fresh, 'bare')).to.equal('ok')
  })

  it('--create writes the first key of a new profile; ensureProfileKey is idempotent', async () => {
    const iam = iamClient(moto.endpoint, moto.admin)
    await iam.send(new CreateUserCommand({UserName: 'first'}))
    writeCredentials(home.credentialsFile, credentialsText({admin: moto.admin}))
    const r = await psb(['keys', 'rotate', '--create', '--profile', 'newp', '--user', 'first', '--admin-profile', 'admin', '--json'])
    expect(r.code, r.stderr).to.equal(0)
    const rec = json(r).results[0]
    expect(rec).to.include({result: 'created', user: 'first'})
    const text = readFileSync(home.credentialsFile, 'utf8')
    const id = /\[newp\]\naws_access_key_id = (\S+)\naws_secret_access_key = (\S+)/.exec(text)!
    const key = {accessKeyId: id[1], secretAccessKey: id[2]}
    expect(await keyWorks(moto.endpoint, key, 'first')).to.equal('ok')
    expect(await userKeys(moto.endpoint, moto.admin, 'first')).to.deep.equal([{id: key.accessKeyId, status: 'Active'}])
    // The core, as `psb init` calls it: unchanged when the profile holds a working key of the user.
    const env = {HOME: home.dir, AWS_SHARED_CREDENTIALS_FILE: home.credentialsFile, AWS_CONFIG_FILE: home.configFile}
    const admin = createAwsContext({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin})
    const again = await ensureProfileKey(admin, {user: 'first', profile: 'newp', region: 'us-east-1', endpoint: moto.endpoint, env, pollMs: 20})
    expect(again.status).to.equal('unchanged')
    expect(again.accessKeyId).to.equal(key.accessKeyId)
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(text)
    // Another profile for the same user reuses that key instead of creating a second one.
    const other = await ensureProfileKey(admin, {user: 'first', profile: 'newp2', region: 'us-east-1', endpoint: moto.endpoint, env, pollMs: 20})
    expect(other).to.include({status: 'created', accessKeyId: key.accessKeyId, reusedFrom: 'newp'})
    expect(await userKeys(moto.endpoint, moto.admin, 'first')).to.have.length(1)
    // A user whose only key no profile holds: stop, with what to do.
    await iam.send(new CreateUserCommand({UserName: 'stranger'}))
    const strangerKey = (await iam.send(new CreateAccessKeyCommand({UserName: 'stranger'}))).AccessKey!
    secrets.push(strangerKey.SecretAccessKey!)
    const err = await ensureProfileKey(admin, {user: 'stranger', profile: 's', region: 'us-east-1', endpoint: moto.endpoint, env, pollMs: 20}).catch((e: Error) => e)
    expect((err as Error).message).to.match(/already has an access key, AKIA…\w{4} \(Active.*no profile .* holds/)
    // Without --admin-profile, --create acts with the standard credential chain (here: the environment).
    await iam.send(new CreateUserCommand({UserName: 'second'}))
    const viaEnv = await psb(['keys', 'rotate', '--create', '--profile', 'envp', '--user', 'second'], {
      AWS_ACCESS_KEY_ID: moto.admin.accessKeyId,
      AWS_SECRET_ACCESS_KEY: moto.admin.secretAccessKey,
    })
    expect(viaEnv.code, viaEnv.stderr).to.equal(0)
    expect(readFileSync(home.credentialsFile, 'utf8')).to.match(/\[envp\]\naws_access_key_id = AKIA/)
    expect(await userKeys(moto.endpoint, moto.admin, 'second')).to.have.length(1)
  })

  it('--dry-run shows the plan and changes nothing', async () => {
    const {text} = await setup()
    const r = await psb(['keys', 'rotate', '--profile', 'pulumi', '--dry-run'])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.match(/Plan for pulumi \(user pulumi\) \(dry run, nothing changed\)/)
    expect(r.stdout).to.match(/new access key\s+planned\s+create for pulumi/)
    expect(r.stdout).to.match(/old key AKIA…\w{4}\s+planned\s+deactivate, then delete/)
    expect(calls().filter((c) => !/ (List|Get)/.test(c))).to.deep.equal([])
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(text)
  })

  it('a run that overlaps another one exits 11 and changes nothing', async () => {
    const {text} = await setup()
    const holder = spawn('sleep', ['30'])
    try {
      writeFileSync(`${home.credentialsFile}.psb-rotate.lock`, JSON.stringify({pid: holder.pid, host: hostname(), startedAt: new Date().toISOString(), nonce: 'other'}))
      const r = await psb(['keys', 'rotate', '--profile', 'pulumi'])
      expect(r.code).to.equal(11)
      expect(r.stderr).to.include(`Another key rotation for this credentials file is in progress (process ${holder.pid}`)
      expect(calls()).to.deep.equal([])
      expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(text)
    } finally {
      holder.kill('SIGKILL')
    }
    await new Promise((r) => holder.once('exit', r))
    const after = await psb(['keys', 'rotate', '--profile', 'pulumi'])
    expect(after.code, after.stderr).to.equal(0)
  })

  it('--confirmations and --interval set the proof: that many consecutive rounds with the new key, --interval apart (the flag wins over PSB_KEY_PROPAGATION_POLL_MS)', async () => {
    await setup()
    const rounds = () => calls().filter((c) => c === 's3 ListObjectsV2').length
    let r = await psb(['keys', 'rotate', '--profile', 'pulumi', '--json'])
    expect(r.code, r.stderr).to.equal(0)
    expect(rounds(), 'default').to.equal(3)
    resetCalls()
    r = await psb(['keys', 'rotate', '--profile', 'pulumi', '--confirmations', '5', '--interval', '0', '--json'])
    expect(r.code, r.stderr).to.equal(0)
    expect(rounds()).to.equal(5)
    resetCalls()
    r = await psb(['keys', 'rotate', '--profile', 'pulumi', '--confirmations', '2', '--interval', '700ms', '--json'])
    expect(r.code, r.stderr).to.equal(0)
    expect(rounds()).to.equal(2)
    // One pause of 700 ms between the two rounds (the environment says 20 ms).
    expect(json(r).results[0].timings.propagationWaitMs).to.be.at.least(700)
  })

  it('bad input exits 2 before any AWS call', async () => {
    const {text} = await setup()
    for (const args of [
      ['--max-age', '90x'],
      ['--wait', 'soon'],
      ['--profile', 'a]b'],
      ['--create', '--profile', 'new'],
      ['--profile', 'nosuch'],
      ['--prefix', '../x'],
      // The proof's flags, outside their documented limits (docs/keys.md).
      ['--confirmations', '0'],
      ['--confirmations', '11'],
      ['--confirmations', 'two'],
      ['--interval', '61s'],
      ['--interval', 'soon'],
      ['--confirmations', '10', '--interval', '10s', '--wait', '60s'],
    ]) {
      const r = await psb(['keys', 'rotate', ...(args.includes('--profile') ? [] : ['--profile', 'pulumi']), ...args])
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(2)
      expect(r.stderr).to.match(/Error: /)
    }
    expect(calls()).to.deep.equal([])
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(text)
  })

  it('keys list: bad input exits 2 before any AWS call; a key AWS rejects exits 1 naming the call', async () => {
    const {text} = await setup()
    for (const args of [['--profile', 'nosuch'], ['--profile', 'a]b']]) {
      const r = await psb(['keys', 'list', ...args])
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(2)
      expect(r.stderr).to.match(/Error: /)
    }
    expect(calls()).to.deep.equal([])
    writeFileSync(home.credentialsFile, text + '\n[dead]\naws_access_key_id = AKIADEADDEADDEADDEAD\naws_secret_access_key = deaddeaddeaddeaddeaddeaddeaddeaddeaddead\n')
    secrets.push('deaddeaddeaddeaddeaddeaddeaddeaddeaddead')
    const dead = await psb(['keys', 'list', '--profile', 'dead'])
    expect(dead.code).to.equal(1)
    expect(dead.stderr).to.match(/AWS rejected the credentials for sts:GetCallerIdentity \(InvalidClientTokenId\)/)
    expect(dead.stderr).to.match(/Hint: Check the access key of the profile psb acts with \(profile dead\)/)
  })

  it('a non-credential STS error while proving the new key names sts:GetCallerIdentity, and the rotation is rolled back', async () => {
    const {u, text} = await setup()
    // An account where STS is not enabled in the region: every STS call fails, the old key's too.
    const proxy = new FaultProxy(moto.endpoint)
    proxy.rules.push((req) => (req.service === 'sts' ? awsError('sts', 403, 'RegionDisabledException', 'STS is not activated in this region for account:123456789012.') : undefined))
    await proxy.start()
    try {
      const env = {HOME: home.dir, AWS_SHARED_CREDENTIALS_FILE: home.credentialsFile, AWS_CONFIG_FILE: home.configFile}
      const admin = createAwsContext({region: 'us-east-1', endpoint: proxy.endpoint, credentials: moto.admin})
      const e = await rotateKey({profile: 'pulumi', user: 'pulumi', admin, region: 'us-east-1', endpoint: proxy.endpoint, env, pollMs: 20, waitMs: 5000}).then(
        () => undefined,
        (error: unknown) => error,
      )
      expect(isPsbError(e), String(e)).to.equal(true)
      const err = e as PsbError
      outputs.push(err.message, err.hint ?? '')
      expect(err.exitCode).to.equal(1)
      expect(err.message).to.match(/failed while proving the new key works: sts:GetCallerIdentity failed \(RegionDisabledException\)/)
      expect(err.message).to.not.match(/s3:ListBucket/)
      expect(err.message).to.match(/The old key is back in the credentials file, the new key AKIA…\w{4} is deleted/)
      // Not a propagation error: one STS call, no retries.
      expect(proxy.calls.filter((c) => c.service === 'sts')).to.have.length(1)
    } finally {
      await proxy.stop()
    }
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(text)
    expect(await userKeys(moto.endpoint, moto.admin, 'pulumi')).to.deep.equal([{id: u.key.accessKeyId, status: 'Active'}])
    expect(existsSync(`${home.credentialsFile}.psb-rotation.json`)).to.equal(false)
  })

  it('keys list: masked ids, status, age, holders; last use with an administrator; --json', async () => {
    const {u} = await setup('pulumi', {profiles: ['pulumi', 'ci']})
    const inactive = await addKey(moto.endpoint, moto.admin, 'pulumi', 'Inactive')
    secrets.push(inactive.secretAccessKey)
    writeFileSync(home.credentialsFile, readFileSync(home.credentialsFile, 'utf8') + `\n[admin]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n`)
    const r = await psb(['keys', 'list', '--profile', 'pulumi'])
    expect(r.code, r.stderr).to.equal(0)
    const mask = (id: string) => `${id.slice(0, 4)}…${id.slice(-4)}`
    expect(r.stdout).to.include('Access keys of the IAM user pulumi (arn:aws:iam::123456789012:user/pulumi)')
    expect(r.stdout).to.match(new RegExp(`${mask(u.key.accessKeyId)}\\s+Active\\s+20\\d\\d-\\d\\d-\\d\\d\\s+0d\\s+\\S.*ci, pulumi`))
    expect(r.stdout).to.match(new RegExp(`${mask(inactive.accessKeyId)}\\s+Inactive\\s+.*\\(no local profile\\)`))
    // Last use of the profile's own key (it was just used, for iam), allowed by the state policy.
    expect(r.stdout).to.match(new RegExp(`${mask(u.key.accessKeyId)}\\s+Active\\s+\\S+\\s+0d\\s+20\\d\\d-\\d\\d-\\d\\d iam us-east-1`))
    expect(r.stderr).to.not.match(/Last use is not shown/)
    const j = await psb(['keys', 'list', '--user', 'pulumi', '--admin-profile', 'admin', '--json'])
    expect(j.code, j.stderr).to.equal(0)
    const doc = JSON.parse(j.stdout)
    expect(doc.user).to.equal('pulumi')
    expect(doc.keys.map((k: any) => [k.accessKeyId, k.status, k.profiles])).to.have.deep.members([
      [mask(u.key.accessKeyId), 'Active', ['ci', 'pulumi']],
      [mask(inactive.accessKeyId), 'Inactive', []],
    ])
    expect(doc.keys[0].lastUsed).to.be.an('object')
    expect(doc.keys[0].ageDays).to.equal(0)
    expect(j.stdout).to.not.include(u.key.accessKeyId)
  })
})
