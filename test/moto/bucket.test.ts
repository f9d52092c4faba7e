/**
 * `ensureBucket` and `psb bucket create` against moto with IAM enforcement on: creation in
 * us-east-1 and elsewhere, idempotence (zero mutating calls on a re-run, counted with
 * PSB_CALL_LOG), and drift that is repaired or preserved.
 */
import {expect} from 'chai'
import {mkdtempSync, readFileSync, rmSync, existsSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import * as S from '@aws-sdk/client-s3'
import {IAMClient, CreateUserCommand, PutUserPolicyCommand, CreateAccessKeyCommand} from '@aws-sdk/client-iam'
import {createAwsContext} from '../../src/lib/aws/client.js'
import {ensureBucket, TLS_SID, type BucketOptions, type BucketResult} from '../../src/lib/bucket/ensure.js'
import {PsbError} from '../../src/lib/errors.js'
import {useMoto, type Keys} from '../support/moto.js'
import {runPsb, TempHome} from '../support/cli.js'

const B = 'psb-state-bucket'
const ARN = `arn:aws:s3:::${B}`

const isMutating = (line: string) => !/^\w+ (Get|Head|List)/.test(line)

describe('bucket create against moto (IAM enforcement on)', () => {
  const moto = useMoto()
  let logDir: string
  before(() => {
    logDir = mkdtempSync(join(tmpdir(), 'psb-bucket-calls-'))
  })
  after(() => rmSync(logDir, {recursive: true, force: true}))

  const client = (region = 'us-east-1', keys: Keys = moto.admin) => new S.S3Client({region, endpoint: moto.endpoint, forcePathStyle: true, credentials: keys, maxAttempts: 1})

  /** Runs ensureBucket with a fresh context whose clients log every call; returns the result and the calls. */
  let logN = 0
  async function ensure(o: Partial<BucketOptions> = {}, keys: Keys = moto.admin): Promise<{result: BucketResult; calls: string[]}> {
    const file = join(logDir, `calls-${++logN}.log`)
    process.env.PSB_CALL_LOG = file
    try {
      const region = o.region ?? 'us-east-1'
      const ctx = createAwsContext({region, endpoint: moto.endpoint, credentials: keys, maxAttempts: 2})
      const result = await ensureBucket(ctx, {bucket: B, region, maxWaitMs: 5000, backoffBaseMs: 20, ...o})
      const calls = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []
      return {result, calls}
    } finally {
      delete process.env.PSB_CALL_LOG
    }
  }

  async function failure(p: Promise<unknown>): Promise<PsbError> {
    const e = await p.then(
      () => undefined,
      (x: unknown) => x,
    )
    expect(e).to.be.instanceOf(PsbError)
    return e as PsbError
  }

  const statusOf = (r: BucketResult) => Object.fromEntries(r.changes.map((c) => [c.item, c.status]))

  async function policyOf(): Promise<{Statement: Array<Record<string, unknown>>}> {
    return JSON.parse((await client().send(new S.GetBucketPolicyCommand({Bucket: B}))).Policy!)
  }

  it('creates a hardened bucket in us-east-1 (no LocationConstraint)', async () => {
    const {result, calls} = await ensure({tags: {team: 'platform'}})
    expect(result.created).to.equal(true)
    expect(result.arn).to.equal(ARN)
    expect(result.encryption).to.deep.equal({algorithm: 'AES256'})
    expect(result.changes.every((c) => c.status === 'created'), JSON.stringify(result.changes)).to.equal(true)
    expect(calls.filter(isMutating)).to.include('s3 CreateBucket')

    const s3 = client()
    expect((await s3.send(new S.GetBucketLocationCommand({Bucket: B}))).LocationConstraint ?? '').to.equal('')
    expect((await s3.send(new S.GetBucketVersioningCommand({Bucket: B}))).Status).to.equal('Enabled')
    const enc = await s3.send(new S.GetBucketEncryptionCommand({Bucket: B}))
    expect(enc.ServerSideEncryptionConfiguration?.Rules?.[0].ApplyServerSideEncryptionByDefault?.SSEAlgorithm).to.equal('AES256')
    const pab = (await s3.send(new S.GetPublicAccessBlockCommand({Bucket: B}))).PublicAccessBlockConfiguration
    expect(pab).to.deep.equal({BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true})
    const own = await s3.send(new S.GetBucketOwnershipControlsCommand({Bucket: B}))
    expect(own.OwnershipControls?.Rules?.[0].ObjectOwnership).to.equal('BucketOwnerEnforced')
    const policy = await policyOf()
    expect(policy.Statement).to.have.length(1)
    expect(policy.Statement[0]).to.deep.include({Sid: TLS_SID, Effect: 'Deny', Action: 's3:*'})
    const lc = await s3.send(new S.GetBucketLifecycleConfigurationCommand({Bucket: B}))
    expect(lc.Rules?.map((r) => [r.ID, r.NoncurrentVersionExpiration?.NoncurrentDays ?? r.AbortIncompleteMultipartUpload?.DaysAfterInitiation])).to.deep.equal([
      ['psb-noncurrent-expiry', 90],
      ['psb-abort-incomplete-multipart', 7],
      ['psb-expired-delete-markers', undefined],
    ])
    expect(lc.Rules?.[2]).to.deep.include({Status: 'Enabled', Expiration: {ExpiredObjectDeleteMarker: true}})
    const tags = (await s3.send(new S.GetBucketTaggingCommand({Bucket: B}))).TagSet
    expect(tags).to.have.deep.members([
      {Key: 'managed-by', Value: 'psb'},
      {Key: 'team', Value: 'platform'},
    ])
  })

  it('creates in another region with its LocationConstraint, and a re-run there is a no-op', async () => {
    const first = await ensure({region: 'eu-west-1'})
    expect(first.result.created).to.equal(true)
    expect((await client().send(new S.GetBucketLocationCommand({Bucket: B}))).LocationConstraint).to.equal('eu-west-1')
    const again = await ensure({region: 'eu-west-1'})
    expect(again.calls.filter(isMutating)).to.deep.equal([])
  })

  it('a re-run makes ZERO mutating calls and reports every setting unchanged', async () => {
    await ensure({kmsKey: undefined, tags: {team: 'platform'}})
    const {result, calls} = await ensure({tags: {team: 'platform'}})
    expect(result.created).to.equal(false)
    expect(calls.length).to.be.greaterThan(5)
    expect(calls.filter(isMutating)).to.deep.equal([])
    expect(result.changes.every((c) => c.status === 'unchanged'), JSON.stringify(result.changes)).to.equal(true)
    expect(result.changes).to.have.length(10)
  })

  it('--dry-run on a missing bucket plans everything and changes nothing', async () => {
    const {result, calls} = await ensure({dryRun: true})
    expect(result.changes.every((c) => c.status === 'planned')).to.equal(true)
    expect(calls.filter(isMutating)).to.deep.equal([])
    const list = await client().send(new S.ListBucketsCommand({}))
    expect(list.Buckets ?? []).to.have.length(0)
  })

  it('a bucket in another region is a clear error naming that region', async () => {
    await client('eu-west-1').send(new S.CreateBucketCommand({Bucket: B, CreateBucketConfiguration: {LocationConstraint: 'eu-west-1'}}))
    const e = await failure(ensure({region: 'us-east-1'}))
    expect(e.code).to.equal('BucketInOtherRegion')
    expect(e.message).to.contain('eu-west-1')
  })

  describe('drift', () => {
    beforeEach(async () => {
      await ensure()
    })

    it('versioning suspended → re-enabled', async () => {
      await client().send(new S.PutBucketVersioningCommand({Bucket: B, VersioningConfiguration: {Status: 'Suspended'}}))
      const {result, calls} = await ensure()
      expect(statusOf(result).versioning).to.equal('updated')
      expect(calls.filter(isMutating)).to.deep.equal(['s3 PutBucketVersioning'])
      expect((await client().send(new S.GetBucketVersioningCommand({Bucket: B}))).Status).to.equal('Enabled')
    })

    it('--dry-run shows the drift as planned and changes nothing', async () => {
      await client().send(new S.PutBucketVersioningCommand({Bucket: B, VersioningConfiguration: {Status: 'Suspended'}}))
      const {result, calls} = await ensure({dryRun: true})
      expect(result.changes.find((c) => c.item === 'versioning')).to.deep.include({status: 'planned'})
      expect(statusOf(result).encryption).to.equal('unchanged')
      expect(calls.filter(isMutating)).to.deep.equal([])
      expect((await client().send(new S.GetBucketVersioningCommand({Bucket: B}))).Status).to.equal('Suspended')
    })

    it('Block Public Access partly off → all four on', async () => {
      await client().send(
        new S.PutPublicAccessBlockCommand({Bucket: B, PublicAccessBlockConfiguration: {BlockPublicAcls: true, IgnorePublicAcls: false, BlockPublicPolicy: true, RestrictPublicBuckets: false}}),
      )
      const {result, calls} = await ensure()
      const c = result.changes.find((x) => x.item === 'public-access-block')!
      expect(c.status).to.equal('updated')
      expect(c.detail).to.contain('IgnorePublicAcls').and.contain('RestrictPublicBuckets')
      expect(calls.filter(isMutating)).to.deep.equal(['s3 PutPublicAccessBlock'])
      const pab = (await client().send(new S.GetPublicAccessBlockCommand({Bucket: B}))).PublicAccessBlockConfiguration
      expect(pab).to.deep.equal({BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true})
    })

    it('a foreign policy statement is kept and the TLS statement added', async () => {
      const foreign = {Sid: 'AllowAuditRead', Effect: 'Allow', Principal: {AWS: 'arn:aws:iam::123456789012:root'}, Action: 's3:GetBucketTagging', Resource: ARN}
      await client().send(new S.PutBucketPolicyCommand({Bucket: B, Policy: JSON.stringify({Version: '2012-10-17', Id: 'audit', Statement: [foreign]})}))
      const {result, calls} = await ensure()
      expect(statusOf(result)['tls-only-policy']).to.equal('created')
      expect(calls.filter(isMutating)).to.deep.equal(['s3 PutBucketPolicy'])
      const policy = (await policyOf()) as {Id?: string; Statement: Array<Record<string, unknown>>}
      expect(policy.Id).to.equal('audit')
      expect(policy.Statement.map((s) => s.Sid)).to.deep.equal(['AllowAuditRead', TLS_SID])
      expect(policy.Statement[0]).to.deep.equal(foreign)
      // and now it is stable
      expect((await ensure()).calls.filter(isMutating)).to.deep.equal([])
    })

    it('an equivalent TLS statement under another Sid counts as present', async () => {
      const equivalent = [
        {Sid: 'EnforceTLSBucket', Effect: 'Deny', Principal: {AWS: '*'}, Action: ['s3:*'], Resource: ARN, Condition: {Bool: {'aws:SecureTransport': false}}},
        {Sid: 'EnforceTLSObjects', Effect: 'Deny', Principal: '*', Action: '*', Resource: `${ARN}/*`, Condition: {Bool: {'aws:securetransport': ['false']}}},
      ]
      await client().send(new S.PutBucketPolicyCommand({Bucket: B, Policy: JSON.stringify({Version: '2012-10-17', Statement: equivalent})}))
      const {result, calls} = await ensure()
      expect(result.changes.find((c) => c.item === 'tls-only-policy')).to.deep.include({status: 'unchanged', detail: 'an equivalent TLS-only statement is present'})
      expect(calls.filter(isMutating)).to.deep.equal([])
      expect((await policyOf()).Statement.map((s) => s.Sid)).to.deep.equal(['EnforceTLSBucket', 'EnforceTLSObjects'])
    })

    it('a TLS statement that covers only the objects is not enough: psb adds its own', async () => {
      const partial = {Sid: 'ObjectsOnly', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: `${ARN}/*`, Condition: {Bool: {'aws:SecureTransport': 'false'}}}
      await client().send(new S.PutBucketPolicyCommand({Bucket: B, Policy: JSON.stringify({Version: '2012-10-17', Statement: [partial]})}))
      const {result} = await ensure()
      expect(statusOf(result)['tls-only-policy']).to.equal('created')
      expect((await policyOf()).Statement.map((s) => s.Sid)).to.deep.equal(['ObjectsOnly', TLS_SID])
    })

    it('SSE-KMS present with default flags → kept', async () => {
      const key = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'
      await client().send(
        new S.PutBucketEncryptionCommand({
          Bucket: B,
          ServerSideEncryptionConfiguration: {Rules: [{ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'aws:kms', KMSMasterKeyID: key}, BucketKeyEnabled: true}]},
        }),
      )
      const {result, calls} = await ensure()
      expect(statusOf(result).encryption).to.equal('unchanged')
      expect(result.encryption).to.deep.equal({algorithm: 'aws:kms', kmsKeyId: key})
      expect(calls.filter(isMutating)).to.deep.equal([])
      const enc = await client().send(new S.GetBucketEncryptionCommand({Bucket: B}))
      expect(enc.ServerSideEncryptionConfiguration?.Rules?.[0].ApplyServerSideEncryptionByDefault).to.deep.equal({SSEAlgorithm: 'aws:kms', KMSMasterKeyID: key})

      // the same key in another form (key id) is recognised; another key is refused
      const same = await ensure({kmsKey: '1234abcd-12ab-34cd-56ef-1234567890ab'})
      expect(statusOf(same.result).encryption).to.equal('unchanged')
      const e = await failure(ensure({kmsKey: 'arn:aws:kms:us-east-1:123456789012:key/99999999-12ab-34cd-56ef-1234567890ab'}))
      expect(e.code).to.equal('KmsKeyMismatch')
      expect(e.message).to.contain(key)
      expect(e.hint).to.contain('Run without --kms-key')
    })

    it('--kms-key on an SSE-S3 bucket switches it to SSE-KMS with the bucket key', async () => {
      const {result} = await ensure({kmsKey: 'alias/pulumi-state'})
      expect(result.changes.find((c) => c.item === 'encryption')).to.deep.include({status: 'updated'})
      const rule = (await client().send(new S.GetBucketEncryptionCommand({Bucket: B}))).ServerSideEncryptionConfiguration?.Rules?.[0]
      expect(rule?.ApplyServerSideEncryptionByDefault).to.deep.equal({SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/pulumi-state'})
      expect(rule?.BucketKeyEnabled).to.equal(true)
      // the default afterwards keeps SSE-KMS
      expect(statusOf((await ensure()).result).encryption).to.equal('unchanged')
    })

    it('existing lifecycle rules are kept; a foreign noncurrent rule is not fought', async () => {
      const rules: S.LifecycleRule[] = [
        {ID: 'tmp-cleanup', Status: 'Enabled', Filter: {Prefix: 'tmp/'}, Expiration: {Days: 1}},
        {ID: 'keep-30', Status: 'Enabled', Filter: {Prefix: ''}, NoncurrentVersionExpiration: {NoncurrentDays: 30}},
      ]
      await client().send(new S.PutBucketLifecycleConfigurationCommand({Bucket: B, LifecycleConfiguration: {Rules: rules}}))
      const {result} = await ensure()
      const s = statusOf(result)
      expect(s['lifecycle-noncurrent-expiry']).to.equal('unchanged')
      expect(result.changes.find((c) => c.item === 'lifecycle-noncurrent-expiry')?.detail).to.contain('keep-30').and.contain('30 days')
      expect(s['lifecycle-abort-multipart']).to.equal('created')
      const lc = await client().send(new S.GetBucketLifecycleConfigurationCommand({Bucket: B}))
      expect(lc.Rules?.map((r) => r.ID)).to.deep.equal(['tmp-cleanup', 'keep-30', 'psb-abort-incomplete-multipart', 'psb-expired-delete-markers'])
      expect(lc.Rules?.[0]).to.deep.include({Expiration: {Days: 1}})
      expect((await ensure()).calls.filter(isMutating)).to.deep.equal([])
    })

    it('--noncurrent-days changes psb\'s own rule; the default keeps it; 0 removes it', async () => {
      expect(statusOf((await ensure({noncurrentDays: 30})).result)['lifecycle-noncurrent-expiry']).to.equal('updated')
      const kept = await ensure()
      expect(kept.calls.filter(isMutating)).to.deep.equal([])
      expect(kept.result.changes.find((c) => c.item === 'lifecycle-noncurrent-expiry')?.detail).to.contain('30 days')
      expect(statusOf((await ensure({noncurrentDays: 0})).result)['lifecycle-noncurrent-expiry']).to.equal('updated')
      const lc = await client().send(new S.GetBucketLifecycleConfigurationCommand({Bucket: B}))
      expect(lc.Rules?.map((r) => r.ID)).to.deep.equal(['psb-abort-incomplete-multipart', 'psb-expired-delete-markers'])
    })

    it('tags are merged: other keys kept, a --tag with another value updated', async () => {
      await client().send(
        new S.PutBucketTaggingCommand({
          Bucket: B,
          Tagging: {TagSet: [{Key: 'owner', Value: 'alice'}, {Key: 'team', Value: 'old'}, {Key: 'managed-by', Value: 'psb'}]},
        }),
      )
      const {result} = await ensure({tags: {team: 'new'}})
      expect(statusOf(result).tags).to.equal('updated')
      const tags = (await client().send(new S.GetBucketTaggingCommand({Bucket: B}))).TagSet
      expect(tags).to.have.deep.members([
        {Key: 'owner', Value: 'alice'},
        {Key: 'team', Value: 'new'},
        {Key: 'managed-by', Value: 'psb'},
      ])
    })

    it('ownership ObjectWriter → BucketOwnerEnforced', async () => {
      await client().send(new S.PutBucketOwnershipControlsCommand({Bucket: B, OwnershipControls: {Rules: [{ObjectOwnership: 'ObjectWriter'}]}}))
      const {result} = await ensure()
      expect(result.changes.find((c) => c.item === 'object-ownership')).to.deep.include({status: 'updated'})
      const own = await client().send(new S.GetBucketOwnershipControlsCommand({Bucket: B}))
      expect(own.OwnershipControls?.Rules?.[0].ObjectOwnership).to.equal('BucketOwnerEnforced')
    })
  })

  it('an identity without s3:PutBucketVersioning gets an error naming that action and the bucket', async () => {
    await ensure()
    await client().send(new S.PutBucketVersioningCommand({Bucket: B, VersioningConfiguration: {Status: 'Suspended'}}))
    const iam = new IAMClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1})
    await iam.send(new CreateUserCommand({UserName: 'limited'}))
    await iam.send(
      new PutUserPolicyCommand({
        UserName: 'limited',
        PolicyName: 'no-versioning',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {Effect: 'Allow', Action: 's3:*', Resource: '*'},
            {Effect: 'Deny', Action: 's3:PutBucketVersioning', Resource: '*'},
          ],
        }),
      }),
    )
    const k = (await iam.send(new CreateAccessKeyCommand({UserName: 'limited'}))).AccessKey!
    const e = await failure(ensure({}, {accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey!}))
    expect(e.code).to.equal('AccessDenied')
    expect(e.message).to.contain('s3:PutBucketVersioning').and.contain(ARN)
  })

  describe('psb bucket create (built CLI)', () => {
    let home: TempHome
    beforeEach(() => (home = new TempHome()))
    afterEach(() => home.cleanup())

    it('creates, then a second run makes zero mutating calls; --json is one document', async () => {
      const log = join(logDir, 'cli.log')
      const env = {AWS_ACCESS_KEY_ID: moto.admin.accessKeyId, AWS_SECRET_ACCESS_KEY: moto.admin.secretAccessKey, PSB_CALL_LOG: log, PSB_BUCKET_MAX_WAIT_MS: '5000'}
      const args = ['bucket', 'create', '--bucket', B, '--region', 'eu-west-1', '--endpoint', moto.endpoint, '--tag', 'team=platform']
      const first = await runPsb(args, home, {env})
      expect(first.code, first.stderr).to.equal(0)
      expect(first.stdout).to.contain('SETTING').and.contain('created')
      expect(first.stdout).to.not.contain(moto.admin.secretAccessKey)
      rmSync(log, {force: true})
      const second = await runPsb([...args, '--json'], home, {env})
      expect(second.code, second.stderr).to.equal(0)
      const doc = JSON.parse(second.stdout) as BucketResult
      expect(doc.created).to.equal(false)
      expect(doc.changes.every((c) => c.status === 'unchanged')).to.equal(true)
      const calls = readFileSync(log, 'utf8').trim().split('\n')
      expect(calls.length).to.be.greaterThan(5)
      expect(calls.filter(isMutating)).to.deep.equal([])
    })
  })
})
