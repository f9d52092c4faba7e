import {S3Client, CreateBucketCommand, PutObjectCommand, PutBucketPolicyCommand} from '@aws-sdk/client-s3'
import {useMoto} from '/work/main/test/support/moto.js'
describe('dbg', () => {
  const moto = useMoto()
  it('put', async () => {
    const c = new S3Client({region: 'us-west-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: moto.admin, maxAttempts: 1, requestChecksumCalculation: 'WHEN_REQUIRED'})
    await c.send(new CreateBucketCommand({Bucket: 'bbb-dbg', CreateBucketConfiguration: {LocationConstraint: 'us-west-1'}}))
    await c.send(new PutObjectCommand({Bucket: 'bbb-dbg', Key: 'a/.x.json', Body: 'hi', ContentType: 'application/json'}))
    await c.send(new PutBucketPolicyCommand({Bucket: 'bbb-dbg', Policy: JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Deny', Principal: {AWS: '*'}, Action: 's3:*', Resource: ['arn:aws:s3:::bbb-dbg/*', 'arn:aws:s3:::bbb-dbg'], Condition: {Bool: {'aws:SecureTransport': false}}}]})}))
    try { await c.send(new PutObjectCommand({Bucket: 'bbb-dbg', Key: 'a/.y.json', Body: 'hi'})) } catch (e) { console.log(e, moto.server.output().slice(-3000)) }
  })
})
