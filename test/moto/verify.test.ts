/**
 * verifyBackend against moto with IAM enforcement on: every check is made with the
 * least-privilege user's own key (built with the real state policy of src/lib/iam/policy.ts).
 */
import {expect} from 'chai'
import {chmodSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {
  S3Client,
  CreateBucketCommand,
  PutBucketVersioningCommand,
  PutBucketEncryptionCommand,
  PutPublicAccessBlockCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutBucketLifecycleConfigurationCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  GetObjectCommand,
} from '@aws-sdk/client-s3'
import {IAMClient, CreateUserCommand, PutUserPolicyCommand, CreateAccessKeyCommand, AttachUserPolicyCommand, DeleteAccessKeyCommand} from '@aws-sdk/client-iam'
import {useMoto, ACCOUNT_ID, type Keys} from '../support/moto.js'
import {FaultProxy, awsError} from '../support/fault-proxy.js'
import {TempHome} from '../support/cli.js'
import {FakePulumi} from '../support/fake-pulumi.js'
import {buildStatePolicy} from '../../src/lib/iam/policy.js'
import {buildBackendUrl} from '../../src/lib/pulumi/backend-url.js'
import {createAwsContext} from '../../src/lib/aws/client.js'
import {verifyBackend, type Check, type VerifyOptions} from '../../src/lib/verify/run.js'

const REGION = 'us-west-1'
const BUCKET = 'verify-state'

describe('verifyBackend (moto, IAM enforcement on)', function () {
  const moto = useMoto()
  let home: TempHome
  let fake: FakePulumi
  const s3 = (k: Keys) => new S3Client({region: REGION, endpoint: moto.endpoint, forcePathStyle: true, credentials: k, maxAttempts: 1})
  const iam = (k: Keys) => new IAMClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: k, maxAttempts: 1})

  beforeEach(() => {
    home = new TempHome()
    fake = new FakePulumi({version: '3.274.1'})
  })
  afterEach(() => {
    home.cleanup()
    fake.cleanup()
  })

  async function hardenedBucket(bucket = BUCKET): Promise<void> {
    const c = s3(moto.admin)
    await c.send(new CreateBucketCommand({Bucket: bucket, CreateBucketConfiguration: {LocationConstraint: REGION}}))
    await c.send(new PutBucketVersioningCommand({Bucket: bucket, VersioningConfiguration: {Status: 'Enabled'}}))
    await c.send(new PutBucketEncryptionCommand({Bucket: bucket, ServerSideEncryptionConfiguration: {Rules: [{ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'AES256'}}]}}))
    await c.send(new PutPublicAccessBlockCommand({Bucket: bucket, PublicAccessBlockConfiguration: {BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}}))
    await c.send(new PutBucketOwnershipControlsCommand({Bucket: bucket, OwnershipControls: {Rules: [{ObjectOwnership: 'BucketOwnerEnforced'}]}}))
    await c.send(
      new PutBucketPolicyCommand({
        Bucket: bucket,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {Sid: 'SomeOtherName', Effect: 'Deny', Principal: {AWS: '*'}, Action: 's3:*', Resource: [`arn:aws:s3:::${bucket}/*`, `arn:aws:s3:::${bucket}`], Condition: {Bool: {'aws:SecureTransport': false}}},
          ],
        }),
      }),
    )
    await c.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: bucket,
        LifecycleConfiguration: {
          Rules: [
            {ID: 'old', Status: 'Enabled', Filter: {Prefix: ''}, NoncurrentVersionExpiration: {NoncurrentDays: 90}},
            {ID: 'markers', Status: 'Enabled', Filter: {Prefix: ''}, Expiration: {ExpiredObjectDeleteMarker: true}},
          ],
        },
      }),
    )
  }

  /** The least-privilege user, its key in the profile `pulumi` (mode 0600). */
  async function stateUser(opts: {user?: string; bucket?: string; prefix?: string; policy?: object; profile?: string} = {}): Promise<Keys> {
    const user = opts.user ?? 'pulumi'
    const a = iam(moto.admin)
    await a.send(new CreateUserCommand({UserName: user}))
    const policy = opts.policy ?? buildStatePolicy({bucket: opts.bucket ?? BUCKET, prefix: opts.prefix, userArn: `arn:aws:iam::${ACCOUNT_ID}:user/${user}`})
    await a.send(new PutUserPolicyCommand({UserName: user, PolicyName: 'psb-pulumi-state', PolicyDocument: JSON.stringify(policy)}))
    const k = (await a.send(new CreateAccessKeyCommand({UserName: user}))).AccessKey!
    const keys = {accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey!}
    writeProfile(opts.profile ?? 'pulumi', keys)
    return keys
  }

  function writeProfile(profile: string, k: Keys, mode = 0o600): void {
    mkdirSync(join(home.dir, '.aws'), {recursive: true})
    writeFileSync(home.credentialsFile, `[${profile}]\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey}\n`, {mode})
    chmodSync(home.credentialsFile, mode)
  }

  function options(over: Partial<VerifyOptions> = {}): VerifyOptions {
    return {
      profile: 'pulumi',
      bucket: BUCKET,
      region: REGION,
      endpoint: moto.endpoint,
      pulumi: false,
      env: {HOME: home.dir, AWS_SHARED_CREDENTIALS_FILE: home.credentialsFile, AWS_CONFIG_FILE: home.configFile, PATH: process.env.PATH},
      ...over,
    }
  }

  const byId = (checks: Check[]) => Object.fromEntries(checks.map((c) => [c.id, c]))
  const statuses = (checks: Check[]) => Object.fromEntries(checks.map((c) => [c.id, c.status]))

  it('passes every check on a hardened bucket with the least-privilege user, and leaves nothing behind but the probe\'s noncurrent versions', async () => {
    await hardenedBucket()
    await stateUser()
    // State in Pulumi's project layout (meta.yaml version 1, stacks/<project>/<stack>.json).
    await s3(moto.admin).send(new PutObjectCommand({Bucket: BUCKET, Key: '.pulumi/meta.yaml', Body: 'version: 1\n'}))
    await s3(moto.admin).send(new PutObjectCommand({Bucket: BUCKET, Key: '.pulumi/stacks/app/dev.json', Body: '{"checkpoint": {}}'}))
    const r = await verifyBackend(options())
    expect(statuses(r.checks)).to.deep.equal({
      credentials: 'pass',
      bucket: 'pass',
      versioning: 'pass',
      encryption: 'pass',
      'public-access-block': 'pass',
      ownership: 'pass',
      'tls-policy': 'pass',
      lifecycle: 'pass',
      'lifecycle-delete-markers': 'pass',
      'round-trip': 'pass',
      'pulumi-locks': 'pass',
      'key-age': 'pass',
      'key-count': 'pass',
      'key-schedule': 'pass',
      'credentials-file': 'pass',
      'least-privilege': 'pass',
      'pulumi-layout': 'pass',
    })
    expect(r.ok).to.equal(true)
    expect(r.identity).to.include({account: ACCOUNT_ID, user: 'pulumi'})
    const left = await s3(moto.admin).send(new ListObjectsV2Command({Bucket: BUCKET}))
    expect((left.Contents ?? []).map((o) => o.Key)).to.deep.equal(['.pulumi/meta.yaml', '.pulumi/stacks/app/dev.json'])
    // The bucket is versioned, and the least-privilege user may not delete versions
    // (s3:DeleteObjectVersion would let it erase state history). So each of verify's two
    // probe objects stays as one noncurrent version under a delete marker: the
    // noncurrent-expiry rule removes the version, then the expired-delete-marker rule
    // (psb-expired-delete-markers) the marker; nothing else gains or loses a version.
    const versions = await s3(moto.admin).send(new ListObjectVersionsCommand({Bucket: BUCKET}))
    const probe = /^\.pulumi\/\.psb-verify-[0-9a-f-]{36}(\.copy)?\.json$/
    const all = [...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])]
    expect(all.filter((v) => !probe.test(v.Key ?? '')).map((v) => v.Key), 'versions of other objects').to.deep.equal(['.pulumi/meta.yaml', '.pulumi/stacks/app/dev.json'])
    expect((versions.Versions ?? []).filter((v) => probe.test(v.Key!)).map((v) => v.IsLatest)).to.deep.equal([false, false])
    expect((versions.DeleteMarkers ?? []).map((m) => [probe.test(m.Key!), m.IsLatest])).to.deep.equal([
      [true, true],
      [true, true],
    ])
    const state = await s3(moto.admin).send(new GetObjectCommand({Bucket: BUCKET, Key: '.pulumi/stacks/app/dev.json'}))
    expect(await state.Body?.transformToString()).to.equal('{"checkpoint": {}}')
  })

  it('pulumi-locks: warns on a lock older than an hour, naming the stack, its age and psb locks clear; a younger lock passes', async () => {
    await hardenedBucket()
    await stateUser({prefix: 'team-a'})
    const lock = (agoMs: number) => JSON.stringify({pid: 4242, username: 'alice', hostname: 'ci-runner-7', timestamp: new Date(Date.now() - agoMs).toISOString()})
    const key = 'team-a/.pulumi/locks/organization/webapp/prod/5f0c.json'
    await s3(moto.admin).send(new PutObjectCommand({Bucket: BUCKET, Key: key, Body: lock(10 * 60_000)}))
    const young = byId((await verifyBackend(options({prefix: 'team-a'}))).checks)['pulumi-locks']
    expect(young.status).to.equal('pass')
    await s3(moto.admin).send(new PutObjectCommand({Bucket: BUCKET, Key: key, Body: lock(2 * 3600_000 + 5 * 60_000)}))
    const r = await verifyBackend(options({prefix: 'team-a'}))
    const c = byId(r.checks)['pulumi-locks']
    expect(c.status).to.equal('warn')
    expect(c.detail).to.contain('organization/webapp/prod').and.to.contain('2h 5m old').and.to.contain('alice@ci-runner-7')
    expect(c.hint).to.contain(`psb locks clear --bucket ${BUCKET} --prefix team-a --stack organization/webapp/prod --older-than 1h`)
    expect(r.ok).to.equal(true)
  })

  it('works under a prefix, with the prefix-limited policy', async () => {
    await hardenedBucket()
    await stateUser({prefix: 'team-a'})
    const r = await verifyBackend(options({prefix: 'team-a'}))
    expect(byId(r.checks)['round-trip']).to.include({status: 'pass'})
    expect(byId(r.checks)['round-trip'].title).to.contain(`s3://${BUCKET}/team-a/.pulumi/`)
    expect(r.ok).to.equal(true)
    // The same user cannot use another team's prefix.
    const other = await verifyBackend(options({prefix: 'team-b'}))
    const rt = byId(other.checks)['round-trip']
    expect(rt.status).to.equal('fail')
    expect(rt.detail).to.contain('s3:PutObject')
    expect(rt.hint).to.contain('--prefix team-b')
    expect(other.ok).to.equal(false)
  })

  it('fails each missing hardening setting with a fix, and only warns for lifecycle', async () => {
    await s3(moto.admin).send(new CreateBucketCommand({Bucket: BUCKET, CreateBucketConfiguration: {LocationConstraint: REGION}}))
    await stateUser()
    const r = await verifyBackend(options())
    const c = byId(r.checks)
    expect(c.versioning.status).to.equal('fail')
    expect(c['public-access-block'].status).to.equal('fail')
    expect(c['tls-policy'].status).to.equal('fail')
    expect(c.lifecycle.status).to.equal('warn')
    expect(c['lifecycle-delete-markers'].status).to.equal('warn')
    expect(c['lifecycle-delete-markers'].hint).to.match(new RegExp(`^Run \`psb bucket create --bucket ${BUCKET} --region ${REGION}( --endpoint \\S+)?\`: it brings an existing bucket up to standard without weakening anything\\.$`))
    expect(c['lifecycle-delete-markers'].detail).to.contain('every Pulumi lock leaves one')
    for (const id of ['versioning', 'public-access-block', 'tls-policy']) expect(c[id].hint).to.contain(`psb bucket create --bucket ${BUCKET}`)
    expect(c['round-trip'].status).to.equal('pass')
    expect(r.ok).to.equal(false)
  })

  it('judges settings as psb bucket create does: a narrowed TLS deny fails, a lifecycle rule for one prefix warns, an unimplemented read warns', async () => {
    await hardenedBucket()
    await stateUser()
    const c = s3(moto.admin)
    const arn = `arn:aws:s3:::${BUCKET}`
    // Denies plain HTTP only from one network: everyone else may still use HTTP.
    const narrowed = {Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [arn, `${arn}/*`], Condition: {Bool: {'aws:SecureTransport': 'false'}, IpAddress: {'aws:SourceIp': '10.0.0.0/8'}}}
    await c.send(new PutBucketPolicyCommand({Bucket: BUCKET, Policy: JSON.stringify({Version: '2012-10-17', Statement: [narrowed]})}))
    await c.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: BUCKET,
        LifecycleConfiguration: {Rules: [{ID: 'logs', Status: 'Enabled', Filter: {Prefix: 'logs/'}, NoncurrentVersionExpiration: {NoncurrentDays: 30}}]},
      }),
    )
    const proxy = new FaultProxy(moto.endpoint)
    proxy.rules.push(({service, method, path}) => (service === 's3' && method === 'GET' && path.includes('ownershipControls') ? awsError('s3', 501, 'NotImplemented', 'A header you provided implies functionality that is not implemented') : undefined))
    await proxy.start()
    try {
      const r = await verifyBackend(options({endpoint: proxy.endpoint}))
      const checks = byId(r.checks)
      expect(checks['tls-policy'].status).to.equal('fail')
      expect(checks['tls-policy'].hint).to.contain(`psb bucket create --bucket ${BUCKET}`)
      expect(checks.lifecycle.status).to.equal('warn')
      expect(checks.lifecycle.detail).to.contain('whole-bucket')
      expect(checks.ownership).to.include({status: 'warn'})
      expect(checks.ownership.detail).to.match(/^cannot check: this endpoint does not support s3:GetBucketOwnershipControls \(NotImplemented\)/)
      expect(checks['round-trip'].status).to.equal('pass')
      expect(r.ok).to.equal(false)
    } finally {
      await proxy.stop()
    }
  })

  // Mutant (verify.ts): a bucket without default encryption passes.
  it('fails a bucket without default encryption (S3 answers ServerSideEncryptionConfigurationNotFoundError), with the fix', async () => {
    await hardenedBucket()
    await stateUser()
    const proxy = new FaultProxy(moto.endpoint)
    proxy.rules.push(({service, method, path}) =>
      service === 's3' && method === 'GET' && path.includes('encryption')
        ? awsError('s3', 404, 'ServerSideEncryptionConfigurationNotFoundError', 'The server side encryption configuration was not found')
        : undefined,
    )
    await proxy.start()
    try {
      const r = await verifyBackend(options({endpoint: proxy.endpoint}))
      const c = byId(r.checks)
      expect(c.encryption).to.include({status: 'fail', detail: 'no default encryption.'})
      expect(c.encryption.hint).to.contain(`psb bucket create --bucket ${BUCKET}`)
      expect(r.ok).to.equal(false)
    } finally {
      await proxy.stop()
    }
  })

  // Mutant (verify.ts): the mode mask narrowed to "others" (0o007) lets a group-readable file pass.
  it('fails a credentials file its group can read (0640) or write (0620), passes 0600 and 0400', async () => {
    await hardenedBucket()
    const k = await stateUser()
    for (const [mode, status] of [[0o640, 'fail'], [0o620, 'fail'], [0o604, 'fail'], [0o600, 'pass'], [0o400, 'pass']] as const) {
      writeProfile('pulumi', k, mode)
      const r = await verifyBackend(options())
      expect(byId(r.checks)['credentials-file'].status, `mode 0${mode.toString(8)}`).to.equal(status)
    }
  })

  it('fails a bucket in another region, and a bucket that does not exist', async () => {
    await hardenedBucket()
    await stateUser()
    const wrong = await verifyBackend(options({region: 'eu-west-1'}))
    expect(byId(wrong.checks).bucket).to.include({status: 'fail'})
    expect(byId(wrong.checks).bucket.detail).to.contain(REGION)
    expect(byId(wrong.checks).bucket.hint).to.contain(`--region ${REGION}`)
    expect(wrong.ok).to.equal(false)

    // The user may not read another bucket at all (AWS does not tell it whether the bucket
    // exists): "cannot check" for the location, and the round trip fails naming the action.
    const denied = await verifyBackend(options({bucket: 'no-such-state-bucket'}))
    expect(byId(denied.checks).bucket.status).to.equal('warn')
    expect(byId(denied.checks)['round-trip'].status).to.equal('fail')
    expect(byId(denied.checks)['round-trip'].detail).to.contain('s3:PutObject')
    expect(denied.ok).to.equal(false)

    // With an admin context, the missing bucket is named as missing.
    const admin = createAwsContext({region: REGION, endpoint: moto.endpoint, credentials: moto.admin})
    const missing = await verifyBackend(options({bucket: 'no-such-state-bucket', admin}))
    expect(byId(missing.checks).bucket).to.include({status: 'fail', detail: 's3://no-such-state-bucket does not exist.'})
    expect(byId(missing.checks).bucket.hint).to.contain('psb bucket create --bucket no-such-state-bucket')
    expect(missing.checks.map((x) => x.id)).not.to.include('round-trip')
  })

  it('fails a credentials file others can read, warns for an old key and a second key', async () => {
    await hardenedBucket()
    const k = await stateUser()
    await iam(moto.admin).send(new CreateAccessKeyCommand({UserName: 'pulumi'}))
    writeProfile('pulumi', k, 0o644)
    const r = await verifyBackend(options({now: () => new Date(Date.now() + 100 * 86_400_000)}))
    const c = byId(r.checks)
    expect(c['credentials-file']).to.include({status: 'fail'})
    expect(c['credentials-file'].hint).to.equal(`chmod 600 ${home.credentialsFile}`)
    expect(c['key-age'].status).to.equal('warn')
    expect(c['key-age'].detail).to.match(/100 days old/)
    expect(c['key-age'].hint).to.contain('psb keys rotate --profile pulumi')
    expect(c['key-count'].status).to.equal('warn')
    expect(c['key-count'].detail).to.contain('2 keys')
    // The title reads true next to a warning: not "The user has one access key: 2 keys".
    expect(c['key-count'].title).to.equal('Access keys of the user (one is best)')
    // Key ids are masked in every detail.
    expect(JSON.stringify(r.checks)).not.to.contain(k.accessKeyId)
  })

  it('warns when AdministratorAccess is attached (the seed\'s choice)', async () => {
    await hardenedBucket()
    await stateUser()
    await iam(moto.admin).send(new AttachUserPolicyCommand({UserName: 'pulumi', PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess'}))
    const r = await verifyBackend(options())
    const c = byId(r.checks)['least-privilege']
    expect(c.status).to.equal('warn')
    expect(c.detail).to.contain('AdministratorAccess')
    expect(r.ok).to.equal(true)
  })

  it('says "cannot check" (warn, not fail) when the user may not read its own policies; an admin context can', async () => {
    await hardenedBucket()
    const userArn = `arn:aws:iam::${ACCOUNT_ID}:user/pulumi`
    const doc = buildStatePolicy({bucket: BUCKET, userArn})
    const stmts = (Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]).filter((s) => s.Sid !== 'VerifyOwnPermissions')
    await stateUser({policy: {...doc, Statement: stmts}})
    const r = await verifyBackend(options())
    const c = byId(r.checks)['least-privilege']
    expect(c.status).to.equal('warn')
    expect(c.detail).to.match(/^cannot check: iam:ListAttachedUserPolicies is denied/)
    expect(c.hint).to.contain('--admin-profile')
    expect(r.ok).to.equal(true)

    const admin = createAwsContext({region: REGION, endpoint: moto.endpoint, credentials: moto.admin})
    const r2 = await verifyBackend(options({admin}))
    expect(byId(r2.checks)['least-privilege'].status).to.equal('pass')
  })

  it('fails the round trip, naming the action, for a user without object permissions', async () => {
    await hardenedBucket()
    await stateUser({
      policy: {Version: '2012-10-17', Statement: [{Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation'], Resource: `arn:aws:s3:::${BUCKET}`}]},
    })
    const r = await verifyBackend(options())
    const c = byId(r.checks)
    expect(c['round-trip'].status).to.equal('fail')
    expect(c['round-trip'].detail).to.contain('s3:PutObject')
    expect(c['round-trip'].hint).to.contain('s3:GetObject/PutObject/DeleteObject')
    // Settings the user may not read: "cannot check", not a failure.
    expect(c.versioning.status).to.equal('warn')
    expect(c.versioning.detail).to.contain('s3:GetBucketVersioning is denied')
  })

  it('fails fast on a rejected key and runs no other AWS check', async () => {
    await hardenedBucket()
    const k = await stateUser()
    await iam(moto.admin).send(new DeleteAccessKeyCommand({UserName: 'pulumi', AccessKeyId: k.accessKeyId}))
    const r = await verifyBackend(options())
    expect(r.checks.map((c) => c.id)).to.deep.equal(['credentials', 'credentials-file'])
    expect(r.checks[0].status).to.equal('fail')
    expect(r.checks[0].hint).to.contain('psb keys rotate --profile pulumi')
    expect(JSON.stringify(r)).not.to.contain(k.secretAccessKey)
  })

  it('checks Pulumi: CLI found, logged in to the expected URL, PULUMI_BACKEND_URL not elsewhere', async () => {
    await hardenedBucket()
    await stateUser()
    const pulumiHome = join(home.dir, '.pulumi')
    const env = {...options().env, PATH: `${fake.dir}:${process.env.PATH}`, PULUMI_HOME: pulumiHome}
    const url = buildBackendUrl({bucket: BUCKET, region: REGION, profile: 'pulumi', endpoint: moto.endpoint, pulumiVersion: '3.274.1'})

    let r = await verifyBackend(options({pulumi: true, env}))
    let c = byId(r.checks)
    expect(c['pulumi-cli']).to.include({status: 'pass', detail: '3.274.1'})
    expect(c['pulumi-login'].status).to.equal('fail')
    expect(c['pulumi-login'].detail).to.contain('not logged in')
    expect(c['pulumi-login'].hint).to.contain(`pulumi login '${url}'`)
    expect(r.url).to.equal(url)

    mkdirSync(pulumiHome, {recursive: true})
    writeFileSync(join(pulumiHome, 'credentials.json'), JSON.stringify({current: url}))
    r = await verifyBackend(options({pulumi: true, env}))
    c = byId(r.checks)
    expect(c['pulumi-login']).to.include({status: 'pass', detail: url})
    expect(c['pulumi-backend-env']).to.include({status: 'pass', detail: 'not set'})
    expect(r.ok).to.equal(true)

    r = await verifyBackend(options({pulumi: true, env: {...env, PULUMI_BACKEND_URL: 's3://elsewhere?region=us-east-1'}}))
    c = byId(r.checks)
    expect(c['pulumi-backend-env'].status).to.equal('fail')
    expect(c['pulumi-backend-env'].hint).to.contain('unset PULUMI_BACKEND_URL')
    expect(c['pulumi-login'].status).to.equal('fail')
    expect(r.ok).to.equal(false)

    const noPulumi = await verifyBackend(options({pulumi: true, env: {...env, PATH: '/nonexistent'}}))
    expect(byId(noPulumi.checks)['pulumi-cli'].status).to.equal('warn')
    expect(byId(noPulumi.checks)['pulumi-login'].status).to.equal('warn')
  })
})
