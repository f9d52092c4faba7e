import {expect} from 'chai'
import {CountingServer} from '../support/counting-server.js'
import nock from 'nock'
import {BUCKET_NAME_RULES, bucketNameProblem, validateBucketName, sanitizeBucketName} from '../../src/lib/bucket/name.js'
import {ensureBucket, validateBucketOptions} from '../../src/lib/bucket/ensure.js'
import {bucketOptionsFromFlags, parseTags} from '../../src/commands/bucket/create.js'
import {createAwsContext} from '../../src/lib/aws/client.js'
import {EXIT, PsbError} from '../../src/lib/errors.js'
import {runPsb, TempHome} from '../support/cli.js'

const R = BUCKET_NAME_RULES

const INVALID: Array<[string, {id: string; rule: string}]> = [
  ['', R.length],
  ['ab', R.length],
  ['a'.repeat(64), R.length],
  ['Bad_Name', R.uppercase],
  ['MyStateBucket', R.uppercase],
  ['state-BUCKET', R.uppercase],
  ['my_bucket', R.characters],
  ['my bucket', R.characters],
  ['bucket!', R.characters],
  ['bücket', R.characters],
  ['my/bucket', R.characters],
  ['bucket:name', R.characters],
  ['-bucket', R.startEnd],
  ['bucket-', R.startEnd],
  ['.bucket', R.startEnd],
  ['bucket.', R.startEnd],
  ['my..bucket', R.adjacentDots],
  ['192.168.5.4', R.ipAddress],
  ['10.0.0.1', R.ipAddress],
  ['xn--bucket', R.prefix],
  ['sthree-bucket', R.prefix],
  ['sthree-configurator-x', R.prefix],
  ['amzn-s3-demo-bucket', R.prefix],
  ['bucket-s3alias', R.suffix],
  ['bucket--ol-s3', R.suffix],
  ['bucket.mrap', R.suffix],
  ['bucket--x-s3', R.suffix],
  ['bucket--table-s3', R.suffix],
]

const VALID = ['abc', 'my-state-bucket', 'a.b.c', 'a'.repeat(63), '1bucket9', 'acme.pulumi.state', '192.168.5.4x', 'xn-bucket', 'bucket-s3alias1']

const endpoint = 'http://127.0.0.1:1'

/** Intercepts every request to the fake endpoint and counts them. */
function countRequests(): {count: () => number; stop: () => void} {
  let n = 0
  const scope = nock(endpoint).persist()
  for (const method of ['head', 'get', 'put', 'post', 'delete'] as const) {
    scope[method](/.*/).reply(() => {
      n++
      return [500, '']
    })
  }
  const unmatched = () => n++
  nock.emitter.on('no match', unmatched)
  return {count: () => n, stop: () => nock.emitter.removeListener('no match', unmatched)}
}

