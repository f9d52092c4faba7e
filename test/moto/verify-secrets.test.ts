/**
 * verify's secrets checks (src/lib/verify/checks/secrets.ts) against moto with IAM
 * enforcement on, with the least-privilege user's own key: a data-key round trip (pass/fail),
 * the key enabled and not pending deletion (fail), automatic rotation (warn).
 */
import {expect} from 'chai'
import {chmodSync, writeFileSync} from 'node:fs'
import {IAMClient, CreateUserCommand, CreateAccessKeyCommand} from '@aws-sdk/client-iam'
import {KMSClient, DisableKeyCommand, DisableKeyRotationCommand, ScheduleKeyDeletionCommand} from '@aws-sdk/client-kms'
import {useMoto, type Keys} from '../support/moto.js'
import {TempHome, runPsb} from '../support/cli.js'
import {createAwsContext} from '../../src/lib/aws/client.js'
import {ensureSecretsKey} from '../../src/lib/kms/key.js'
import {verifyBackend, type Check, type VerifyOptions} from '../../src/lib/verify/run.js'

const REGION = 'us-west-1'
const BUCKET = 'verify-secrets-state'
const SECRETS = ['secrets-roundtrip', 'secrets-key-state', 'secrets-rotation']

describe('verify: Pulumi secrets key (moto, IAM enforcement on)', function () {
  this.timeout(60_000)
  const moto = useMoto()
  let home: TempHome
  const iam = () => new IAMClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1})
  const kms = () => new KMSClient({region: REGION, endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1})
  const admin = () => createAwsContext({region: REGION, endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1})
  beforeEach(() => {
    home = new TempHome()
  })
  afterEach(() => home.cleanup())

  async function user(name: string): Promise<Keys> {
    await iam().send(new CreateUserCommand({UserName: name}))
    const k = (await iam().send(new CreateAccessKeyCommand({UserName: name}))).AccessKey!
    const keys = {accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey!}
    writeFileSync(home.credentialsFile, `[pulumi]\naws_access_key_id = ${keys.accessKeyId}\naws_secret_access_key = ${keys.secretAccessKey}\n`, {mode: 0o600})
    chmodSync(home.credentialsFile, 0o600)
    return keys
  }
  const options = (over: Partial<VerifyOptions> = {}): VerifyOptions => ({
    profile: 'pulumi',
    bucket: BUCKET,
    region: REGION,
    endpoint: moto.endpoint,
    pulumi: false,
    env: {HOME: home.dir, AWS_SHARED_CREDENTIALS_FILE: home.credentialsFile, AWS_CONFIG_FILE: home.configFile, PATH: process.env.PATH},
    ...over,
  })
  const secrets = (checks: Check[]) => Object.fromEntries(checks.filter((c) => SECRETS.includes(c.id)).map((c) => [c.id, c]))

  it('adds no line when there is no --secrets-provider and psb has no key for the bucket', async () => {
    await user('pulumi')
    const r = await verifyBackend(options())
    expect(secrets(r.checks)).to.deep.equal({})
  })

  it('finds psb\'s key: the round trip passes, the key is enabled; rotation is "cannot check" without an admin, pass with one', async () => {
    await user('pulumi')
    await ensureSecretsKey(admin(), {bucket: BUCKET, region: REGION, principals: [{kind: 'user', name: 'pulumi'}]})
    const r = secrets((await verifyBackend(options())).checks)
    expect(r['secrets-roundtrip'].status, r['secrets-roundtrip'].detail).to.equal('pass')
    expect(r['secrets-key-state'].status).to.equal('pass')
    expect(r['secrets-rotation'].status).to.equal('warn')
    expect(r['secrets-rotation'].detail).to.match(/cannot check/)
    const withAdmin = secrets((await verifyBackend(options({admin: admin()}))).checks)
    expect(withAdmin['secrets-rotation'].status).to.equal('pass')
    expect(withAdmin['secrets-key-state'].detail).to.match(/is enabled/)
  })

  it('fails the round trip for a profile the key is not granted to, with the grant as the hint', async () => {
    await user('pulumi-other')
    await ensureSecretsKey(admin(), {bucket: BUCKET, region: REGION})
    const r = secrets((await verifyBackend(options())).checks)
    expect(r['secrets-roundtrip'].status).to.equal('fail')
    expect(r['secrets-roundtrip'].hint).to.include('psb kms create --bucket verify-secrets-state')
  })

  it('rotation off is a warning; a disabled key and a key pending deletion fail', async () => {
    await user('pulumi')
    const k = await ensureSecretsKey(admin(), {bucket: BUCKET, region: REGION, principals: [{kind: 'user', name: 'pulumi'}]})
    await kms().send(new DisableKeyRotationCommand({KeyId: k.keyId}))
    let r = secrets((await verifyBackend(options({admin: admin()}))).checks)
    expect(r['secrets-rotation'].status).to.equal('warn')
    expect(r['secrets-roundtrip'].status).to.equal('pass')
    await kms().send(new DisableKeyCommand({KeyId: k.keyId}))
    r = secrets((await verifyBackend(options())).checks)
    expect(r['secrets-roundtrip'].status).to.equal('fail')
    expect(r['secrets-key-state'].status).to.equal('fail')
    expect(r['secrets-key-state'].detail).to.match(/Disabled/)
    await kms().send(new ScheduleKeyDeletionCommand({KeyId: k.keyId, PendingWindowInDays: 7}))
    r = secrets((await verifyBackend(options({admin: admin()}))).checks)
    expect(r['secrets-key-state'].status).to.equal('fail')
    expect(r['secrets-key-state'].detail).to.match(/scheduled for deletion/)
  })

  it('psb verify --secrets-provider: a key that does not exist fails; a malformed URL is exit 2', async () => {
    await user('pulumi')
    const env = {AWS_SHARED_CREDENTIALS_FILE: home.credentialsFile, AWS_CONFIG_FILE: home.configFile}
    const base = ['verify', '--profile', 'pulumi', '--bucket', BUCKET, '--region', REGION, '--endpoint', moto.endpoint, '--no-pulumi', '--json']
    const missing = await runPsb([...base, '--secrets-provider', `awskms://alias/nope?region=${REGION}`], home, {env})
    expect(missing.code, missing.stderr).to.equal(3)
    const doc = JSON.parse(missing.stdout)
    const check = doc.checks.find((c: Check) => c.id === 'secrets-roundtrip')
    expect(check.status).to.equal('fail')
    expect(check.detail).to.match(/does not exist/)
    const bad = await runPsb([...base, '--secrets-provider', 'passphrase'], home, {env})
    expect(bad.code).to.equal(2)
  })
})
