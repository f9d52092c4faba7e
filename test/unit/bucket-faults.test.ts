/**
 * Faults of S3 (and of S3-compatible stores) that moto cannot produce, injected with nock
 * on a fake path-style endpoint.
 */
import {expect} from 'chai'
import nock from 'nock'
import {createAwsContext} from '../../src/lib/aws/client.js'
import {ensureBucket, TLS_SID, hasTlsOnlyStatement, planTlsPolicy, compareKmsKeys, planLifecycle, planTags, tlsOnlyStatement, type BucketOptions, type PolicyStatement} from '../../src/lib/bucket/ensure.js'
import {PsbError} from '../../src/lib/errors.js'
import {rejection} from '../support/errors.js'

const endpoint = 'http://127.0.0.1:1'
const B = 'psb-faults'
const ARN = `arn:aws:s3:::${B}`
const XMLNS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
const SUBRESOURCES = ['versioning', 'encryption', 'publicAccessBlock', 'ownershipControls', 'policy', 'lifecycle', 'tagging', 'location']

type Query = Record<string, unknown>
/** The SDK sends path-style bucket requests as `/<bucket>/`. */
const path = (bucket: string) => new RegExp(`^/${bucket.replace(/[.-]/g, '\\$&')}/?$`)
const sub = (name?: string) => (q: Query) => (name ? name in q : !SUBRESOURCES.some((k) => k in q))

const xmlError = (code: string, message = code) => `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>R</RequestId></Error>`

const HARDENED = {
  versioning: `<VersioningConfiguration ${XMLNS}><Status>Enabled</Status></VersioningConfiguration>`,
  encryption: `<ServerSideEncryptionConfiguration ${XMLNS}><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`,
  publicAccessBlock: `<PublicAccessBlockConfiguration ${XMLNS}><BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls><BlockPublicPolicy>true</BlockPublicPolicy><RestrictPublicBuckets>true</RestrictPublicBuckets></PublicAccessBlockConfiguration>`,
  ownershipControls: `<OwnershipControls ${XMLNS}><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>`,
  policy: JSON.stringify({
    Version: '2012-10-17',
    Statement: [{Sid: TLS_SID, Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [ARN, `${ARN}/*`], Condition: {Bool: {'aws:SecureTransport': 'false'}}}],
  }),
  lifecycle:
    `<LifecycleConfiguration ${XMLNS}>` +
    '<Rule><ID>psb-noncurrent-expiry</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>90</NoncurrentDays></NoncurrentVersionExpiration></Rule>' +
    '<Rule><ID>psb-abort-incomplete-multipart</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>' +
    '<Rule><ID>psb-expired-delete-markers</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>' +
    '</LifecycleConfiguration>',
  tagging: `<Tagging ${XMLNS}><TagSet><Tag><Key>managed-by</Key><Value>psb</Value></Tag></TagSet></Tagging>`,
} as const

type Sub = keyof typeof HARDENED

function ctx(region = 'us-east-1') {
  return createAwsContext({region, endpoint, credentials: {accessKeyId: 'AKIAFAKEFAKEFAKE1234', secretAccessKey: 'x'.repeat(40)}, maxAttempts: 1})
}

const opts = (o: Partial<BucketOptions> = {}): BucketOptions => ({bucket: B, region: 'us-east-1', maxWaitMs: 3000, backoffBaseMs: 5, ...o})

/** A scope whose first answer is HeadBucket on B: it exists in us-east-1 (true) or not (false, 404). */
function bucket(exists: boolean): nock.Scope {
  const scope = nock(endpoint).head(path(B))
  return exists ? scope.reply(200, '', {'x-amz-bucket-region': 'us-east-1'}) : scope.reply(404)
}

/** A GET / PUT of B's subresource `k` (PUT without `k`: CreateBucket). */
const get = (scope: nock.Scope, k: Sub | 'location') => scope.get(path(B)).query(sub(k))
const put = (scope: nock.Scope, k?: Sub) => scope.put(path(B)).query(sub(k))

/** The reads of an existing, hardened bucket, except the ones in `except`. */
function hardenedReads(scope: nock.Scope, except: Sub[] = []): nock.Scope {
  for (const k of Object.keys(HARDENED) as Sub[]) {
    if (except.includes(k)) continue
    get(scope, k).reply(200, HARDENED[k])
  }
  return scope
}

