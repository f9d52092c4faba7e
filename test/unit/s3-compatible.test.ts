/**
 * Stores without AWS IAM/STS (MinIO, Ceph RGW, R2…), without a server: what counts as "this
 * store has no such API", the verify checks and hints on such a store, the key shapes of
 * other stores, the store user's policy. (The real thing runs against MinIO: test/minio.)
 */
import {expect} from 'chai'
import nock from 'nock'
import {createAwsContext} from '../../src/lib/aws/client.js'
import {isNoIamApi} from '../../src/lib/aws/store.js'
import {PsbError} from '../../src/lib/errors.js'
import {validateAccessKeyId, validateSecretAccessKey} from '../../src/lib/files/credentials.js'
import {storeUserPolicy} from '../../src/lib/iam/store-policy.js'
import {credentialsCheck} from '../../src/lib/verify/checks/identity.js'
import {keyAgeCheck, keyCountCheck} from '../../src/lib/verify/checks/keys.js'
import {leastPrivilegeCheck} from '../../src/lib/verify/checks/privilege.js'
import {encryptionCheck, versioningCheck} from '../../src/lib/verify/checks/bucket.js'
import type {VerifyContext} from '../../src/lib/verify/run.js'
import {rejection, thrown} from '../support/errors.js'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {rotateKey} from '../../src/lib/keys/rotate.js'

const endpoint = 'http://127.0.0.1:1'
const stsError = (code: string, message: string) =>
  `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>R</RequestId></ErrorResponse>`

function context(custom: boolean): VerifyContext {
  const aws = createAwsContext({region: 'us-east-1', endpoint: custom ? endpoint : undefined, credentials: {accessKeyId: 'minioadmin', secretAccessKey: 'minioadmin-secret'}, maxAttempts: 1})
  return {
    opts: {profile: 'pulumi', bucket: 'state', region: 'us-east-1', ...(custom ? {endpoint} : {})},
    env: {},
    now: () => new Date('2026-06-01T00:00:00Z'),
    maxAgeDays: 90,
    aws,
    fileCreds: {accessKeyId: 'minioadmin', secretAccessKey: 'minioadmin-secret'},
    who: 'profile pulumi',
    bucketArn: 'arn:aws:s3:::state',
    facts: {},
  }
}

