import {expect} from 'chai'
import {S3Client, CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, ListBucketsCommand} from '@aws-sdk/client-s3'
import {IAMClient, AttachUserPolicyCommand, GetPolicyCommand, ListAttachedUserPoliciesCommand, GetAccessKeyLastUsedCommand, ListUsersCommand, CreateUserCommand, PutUserPolicyCommand, CreateAccessKeyCommand, ListAccessKeysCommand} from '@aws-sdk/client-iam'
import {useMoto, ADMIN_USER, type Keys} from '../support/moto.js'

describe('moto fixture (IAM enforcement on, with the launcher fixes)', () => {
  const moto = useMoto()
  const s3 = (k: Keys) => new S3Client({region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: k, maxAttempts: 1})
  const iam = (k: Keys) => new IAMClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: k, maxAttempts: 1})

  it('accepts the bootstrapped admin key and rejects an unknown one', async () => {
    await s3(moto.admin).send(new ListBucketsCommand({}))
    const err = await s3({accessKeyId: 'AKIAUNKNOWNUNKNOWN12', secretAccessKey: 'x'.repeat(40)})
      .send(new ListBucketsCommand({}))
      .catch((e: Error) => e)
    expect(err).to.be.instanceOf(Error)
    expect((err as Error).name).to.equal('InvalidAccessKeyId')
  })

  it('rejects a wrong secret for a known key id', async () => {
    const err = await s3({accessKeyId: moto.admin.accessKeyId, secretAccessKey: 'y'.repeat(40)})
      .send(new ListBucketsCommand({}))
      .catch((e: Error) => e)
    expect((err as Error).name).to.equal('SignatureDoesNotMatch')
  })

  it('signs ListObjectsV2 with an escaped prefix and delimiter (moto#5948 fixed)', async () => {
    const c = s3(moto.admin)
    await c.send(new CreateBucketCommand({Bucket: 'fixture-bucket'}))
    await c.send(new PutObjectCommand({Bucket: 'fixture-bucket', Key: '.pulumi/stacks/p/dev.json', Body: '{}'}))
    const r = await c.send(new ListObjectsV2Command({Bucket: 'fixture-bucket', Prefix: '.pulumi/stacks/', Delimiter: '/'}))
    expect(r.CommonPrefixes?.map((p) => p.Prefix)).to.deep.equal(['.pulumi/stacks/p/'])
  })

  it('authorises IAM user actions against the user ARN (self-service only)', async () => {
    const admin = iam(moto.admin)
    await admin.send(new CreateUserCommand({UserName: 'self'}))
    await admin.send(
      new PutUserPolicyCommand({
        UserName: 'self',
        PolicyName: 'self-keys',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{Effect: 'Allow', Action: ['iam:ListAccessKeys', 'iam:GetAccessKeyLastUsed'], Resource: 'arn:aws:iam::123456789012:user/self'}],
        }),
      }),
    )
    const k = (await admin.send(new CreateAccessKeyCommand({UserName: 'self'}))).AccessKey!
    const selfClient = iam({accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey!})
    const own = await selfClient.send(new ListAccessKeysCommand({UserName: 'self'}))
    expect(own.AccessKeyMetadata).to.have.length(1)
    const other = await selfClient.send(new ListAccessKeysCommand({UserName: ADMIN_USER})).catch((e: Error) => e)
    expect((other as Error).name).to.equal('AccessDenied')
    const lastUsed = await selfClient.send(new GetAccessKeyLastUsedCommand({AccessKeyId: k.AccessKeyId!}))
    expect(lastUsed.UserName).to.equal('self')
    const othersKey = await selfClient.send(new GetAccessKeyLastUsedCommand({AccessKeyId: moto.admin.accessKeyId})).catch((e: Error) => e)
    expect((othersKey as Error).name).to.equal('AccessDenied')
    const list = await selfClient.send(new ListUsersCommand({})).catch((e: Error) => e)
    expect((list as Error).name).to.equal('AccessDenied')
  })

  it('starts each test from a clean state', async () => {
    const r = await s3(moto.admin).send(new ListBucketsCommand({}))
    expect(r.Buckets ?? []).to.have.length(0)
  })

  // The launcher builds AWS managed policies once and gives each new IAM backend copies: a
  // copy shared across resets would carry the attachment of an earlier test into the next.
  it('gives every test its own AWS managed policies: an attachment does not outlive the reset', async () => {
    const admin = iam(moto.admin)
    const arn = 'arn:aws:iam::aws:policy/ReadOnlyAccess'
    const before = await admin.send(new GetPolicyCommand({PolicyArn: arn}))
    expect(before.Policy?.AttachmentCount).to.equal(0)
    await admin.send(new CreateUserCommand({UserName: 'attached'}))
    await admin.send(new AttachUserPolicyCommand({UserName: 'attached', PolicyArn: arn}))
    expect((await admin.send(new GetPolicyCommand({PolicyArn: arn}))).Policy?.AttachmentCount).to.equal(1)
    await moto.server.reset()
    const fresh = iam(moto.admin)
    expect((await fresh.send(new GetPolicyCommand({PolicyArn: arn}))).Policy?.AttachmentCount).to.equal(0)
    await fresh.send(new CreateUserCommand({UserName: 'attached'}))
    expect((await fresh.send(new ListAttachedUserPoliciesCommand({UserName: 'attached'}))).AttachedPolicies ?? []).to.have.length(0)
    expect((await fresh.send(new GetPolicyCommand({PolicyArn: arn}))).Policy?.DefaultVersionId).to.equal(before.Policy?.DefaultVersionId)
  })

  it('evaluates StringLike on s3:prefix, so a prefix-limited ListBucket is enforced', async () => {
    const admin = iam(moto.admin)
    await s3(moto.admin).send(new CreateBucketCommand({Bucket: 'shared-bucket'}))
    await admin.send(new CreateUserCommand({UserName: 'team-a'}))
    await admin.send(
      new PutUserPolicyCommand({
        UserName: 'team-a',
        PolicyName: 'list-own-prefix',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: 's3:ListBucket',
              Resource: 'arn:aws:s3:::shared-bucket',
              Condition: {StringLike: {'s3:prefix': ['team-a/*', 'team-a']}},
            },
          ],
        }),
      }),
    )
    const k = (await admin.send(new CreateAccessKeyCommand({UserName: 'team-a'}))).AccessKey!
    const c = s3({accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey!})
    await c.send(new ListObjectsV2Command({Bucket: 'shared-bucket', Prefix: 'team-a/.pulumi/', Delimiter: '/'}))
    const other = await c.send(new ListObjectsV2Command({Bucket: 'shared-bucket', Prefix: 'team-b/.pulumi/'})).catch((e: Error) => e)
    expect((other as Error).name).to.equal('AccessDenied')
    const whole = await c.send(new ListObjectsV2Command({Bucket: 'shared-bucket'})).catch((e: Error) => e)
    expect((whole as Error).name).to.equal('AccessDenied')
  })
})
