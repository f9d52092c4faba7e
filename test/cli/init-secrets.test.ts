/**
 * `psb init --secrets kms` as a subprocess against moto (IAM enforcement on), with a fake
 * `pulumi`: the secrets key is made in the chain and granted to the user, verify checks it,
 * the summary's "Next" names the exact Pulumi commands, and a second run changes nothing.
 */
import {expect} from 'chai'
import {writeFileSync, readFileSync} from 'node:fs'
import {IAMClient, GetUserPolicyCommand} from '@aws-sdk/client-iam'
import {KMSClient, DescribeKeyCommand, GetKeyRotationStatusCommand} from '@aws-sdk/client-kms'
import {useMoto} from '../support/moto.js'
import {TempHome, runPsb, type RunResult} from '../support/cli.js'
import {FakePulumi} from '../support/fake-pulumi.js'
import {VERIFY_SENTINEL_CALLS, mutatingCalls} from '../support/calls.js'

const REGION = 'us-west-1'
const URL = 'awskms://alias/pulumi-kms-state-team-a?region=us-west-1'

describe('psb init --secrets kms (subprocess, moto, fake pulumi)', function () {
  this.timeout(120_000)
  const moto = useMoto()
  let home: TempHome
  let fake: FakePulumi
  beforeEach(() => {
    home = new TempHome()
    fake = new FakePulumi({version: '3.274.1'})
    writeFileSync(home.credentialsFile, `[admin]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n`, {mode: 0o600})
  })
  afterEach(() => {
    home.cleanup()
    fake.cleanup()
  })
  const env = () => fake.env({PULUMI_HOME: home.path('.pulumi'), PSB_KEY_PROPAGATION_POLL_MS: '20', PSB_CALL_LOG: home.path('calls.log')})
  const args = (extra: string[] = []) => ['init', '--bucket', 'kms-state', '--prefix', 'team-a', '--user', 'pulumi-team-a', '--profile', 'team-a', '--region', REGION, '--endpoint', moto.endpoint, '--admin-profile', 'admin', '--secrets', 'kms', ...extra]
  const ok = (r: RunResult) => expect(r.code, `exit ${r.code}\n${r.stdout}\n${r.stderr}`).to.equal(0)
  const calls = () => readFileSync(home.path('calls.log'), 'utf8')

  it('makes the key, grants it to the user, verifies it, and shows the exact Pulumi commands; a second run changes nothing', async () => {
    const r = await runPsb(args(), home, {env: env()})
    ok(r)
    expect(r.stdout).to.match(/✔ KMS key for Pulumi secrets: created/)
    expect(r.stdout).to.contain(`pulumi stack init <stack> --secrets-provider "${URL}"`)
    expect(r.stdout).to.contain(`pulumi stack change-secrets-provider "${URL}"`)
    expect(r.stdout).to.contain(`export AWS_ENDPOINT_URL_KMS=${moto.endpoint}`)
    const kms = new KMSClient({region: REGION, endpoint: moto.endpoint, credentials: moto.admin})
    const key = (await kms.send(new DescribeKeyCommand({KeyId: 'alias/pulumi-kms-state-team-a'}))).KeyMetadata!
    expect((await kms.send(new GetKeyRotationStatusCommand({KeyId: key.KeyId}))).KeyRotationEnabled).to.equal(true)
    const iam = new IAMClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin})
    const grant = JSON.parse(decodeURIComponent((await iam.send(new GetUserPolicyCommand({UserName: 'pulumi-team-a', PolicyName: 'psb-pulumi-secrets'}))).PolicyDocument!))
    expect(grant.Statement[0].Resource).to.equal(key.Arn)

    writeFileSync(home.path('calls.log'), '')
    const again = await runPsb(args(['--json']), home, {env: env()})
    ok(again)
    const doc = JSON.parse(again.stdout)
    expect(doc.kms.providerUrl).to.equal(URL)
    expect(doc.steps.secrets.status).to.equal('unchanged')
    const ids = doc.verify.checks.filter((c: {id: string}) => c.id.startsWith('secrets-')).map((c: {id: string; status: string}) => `${c.id} ${c.status}`)
    expect(ids).to.deep.equal(['secrets-roundtrip pass', 'secrets-key-state pass', 'secrets-rotation pass'])
    expect(mutatingCalls(calls()).sort()).to.deep.equal(VERIFY_SENTINEL_CALLS)
  })

  it('--dry-run plans the key and the grant and changes nothing; --secrets with another value is exit 2', async () => {
    const r = await runPsb(args(['--dry-run']), home, {env: env()})
    ok(r)
    expect(r.stdout).to.contain('Secrets key:')
    expect(r.stdout).to.contain('key alias/pulumi-kms-state-team-a')
    expect(mutatingCalls(calls())).to.deep.equal([])
    const bad = await runPsb(args(['--secrets', 'vault']), home, {env: env()})
    expect(bad.code).to.equal(2)
  })
})