/** The reads of a bucket with nothing configured (as S3-compatible stores and moto create them). */
function emptyReads(scope: nock.Scope, o: {ownership?: boolean; except?: Sub[]} = {}): nock.Scope {
  const notFound: Record<Exclude<Sub, 'versioning'>, string> = {
    encryption: 'ServerSideEncryptionConfigurationNotFoundError',
    publicAccessBlock: 'NoSuchPublicAccessBlockConfiguration',
    ownershipControls: 'OwnershipControlsNotFoundError',
    policy: 'NoSuchBucketPolicy',
    lifecycle: 'NoSuchLifecycleConfiguration',
    tagging: 'NoSuchTagSet',
  }
  const except = o.except ?? []
  if (!except.includes('versioning')) get(scope, 'versioning').reply(200, `<VersioningConfiguration ${XMLNS}/>`)
  for (const [k, code] of Object.entries(notFound) as Array<[Sub, string]>) {
    if (except.includes(k)) continue
    if (k === 'ownershipControls' && o.ownership) get(scope, k).reply(200, HARDENED.ownershipControls)
    else get(scope, k).reply(404, xmlError(code))
  }
  return scope
}

/** Every PUT of a bucket setting answered 200 (except `except`). */
function acceptWrites(scope: nock.Scope, except: string[] = []): nock.Scope {
  for (const k of SUBRESOURCES.filter((s) => s !== 'location' && !except.includes(s))) scope.put(path(B)).query(sub(k)).reply(200, '')
  return scope
}

interface Seen {
  method: string
  /** The subresource (versioning, policy, ...) or '' for the bucket itself. */
  sub: string
  body: string
  headers: Headers
}

/** Records every request the scope answers. */
function record(scope: nock.Scope): Seen[] {
  const seen: Seen[] = []
  scope.on('request', (req: Request, _interceptor: unknown, body: string) => {
    const q = new URL(req.url).searchParams
    seen.push({method: req.method, sub: SUBRESOURCES.find((k) => q.has(k)) ?? '', body: body ?? '', headers: req.headers})
  })
  return seen
}

const writes = (seen: Seen[]) => seen.filter((r) => r.method === 'PUT' && r.sub !== '').map((r) => r.sub)

const stsIdentity = `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/admin</Arn><UserId>AIDAFAKE</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>R</RequestId></ResponseMetadata></GetCallerIdentityResponse>`
const noBuckets = `<ListAllMyBucketsResult ${XMLNS}><Owner><ID>me</ID></Owner><Buckets></Buckets></ListAllMyBucketsResult>`
const SUGGESTED = `${B}-123456789012-us-east-1`

/** STS names the account, and HeadBucket finds the suggested `<bucket>-<account>-<region>` free. */
const freeSuggestion = (scope: nock.Scope) => scope.post('/', /GetCallerIdentity/).reply(200, stsIdentity).head(path(SUGGESTED)).reply(404)

const slowDown = () => xmlError('SlowDown', 'Please reduce your request rate.')
const suspended = `<VersioningConfiguration ${XMLNS}><Status>Suspended</Status></VersioningConfiguration>`

async function failure(p: Promise<unknown>): Promise<PsbError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  )
  expect(e, 'expected an error').to.be.instanceOf(PsbError)
  return e as PsbError
}