describe('S3-compatible stores without AWS IAM', () => {
  afterEach(() => nock.cleanAll())

  it('isNoIamApi: MinIO\'s "Unsupported action", NotImplemented, 501/405 on an --endpoint store; never on AWS, never a credentials error', () => {
    const err = (code: string, message: string, status = 400) => Object.assign(new Error(message), {name: code, $metadata: {httpStatusCode: status}})
    expect(isNoIamApi(err('InvalidParameterValue', 'Unsupported action GetCallerIdentity'), true)).to.equal(true)
    expect(isNoIamApi(err('NotImplemented', 'x', 501), true)).to.equal(true)
    expect(isNoIamApi(err('Unknown', 'x', 405), true)).to.equal(true)
    expect(isNoIamApi(new PsbError('wrapped', {cause: err('InvalidAction', 'x')}), true)).to.equal(true)
    expect(isNoIamApi(err('InvalidParameterValue', 'Unsupported action GetCallerIdentity'), false)).to.equal(false)
    expect(isNoIamApi(err('InvalidParameterValue', 'The value of DurationSeconds is too large'), true)).to.equal(false)
    expect(isNoIamApi(err('InvalidClientTokenId', 'bad key', 403), true)).to.equal(false)
  })

  it('verify on a store whose STS answers "unsupported action": credentials and the IAM checks warn "not available on this store", with no hint', async () => {
    nock(endpoint).post('/').reply(400, stsError('InvalidParameterValue', 'Unsupported action GetCallerIdentity'))
    const v = context(true)
    const creds = await credentialsCheck.run(v)
    expect(creds?.status).to.equal('warn')
    expect(creds?.detail).to.contain('not available on this store').and.contain('Unsupported action')
    expect(creds?.hint).to.equal(undefined)
    expect(v.facts.noIam).to.contain('InvalidParameterValue')
    for (const check of [keyAgeCheck, keyCountCheck, leastPrivilegeCheck]) {
      const r = await check.run(v)
      expect(r?.status, check.id).to.equal('warn')
      expect(r?.detail, check.id).to.contain('not available on this store')
      expect(r?.hint, check.id).to.equal(undefined)
    }
  })

  it('verify: a key an --endpoint store rejects gets a fix for each kind of store (`psb creds write --endpoint` where there is no IAM); on AWS only keys rotate', async () => {
    nock(endpoint).post('/').reply(403, stsError('InvalidClientTokenId', 'The access key id you provided does not exist'))
    const r = await credentialsCheck.run(context(true))
    expect(r?.status).to.equal('fail')
    expect(r?.hint).to.contain(`on a store without (MinIO, Ceph RGW, R2…), make the key with the store's own tools and \`psb creds write --profile pulumi --endpoint ${endpoint}`)
    expect(r?.hint).to.contain('on a store with AWS IAM, `psb keys rotate --profile pulumi`')
  })

  it('verify: on a store without IAM a missing encryption is a warning whose hint passes --endpoint; versioning off still fails', async () => {
    const scope = nock(endpoint)
    scope.get(/^\/state\/?$/).query((q) => 'encryption' in q).reply(404, '<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServerSideEncryptionConfigurationNotFoundError</Code><Message>none</Message><RequestId>R</RequestId></Error>')
    scope.get(/^\/state\/?$/).query((q) => 'versioning' in q).reply(200, '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>')
    const v = context(true)
    v.facts.noIam = 'sts:GetCallerIdentity answered InvalidParameterValue'
    const enc = await encryptionCheck.run(v)
    expect(enc?.status, JSON.stringify(enc)).to.equal('warn')
    expect(enc?.hint, JSON.stringify(enc)).to.contain(`--endpoint ${endpoint}`)
    const ver = await versioningCheck.run(v)
    expect(ver?.status).to.equal('fail')
    expect(ver?.hint).to.contain(`--endpoint ${endpoint}`)
  })

  it('key ids of other stores: refused as AWS keys (the hint names --non-aws-key), accepted when not AWS; still no spaces, line breaks, [ ] =', () => {
    expect(thrown(() => validateAccessKeyId('minioadmin')).hint).to.contain('--non-aws-key')
    for (const ok of ['minioadmin', 'pulumi', '0123456789abcdef0123456789abcdef', 'GOOGTS7C7FUP3AIRVJTE2BCDKINBTES3HC2GY5CBFJDCQ2SYHV6A6XXVTJFSA']) {
      expect(() => validateAccessKeyId(ok, {nonAws: true}), ok).to.not.throw()
    }
    for (const bad of ['', 'ab', 'a b', 'a\nb', 'a[b', 'a]b', 'a=b', ' x1234', 'é1234']) {
      const e = thrown(() => validateAccessKeyId(bad, {nonAws: true}))
      expect(e.exitCode, JSON.stringify(bad)).to.equal(2)
      expect(e.message).to.not.contain(bad === '' ? '\u0000' : bad)
    }
    expect(() => validateSecretAccessKey('minio-secret', {nonAws: true})).to.not.throw()
    expect(thrown(() => validateSecretAccessKey('short', {nonAws: true})).exitCode).to.equal(2)
    expect(thrown(() => validateSecretAccessKey('two words secret', {nonAws: true})).exitCode).to.equal(2)
    expect(thrown(() => validateSecretAccessKey('minio-secret')).exitCode).to.equal(2)
  })

  it('keys rotate on a store without IAM: exit 2 (NoIamOnStore) naming the store\'s own tool; the credentials file is untouched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'psb-noiam-'))
    try {
      const file = join(dir, 'credentials')
      const text = '[pulumi]\naws_access_key_id = minioadmin\naws_secret_access_key = minioadmin-secret\n'
      writeFileSync(file, text, {mode: 0o600})
      nock(endpoint).post('/').reply(400, stsError('InvalidParameterValue', 'Unsupported action GetCallerIdentity'))
      const env = {HOME: dir, AWS_SHARED_CREDENTIALS_FILE: file, AWS_CONFIG_FILE: join(dir, 'config')}
      const e = await rejection(rotateKey({profile: 'pulumi', region: 'us-east-1', endpoint, env, pollMs: 50}))
      expect(e.code).to.equal('NoIamOnStore')
      expect(e.exitCode).to.equal(2)
      expect(e.message).to.contain('no AWS IAM API')
      expect(e.hint).to.contain('mc admin').and.contain(`psb creds write --profile <profile> --endpoint ${endpoint}`)
      expect(readFileSync(file, 'utf8')).to.equal(text)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it("the store user's policy: psb's S3 statements for the bucket and prefix, without the IAM ones", () => {
    const doc = storeUserPolicy('state', 'team-a')
    const statements = doc.Statement as {Sid: string; Action: string | string[]; Resource: string; Condition?: unknown}[]
    expect(statements.map((s) => s.Sid)).to.deep.equal(['PulumiStateList', 'PulumiStateObjects', 'VerifyBucketSettings'])
    expect(statements[1].Resource).to.equal('arn:aws:s3:::state/team-a/*')
    expect(statements[0].Condition).to.deep.equal({StringLike: {'s3:prefix': ['team-a/*', 'team-a']}})
    expect(JSON.stringify(doc)).to.not.contain('iam:')
    // MinIO refuses a policy naming an action it does not know (minio/pkg policy.supportedActions).
    expect(JSON.stringify(doc)).to.not.contain('PublicAccessBlock').and.not.contain('OwnershipControls')
  })
})
