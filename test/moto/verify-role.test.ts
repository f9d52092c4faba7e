/**
 * A keyless profile (role_arn + source_profile in the AWS config file) against moto with IAM
 * enforcement on: the SDK assumes the role through the endpoint (src/lib/aws/client.ts), verify
 * passes with the role's temporary credentials, its key checks say "no long-lived key", its
 * trust is judged; `keys rotate` / `keys list` refuse the profile with exit 2 before any call.
 */
import {expect} from 'chai'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {IAMClient, UpdateAssumeRolePolicyCommand} from '@aws-sdk/client-iam'
import {useMoto, ACCOUNT_ID, ADMIN_USER} from '../support/moto.js'
import {runPsb, TempHome} from '../support/cli.js'
import {createAwsContext} from '../../src/lib/aws/client.js'
import {ensureBucket} from '../../src/lib/bucket/ensure.js'
import {ensureRole, type RoleOptions} from '../../src/lib/iam/role.js'
import {parseTrusts, trustPolicyDocument} from '../../src/lib/iam/trust.js'
import {verifyBackend, type Check, type VerifyOptions} from '../../src/lib/verify/run.js'

const REGION = 'us-east-1'
const BUCKET = 'keyless-state'
const ADMIN_ARN = `arn:aws:iam::${ACCOUNT_ID}:user/${ADMIN_USER}`

describe('a keyless (role) profile against moto: verify, keys rotate / list', function () {
  const moto = useMoto()
  let home: TempHome
  const saved: Record<string, string | undefined> = {}
  const admin = () => createAwsContext({region: REGION, endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1})
  const role = (o: Partial<RoleOptions> = {}): RoleOptions => ({
    role: 'pulumi-state',
    maxSessionSeconds: 3600,
    bucket: BUCKET,
    attachPolicies: [],
    trust: parseTrusts([`aws:${ADMIN_ARN}`, 'github:acme/infra']),
    requireMfa: false,
    adopt: false,
    dryRun: false,
    ...o,
  })

  beforeEach(async () => {
    home = new TempHome()
    for (const k of ['AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) saved[k] = process.env[k]
    delete process.env.AWS_PROFILE
    delete process.env.AWS_ACCESS_KEY_ID
    delete process.env.AWS_SECRET_ACCESS_KEY
    // The SDK reads the profile files from the process environment.
    process.env.AWS_CONFIG_FILE = home.configFile
    process.env.AWS_SHARED_CREDENTIALS_FILE = home.credentialsFile
    await ensureBucket(admin(), {bucket: BUCKET, region: REGION})
  })
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
    home.cleanup()
  })

  /** The admin's key in [admin]; [profile pulumi] assumes the role with it. */
  function keylessProfile(roleArn: string): void {
    writeFileSync(home.credentialsFile, `[admin]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n`, {mode: 0o600})
    writeFileSync(home.configFile, `[profile pulumi]\nrole_arn = ${roleArn}\nsource_profile = admin\nregion = ${REGION}\n`)
  }
  const options = (): VerifyOptions => ({profile: 'pulumi', bucket: BUCKET, region: REGION, endpoint: moto.endpoint, pulumi: false, env: {...process.env, HOME: home.dir}})
  const byId = (checks: Check[]) => Object.fromEntries(checks.map((c) => [c.id, c]))

  it('verify assumes the role: the round trip passes, "no long-lived key" passes, the role\'s policies and trust are judged', async () => {
    const r = await ensureRole(admin(), role())
    keylessProfile(r.roleArn)
    const v = await verifyBackend(options())
    const c = byId(v.checks)
    expect(Object.fromEntries(v.checks.map((x) => [x.id, x.status]))).to.deep.include({
      credentials: 'pass',
      bucket: 'pass',
      'round-trip': 'pass',
      'key-age': 'pass',
      'least-privilege': 'pass',
      'role-trust': 'pass',
    })
    expect(c).to.not.have.property('key-count')
    expect(c).to.not.have.property('key-schedule')
    expect(c.credentials.detail).to.match(/assumed role pulumi-state \(arn:aws:sts::123456789012:assumed-role\/pulumi-state\//)
    expect(c['key-age'].title).to.equal('No long-lived key')
    expect(c['key-age'].detail).to.match(/assumes the role pulumi-state: its credentials are temporary/)
    expect(c['least-privilege'].title).to.equal('The role is not broader than it needs to be')
    expect(c['role-trust'].detail).to.equal(`aws ${ADMIN_ARN}; github repo:acme/infra:*`)
    expect(v.identity).to.include({account: ACCOUNT_ID, role: 'pulumi-state'})
    expect(v.ok).to.equal(true)
  })

  it('role-trust warns on a trust broader than one repository, and on no MFA for people when the role was made with --require-mfa', async () => {
    const r = await ensureRole(admin(), role())
    keylessProfile(r.roleArn)
    await ensureRole(admin(), role({trust: parseTrusts(['github:acme/app:pull_request'])}))
    const broad = byId((await verifyBackend(options())).checks)['role-trust']
    expect(broad.status).to.equal('warn')
    expect(broad.detail).to.match(/broader than one repository: 2 repositories may assume it \(acme\/app, acme\/infra\)/)

    // Tagged psb-require-mfa=true, but the trust lets the admin in without MFA (changed by hand):
    // the admin can still assume it, and verify says so.
    await ensureRole(admin(), role({trust: parseTrusts([`aws:${ADMIN_ARN}`]), requireMfa: true, replaceTrust: true}))
    const plain = trustPolicyDocument(parseTrusts([`aws:${ADMIN_ARN}`]), {partition: 'aws', accountId: ACCOUNT_ID})
    await new IAMClient({region: REGION, endpoint: moto.endpoint, credentials: moto.admin}).send(new UpdateAssumeRolePolicyCommand({RoleName: 'pulumi-state', PolicyDocument: JSON.stringify(plain)}))
    const mfa = byId((await verifyBackend(options())).checks)['role-trust']
    expect(mfa.status).to.equal('warn')
    expect(mfa.detail).to.equal(`the role was made with --require-mfa (its psb-require-mfa tag), but ${ADMIN_ARN} may assume it without MFA.`)
  })

  it('keys rotate and keys list refuse a role profile with exit 2, before any AWS call, naming the role', async () => {
    keylessProfile(`arn:aws:iam::${ACCOUNT_ID}:role/pulumi-state`)
    // Even with a key for the same profile in the credentials file (the SDK assumes the role anyway).
    writeFileSync(home.credentialsFile, readFileSync(home.credentialsFile, 'utf8') + `[pulumi]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n`)
    const log = join(home.dir, 'calls.log')
    const env = {AWS_REGION: REGION, PSB_CALL_LOG: log}
    for (const args of [
      ['keys', 'rotate', '--profile', 'pulumi', '--endpoint', moto.endpoint],
      ['keys', 'rotate', '--profile', 'admin', '--profile', 'pulumi', '--endpoint', moto.endpoint],
      ['keys', 'list', '--profile', 'pulumi', '--endpoint', moto.endpoint, '--json'],
    ]) {
      const r = await runPsb(args, home, {env})
      expect(r.code, args.join(' ') + r.stderr).to.equal(2)
      expect(r.stderr + r.stdout).to.contain(`The profile "pulumi" has no key to ${args[1]}: it assumes arn:aws:iam::${ACCOUNT_ID}:role/pulumi-state`)
    }
    expect(() => readFileSync(log, 'utf8')).to.throw(/ENOENT/)
  })
})
