/**
 * verify's pulumi-layout check against moto (IAM enforcement on), read with the
 * least-privilege user's own key: project layout, legacy layout, no stacks yet, under a prefix.
 */
import {expect} from 'chai'
import {chmodSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {S3Client, CreateBucketCommand, PutObjectCommand} from '@aws-sdk/client-s3'
import {IAMClient, CreateUserCommand, PutUserPolicyCommand, CreateAccessKeyCommand} from '@aws-sdk/client-iam'
import {useMoto, ACCOUNT_ID, type Keys} from '../support/moto.js'
import {TempHome} from '../support/cli.js'
import {buildStatePolicy} from '../../src/lib/iam/policy.js'
import {verifyBackend, type Check, type VerifyOptions} from '../../src/lib/verify/run.js'

const REGION = 'us-west-1'
const BUCKET = 'layout-state'

describe('verify pulumi-layout (moto, IAM enforcement on)', function () {
  const moto = useMoto()
  let home: TempHome
  const s3 = (k: Keys) => new S3Client({region: REGION, endpoint: moto.endpoint, forcePathStyle: true, credentials: k, maxAttempts: 1})

  beforeEach(() => {
    home = new TempHome()
  })
  afterEach(() => home.cleanup())

  async function setup(prefix?: string): Promise<void> {
    await s3(moto.admin).send(new CreateBucketCommand({Bucket: BUCKET, CreateBucketConfiguration: {LocationConstraint: REGION}}))
    const iam = new IAMClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1})
    await iam.send(new CreateUserCommand({UserName: 'pulumi'}))
    const policy = buildStatePolicy({bucket: BUCKET, prefix, userArn: `arn:aws:iam::${ACCOUNT_ID}:user/pulumi`})
    await iam.send(new PutUserPolicyCommand({UserName: 'pulumi', PolicyName: 'psb-pulumi-state', PolicyDocument: JSON.stringify(policy)}))
    const k = (await iam.send(new CreateAccessKeyCommand({UserName: 'pulumi'}))).AccessKey!
    mkdirSync(join(home.dir, '.aws'), {recursive: true})
    writeFileSync(home.credentialsFile, `[pulumi]\naws_access_key_id = ${k.AccessKeyId}\naws_secret_access_key = ${k.SecretAccessKey}\n`, {mode: 0o600})
    chmodSync(home.credentialsFile, 0o600)
  }

  const put = (Key: string, Body: string) => s3(moto.admin).send(new PutObjectCommand({Bucket: BUCKET, Key, Body}))

  async function layout(over: Partial<VerifyOptions> = {}): Promise<Check> {
    const r = await verifyBackend({
      profile: 'pulumi',
      bucket: BUCKET,
      region: REGION,
      endpoint: moto.endpoint,
      pulumi: false,
      env: {HOME: home.dir, AWS_SHARED_CREDENTIALS_FILE: home.credentialsFile, AWS_CONFIG_FILE: home.configFile, PATH: process.env.PATH},
      ...over,
    })
    const c = r.checks.find((x) => x.id === 'pulumi-layout')
    expect(c, JSON.stringify(r.checks)).to.not.equal(undefined)
    return c!
  }

  it('passes with "no stacks yet" on an empty backend', async () => {
    await setup()
    expect(await layout()).to.deep.include({status: 'pass', detail: 'no stacks yet (Pulumi writes the project layout on first use)'})
  })

  it('passes the project-scoped layout (meta.yaml version: 1)', async () => {
    await setup()
    await put('.pulumi/meta.yaml', 'version: 1\n')
    await put('.pulumi/stacks/app/dev.json', '{}')
    expect(await layout()).to.deep.include({status: 'pass', detail: 'project layout (.pulumi/meta.yaml version: 1)'})
  })

  it('warns on the legacy layout with the fix and the Pulumi versions that refuse it', async () => {
    await setup()
    await put('.pulumi/stacks/dev.json', '{}')
    await put('.pulumi/stacks/dev.json.bak', '{}')
    const c = await layout()
    expect(c.status).to.equal('warn')
    expect(c.detail).to.contain('legacy (non-project) layout').and.contain('Pulumi 3.257 and later refuse to open it').and.contain('(dev.json)')
    expect(c.hint).to.contain('pulumi state upgrade')
  })

  it('warns on meta.yaml version: 0', async () => {
    await setup()
    await put('.pulumi/meta.yaml', 'version: 0\n')
    const c = await layout()
    expect(c.status).to.equal('warn')
    expect(c.detail).to.contain('version: 0').and.contain('legacy')
  })

  it('reads <prefix>/.pulumi/meta.yaml under a prefix, with the prefix-limited policy', async () => {
    await setup('team-a')
    await put('.pulumi/meta.yaml', 'version: 1\n')
    await put('team-a/.pulumi/stacks/prod.json', '{}')
    const c = await layout({prefix: 'team-a'})
    expect(c.status).to.equal('warn')
    expect(c.detail).to.contain('no team-a/.pulumi/meta.yaml')
    await put('team-a/.pulumi/meta.yaml', 'version: 1\n')
    expect(await layout({prefix: 'team-a'})).to.deep.include({status: 'pass', detail: 'project layout (team-a/.pulumi/meta.yaml version: 1)'})
  })
})
