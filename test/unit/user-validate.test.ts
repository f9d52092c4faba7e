import {expect} from 'chai'
import nock from 'nock'
import {CountingServer} from '../support/counting-server.js'
import {createAwsContext} from '../../src/lib/aws/client.js'
import {PsbError} from '../../src/lib/errors.js'
import {buildStatePolicy, STATE_POLICY_NAME} from '../../src/lib/iam/policy.js'
import {ensureUser, validateIamPath, validateUserName, validatePolicyArn, type UserOptions} from '../../src/lib/iam/user.js'
import {userOptionsFromFlags} from '../../src/commands/user/create.js'
import {runPsb, TempHome} from '../support/cli.js'

const ENDPOINT = 'http://127.0.0.1:45123'
const ACCOUNT = '123456789012'
const creds = {accessKeyId: 'AKIAEXAMPLEEXAMPLE12', secretAccessKey: 'x'.repeat(40)}

function code(fn: () => unknown): number | undefined {
  try {
    fn()
  } catch (error) {
    expect(error).to.be.instanceOf(PsbError)
    return (error as PsbError).exitCode
  }
  return undefined
}

describe('user name and path rules', () => {
  it('accepts IAM user names: 1-64 of letters, digits and _+=,.@-', () => {
    for (const ok of ['pulumi', 'a', 'pulumi-ci_1+x=y,z.w@acme', 'x'.repeat(64)]) expect(code(() => validateUserName(ok)), ok).to.equal(undefined)
  })
  it('rejects other names with exit 2', () => {
    for (const bad of ['', 'x'.repeat(65), 'has space', 'slash/name', 'star*', 'dollar$', 'ümlaut', 'new\nline']) expect(code(() => validateUserName(bad)), bad).to.equal(2)
  })
  it('accepts IAM paths', () => {
    for (const ok of ['/', '/ci/', '/ci/pulumi/', '/a.b-c_d+e=f,g@h/', '/' + 'x'.repeat(510) + '/']) expect(code(() => validateIamPath(ok)), ok).to.equal(undefined)
  })
  it('rejects bad paths with exit 2 (IAM rules, plus wildcards that would widen the policy)', () => {
    for (const bad of ['', 'ci', '/ci', 'ci/', '/c i/', '/ci\t/', '/' + 'x'.repeat(511) + '/', '/*/', '/a?/', '/${aws:username}/', '/é/']) {
      expect(code(() => validateIamPath(bad)), JSON.stringify(bad)).to.equal(2)
    }
  })
  it('checks managed policy ARNs', () => {
    expect(code(() => validatePolicyArn('arn:aws:iam::aws:policy/AdministratorAccess'))).to.equal(undefined)
    expect(code(() => validatePolicyArn('arn:aws:iam::123456789012:policy/team/deploy'))).to.equal(undefined)
    for (const bad of ['AdministratorAccess', 'arn:aws:iam::aws:role/x', 'arn:aws:s3:::bucket', 'arn:aws:iam::12345:policy/x']) expect(code(() => validatePolicyArn(bad)), bad).to.equal(2)
  })
  it('userOptionsFromFlags: defaults and exit 2 on bad input', () => {
    expect(userOptionsFromFlags({bucket: 'acme-state'})).to.include({user: 'pulumi', bucket: 'acme-state', adopt: false, dryRun: false})
    expect(code(() => userOptionsFromFlags({}))).to.equal(2)
    expect(code(() => userOptionsFromFlags({bucket: 'Bad_Bucket'}))).to.equal(2)
    expect(code(() => userOptionsFromFlags({bucket: 'acme-state', 'attach-policy': ['nope']}))).to.equal(2)
    expect(code(() => userOptionsFromFlags({bucket: 'acme-state', 'permissions-boundary': 'nope'}))).to.equal(2)
    expect(code(() => userOptionsFromFlags({bucket: 'acme-state', prefix: 'a*'}))).to.equal(2)
    expect(code(() => userOptionsFromFlags({bucket: 'acme-state', 'kms-key': 'not a key'}))).to.equal(2)
  })
})

