/**
 * The preflight of init / user create / bucket create (issue 9, item 3), as subprocesses
 * against moto (IAM enforcement on): everything that can be known before the first write
 * is found first, exit 2, and the call log shows no mutating call.
 */
import {expect} from 'chai'
import {readFileSync, writeFileSync} from 'node:fs'
import {ListBucketsCommand, S3Client} from '@aws-sdk/client-s3'
import {CreateAccessKeyCommand, CreateUserCommand, IAMClient, ListUsersCommand} from '@aws-sdk/client-iam'
import {useMoto, ADMIN_USER} from '../support/moto.js'
import {TempHome, runPsb, type RunResult} from '../support/cli.js'
import {mutatingCalls} from '../support/calls.js'

const REGION = 'us-west-1'

describe('preflight: exit 2 and nothing changed (subprocess, moto)', function () {
  const moto = useMoto()
  let home: TempHome

  beforeEach(() => {
    home = new TempHome()
  })
  afterEach(() => home.cleanup())

  const writeCreds = (text: string) => writeFileSync(home.credentialsFile, text, {mode: 0o600})
  const adminSection = (name: string, secret = moto.admin.secretAccessKey) => `[${name}]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${secret}\n`
  const env = (extra: Record<string, string> = {}) => ({PSB_CALL_LOG: home.path('calls.log'), PSB_MAX_ATTEMPTS: '1', ...extra})
  const calls = () => {
    try {
      return readFileSync(home.path('calls.log'), 'utf8')
    } catch {
      return ''
    }
  }
  const init = (extra: string[], region = REGION) => ['init', '--bucket', 'pre-state', '--region', region, '--endpoint', moto.endpoint, '--no-login', '--no-verify', ...extra]

  /** Exit 2, no mutating call, no bucket and no user but the test's admin in moto. */
  async function expectNothingChanged(r: RunResult & {args: string[]}, code: string): Promise<void> {
    expect(r.code, `${r.stdout}\n${r.stderr}`).to.equal(2)
    expect(r.stderr).to.contain('Nothing was changed')
    expect(mutatingCalls(calls())).to.deep.equal([])
    const s3 = new S3Client({region: REGION, endpoint: moto.endpoint, forcePathStyle: true, credentials: moto.admin})
    expect((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).to.have.length(0)
    const iam = new IAMClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin})
    expect(((await iam.send(new ListUsersCommand({}))).Users ?? []).map((u) => u.UserName)).to.deep.equal([ADMIN_USER])
    const json = await runPsb([...r.args, '--json'], home, {env: env()})
    expect(JSON.parse(json.stdout).error.code).to.equal(code)
  }

  it('init --profile default when the admin key is in [default] (the default chain): refused before any write', async () => {
    writeCreds(adminSection('default'))
    const args = init(['--profile', 'default', '--attach-policy', 'arn:aws:iam::aws:policy/AdministratorAccess'])
    const r = {...(await runPsb(args, home, {env: env()})), args}
    expect(r.stderr).to.match(/--profile default is the profile Pulumi would get, but psb acts as administrator with profile "default" \(the default credential chain/)
    expect(r.stderr).not.to.contain(moto.admin.secretAccessKey)
    await expectNothingChanged(r, 'ProfileConflict')
  })

  it('init --profile default when [default] holds the same key as --admin-profile admin: refused by key id', async () => {
    writeCreds(adminSection('admin') + adminSection('default'))
    const args = init(['--profile', 'default', '--admin-profile', 'admin'])
    const r = {...(await runPsb(args, home, {env: env()})), args}
    expect(r.stderr).to.match(/the profile "default" holds the administrator's own key AKIA…\w{4}, the key psb acts with \(--admin-profile admin\)/)
    await expectNothingChanged(r, 'ProfileConflict')
  })

  it('init with AWS_PROFILE=ops and --profile ops: refused (the chain reads that profile)', async () => {
    writeCreds(adminSection('ops'))
    const args = init(['--profile', 'ops'])
    const r = {...(await runPsb(args, home, {env: env({AWS_PROFILE: 'ops'})})), args}
    expect(r.code, r.stderr).to.equal(2)
    expect(r.stderr).to.contain('reads profile "ops"')
    expect(mutatingCalls(calls())).to.deep.equal([])
  })

  it('init --profile ci when [ci] holds a working key of another IAM user: refused before any write', async () => {
    const iam = new IAMClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin})
    await iam.send(new CreateUserCommand({UserName: 'ci-bot'}))
    const key = (await iam.send(new CreateAccessKeyCommand({UserName: 'ci-bot'}))).AccessKey!
    writeCreds(adminSection('admin') + `[ci]\naws_access_key_id = ${key.AccessKeyId}\naws_secret_access_key = ${key.SecretAccessKey}\n`)
    const args = init(['--admin-profile', 'admin', '--profile', 'ci'])
    const r = {...(await runPsb(args, home, {env: env()})), args}
    expect(r.code, r.stderr).to.equal(2)
    expect(r.stderr).to.contain('The profile "ci" already holds a working key of arn:aws:iam::123456789012:user/ci-bot, not of the IAM user pulumi')
    expect(mutatingCalls(calls())).to.deep.equal([])
    const s3 = new S3Client({region: REGION, endpoint: moto.endpoint, forcePathStyle: true, credentials: moto.admin})
    expect((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).to.have.length(0)
  })

  it('--attach-policy of a policy that does not exist: exit 2 in init, init --dry-run and user create', async () => {
    writeCreds(adminSection('admin'))
    const missing = 'arn:aws:iam::aws:policy/NoSuchPolicyAtAll'
    for (const args of [
      init(['--admin-profile', 'admin', '--profile', 'pulumi', '--attach-policy', missing]),
      init(['--admin-profile', 'admin', '--profile', 'pulumi', '--attach-policy', missing, '--dry-run']),
      ['user', 'create', '--bucket', 'pre-state', '--endpoint', moto.endpoint, '--admin-profile', 'admin', '--attach-policy', 'arn:aws:iam::aws:policy/ReadOnlyAccess', '--attach-policy', missing],
    ]) {
      const r = {...(await runPsb(args, home, {env: env()})), args}
      expect(r.stderr).to.contain(`The managed policy ${missing} (--attach-policy) does not exist in account 123456789012`)
      expect(r.stdout).not.to.contain('planned')
      await expectNothingChanged(r, 'PolicyNotFound')
    }
    expect(calls()).to.match(/^iam GetPolicy$/m)
  })

  it('administrator credentials AWS rejects: exit 2 after one STS call, in init and bucket create', async () => {
    writeCreds(adminSection('admin', 'not-the-right-secret-0000000000000000000'))
    for (const args of [init(['--admin-profile', 'admin', '--profile', 'pulumi']), ['bucket', 'create', '--bucket', 'pre-state', '--region', REGION, '--endpoint', moto.endpoint, '--admin-profile', 'admin']]) {
      writeFileSync(home.path('calls.log'), '')
      const r = {...(await runPsb(args, home, {env: env()})), args}
      expect(r.stderr).to.contain('AWS rejected the credentials')
      expect(calls().trim()).to.equal('sts GetCallerIdentity')
      await expectNothingChanged(r, 'BadCredentials')
    }
  })

  it('a region shaped like one that AWS does not have: exit 2 before any AWS call, with the near ones', async () => {
    writeCreds(adminSection('admin'))
    for (const args of [init(['--admin-profile', 'admin'], 'us-west-99'), ['bucket', 'create', '--bucket', 'pre-state', '--region', 'us-west-99', '--endpoint', moto.endpoint, '--admin-profile', 'admin']]) {
      const r = await runPsb(args, home, {env: env()})
      expect(r.code, r.stderr).to.equal(2)
      expect(r.stderr).to.contain('"us-west-99" is not an AWS region. Did you mean us-west-1 or us-west-2?')
    }
    expect(calls()).to.equal('')
  })
})
