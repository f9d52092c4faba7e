/**
 * `psb init --keyless` over many targets (issue 17), the built CLI against moto with IAM
 * enforced. The target accounts are made with Organizations' CreateAccount (the launcher's
 * fixes 9 and 10); in each, through its OrganizationAccountAccessRole, psb makes the bucket and
 * an IAM role trusting the administrator's own user in the management account (a cross-account
 * trust on a user ARN: the launcher's fix 11 checks it), and writes a role profile
 * (role_arn + source_profile admin) into the one AWS config file. No access key anywhere.
 */
import {expect} from 'chai'
import {readFileSync, writeFileSync} from 'node:fs'
import {IAMClient, GetRoleCommand, GetRolePolicyCommand, ListOpenIDConnectProvidersCommand} from '@aws-sdk/client-iam'
import {DeleteObjectCommand, GetBucketLocationCommand, GetObjectCommand, PutObjectCommand, S3Client} from '@aws-sdk/client-s3'
import {AssumeRoleCommand, GetCallerIdentityCommand, STSClient} from '@aws-sdk/client-sts'
import {useMoto, ACCOUNT_ID} from '../support/moto.js'
import {TempHome, runPsb, type RunResult} from '../support/cli.js'
import {VERIFY_SENTINEL_CALLS, mutatingCalls} from '../support/calls.js'
import {callLog, orgAccounts} from '../support/fleet-fixture.js'

interface Row {
  account: string
  region: string
  bucket: string
  profile: string
  user: string | null
  role?: string
  roleArn?: string | null
  status: 'ok' | 'failed'
  changed: boolean
  changes: {item: string; status: string}[]
  error?: {code: string; message: string; step?: string}
}

const REGIONS = ['us-east-1', 'eu-west-1']