describe('ensureBucket faults (nock)', () => {
  afterEach(() => nock.cleanAll())

  describe('a name owned by another account (403 on HeadBucket)', () => {
    it('says the name is taken globally and suggests <name>-<account>-<region>', async () => {
      const scope = freeSuggestion(nock(endpoint).head(path(B)).reply(403).get('/').query(true).reply(200, noBuckets))
      const e = await failure(ensureBucket(ctx(), opts()))
      expect(e.code).to.equal('BucketNameTaken')
      expect(e.message).to.contain('taken globally').and.contain(B)
      expect(e.hint).to.contain(`--bucket ${B}-123456789012-us-east-1 (free right now)`)
      expect(e.data).to.deep.include({suggestion: `${B}-123456789012-us-east-1`})
      expect(scope.isDone()).to.equal(true)
    })

    it('still suggests a name when STS GetCallerIdentity fails', async () => {
      nock(endpoint)
        .head(path(B))
        .reply(403)
        .get('/')
        .query(true)
        .reply(200, noBuckets)
        .post('/', /GetCallerIdentity/)
        .reply(403, `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>no</Message></Error></ErrorResponse>`)
        .head(/.*/)
        .reply(403)
      const e = await failure(ensureBucket(ctx(), opts()))
      expect(e.code).to.equal('BucketNameTaken')
      expect(e.data?.suggestion).to.match(new RegExp(`^${B}-us-east-1-[0-9a-f]{6}$`))
      expect(e.hint).to.contain('(free to try)')
    })

    it('a bucket of ours that we may not HeadBucket: names s3:ListBucket, not "taken"', async () => {
      nock(endpoint)
        .head(path(B))
        .reply(403)
        .get('/')
        .query(true)
        .reply(200, `<ListAllMyBucketsResult ${XMLNS}><Owner><ID>me</ID></Owner><Buckets><Bucket><Name>${B}</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>`)
      const e = await failure(ensureBucket(ctx(), opts()))
      expect(e.code).to.not.equal('BucketNameTaken')
      expect(e.message).to.contain('s3:ListBucket').and.contain(ARN)
    })

    it('BucketAlreadyExists from CreateBucket (a race) is the same clear error', async () => {
      freeSuggestion(put(bucket(false)).reply(409, xmlError('BucketAlreadyExists', 'The requested bucket name is not available.')))
      const e = await failure(ensureBucket(ctx(), opts()))
      expect(e.code).to.equal('BucketNameTaken')
      expect(e.hint).to.contain(`${B}-123456789012-us-east-1`)
    })

    it('BucketAlreadyOwnedByYou from CreateBucket (a concurrent psb run): the bucket is used, not re-created', async () => {
      const scope = put(bucket(false)).reply(409, xmlError('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.'))
      hardenedReads(scope)
      const seen = record(scope)
      const r = await ensureBucket(ctx(), opts())
      expect(r.created).to.equal(false)
      expect(r.changes.find((c) => c.item === 'bucket')).to.deep.include({status: 'unchanged'})
      expect(r.changes.every((c) => c.status === 'unchanged')).to.equal(true)
      expect(seen.filter((x) => x.method === 'HEAD')).to.have.length(1)
      expect(writes(seen)).to.deep.equal([])
      expect(scope.isDone()).to.equal(true)
    })
  })

  describe('a bucket in another region', () => {
    it('301 with x-amz-bucket-region: the error names the real region', async () => {
      const scope = nock(endpoint).head(path(B)).reply(301, '', {'x-amz-bucket-region': 'eu-central-1'})
      const e = await failure(ensureBucket(ctx(), opts()))
      expect(e.code).to.equal('BucketInOtherRegion')
      expect(e.message).to.contain('eu-central-1').and.contain('us-east-1')
      expect(e.hint).to.contain('--region eu-central-1')
      expect(scope.isDone()).to.equal(true)
    })

    it('301 without the header: the region comes from GetBucketLocation', async () => {
      get(nock(endpoint).head(path(B)).reply(301), 'location').reply(200, `<LocationConstraint ${XMLNS}>ap-south-1</LocationConstraint>`)
      const e = await failure(ensureBucket(ctx(), opts()))
      expect(e.code).to.equal('BucketInOtherRegion')
      expect(e.message).to.contain('ap-south-1')
    })

    it('HeadBucket 200 whose BucketRegion differs is refused too', async () => {
      nock(endpoint).head(path(B)).reply(200, '', {'x-amz-bucket-region': 'eu-west-2'})
      const e = await failure(ensureBucket(ctx(), opts()))
      expect(e.code).to.equal('BucketInOtherRegion')
      expect(e.message).to.contain('eu-west-2')
    })
  })

  describe('contention and eventual consistency', () => {
    it('retries OperationAborted on CreateBucket, then configures the new bucket', async () => {
      const scope = bucket(false)
      put(scope).reply(409, xmlError('OperationAborted', 'A conflicting conditional operation is currently in progress against this resource. Please try again.'))
      put(scope).reply(200, '')
      scope.head(path(B)).reply(200, '', {'x-amz-bucket-region': 'us-east-1'})
      emptyReads(scope, {ownership: true})
      acceptWrites(scope, ['ownershipControls'])
      const seen = record(scope)
      const r = await ensureBucket(ctx(), opts())
      expect(r.created).to.equal(true)
      const creates = seen.filter((x) => x.method === 'PUT' && x.sub === '')
      expect(creates).to.have.length(2)
      expect(creates[1].body).to.not.contain('LocationConstraint')
      expect(creates[1].headers.get('x-amz-object-ownership')).to.equal('BucketOwnerEnforced')
      expect(writes(seen)).to.deep.equal(['versioning', 'encryption', 'publicAccessBlock', 'policy', 'lifecycle', 'tagging'])
      expect(r.changes.find((c) => c.item === 'object-ownership')?.detail).to.contain('set at creation')
      expect(scope.isDone()).to.equal(true)
    })

    it('sends LocationConstraint outside us-east-1 and waits until the new bucket is visible', async () => {
      const scope = put(bucket(false)).reply(200, '').head(path(B)).reply(404).head(path(B)).reply(404).head(path(B)).reply(200, '', {'x-amz-bucket-region': 'eu-west-1'})
      // eventual consistency: the first read after creation does not see the bucket yet
      get(scope, 'versioning').reply(404, xmlError('NoSuchBucket', 'The specified bucket does not exist'))
      emptyReads(scope, {ownership: true})
      acceptWrites(scope, ['ownershipControls'])
      const seen = record(scope)
      const r = await ensureBucket(ctx('eu-west-1'), opts({region: 'eu-west-1'}))
      expect(r.created).to.equal(true)
      expect(seen.find((x) => x.method === 'PUT' && x.sub === '')?.body).to.contain('<LocationConstraint>eu-west-1</LocationConstraint>')
      expect(seen.filter((x) => x.method === 'HEAD')).to.have.length(4)
      expect(r.changes.every((c) => c.status === 'created')).to.equal(true)
      expect(scope.isDone()).to.equal(true)
    })

    it('a new bucket that never becomes visible: gives up within the bounded time, naming the wait', async () => {
      put(bucket(false)).reply(200, '').head(path(B)).times(1000).reply(404)
      const e = await failure(ensureBucket(ctx(), opts({maxWaitMs: 200, backoffBaseMs: 20})))
      expect(e.code).to.equal('GaveUp')
      expect(e.message).to.contain('waiting for the new bucket to become visible').and.contain(ARN)
      expect(e.hint).to.contain('PSB_BUCKET_MAX_WAIT_MS')
    })

    it('a bucket someone else created a moment earlier is merged into, not overwritten', async () => {
      const foreign = {Sid: 'AllowAudit', Effect: 'Allow', Principal: {AWS: 'arn:aws:iam::123456789012:root'}, Action: 's3:GetBucketTagging', Resource: ARN}
      const scope = bucket(false)
      put(scope).reply(200, '') // us-east-1 answers 200 to CreateBucket on a bucket you already own
      scope.head(path(B)).reply(200)
      get(scope, 'policy').reply(200, JSON.stringify({Version: '2012-10-17', Statement: [foreign]}))
      get(scope, 'lifecycle').reply(200, `<LifecycleConfiguration ${XMLNS}><Rule><ID>tmp</ID><Filter><Prefix>tmp/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>`)
      get(scope, 'encryption').reply(200, `<ServerSideEncryptionConfiguration ${XMLNS}><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>arn:aws:kms:us-east-1:123456789012:key/k</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`)
      emptyReads(scope, {ownership: true, except: ['policy', 'lifecycle', 'encryption']})
      acceptWrites(scope, ['ownershipControls', 'encryption'])
      const seen = record(scope)
      const r = await ensureBucket(ctx(), opts())
      expect(r.encryption).to.deep.equal({algorithm: 'aws:kms', kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/k'})
      expect(writes(seen)).to.not.include('encryption')
      const policy = JSON.parse(seen.find((x) => x.method === 'PUT' && x.sub === 'policy')!.body)
      expect(policy.Statement.map((st: {Sid: string}) => st.Sid)).to.deep.equal(['AllowAudit', TLS_SID])
      expect(seen.find((x) => x.method === 'PUT' && x.sub === 'lifecycle')!.body).to.contain('<ID>tmp</ID>')
    })

    it('retries SlowDown, then succeeds', async () => {
      const scope = bucket(true)
      get(scope, 'versioning').reply(503, slowDown())
      get(scope, 'versioning').reply(200, suspended)
      put(scope, 'versioning').reply(503, slowDown())
      hardenedReads(scope, ['versioning'])
      acceptWrites(scope)
      const seen = record(scope)
      const r = await ensureBucket(ctx(), opts())
      expect(writes(seen)).to.deep.equal(['versioning', 'versioning'])
      expect(r.changes.find((c) => c.item === 'versioning')).to.deep.include({status: 'updated'})
      expect(scope.pendingMocks().filter((m) => !m.startsWith('PUT'))).to.deep.equal([])
    })

    it('gives up after the bounded time with a clear message', async () => {
      get(bucket(true), 'versioning').times(1000).reply(503, slowDown())
      hardenedReads(nock(endpoint), ['versioning'])
      const start = Date.now()
      const e = await failure(ensureBucket(ctx(), opts({maxWaitMs: 300, backoffBaseMs: 20})))
      expect(Date.now() - start).to.be.lessThan(2500)
      expect(e.code).to.equal('GaveUp')
      expect(e.message).to.contain('s3:GetBucketVersioning').and.contain('SlowDown').and.contain(ARN)
      expect(e.hint).to.contain('run psb again')
    })

    it('retries 5xx InternalError', async () => {
      const scope = nock(endpoint)
        .head(path(B))
        .reply(500, '')
        .head(path(B))
        .reply(200, '', {'x-amz-bucket-region': 'us-east-1'})
      hardenedReads(scope)
      const r = await ensureBucket(ctx(), opts())
      expect(r.changes.every((c) => c.status === 'unchanged')).to.equal(true)
    })
  })

  describe('S3-compatible stores (NotImplemented)', () => {
    const NONCURRENT_ONLY =
      `<LifecycleConfiguration ${XMLNS}><Rule><ID>psb-noncurrent-expiry</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>90</NoncurrentDays></NoncurrentVersionExpiration></Rule></LifecycleConfiguration>`

    it('a rule the store refused before (bucket tag psb-unsupported) is skipped with no write: a second run makes 0 writes', async () => {
      const scope = bucket(true)
      get(scope, 'lifecycle').reply(200, NONCURRENT_ONLY)
      get(scope, 'tagging').reply(200, `<Tagging ${XMLNS}><TagSet><Tag><Key>managed-by</Key><Value>psb</Value></Tag><Tag><Key>psb-unsupported</Key><Value>psb-abort-incomplete-multipart</Value></Tag></TagSet></Tagging>`)
      hardenedReads(scope, ['lifecycle', 'tagging'])
      const seen = record(scope)
      const r = await ensureBucket(ctx(), opts())
      expect(writes(seen)).to.deep.equal([])
      expect(seen.filter((x) => x.sub === 'tagging')).to.have.length(1)
      const byItem = Object.fromEntries(r.changes.map((c) => [c.item, c]))
      expect(byItem['lifecycle-noncurrent-expiry'].status).to.equal('unchanged')
      expect(byItem['lifecycle-abort-multipart']).to.deep.include({status: 'skipped'})
      expect(byItem['lifecycle-abort-multipart'].detail).to.contain('refused by this store before').and.contain('psb-unsupported')
      expect(scope.isDone()).to.equal(true)
    })

    it('a setting whose write the store refused before (bucket tag psb-unsupported) is skipped without a read or a write', async () => {
      const scope = bucket(true)
      get(scope, 'tagging').reply(200, `<Tagging ${XMLNS}><TagSet><Tag><Key>managed-by</Key><Value>psb</Value></Tag><Tag><Key>psb-unsupported</Key><Value>encryption</Value></Tag></TagSet></Tagging>`)
      hardenedReads(scope, ['tagging', 'encryption'])
      // What a run that forgot would do: read no encryption, try to write it, be refused.
      get(scope, 'encryption').reply(404, xmlError('ServerSideEncryptionConfigurationNotFoundError'))
      put(scope, 'encryption').reply(501, xmlError('NotImplemented'))
      const seen = record(scope)
      const r = await ensureBucket(ctx(), opts())
      expect(seen.filter((x) => x.sub === 'encryption')).to.deep.equal([])
      expect(writes(seen)).to.deep.equal([])
      expect(r.changes.find((c) => c.item === 'encryption')).to.deep.include({status: 'skipped'})
      expect(scope.pendingMocks()).to.have.length(2)
    })

    it('a rejection that no single rule explains is an error (LifecycleRejected), not a skip', async () => {
      const scope = bucket(true)
      get(scope, 'lifecycle').reply(404, xmlError('NoSuchLifecycleConfiguration'))
      hardenedReads(scope, ['lifecycle'])
      put(scope, 'lifecycle').reply(400, xmlError('InvalidArgument', 'too many rules'))
      // Each of psb's three rules alone is accepted: no single rule explains the rejection.
      put(scope, 'lifecycle').reply(200, '')
      put(scope, 'lifecycle').reply(200, '')
      put(scope, 'lifecycle').reply(200, '')
      const seen = record(scope)
      const e = await rejection(ensureBucket(ctx(), opts()))
      expect(e.code).to.equal('LifecycleRejected')
      expect(e.exitCode).to.equal(1)
      expect(e.message).to.contain('InvalidArgument: too many rules')
      expect(writes(seen)).to.deep.equal(['lifecycle', 'lifecycle', 'lifecycle', 'lifecycle'])
    })

    it('skips ownership and lifecycle with a warning; the run succeeds', async () => {
      const warnings: string[] = []
      const scope = bucket(true)
      get(scope, 'ownershipControls').reply(501, xmlError('NotImplemented', 'A header you provided implies functionality that is not implemented'))
      get(scope, 'lifecycle').reply(501, xmlError('NotImplemented', 'not implemented'))
      hardenedReads(scope, ['ownershipControls', 'lifecycle'])
      const r = await ensureBucket(ctx(), opts({logger: {warn: (m) => warnings.push(m), info() {}}}))
      const status = Object.fromEntries(r.changes.map((c) => [c.item, c.status]))
      expect(status['object-ownership']).to.equal('skipped')
      expect(status['lifecycle-noncurrent-expiry']).to.equal('skipped')
      expect(status['lifecycle-abort-multipart']).to.equal('skipped')
      expect(status.versioning).to.equal('unchanged')
      expect(warnings).to.have.length(2)
      expect(warnings.join('\n')).to.contain('NotImplemented').and.contain('object-ownership')
      expect(r.warnings).to.deep.equal(warnings)
      expect(scope.isDone()).to.equal(true)
    })

    it('on a new bucket: drops ObjectOwnership from CreateBucket when refused, skips unsupported puts', async () => {
      const warnings: string[] = []
      const scope = bucket(false)
      put(scope).reply(400, xmlError('InvalidArgument', 'x-amz-object-ownership is not supported'))
      put(scope).reply(200, '')
      scope.head(path(B)).reply(200)
      put(scope, 'ownershipControls').reply(501, xmlError('NotImplemented', 'not implemented'))
      // The rules refused together; the noncurrent rule alone is accepted, the abort rule is not,
      // the delete-marker rule is (on top of the noncurrent rule).
      put(scope, 'lifecycle').reply(400, xmlError('MalformedXML', 'The XML you provided was not well-formed'))
      put(scope, 'lifecycle').reply(200, '')
      put(scope, 'lifecycle').reply(400, xmlError('MalformedXML', 'The XML you provided was not well-formed'))
      put(scope, 'lifecycle').reply(200, '')
      emptyReads(scope)
      acceptWrites(scope, ['ownershipControls', 'lifecycle'])
      const seen = record(scope)
      const r = await ensureBucket(ctx(), opts({logger: {warn: (m) => warnings.push(m), info() {}}}))
      expect(r.created).to.equal(true)
      const creates = seen.filter((x) => x.method === 'PUT' && x.sub === '')
      expect(creates.map((c) => c.headers.get('x-amz-object-ownership'))).to.deep.equal(['BucketOwnerEnforced', null])
      const status = Object.fromEntries(r.changes.map((c) => [c.item, c.status]))
      expect(status).to.deep.include({
        bucket: 'created',
        'object-ownership': 'skipped',
        'lifecycle-noncurrent-expiry': 'created',
        'lifecycle-abort-multipart': 'skipped',
        'lifecycle-expired-delete-markers': 'created',
        versioning: 'created',
        tags: 'created',
      })
      const lifecycleBodies = seen.filter((x) => x.method === 'PUT' && x.sub === 'lifecycle').map((x) => (x.body.match(/<ID>[^<]+<\/ID>/g) ?? []).join(' '))
      expect(lifecycleBodies).to.deep.equal([
        '<ID>psb-noncurrent-expiry</ID> <ID>psb-abort-incomplete-multipart</ID> <ID>psb-expired-delete-markers</ID>',
        '<ID>psb-noncurrent-expiry</ID>',
        '<ID>psb-noncurrent-expiry</ID> <ID>psb-abort-incomplete-multipart</ID>',
        '<ID>psb-noncurrent-expiry</ID> <ID>psb-expired-delete-markers</ID>',
      ])
      const tagging = seen.find((x) => x.method === 'PUT' && x.sub === 'tagging')
      expect(tagging?.body).to.contain('<Key>psb-unsupported</Key><Value>object-ownership psb-abort-incomplete-multipart</Value>')
      expect(warnings.join('\n')).to.contain('refused lifecycle rule psb-abort-incomplete-multipart (MalformedXML')
      expect(warnings.length).to.equal(3, warnings.join('\n'))
      expect(scope.isDone()).to.equal(true)
    })

    it('drops the LocationConstraint from CreateBucket when the store refuses it', async () => {
      const warnings: string[] = []
      const scope = bucket(false)
      put(scope).reply(400, xmlError('InvalidLocationConstraint', 'The specified location-constraint is not valid'))
      put(scope).reply(200, '')
      scope.head(path(B)).reply(200)
      emptyReads(scope, {ownership: true})
      acceptWrites(scope, ['ownershipControls'])
      const seen = record(scope)
      const r = await ensureBucket(ctx('eu-west-1'), opts({region: 'eu-west-1', logger: {warn: (m) => warnings.push(m), info() {}}}))
      expect(r.created).to.equal(true)
      const creates = seen.filter((x) => x.method === 'PUT' && x.sub === '')
      expect(creates.map((c) => c.body.includes('<LocationConstraint>eu-west-1</LocationConstraint>'))).to.deep.equal([true, false])
      expect(creates[1].headers.get('x-amz-object-ownership')).to.equal('BucketOwnerEnforced')
      expect(warnings).to.have.length(1)
      expect(warnings[0]).to.contain('LocationConstraint eu-west-1').and.contain('InvalidLocationConstraint')
      expect(scope.isDone()).to.equal(true)
    })

    it('a required setting (versioning) still fails loudly', async () => {
      const scope = bucket(true)
      get(scope, 'versioning').reply(501, xmlError('NotImplemented', 'not implemented'))
      hardenedReads(scope, ['versioning'])
      const e = await failure(ensureBucket(ctx(), opts()))
      expect(e.message).to.contain('s3:GetBucketVersioning').and.contain('NotImplemented')
    })
  })

  describe('missing permission', () => {
    it('AccessDenied on one setting names the S3 action and the bucket ARN', async () => {
      const scope = bucket(true)
      get(scope, 'versioning').reply(200, suspended)
      put(scope, 'versioning').reply(403, xmlError('AccessDenied', 'Access Denied'))
      hardenedReads(scope, ['versioning'])
      acceptWrites(scope, ['versioning'])
      const e = await failure(ensureBucket(ctx(), opts()))
      expect(e.code).to.equal('AccessDenied')
      expect(e.message).to.contain('s3:PutBucketVersioning').and.contain(ARN)
      expect(e.hint).to.contain('s3:PutBucketVersioning')
      expect(e.data).to.deep.equal({action: 's3:PutBucketVersioning', resource: ARN})
    })

    it('a denied read names its own action (s3:GetBucketPolicy)', async () => {
      const scope = bucket(true)
      get(scope, 'policy').reply(403, xmlError('AccessDenied', 'Access Denied'))
      hardenedReads(scope, ['policy'])
      const e = await failure(ensureBucket(ctx(), opts()))
      expect(e.code).to.equal('AccessDenied')
      expect(e.message).to.contain('s3:GetBucketPolicy').and.contain(ARN)
    })

    it('AccessDenied on CreateBucket mentions s3:PutBucketOwnershipControls in the hint', async () => {
      put(bucket(false)).reply(403, xmlError('AccessDenied', 'Access Denied'))
      const e = await failure(ensureBucket(ctx(), opts()))
      expect(e.code).to.equal('AccessDenied')
      expect(e.message).to.contain('s3:CreateBucket').and.contain(ARN)
      expect(e.hint).to.contain('s3:PutBucketOwnershipControls')
    })

    it('ACLs that cannot be disabled (a bucket ACL grants others): stops with the commands to fix it', async () => {
      const scope = bucket(true)
      get(scope, 'ownershipControls').reply(200, `<OwnershipControls ${XMLNS}><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>`)
      put(scope, 'ownershipControls').reply(400, xmlError('InvalidBucketAclWithObjectOwnership', 'Bucket cannot have ACLs set with ObjectOwnership\'s BucketOwnerEnforced setting'))
      hardenedReads(scope, ['ownershipControls'])
      const e = await failure(ensureBucket(ctx(), opts()))
      expect(e.code).to.equal('InvalidBucketAclWithObjectOwnership')
      expect(e.exitCode).to.equal(1)
      expect(e.message).to.contain(`Cannot disable ACLs on ${B}`)
      expect(e.hint).to.contain(`get-bucket-acl --bucket ${B}`).and.contain(`put-bucket-acl --bucket ${B} --acl private`)
      expect(scope.isDone()).to.equal(true)
    })
  })

  describe('dry run', () => {
    it('plans everything for a missing bucket with one read and no write', async () => {
      const scope = bucket(false)
      const r = await ensureBucket(ctx(), opts({dryRun: true, kmsKey: 'alias/state'}))
      expect(r.changes.every((c) => c.status === 'planned')).to.equal(true)
      expect(r.changes.map((c) => c.item)).to.include.members(['bucket', 'versioning', 'encryption', 'tags'])
      expect(r.encryption).to.deep.equal({algorithm: 'aws:kms', kmsKeyId: 'alias/state'})
      expect(scope.isDone()).to.equal(true)
    })
  })

  describe('comparison by meaning (pure helpers)', () => {
    const tls = tlsOnlyStatement(ARN)
    const variant = (o: Partial<PolicyStatement>): PolicyStatement => ({...tls, Sid: 'Other', ...o})

    it('accepts wildcards, {"AWS": "*"}, "*" actions and BoolIfExists as equivalent', () => {
      expect(hasTlsOnlyStatement([variant({Resource: 'arn:aws:s3:::psb-*', Principal: {AWS: ['*']}, Action: ['*'], Condition: {BoolIfExists: {'AWS:SecureTransport': false}}})], ARN)).to.equal(true)
    })

    it('rejects statements that deny less', () => {
      const narrower: PolicyStatement[] = [
        variant({Effect: 'Allow'}),
        variant({Principal: {AWS: 'arn:aws:iam::123456789012:root'}}),
        variant({Action: 's3:GetObject'}),
        variant({Resource: `${ARN}/.pulumi/*`}),
        variant({Resource: [ARN, `${ARN}/?`]}),
        variant({Condition: {Bool: {'aws:SecureTransport': 'false'}, StringEquals: {'aws:PrincipalAccount': '1'}}}),
        variant({Condition: {Bool: {'aws:SecureTransport': 'true'}}}),
        variant({NotAction: 's3:GetObject'}),
      ]
      for (const s of narrower) expect(hasTlsOnlyStatement([s], ARN), JSON.stringify(s)).to.equal(false)
    })

    it('replaces a psb statement that was changed, keeps the rest, and refuses a broken policy', () => {
      const foreign = {Sid: 'Keep', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `${ARN}/public/*`}
      const plan = planTlsPolicy(JSON.stringify({Version: '2012-10-17', Statement: [foreign, {...tls, Action: 's3:PutObject'}]}), ARN)
      expect(plan.status).to.equal('updated')
      expect(plan.document?.Statement).to.deep.equal([foreign, tls])
      expect(() => planTlsPolicy('{not json', ARN)).to.throw(/not valid JSON/)
    })

    it('compares KMS keys by meaning', () => {
      const arn = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'
      expect(compareKmsKeys(arn, '1234abcd-12ab-34cd-56ef-1234567890ab')).to.equal('same')
      expect(compareKmsKeys(arn, 'arn:aws:kms:us-east-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab')).to.equal('different')
      expect(compareKmsKeys('alias/state', 'arn:aws:kms:us-east-1:123456789012:alias/state')).to.equal('same')
      expect(compareKmsKeys('alias/state', arn)).to.equal('unknown')
    })

    it('lifecycle: a disabled or narrowed rule does not count; a stricter own abort rule is kept', () => {
      const plan = planLifecycle(
        [
          {ID: 'off', Status: 'Disabled', Filter: {Prefix: ''}, NoncurrentVersionExpiration: {NoncurrentDays: 10}},
          {ID: 'logs', Status: 'Enabled', Filter: {Prefix: 'logs/'}, AbortIncompleteMultipartUpload: {DaysAfterInitiation: 1}},
          {ID: 'psb-abort-incomplete-multipart', Status: 'Enabled', Filter: {Prefix: ''}, AbortIncompleteMultipartUpload: {DaysAfterInitiation: 2}},
        ],
        undefined,
      )
      expect(plan.noncurrent.status).to.equal('created')
      expect(plan.multipart.status).to.equal('unchanged')
      expect(plan.rules.map((r) => r.ID)).to.deep.equal(['off', 'logs', 'psb-abort-incomplete-multipart', 'psb-noncurrent-expiry', 'psb-expired-delete-markers'])
    })

    it('tags: merge, and no change when everything is there', () => {
      expect(planTags([{Key: 'managed-by', Value: 'psb'}, {Key: 'a', Value: '1'}], {a: '1'}).status).to.equal('unchanged')
      const p = planTags([{Key: 'owner', Value: 'x'}], {team: 't'})
      expect(p.status).to.equal('updated')
      expect(p.tags).to.deep.equal([{Key: 'owner', Value: 'x'}, {Key: 'managed-by', Value: 'psb'}, {Key: 'team', Value: 't'}])
    })
  })
})