describe('ensureUser: bad input makes no request', () => {
  it('throws exit 2 before any AWS call (nock sees nothing)', async () => {
    let requests = 0
    const scope = nock(ENDPOINT)
      .persist()
      .post(/.*/)
      .reply(() => {
        requests++
        return [500, '']
      })
      .get(/.*/)
      .reply(() => {
        requests++
        return [500, '']
      })
    const ctx = createAwsContext({region: 'us-east-1', endpoint: ENDPOINT, credentials: creds, maxAttempts: 1})
    const cases: Partial<UserOptions>[] = [{user: 'bad name'}, {path: 'ci'}, {path: '/*/'}, {bucket: 'NO'}, {attachPolicies: ['x']}, {prefix: 'a*'}]
    for (const c of cases) {
      const err = await ensureUser(ctx, {user: 'pulumi', bucket: 'acme-state', ...c}).catch((e: unknown) => e)
      expect(err, JSON.stringify(c)).to.be.instanceOf(PsbError)
      expect((err as PsbError).exitCode, JSON.stringify(c)).to.equal(2)
    }
    expect(requests).to.equal(0)
    scope.persist(false)
  })
})

/** A tiny AWS query-protocol fake (STS + IAM on one endpoint) for nock. */
function xml(action: string, result: string): string {
  const ns = action === 'GetCallerIdentity' ? 'https://sts.amazonaws.com/doc/2011-06-15/' : 'https://iam.amazonaws.com/doc/2010-05-08/'
  return `<${action}Response xmlns="${ns}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></${action}Response>`
}
function errorXml(codeName: string, message: string): string {
  return `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>${codeName}</Code><Message>${message}</Message></Error><RequestId>r</RequestId></ErrorResponse>`
}
/** nock 15 gives a one-argument reply function the fetch Request. */
const actionOf = async (req: unknown): Promise<string> => new URLSearchParams(await (req as Request).clone().text()).get('Action') ?? ''

describe('ensureUser: throttling is retried', () => {
  it('retries Throttling on CreateUser and PutUserPolicy with backoff (the SDK\'s standard retry) and succeeds', async function () {
    this.timeout(30000)
    const seen: string[] = []
    let createAttempts = 0
    let putAttempts = 0
    nock(ENDPOINT)
      .persist()
      .post('/')
      .reply(async (req: unknown) => {
        const action = await actionOf(req)
        seen.push(action)
        switch (action) {
          case 'GetCallerIdentity':
            return [200, xml(action, `<Arn>arn:aws:iam::${ACCOUNT}:user/admin</Arn><UserId>AIDAADMIN</UserId><Account>${ACCOUNT}</Account>`)]
          case 'GetUser':
            return [404, errorXml('NoSuchEntity', 'The user with name pulumi cannot be found.')]
          case 'CreateUser':
            if (++createAttempts <= 2) return [400, errorXml('Throttling', 'Rate exceeded')]
            return [200, xml(action, `<User><Path>/</Path><UserName>pulumi</UserName><UserId>AIDAPULUMI</UserId><Arn>arn:aws:iam::${ACCOUNT}:user/pulumi</Arn><CreateDate>2026-11-26T00:00:00Z</CreateDate></User>`)]
          case 'PutUserPolicy':
            if (++putAttempts <= 1) return [400, errorXml('Throttling', 'Rate exceeded')]
            return [200, xml(action, '')]
          default:
            return [400, errorXml('InvalidAction', `unexpected ${action}`)]
        }
      })
    const ctx = createAwsContext({region: 'us-east-1', endpoint: ENDPOINT, credentials: creds, maxAttempts: 5})
    const r = await ensureUser(ctx, {user: 'pulumi', bucket: 'acme-state', kmsKeyArn: ''})
    expect(createAttempts).to.equal(3)
    expect(putAttempts).to.equal(2)
    expect(seen).to.deep.equal(['GetCallerIdentity', 'GetUser', 'CreateUser', 'CreateUser', 'CreateUser', 'PutUserPolicy', 'PutUserPolicy'])
    expect(r.changes.map((c) => [c.item, c.status])).to.deep.equal([
      ['user pulumi', 'created'],
      [`inline policy ${STATE_POLICY_NAME}`, 'created'],
    ])
    expect(r.policy).to.deep.equal(buildStatePolicy({bucket: 'acme-state', userArn: `arn:aws:iam::${ACCOUNT}:user/pulumi`}))
    nock.cleanAll()
  })

  it('gives up after the attempts and names the action when throttling does not stop', async function () {
    this.timeout(30000)
    nock(ENDPOINT)
      .persist()
      .post('/')
      .reply(async (req: unknown) => {
        const action = await actionOf(req)
        if (action === 'GetCallerIdentity') return [200, xml(action, `<Arn>arn:aws:iam::${ACCOUNT}:user/admin</Arn><UserId>AIDAADMIN</UserId><Account>${ACCOUNT}</Account>`)]
        return [400, errorXml('Throttling', 'Rate exceeded')]
      })
    const ctx = createAwsContext({region: 'us-east-1', endpoint: ENDPOINT, credentials: creds, maxAttempts: 2})
    const err = (await ensureUser(ctx, {user: 'pulumi', bucket: 'acme-state', kmsKeyArn: ''}).catch((e: unknown) => e)) as PsbError
    expect(err).to.be.instanceOf(PsbError)
    expect(err.message).to.include('iam:GetUser')
    expect(err.message).to.include('Throttling')
    nock.cleanAll()
  })
})