describe('bucket names (S3 naming rules, checked before any call)', () => {
  it(`has at least 20 invalid names in the table (${INVALID.length})`, () => {
    expect(INVALID.length).to.be.at.least(20)
  })

  for (const [name, rule] of INVALID) {
    it(`rejects ${JSON.stringify(name.length > 20 ? name.slice(0, 12) + '…' : name)}: ${rule.id}`, async () => {
      expect(bucketNameProblem(name)?.rule.id).to.equal(rule.id)
      let thrown: unknown
      try {
        validateBucketName(name)
      } catch (error) {
        thrown = error
      }
      expect(thrown).to.be.instanceOf(PsbError)
      const e = thrown as PsbError
      expect(e.exitCode).to.equal(EXIT.USAGE)
      expect(e.code).to.equal('BucketNameInvalid')
      expect(e.message).to.contain(rule.rule)
      expect(e.hint).to.be.a('string').with.length.greaterThan(10)

      // ensureBucket raises the same error before any request reaches the endpoint.
      const requests = countRequests()
      const ctx = createAwsContext({region: 'us-east-1', endpoint, credentials: {accessKeyId: 'AKIAFAKEFAKEFAKE1234', secretAccessKey: 'x'.repeat(40)}, maxAttempts: 1})
      const err = await ensureBucket(ctx, {bucket: name, region: 'us-east-1'}).catch((x: unknown) => x)
      requests.stop()
      expect(err).to.be.instanceOf(PsbError)
      expect((err as PsbError).exitCode).to.equal(EXIT.USAGE)
      expect((err as PsbError).message).to.contain(rule.rule)
      expect(requests.count()).to.equal(0)
    })
  }

  it('(control) the request counter sees the requests a valid name causes', async () => {
    const requests = countRequests()
    const ctx = createAwsContext({region: 'us-east-1', endpoint, credentials: {accessKeyId: 'AKIAFAKEFAKEFAKE1234', secretAccessKey: 'x'.repeat(40)}, maxAttempts: 1})
    await ensureBucket(ctx, {bucket: 'valid-name', region: 'us-east-1', maxWaitMs: 0}).catch(() => undefined)
    requests.stop()
    expect(requests.count()).to.be.at.least(1)
  })

  it('accepts valid names', () => {
    for (const name of VALID) {
      expect(bucketNameProblem(name), name).to.equal(undefined)
      expect(() => validateBucketName(name)).not.to.throw()
    }
  })

  it('suggests a valid name in the hint when one can be derived', () => {
    expect(sanitizeBucketName('My_State..Bucket-')).to.equal('my-state.bucket')
    const e = (() => {
      try {
        validateBucketName('Bad_Name')
      } catch (error) {
        return error as PsbError
      }
    })()!
    expect(e.hint).to.contain('--bucket bad-name')
    expect(bucketNameProblem(sanitizeBucketName('x'.repeat(80) + 'Q'))).to.equal(undefined)
  })

  describe('other input of bucket create (exit 2 before any call)', () => {
    const base = {bucket: 'good-bucket', region: 'us-east-1'}
    const cases: Array<[string, Parameters<typeof validateBucketOptions>[0], string]> = [
      ['a KMS key that is no id, ARN or alias', {...base, kmsKey: 'my key'}, 'KmsKeyInvalid'],
      ['negative noncurrent days', {...base, noncurrentDays: -1}, 'NoncurrentDaysInvalid'],
      ['fractional noncurrent days', {...base, noncurrentDays: 1.5}, 'NoncurrentDaysInvalid'],
      ['a tag key with the reserved aws: prefix', {...base, tags: {'aws:foo': 'x'}}, 'TagInvalid'],
      ['a tag with a character S3 refuses', {...base, tags: {team: 'a<b'}}, 'TagInvalid'],
      ['an over-long tag key', {...base, tags: {['k'.repeat(129)]: 'x'}}, 'TagInvalid'],
      ['managed-by set to something else', {...base, tags: {'managed-by': 'terraform'}}, 'TagInvalid'],
    ]
    for (const [what, opts, code] of cases) {
      it(`rejects ${what}`, () => {
        try {
          validateBucketOptions(opts)
          expect.fail('no error')
        } catch (error) {
          expect((error as PsbError).exitCode).to.equal(EXIT.USAGE)
          expect((error as PsbError).code).to.equal(code)
        }
      })
    }

    it('accepts key ids, ARNs and aliases', () => {
      for (const kmsKey of ['1234abcd-12ab-34cd-56ef-1234567890ab', 'mrk-1234abcd12ab34cd56ef1234567890ab', 'alias/pulumi-state', 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab', 'arn:aws:kms:eu-west-1:111122223333:alias/state']) {
        expect(() => validateBucketOptions({...base, kmsKey})).not.to.throw()
      }
    })

    it('parses repeatable --tag key=value', () => {
      expect(parseTags(['team=platform', 'note=a=b', 'team=platform'])).to.deep.equal({team: 'platform', note: 'a=b'})
      expect(() => parseTags(['novalue'])).to.throw(/not key=value/)
      expect(() => parseTags(['=x'])).to.throw(/not key=value/)
      expect(() => parseTags(['team=a', 'team=b'])).to.throw(/twice/)
      const opts = bucketOptionsFromFlags({bucket: 'good-bucket', tag: ['team=x'], 'noncurrent-days': 0, 'dry-run': true}, 'eu-west-1')
      expect(opts).to.deep.include({bucket: 'good-bucket', region: 'eu-west-1', noncurrentDays: 0, dryRun: true, tags: {team: 'x'}})
    })
  })

  describe('psb bucket create (built CLI)', () => {
    const server = new CountingServer()
    let home: TempHome
    before(async () => {
      await server.start()
      home = new TempHome()
    })
    after(async () => {
      home.cleanup()
      await server.stop()
    })

    it('exits 2 on --bucket Bad_Name and sends no request', async () => {
      const env = {AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE1234', AWS_SECRET_ACCESS_KEY: 'x'.repeat(40), PSB_MAX_ATTEMPTS: '1'}
      const r = await runPsb(['bucket', 'create', '--bucket', 'Bad_Name', '--region', 'us-east-1', '--endpoint', server.endpoint], home, {env})
      expect(r.code, r.stderr).to.equal(2)
      expect(r.stderr).to.contain('must not contain uppercase letters')
      expect(r.stderr).to.contain('--bucket bad-name')
      const j = await runPsb(['bucket', 'create', '--bucket', 'my..bucket', '--region', 'us-east-1', '--endpoint', server.endpoint, '--json'], home, {env})
      expect(j.code).to.equal(2)
      expect(JSON.parse(j.stdout).error).to.include({code: 'BucketNameInvalid', exitCode: 2})
      expect(server.requests).to.equal(0)
    })
  })
})
