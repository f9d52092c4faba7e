/**
 * `psb init --keyless` as a subprocess against moto (IAM enforcement on), with a fake `pulumi`:
 * a role instead of a user, no access key created anywhere (PSB_CALL_LOG), the role profile in
 * the config file (role_arn + source_profile) and nothing in the credentials file, the backend
 * URL naming that profile, a re-run with 0 writes; --retire-user: refused without --yes (exit
 * 2, nothing written), deletes exactly the user's keys after the proof, and none when the
 * proof fails (the fault proxy denies AssumeRole).
 */
import {expect} from 'chai'
import {readFileSync, writeFileSync} from 'node:fs'
import {IAMClient, ListAccessKeysCommand, GetRoleCommand} from '@aws-sdk/client-iam'
import {useMoto} from '../support/moto.js'
import {TempHome, runPsb, type RunResult} from '../support/cli.js'
import {FakePulumi} from '../support/fake-pulumi.js'
import {FaultProxy, awsError} from '../support/fault-proxy.js'
import {VERIFY_SENTINEL_CALLS, mutatingCalls} from '../support/calls.js'

const REGION = 'us-west-1'

describe('psb init --keyless (subprocess, moto, fake pulumi)', function () {
  this.timeout(120_000)
  const moto = useMoto()
  let home: TempHome
  let fake: FakePulumi
  let adminCreds: string

  beforeEach(() => {
    home = new TempHome()
    fake = new FakePulumi({version: '3.274.1'})
    adminCreds = `[admin]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n`
    writeFileSync(home.credentialsFile, adminCreds, {mode: 0o600})
  })
  afterEach(() => {
    home.cleanup()
    fake.cleanup()
  })

  const env = () => fake.env({PULUMI_HOME: home.path('.pulumi'), PSB_KEY_PROPAGATION_POLL_MS: '20', PSB_CALL_LOG: home.path('calls.log')})
  const args = (extra: string[], endpoint = moto.endpoint) => ['init', '--bucket', 'kl-state', '--region', REGION, '--endpoint', endpoint, '--admin-profile', 'admin', ...extra]
  const calls = () => {
    try {
      return readFileSync(home.path('calls.log'), 'utf8')
    } catch {
      return ''
    }
  }
  const resetCalls = () => writeFileSync(home.path('calls.log'), '')
  const ok = (r: RunResult) => expect(r.code, `exit ${r.code}\n${r.stdout}\n${r.stderr}`).to.equal(0)
  const iam = () => new IAMClient({region: REGION, endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1})
  const keysOf = async (user: string) => ((await iam().send(new ListAccessKeysCommand({UserName: user}))).AccessKeyMetadata ?? []).map((k) => k.AccessKeyId)

  it('makes a role and a role profile, creates no access key, writes nothing into the credentials file; a re-run makes 0 writes', async () => {
    const r = await runPsb(args(['--keyless', '--trust', 'github:acme/infra', '--json']), home, {env: env()})
    ok(r)
    expect(calls()).not.to.match(/CreateAccessKey|CreateUser/)
    expect(calls()).to.match(/iam CreateRole/)
    const doc = JSON.parse(r.stdout)
    const arn = (await iam().send(new GetRoleCommand({RoleName: 'pulumi-state'}))).Role!.Arn!
    expect(doc.keyless).to.include({role: 'pulumi-state', roleArn: arn, profile: 'pulumi-state', sourceProfile: 'admin', credentialSource: null})
    expect(doc.keyless.trust).to.deep.equal(['github:acme/infra', 'aws:arn:aws:iam::123456789012:user/psb-test-admin'])
    expect(doc.keyless.ci[0]).to.equal(`psb ci github --repo acme/infra --role-arn ${arn} --bucket kl-state --region ${REGION} --stack <stack> --write .github/workflows/pulumi.yml`)
    expect(doc.userArn).to.equal(null)
    // The profile works: verify (as the role) passes, and finds no long-lived key.
    expect(doc.verify.ok).to.equal(true)
    expect(doc.verify.checks.find((c: {id: string}) => c.id === 'credentials')?.detail).to.match(/assumed role pulumi-state/)
    expect(doc.verify.checks.map((c: {title: string; status: string}) => `${c.status} ${c.title}`)).to.include('pass No long-lived key')
    // The backend URL names the role profile.
    expect(doc.backendUrl).to.contain('profile=pulumi-state')
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(adminCreds)
    expect(readFileSync(home.configFile, 'utf8')).to.equal(`[profile pulumi-state]\nrole_arn = ${arn}\nsource_profile = admin\nregion = ${REGION}\n`)

    resetCalls()
    const again = await runPsb(args(['--keyless', '--trust', 'github:acme/infra']), home, {env: env()})
    ok(again)
    expect(again.stdout).to.contain('Nothing to change: everything was already set up.')
    // Only verify's sentinel object is written (and deleted).
    expect(mutatingCalls(calls()).sort()).to.deep.equal(VERIFY_SENTINEL_CALLS)
  })

  it('credential_source = Environment when the admin credentials come from the environment; --dry-run writes nothing', async () => {
    const envCreds = {...env(), AWS_ACCESS_KEY_ID: moto.admin.accessKeyId, AWS_SECRET_ACCESS_KEY: moto.admin.secretAccessKey}
    const noAdmin = (extra: string[]) => args(extra).filter((a, i, all) => a !== '--admin-profile' && all[i - 1] !== '--admin-profile')
    const dry = await runPsb(noAdmin(['--keyless', '--no-login', '--dry-run']), home, {env: envCreds})
    ok(dry)
    expect(mutatingCalls(calls())).to.deep.equal([])
    expect(() => readFileSync(home.configFile)).to.throw()
    const r = await runPsb(noAdmin(['--keyless', '--no-login', '--no-verify', '--profile', 'pulumi-ci']), home, {env: envCreds})
    ok(r)
    expect(readFileSync(home.configFile, 'utf8')).to.match(/\[profile pulumi-ci\]\nrole_arn = .*\ncredential_source = Environment\nregion = us-west-1\n/)
  })

  it('--retire-user without --yes (not a terminal) is exit 2 before any write', async () => {
    const r = await runPsb(args(['--keyless', '--no-login', '--retire-user', 'pulumi']), home, {env: env()})
    expect(r.code).to.equal(2)
    expect(r.stderr).to.match(/--retire-user deletes pulumi's access keys .*Nothing was changed/)
    expect(mutatingCalls(calls())).to.deep.equal([])
    expect(() => readFileSync(home.configFile)).to.throw()
  })

  it('--retire-user: after the proof, deletes exactly the user\'s keys and their profile lines (the admin\'s stay)', async () => {
    ok(await runPsb(args(['--profile', 'pulumi', '--no-login', '--no-verify']), home, {env: env()}))
    const old = await keysOf('pulumi')
    expect(old).to.have.length(1)
    expect(readFileSync(home.credentialsFile, 'utf8')).to.contain('[pulumi]')
    resetCalls()
    const r = await runPsb(args(['--keyless', '--no-login', '--no-verify', '--retire-user', 'pulumi', '--yes', '--json']), home, {env: env()})
    ok(r)
    const doc = JSON.parse(r.stdout)
    expect(doc.keyless.retire.user).to.equal('pulumi')
    expect(doc.keyless.retire.proof).to.match(/assumed-role\/pulumi-state\/.*put, get, delete/)
    expect(doc.keyless.retire.profiles).to.deep.equal(['pulumi'])
    expect(doc.steps.retire.status).to.equal('updated')
    expect(await keysOf('pulumi')).to.deep.equal([])
    expect(calls().match(/iam DeleteAccessKey/g)).to.have.length(1)
    expect(calls()).not.to.match(/CreateAccessKey|DeleteUser\b/)
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(adminCreds)
    // The admin's key still works: psb acts with it again (a re-run: nothing left to retire, 0 writes).
    resetCalls()
    ok(await runPsb(args(['--keyless', '--no-login', '--no-verify', '--retire-user', 'pulumi', '--yes']), home, {env: env()}))
    expect(mutatingCalls(calls())).to.deep.equal([])
  })

  it('--retire-user --delete-user: the user goes too (its policy first); a re-run finds nothing to retire (0 writes)', async () => {
    ok(await runPsb(args(['--profile', 'pulumi', '--no-login', '--no-verify']), home, {env: env()}))
    ok(await runPsb(args(['--keyless', '--no-login', '--no-verify', '--retire-user', 'pulumi', '--delete-user', '--yes']), home, {env: env()}))
    const gone = await iam().send(new ListAccessKeysCommand({UserName: 'pulumi'})).then(() => 'exists', (e: Error) => e.name)
    expect(gone).to.match(/^NoSuchEntity/)
    expect(calls()).to.match(/iam DeleteUserPolicy[\s\S]*iam DeleteUser\n/)
    resetCalls()
    const again = await runPsb(args(['--keyless', '--no-login', '--no-verify', '--retire-user', 'pulumi', '--delete-user', '--yes']), home, {env: env()})
    ok(again)
    expect(again.stdout).to.match(/there is no IAM user pulumi: nothing to retire/)
    expect(mutatingCalls(calls())).to.deep.equal([])
  })

  it('--retire-user keeps every key when the proof fails (AssumeRole denied)', async () => {
    ok(await runPsb(args(['--profile', 'pulumi', '--no-login', '--no-verify']), home, {env: env()}))
    const old = await keysOf('pulumi')
    const creds = readFileSync(home.credentialsFile, 'utf8')
    const proxy = new FaultProxy(moto.endpoint)
    proxy.rules.push((req) => (req.action === 'AssumeRole' ? awsError('sts', 403, 'AccessDenied', 'not authorized to perform: sts:AssumeRole') : undefined))
    await proxy.start()
    try {
      const r = await runPsb(args(['--keyless', '--no-login', '--no-verify', '--retire-user', 'pulumi', '--delete-user', '--yes'], proxy.endpoint), home, {env: env()})
      expect(r.code).to.equal(1)
      expect(r.stderr).to.match(/The role is not proven, so pulumi's keys were kept/)
    } finally {
      await proxy.stop()
    }
    expect(await keysOf('pulumi')).to.deep.equal(old)
    expect(calls()).not.to.match(/DeleteAccessKey|DeleteUser/)
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(creds)
  })
})