describe('psb init --keyless over many targets (subprocess, moto, IAM enforced)', function () {
  this.timeout(240_000)
  const moto = useMoto()
  let home: TempHome
  const ADMIN = () => `[admin]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n`

  beforeEach(() => {
    home = new TempHome('psb-fleet-keyless-')
    writeFileSync(home.credentialsFile, ADMIN(), {mode: 0o600})
  })
  afterEach(() => home.cleanup())

  const accounts = (n: number) => orgAccounts(moto.endpoint, moto.admin, n)
  const targetsOf = (ids: string[]) => ids.flatMap((a) => REGIONS.map((r) => `${a}/${r}`))
  const calls = () => callLog(home)
  const fleet = (targets: string[], extra: string[] = []): Promise<RunResult> =>
    runPsb(['init', '--keyless', ...targets.flatMap((t) => ['--target', t]), ...extra, '--endpoint', moto.endpoint, '--admin-profile', 'admin', '--region', 'us-east-1', '--json'], home, {
      env: {PSB_CALL_LOG: home.path('calls.log')},
    })
  const rows = (r: RunResult): Row[] => (JSON.parse(r.stdout) as {targets: Row[]}).targets
  const exit = (r: RunResult, code: number) => expect(r.code, `exit ${r.code}\n${r.stdout}\n${r.stderr}`).to.equal(code)
  /** The credentials of a target's role, assumed as the role profile does: with the admin's key. */
  const assumeAs = async (roleArn: string) => {
    const c = (await new STSClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1}).send(new AssumeRoleCommand({RoleArn: roleArn, RoleSessionName: 'test'}))).Credentials!
    return {accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken!}
  }

  it('3 accounts × 2 regions: each role profile assumes its role and reaches only its own bucket; no access key, credentials file untouched; a re-run makes 0 writes', async () => {
    const ids = await accounts(3)
    const r = await fleet(targetsOf(ids), ['--concurrency', '6', '--trust', 'github:acme/infra'])
    exit(r, 0)
    const got = rows(r)
    expect(got.map((t) => `${t.account}/${t.region}`)).to.have.members(targetsOf(ids))
    expect(calls()).not.to.match(/CreateAccessKey|CreateUser/)
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(ADMIN())
    const config = readFileSync(home.configFile, 'utf8')
    // The admin's identity asked once a run; per target once by the proof, once by verify.
    expect(calls().split('\n').filter((l) => l === 'sts GetCallerIdentity')).to.have.length(1 + 2 * 6)
    // Each new profile was proven (assumed from the admin's key, a put/get/delete round trip) before verify.
    expect(r.stderr.match(/no key; proven\)/g)).to.have.length(6)
    for (const t of got) {
      expect(t.status, JSON.stringify(t.error)).to.equal('ok')
      expect(t.user).to.equal(null)
      expect(t.role).to.equal(`pulumi-state-${t.region}`)
      expect(t.roleArn).to.equal(`arn:aws:iam::${t.account}:role/pulumi-state-${t.region}`)
      // Every section of six concurrent writers is in the one config file.
      expect(config).to.contain(`[profile ${t.profile}]\nrole_arn = ${t.roleArn}\nsource_profile = admin\nregion = ${t.region}\n`)
      // The role trusts the administrator's own user (not the session psb acted with) and GitHub, through the account's own provider.
      const admin = await assumeAs(`arn:aws:iam::${t.account}:role/OrganizationAccountAccessRole`)
      const iam = new IAMClient({region: t.region, endpoint: moto.endpoint, credentials: admin, maxAttempts: 1})
      const trust = decodeURIComponent((await iam.send(new GetRoleCommand({RoleName: t.role!}))).Role!.AssumeRolePolicyDocument!)
      expect(trust).to.contain(`arn:aws:iam::${ACCOUNT_ID}:user/`).and.not.to.contain('OrganizationAccountAccessRole')
      expect(trust).to.contain(`arn:aws:iam::${t.account}:oidc-provider/token.actions.githubusercontent.com`)
      expect((await iam.send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList).to.have.length(1)

      const creds = await assumeAs(t.roleArn!)
      const who = await new STSClient({region: t.region, endpoint: moto.endpoint, credentials: creds}).send(new GetCallerIdentityCommand({}))
      expect(who.Account).to.equal(t.account)
      expect(who.Arn).to.contain(`:assumed-role/${t.role}/`)
      const s3 = new S3Client({region: t.region, endpoint: moto.endpoint, forcePathStyle: true, credentials: creds, maxAttempts: 1})
      expect((await s3.send(new GetBucketLocationCommand({Bucket: t.bucket}))).LocationConstraint || 'us-east-1').to.equal(t.region)
      await s3.send(new PutObjectCommand({Bucket: t.bucket, Key: '.pulumi/probe', Body: 'x'}))
      expect(await (await s3.send(new GetObjectCommand({Bucket: t.bucket, Key: '.pulumi/probe'}))).Body!.transformToString()).to.equal('x')
      await s3.send(new DeleteObjectCommand({Bucket: t.bucket, Key: '.pulumi/probe'}))
      for (const other of got.filter((o) => o.account !== t.account)) {
        const denied = await s3.send(new PutObjectCommand({Bucket: other.bucket, Key: '.pulumi/probe', Body: 'x'})).then(
          () => undefined,
          (e: {name?: string}) => e.name,
        )
        expect(denied, `${t.profile} must not reach ${other.bucket}`).to.be.oneOf(['AccessDenied', 'NoSuchBucket'])
      }
    }

    // The fleet's health with each target's role profile (no admin): psb verify --targets.
    writeFileSync(home.path('fleet.txt'), targetsOf(ids).join('\n'))
    const health = await runPsb(['verify', '--targets', home.path('fleet.txt'), '--endpoint', moto.endpoint, '--json'], home)
    exit(health, 0)
    for (const v of (JSON.parse(health.stdout) as {targets: {status: string; checks: {id: string; status: string}[]}[]}).targets) {
      expect(v.status).to.be.oneOf(['pass', 'warn'])
      expect(v.checks.find((c) => c.id === 'target-account')?.status).to.equal('pass')
    }

    writeFileSync(home.path('calls.log'), '')
    const again = await fleet(targetsOf(ids), ['--trust', 'github:acme/infra'])
    exit(again, 0)
    expect(rows(again).every((t) => t.status === 'ok' && !t.changed)).to.equal(true)
    // Only verify's own sentinel object, once per target; both files as they were.
    expect(mutatingCalls(calls()).sort()).to.deep.equal(got.flatMap(() => VERIFY_SENTINEL_CALLS).sort())
    expect(readFileSync(home.configFile, 'utf8')).to.equal(config)
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(ADMIN())
  })

  it('a target whose OrganizationAccountAccessRole cannot be assumed fails alone; the others finish, exit 1', async () => {
    const ids = await accounts(2)
    const good = targetsOf(ids)
    const r = await fleet([...good, '999999999999/us-east-1'])
    exit(r, 1)
    const got = rows(r)
    const bad = got.find((t) => t.account === '999999999999')!
    expect(bad.status).to.equal('failed')
    expect(bad.error!.code).to.equal('AccessDenied')
    expect(bad.error!.message).to.contain('arn:aws:iam::999999999999:role/OrganizationAccountAccessRole')
    expect(bad.changes).to.deep.equal([])
    expect(got.filter((t) => t.status === 'ok').map((t) => `${t.account}/${t.region}`)).to.have.members(good)
    const config = readFileSync(home.configFile, 'utf8')
    for (const t of got) expect(config.includes(`[profile ${t.profile}]`), t.profile).to.equal(t.status === 'ok')
    expect(calls()).not.to.match(/CreateAccessKey/)
  })

  it('admin credentials from the environment: credential_source = Environment, and the profile works with them; --secrets kms: the target\'s own key, granted to its role', async () => {
    const [a] = await accounts(1)
    writeFileSync(home.credentialsFile, '')
    const r = await runPsb(['init', '--keyless', '--secrets', 'kms', '--target', `${a}/eu-west-1`, '--endpoint', moto.endpoint, '--region', 'us-east-1'], home, {
      env: {PSB_CALL_LOG: home.path('calls.log'), AWS_ACCESS_KEY_ID: moto.admin.accessKeyId, AWS_SECRET_ACCESS_KEY: moto.admin.secretAccessKey},
    })
    exit(r, 0)
    const roleArn = `arn:aws:iam::${a}:role/pulumi-state-eu-west-1`
    expect(readFileSync(home.configFile, 'utf8')).to.equal(`[profile pulumi-${a}-eu-west-1]\nrole_arn = ${roleArn}\ncredential_source = Environment\nregion = eu-west-1\n`)
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal('')
    expect(r.stdout).to.contain('no key; proven)')
    expect(r.stdout).to.contain('keyless: role pulumi-state-<region> and a role profile per target, no access key')
    expect(r.stdout).to.match(new RegExp(`^${a}\\s+eu-west-1\\s+pulumi-state-${a}-eu-west-1\\s+pulumi-${a}-eu-west-1\\s+ok\\s`, 'm'))
    expect(r.stdout).to.contain(`Keyless: each profile is a role profile in the AWS config file (role_arn + its source, no access key) that assumes its target's role, e.g. ${roleArn}.`)
    // Verify (passed: status ok) ran the secrets round trip as the role; the provider is printed with the backend URL.
    expect(r.stdout).to.contain(`KMS key for Pulumi secrets: created (6 created; awskms://alias/pulumi-pulumi-state-${a}-eu-west-1?region=eu-west-1)`)
    expect(r.stdout).to.contain(`(stack secrets: --secrets-provider 'awskms://alias/pulumi-pulumi-state-${a}-eu-west-1?region=eu-west-1')`)
    const admin = await assumeAs(`arn:aws:iam::${a}:role/OrganizationAccountAccessRole`)
    const grant = await new IAMClient({region: 'eu-west-1', endpoint: moto.endpoint, credentials: admin}).send(new GetRolePolicyCommand({RoleName: 'pulumi-state-eu-west-1', PolicyName: 'psb-pulumi-secrets'}))
    expect(decodeURIComponent(grant.PolicyDocument!)).to.contain(`:kms:eu-west-1:${a}:key/`)
    expect(r.stdout + r.stderr).not.to.contain(moto.admin.secretAccessKey)
  })

  it('--dry-run lists each target\'s role and profile and makes no call that changes anything', async () => {
    const ids = await accounts(1)
    const r = await fleet(targetsOf(ids), ['--dry-run'])
    exit(r, 0)
    for (const t of rows(r)) {
      expect(t.status).to.equal('ok')
      const planned = t.changes.filter((c) => c.status === 'planned').map((c) => c.item)
      expect(planned).to.include.members(['bucket', `config: [profile ${t.profile}] role_arn`])
      expect(planned.some((i) => i.startsWith('role'))).to.equal(true)
    }
    expect(mutatingCalls(calls())).to.deep.equal([])
    expect(() => readFileSync(home.configFile, 'utf8')).to.throw()
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(ADMIN())
  })
})