describe('psb user create (CLI): bad input → exit 2, no request', () => {
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

  const env = () => ({AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey, AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true', PSB_MAX_ATTEMPTS: '1'})

  for (const [what, args] of [
    ['a bad user name', ['--user', 'no spaces please']],
    ['a bad path', ['--path', 'ci']],
    ['a wildcard path', ['--path', '/*/']],
    ['a bad policy ARN', ['--attach-policy', 'AdministratorAccess']],
    ['a bad account id', ['--account-id', '42']],
    ['a missing bucket', null],
  ] as const) {
    it(`${what}`, async () => {
      server.requests = 0
      const base = args === null ? [] : ['--bucket', 'acme-state', ...args]
      const r = await runPsb(['user', 'create', ...base, '--endpoint', server.endpoint, '--json'], home, {env: env()})
      expect(r.code, r.stderr).to.equal(2)
      expect(server.requests).to.equal(0)
      const doc = JSON.parse(r.stdout) as {error: {exitCode: number; message: string}}
      expect(doc.error.exitCode).to.equal(2)
    })
  }
})

describe('ensureUser: permissions boundary (nock: moto keeps no boundary for users)', () => {
  const arn = `arn:aws:iam::${ACCOUNT}:user/pulumi`
  const boundary = `arn:aws:iam::${ACCOUNT}:policy/pulumi-boundary`
  const policy = buildStatePolicy({bucket: 'acme-state', userArn: arn})

  /** A fake IAM holding one psb-managed user with `had` as its boundary (undefined: no user). */
  function fakeIam(had: string | null | undefined): {requests: Array<{action: string; params: URLSearchParams}>} {
    const state = {requests: [] as Array<{action: string; params: URLSearchParams}>}
    nock(ENDPOINT)
      .persist()
      .post('/')
      .reply(async (req: unknown) => {
        const params = new URLSearchParams(await (req as Request).clone().text())
        const action = params.get('Action') ?? ''
        state.requests.push({action, params})
        const userXml = `<User><Path>/</Path><UserName>pulumi</UserName><UserId>AIDAPULUMI</UserId><Arn>${arn}</Arn><CreateDate>2026-11-26T00:00:00Z</CreateDate>${
          had ? `<PermissionsBoundary><PermissionsBoundaryType>Policy</PermissionsBoundaryType><PermissionsBoundaryArn>${had}</PermissionsBoundaryArn></PermissionsBoundary>` : ''
        }<Tags><member><Key>managed-by</Key><Value>psb</Value></member><member><Key>psb-bucket</Key><Value>acme-state</Value></member></Tags></User>`
        switch (action) {
          case 'GetCallerIdentity':
            return [200, xml(action, `<Arn>arn:aws:iam::${ACCOUNT}:user/admin</Arn><UserId>AIDAADMIN</UserId><Account>${ACCOUNT}</Account>`)]
          case 'GetUser':
            return had === undefined ? [404, errorXml('NoSuchEntity', 'The user with name pulumi cannot be found.')] : [200, xml(action, userXml)]
          case 'CreateUser':
            return [200, xml(action, userXml)]
          case 'GetUserPolicy':
            return [200, xml(action, `<UserName>pulumi</UserName><PolicyName>${STATE_POLICY_NAME}</PolicyName><PolicyDocument>${encodeURIComponent(JSON.stringify(policy))}</PolicyDocument>`)]
          case 'ListAttachedUserPolicies':
            return [200, xml(action, '<AttachedPolicies></AttachedPolicies><IsTruncated>false</IsTruncated>')]
          case 'PutUserPermissionsBoundary':
          case 'PutUserPolicy':
            return [200, xml(action, '')]
          default:
            return [400, errorXml('InvalidAction', `unexpected ${action}`)]
        }
      })
    return state
  }
  const ctx = () => createAwsContext({region: 'us-east-1', endpoint: ENDPOINT, credentials: creds, maxAttempts: 1})
  const mutating = (s: {requests: Array<{action: string}>}) => s.requests.map((r) => r.action).filter((a) => /^(Create|Put|Update|Tag|Attach)/.test(a))

  it('a new user is created with the boundary in CreateUser', async () => {
    const fake = fakeIam(undefined)
    const r = await ensureUser(ctx(), {user: 'pulumi', bucket: 'acme-state', kmsKeyArn: '', permissionsBoundary: boundary})
    const create = fake.requests.find((q) => q.action === 'CreateUser')!
    expect(create.params.get('PermissionsBoundary')).to.equal(boundary)
    expect(create.params.get('Tags.member.1.Key')).to.equal('managed-by')
    expect(r.changes.find((c) => c.item === 'permissions boundary')).to.deep.equal({item: 'permissions boundary', status: 'created', detail: boundary})
  })

  it('an existing user with the same boundary: unchanged, no mutating call', async () => {
    const fake = fakeIam(boundary)
    const r = await ensureUser(ctx(), {user: 'pulumi', bucket: 'acme-state', kmsKeyArn: '', permissionsBoundary: boundary})
    expect(mutating(fake)).to.deep.equal([])
    expect(r.changes.every((c) => c.status === 'unchanged'), JSON.stringify(r.changes)).to.equal(true)
  })

  it('an existing user with another (or no) boundary: PutUserPermissionsBoundary; without the flag the boundary is left alone', async () => {
    let fake = fakeIam(`arn:aws:iam::${ACCOUNT}:policy/old`)
    let r = await ensureUser(ctx(), {user: 'pulumi', bucket: 'acme-state', kmsKeyArn: '', permissionsBoundary: boundary})
    expect(mutating(fake)).to.deep.equal(['PutUserPermissionsBoundary'])
    expect(fake.requests.find((q) => q.action === 'PutUserPermissionsBoundary')!.params.get('PermissionsBoundary')).to.equal(boundary)
    expect(r.changes.find((c) => c.item === 'permissions boundary')?.status).to.equal('updated')
    nock.cleanAll()
    fake = fakeIam(null)
    r = await ensureUser(ctx(), {user: 'pulumi', bucket: 'acme-state', kmsKeyArn: '', permissionsBoundary: boundary})
    expect(mutating(fake)).to.deep.equal(['PutUserPermissionsBoundary'])
    expect(r.changes.find((c) => c.item === 'permissions boundary')?.status).to.equal('created')
    nock.cleanAll()
    fake = fakeIam(`arn:aws:iam::${ACCOUNT}:policy/old`)
    r = await ensureUser(ctx(), {user: 'pulumi', bucket: 'acme-state', kmsKeyArn: ''})
    expect(mutating(fake)).to.deep.equal([])
    expect(r.changes.map((c) => c.item)).to.not.include('permissions boundary')
  })
})
