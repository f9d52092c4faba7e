import {expect} from 'chai'
import {needsKmsCatchUp, overallStatus, type InitContext} from '../../src/cli/tasks.js'
import type {BucketResult} from '../../src/lib/bucket/ensure.js'
import type {UserResult} from '../../src/lib/iam/user.js'

const bucket = (encryption: BucketResult['encryption']) => ({encryption, changes: [], created: false}) as unknown as BucketResult
const user = (kmsKeyArn?: string) => ({kmsKeyArn, changes: []}) as unknown as UserResult

describe('init task list: wiring rules', () => {
  it('summarises a step from its changes', () => {
    expect(overallStatus([{item: 'a', status: 'unchanged'}], false)).to.equal('unchanged')
    expect(overallStatus([{item: 'a', status: 'unchanged'}, {item: 'b', status: 'updated'}], false)).to.equal('updated')
    expect(overallStatus([{item: 'a', status: 'deleted'}], false)).to.equal('updated')
    expect(overallStatus([{item: 'a', status: 'updated'}, {item: 'b', status: 'created'}], false)).to.equal('created')
    expect(overallStatus([{item: 'a', status: 'planned'}], true)).to.equal('planned')
    expect(overallStatus([{item: 'a', status: 'unchanged'}], true)).to.equal('unchanged')
  })

  it('adds the bucket\'s KMS key to the user policy only when the user step missed a customer key', () => {
    const key = 'arn:aws:kms:us-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'
    const ctx = (b: BucketResult, u: UserResult): InitContext => ({steps: {}, bucket: b, user: u})
    expect(needsKmsCatchUp(ctx(bucket({algorithm: 'aws:kms', kmsKeyId: key}), user(undefined)))).to.equal(true)
    expect(needsKmsCatchUp(ctx(bucket({algorithm: 'aws:kms', kmsKeyId: key}), user(key)))).to.equal(false)
    expect(needsKmsCatchUp(ctx(bucket({algorithm: 'aws:kms', kmsKeyId: 'alias/aws/s3'}), user(undefined)))).to.equal(false)
    expect(needsKmsCatchUp(ctx(bucket({algorithm: 'AES256'}), user(undefined)))).to.equal(false)
    expect(needsKmsCatchUp({steps: {}})).to.equal(false)
  })
})

describe('init: what --help and docs/init.md say about concurrency is what the task list does', () => {
  it('bucket and user run concurrently, with or without --kms-key, and both texts say so', async () => {
    const {readFileSync} = await import('node:fs')
    const {initTasks} = await import('../../src/cli/tasks.js')
    const {createAwsContext} = await import('../../src/lib/aws/client.js')
    const {default: Init} = await import('../../src/commands/init.js')
    for (const kmsKey of [undefined, 'alias/state']) {
      const plan = {
        admin: createAwsContext({region: 'us-east-1'}),
        bucket: {bucket: 'b-state', region: 'us-east-1', kmsKey},
        user: {user: 'pulumi', bucket: 'b-state', kmsKeyArn: kmsKey},
        key: {user: 'pulumi', profile: 'pulumi', region: 'us-east-1'},
        dryRun: false,
        env: {},
      }
      expect(initTasks(plan as never)[0].title).to.equal('Bucket and IAM user (concurrently)')
    }
    const always = /Steps 1 and 2 (\(bucket and user\) always run|run \*\*concurrently\*\*)/
    expect(Init.description).to.match(always)
    expect(Init.description).not.to.match(/concurrently when --kms-key/)
    expect(readFileSync(new URL('../../docs/init.md', import.meta.url), 'utf8')).to.match(always)
  })
})
