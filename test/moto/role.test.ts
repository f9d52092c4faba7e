/**
 * `psb role create`'s core (ensureRole) against moto with IAM enforcement on: the role's policy
 * is proven with signed requests made with the role's temporary credentials (AssumeRole from
 * the admin, AssumeRoleWithWebIdentity for the GitHub trust: moto does not check the token, so
 * the trust conditions themselves are proven as data in test/unit/role-trust.test.ts).
 */
import {expect} from 'chai'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {
  S3Client,
  CreateBucketCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3'
import {
  IAMClient,
  CreateAccessKeyCommand,
  CreateOpenIDConnectProviderCommand,
  CreateRoleCommand,
  CreateUserCommand,
  GetOpenIDConnectProviderCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  ListOpenIDConnectProvidersCommand,
  ListRolePoliciesCommand,
  ListRoleTagsCommand,
  ListUsersCommand,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam'
import {STSClient, AssumeRoleCommand, AssumeRoleWithWebIdentityCommand} from '@aws-sdk/client-sts'
import {useMoto, ACCOUNT_ID, ADMIN_USER, type Keys} from '../support/moto.js'
import {rejection} from '../support/errors.js'
import {runPsb, TempHome} from '../support/cli.js'
import {createAwsContext} from '../../src/lib/aws/client.js'
import {STATE_POLICY_NAME, parsePolicyDocument, policiesEquivalent, type PolicyStatement} from '../../src/lib/iam/policy.js'
import {buildRoleStatePolicy} from '../../src/lib/iam/role-policy.js'
import {ensureRole, roleArnFor, type RoleOptions, type RoleResult} from '../../src/lib/iam/role.js'
import {parseTrusts, trustPolicyDocument} from '../../src/lib/iam/trust.js'
import {executeDestroy} from '../../src/lib/destroy/destroy.js'
import {planDestroy} from '../../src/lib/destroy/plan.js'

const BUCKET = 'acme-pulumi-state'
const OTHER = 'someone-elses-bucket'
const MUTATING = /^(iam|s3|sts|kms) (Create|Put|Update|Delete|Attach|Detach|Tag|Untag|Add|Remove)/
const ADMIN_ARN = `arn:aws:iam::${ACCOUNT_ID}:user/${ADMIN_USER}`
const PROVIDER = `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/token.actions.githubusercontent.com`

describe('psb role create core against moto (IAM enforcement on)', () => {
  const moto = useMoto()
  const s3 = (k: Keys) => new S3Client({region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: k, maxAttempts: 1})
  const iam = (k: Keys) => new IAMClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: k, maxAttempts: 1})
  const sts = (k?: Keys) => new STSClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: k ?? {accessKeyId: 'anonymous', secretAccessKey: 'anonymous'}, maxAttempts: 1})
  const adminCtx = () => createAwsContext({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1})
  const outcome = (p: Promise<unknown>) => p.then(() => 'allowed', (e: Error) => e.name)
  const opts = (o: Partial<RoleOptions> = {}): RoleOptions => ({
    role: 'pulumi-state',
    maxSessionSeconds: 3600,
    bucket: BUCKET,
    prefix: 'team-a',
    attachPolicies: [],
    trust: parseTrusts(['github:acme/infra', `aws:${ADMIN_ARN}`]),
    requireMfa: false,
    adopt: false,
    dryRun: false,
    ...o,
  })
  let logDir: string
  beforeEach(async () => {
    logDir = mkdtempSync(join(tmpdir(), 'psb-role-log-'))
    const a = s3(moto.admin)
    await a.send(new CreateBucketCommand({Bucket: BUCKET}))
    await a.send(new PutBucketVersioningCommand({Bucket: BUCKET, VersioningConfiguration: {Status: 'Enabled'}}))
    await a.send(new CreateBucketCommand({Bucket: OTHER}))
    await a.send(new PutObjectCommand({Bucket: OTHER, Key: '.pulumi/meta.yaml', Body: 'version: 1\n'}))
    await a.send(new PutObjectCommand({Bucket: BUCKET, Key: 'team-b/.pulumi/meta.yaml', Body: 'version: 1\n'}))
  })
  afterEach(() => {
    delete process.env.PSB_CALL_LOG
    rmSync(logDir, {recursive: true, force: true})
  })
  async function logged<T>(fn: () => Promise<T>): Promise<{value: T; mutating: string[]}> {
    const file = join(logDir, `calls-${Math.random().toString(36).slice(2)}.log`)
    process.env.PSB_CALL_LOG = file
    try {
      const value = await fn()
      let text = ''
      try {
        text = readFileSync(file, 'utf8')
      } catch {}
      return {value, mutating: text.split('\n').filter((l) => MUTATING.test(l))}
    } finally {
      delete process.env.PSB_CALL_LOG
    }
  }
  async function assume(roleArn: string): Promise<Keys> {
    const c = (await sts(moto.admin).send(new AssumeRoleCommand({RoleArn: roleArn, RoleSessionName: 'psb-test'}))).Credentials!
    return {accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken!} as Keys
  }

  it('creates the role, its trust, its tags and the GitHub provider; its temporary credentials do Pulumi\'s work under the prefix and nothing else', async () => {
    const {value: r, mutating} = await logged(() => ensureRole(adminCtx(), opts()))
    expect(mutating).to.deep.equal(['iam CreateOpenIDConnectProvider', 'iam CreateRole', 'iam PutRolePolicy'])
    expect(r.roleArn).to.equal(`arn:aws:iam::${ACCOUNT_ID}:role/pulumi-state`)
    expect(r.oidcProviderArn).to.equal(PROVIDER)
    expect(r.changes.map((c) => `${c.item}: ${c.status}`)).to.deep.equal([
      'OIDC provider token.actions.githubusercontent.com: created',
      'role pulumi-state: created',
      'trust policy: created',
      `inline policy ${STATE_POLICY_NAME}: created`,
    ])
    const admin = iam(moto.admin)
    const role = (await admin.send(new GetRoleCommand({RoleName: 'pulumi-state'}))).Role!
    expect(role.MaxSessionDuration).to.equal(3600)
    expect(policiesEquivalent(role.AssumeRolePolicyDocument!, trustPolicyDocument(opts().trust, {partition: 'aws', accountId: ACCOUNT_ID}))).to.equal(true)
    const tags = (await admin.send(new ListRoleTagsCommand({RoleName: 'pulumi-state'}))).Tags
    expect(tags).to.deep.include.members([
      {Key: 'managed-by', Value: 'psb'},
      {Key: 'psb-bucket', Value: BUCKET},
      {Key: 'psb-prefix', Value: 'team-a'},
    ])
    expect(tags!.map((t) => t.Key)).to.not.include('psb-require-mfa')
    const stored = (await admin.send(new GetRolePolicyCommand({RoleName: 'pulumi-state', PolicyName: STATE_POLICY_NAME}))).PolicyDocument!
    expect(policiesEquivalent(stored, buildRoleStatePolicy({bucket: BUCKET, prefix: 'team-a', roleArn: r.roleArn}))).to.equal(true)
    const provider = await admin.send(new GetOpenIDConnectProviderCommand({OpenIDConnectProviderArn: PROVIDER}))
    expect(provider.ClientIDList).to.deep.equal(['sts.amazonaws.com'])
    expect(provider.Tags).to.deep.include({Key: 'managed-by', Value: 'psb'})
    expect(await roleArnFor(adminCtx(), 'pulumi-state')).to.equal(r.roleArn)

    const k = await assume(r.roleArn)
    const c = s3(k)
    const me = iam(k)
    // ALLOWED: Pulumi's needs under team-a/.pulumi/, and verify's reads
    const allowed = [
      () => c.send(new PutObjectCommand({Bucket: BUCKET, Key: 'team-a/.pulumi/meta.yaml', Body: 'version: 1\n'})),
      () => c.send(new PutObjectCommand({Bucket: BUCKET, Key: 'team-a/.pulumi/stacks/proj/dev.json', Body: '{}'})),
      () => c.send(new ListObjectsV2Command({Bucket: BUCKET, Prefix: 'team-a/.pulumi/stacks/', Delimiter: '/'})),
      () => c.send(new HeadObjectCommand({Bucket: BUCKET, Key: 'team-a/.pulumi/meta.yaml'})),
      () => c.send(new GetObjectCommand({Bucket: BUCKET, Key: 'team-a/.pulumi/meta.yaml'})),
      () => c.send(new CopyObjectCommand({Bucket: BUCKET, Key: 'team-a/.pulumi/stacks/proj/dev.json.bak', CopySource: `${BUCKET}/team-a/.pulumi/stacks/proj/dev.json`})),
      () => c.send(new DeleteObjectCommand({Bucket: BUCKET, Key: 'team-a/.pulumi/stacks/proj/dev.json.bak'})),
      () => c.send(new GetBucketVersioningCommand({Bucket: BUCKET})),
      () => me.send(new GetRoleCommand({RoleName: 'pulumi-state'})),
      () => me.send(new ListRolePoliciesCommand({RoleName: 'pulumi-state'})),
    ]
    for (const [i, call] of allowed.entries()) expect(await outcome(call()), `allowed #${i}`).to.equal('allowed')
    const listed = await c.send(new ListObjectsV2Command({Bucket: BUCKET, Prefix: 'team-a/.pulumi/stacks/', Delimiter: '/'}))
    expect(listed.CommonPrefixes?.map((p) => p.Prefix)).to.deep.equal(['team-a/.pulumi/stacks/proj/'])
    // DENIED: another prefix, bucket settings, IAM, another bucket, key creation
    const denied = [
      () => c.send(new PutObjectCommand({Bucket: BUCKET, Key: 'team-b/.pulumi/meta.yaml', Body: 'x'})),
      () => c.send(new GetObjectCommand({Bucket: BUCKET, Key: 'team-b/.pulumi/meta.yaml'})),
      () => c.send(new ListObjectsV2Command({Bucket: BUCKET, Prefix: 'team-b/.pulumi/'})),
      () => c.send(new PutBucketVersioningCommand({Bucket: BUCKET, VersioningConfiguration: {Status: 'Suspended'}})),
      () => c.send(new PutBucketPolicyCommand({Bucket: BUCKET, Policy: '{}'})),
      () => c.send(new GetObjectCommand({Bucket: OTHER, Key: '.pulumi/meta.yaml'})),
      () => c.send(new PutObjectCommand({Bucket: OTHER, Key: '.pulumi/meta.yaml', Body: 'x'})),
      () => me.send(new ListUsersCommand({})),
      () => me.send(new CreateUserCommand({UserName: 'sneaky'})),
      () => me.send(new CreateAccessKeyCommand({UserName: ADMIN_USER})),
      () => me.send(new PutRolePolicyCommand({RoleName: 'pulumi-state', PolicyName: 'more', PolicyDocument: JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Action: '*', Resource: '*'}]})})),
      () => me.send(new UpdateAssumeRolePolicyCommand({RoleName: 'pulumi-state', PolicyDocument: JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Principal: {AWS: '*'}, Action: 'sts:AssumeRole'}]})})),
    ]
    for (const [i, call] of denied.entries()) expect(await outcome(call()), `denied #${i}`).to.equal('AccessDenied')
  })

  it('--require-mfa: the trust refuses an AWS principal without MFA (the launcher evaluates the Bool condition), and the role is tagged psb-require-mfa=true', async () => {
    const r = await ensureRole(adminCtx(), opts({requireMfa: true}))
    const tags = (await iam(moto.admin).send(new ListRoleTagsCommand({RoleName: 'pulumi-state'}))).Tags
    expect(tags).to.deep.include({Key: 'psb-require-mfa', Value: 'true'})
    expect(await outcome(assume(r.roleArn))).to.equal('AccessDenied')
    // A later run without --require-mfa keeps it (never weakens): no write at all
    const {value: again, mutating} = await logged(() => ensureRole(adminCtx(), opts()))
    expect(mutating).to.deep.equal([])
    expect(again.requireMfa).to.equal(true)
    expect(await outcome(assume(r.roleArn))).to.equal('AccessDenied')
  })

  it('a second run makes 0 writes; a trust statement psb did not write is kept; --dry-run writes nothing', async () => {
    const first = await ensureRole(adminCtx(), opts())
    const foreign: PolicyStatement = {Sid: 'LambdaCanAssume', Effect: 'Allow', Principal: {Service: 'lambda.amazonaws.com'}, Action: 'sts:AssumeRole'}
    const withForeign = {...first.trustPolicy, Statement: [...(first.trustPolicy.Statement as PolicyStatement[]), foreign]}
    await iam(moto.admin).send(new UpdateAssumeRolePolicyCommand({RoleName: 'pulumi-state', PolicyDocument: JSON.stringify(withForeign)}))

    const {value: again, mutating} = await logged(() => ensureRole(adminCtx(), opts()))
    expect(mutating).to.deep.equal([])
    expect(again.changes.every((c) => c.status === 'unchanged'), JSON.stringify(again.changes)).to.equal(true)
    const trust = parsePolicyDocument((await iam(moto.admin).send(new GetRoleCommand({RoleName: 'pulumi-state'}))).Role!.AssumeRolePolicyDocument!)
    expect(trust.Statement).to.deep.include(foreign)

    // A new entry: only the trust is written, the foreign statement stays
    const {value: more, mutating: m2} = await logged(() => ensureRole(adminCtx(), opts({trust: parseTrusts(['github:acme/infra:environment:prod']), dryRun: true})))
    expect(m2).to.deep.equal([])
    expect(more.changes.find((c) => c.item === 'trust policy')).to.deep.include({status: 'planned'})
    const {mutating: m3} = await logged(() => ensureRole(adminCtx(), opts({trust: parseTrusts(['github:acme/infra:environment:prod'])})))
    expect(m3).to.deep.equal(['iam UpdateAssumeRolePolicy'])
    const after = parsePolicyDocument((await iam(moto.admin).send(new GetRoleCommand({RoleName: 'pulumi-state'}))).Role!.AssumeRolePolicyDocument!)
    expect(after.Statement).to.have.length(4)
    expect(after.Statement).to.deep.include(foreign)
  })

  it('--dry-run on an empty account: every item planned, no write, nothing exists afterwards', async () => {
    const {value: r, mutating} = await logged(() => ensureRole(adminCtx(), opts({dryRun: true, attachPolicies: ['arn:aws:iam::aws:policy/ReadOnlyAccess']})))
    expect(mutating).to.deep.equal([])
    expect(r.changes.map((c) => c.status)).to.deep.equal(['planned', 'planned', 'planned', 'planned', 'planned'])
    expect(await outcome(iam(moto.admin).send(new GetRoleCommand({RoleName: 'pulumi-state'})))).to.equal('NoSuchEntityException')
    expect((await iam(moto.admin).send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList).to.deep.equal([])
  })

  it('an existing role psb did not tag needs --adopt; adopting keeps its trust statements and policies', async () => {
    const foreignTrust = {Version: '2012-10-17', Statement: [{Sid: 'Ops', Effect: 'Allow', Principal: {AWS: `arn:aws:iam::${ACCOUNT_ID}:root`}, Action: 'sts:AssumeRole'}]}
    await iam(moto.admin).send(new CreateRoleCommand({RoleName: 'deploy', AssumeRolePolicyDocument: JSON.stringify(foreignTrust)}))
    await iam(moto.admin).send(new PutRolePolicyCommand({RoleName: 'deploy', PolicyName: 'theirs', PolicyDocument: JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*'}]})}))
    const {value: e, mutating} = await logged(() => rejection(ensureRole(adminCtx(), opts({role: 'deploy'}))))
    expect(e.code).to.equal('RoleNotManaged')
    expect(e.exitCode).to.equal(1)
    expect(e.hint).to.match(/--adopt/)
    expect(mutating).to.deep.equal([])

    const r = await ensureRole(adminCtx(), opts({role: 'deploy', adopt: true}))
    expect(r.adopted).to.equal(true)
    expect(r.changes[1]).to.deep.include({item: 'role deploy', status: 'updated'})
    const role = (await iam(moto.admin).send(new GetRoleCommand({RoleName: 'deploy'}))).Role!
    const trust = parsePolicyDocument(role.AssumeRolePolicyDocument!).Statement as PolicyStatement[]
    expect(trust[0]).to.deep.equal(foreignTrust.Statement[0])
    expect(trust).to.have.length(3)
    expect((await iam(moto.admin).send(new ListRolePoliciesCommand({RoleName: 'deploy'}))).PolicyNames).to.have.members(['theirs', STATE_POLICY_NAME])
    const {mutating: again} = await logged(() => ensureRole(adminCtx(), opts({role: 'deploy'})))
    expect(again).to.deep.equal([])
  })

  it('reuses an existing GitHub provider (not tagged by psb), and never widens a role limited to a prefix', async () => {
    await iam(moto.admin).send(new CreateOpenIDConnectProviderCommand({Url: 'https://token.actions.githubusercontent.com', ClientIDList: ['sts.amazonaws.com'], ThumbprintList: ['6938fd4d98bab03faadb97b34396831e3780aea1']}))
    const {value: r, mutating} = await logged(() => ensureRole(adminCtx(), opts()))
    expect(mutating).to.deep.equal(['iam CreateRole', 'iam PutRolePolicy'])
    expect(r.changes[0]).to.deep.include({item: 'OIDC provider token.actions.githubusercontent.com', status: 'unchanged'})
    expect((await iam(moto.admin).send(new GetOpenIDConnectProviderCommand({OpenIDConnectProviderArn: PROVIDER}))).Tags ?? []).to.deep.equal([])

    const {value: e, mutating: m2} = await logged(() => rejection(ensureRole(adminCtx(), opts({prefix: undefined}))))
    expect(e.code).to.equal('ScopeWidening')
    expect(e.exitCode).to.equal(2)
    expect(m2).to.deep.equal([])
  })

  it('a new role with no --trust, or with --path for a role that has another, is exit 2 with no write', async () => {
    const {value: e, mutating} = await logged(() => rejection(ensureRole(adminCtx(), opts({trust: []}))))
    expect(e.code).to.equal('TrustMissing')
    expect(e.exitCode).to.equal(2)
    expect(mutating).to.deep.equal([])
    await ensureRole(adminCtx(), opts({path: '/ci/'}))
    const e2 = await rejection(ensureRole(adminCtx(), opts({path: '/other/'})))
    expect(e2.code).to.equal('RolePathFixed')
    const e3 = await rejection(roleArnFor(adminCtx(), 'no-such-role'))
    expect(e3.code).to.equal('RoleNotFound')
  })

  it('AssumeRoleWithWebIdentity (the GitHub trust; moto does not check the token) gives credentials that write state under the prefix', async () => {
    const r = await ensureRole(adminCtx(), opts({trust: parseTrusts(['github:acme/infra:ref:refs/heads/main'])}))
    const got = await sts().send(new AssumeRoleWithWebIdentityCommand({RoleArn: r.roleArn, RoleSessionName: 'github-actions', WebIdentityToken: 'header.payload.signature'}))
    const k = {accessKeyId: got.Credentials!.AccessKeyId!, secretAccessKey: got.Credentials!.SecretAccessKey!, sessionToken: got.Credentials!.SessionToken!} as Keys
    await s3(k).send(new PutObjectCommand({Bucket: BUCKET, Key: 'team-a/.pulumi/meta.yaml', Body: 'version: 1\n'}))
    expect(await outcome(s3(k).send(new PutObjectCommand({Bucket: BUCKET, Key: 'team-b/.pulumi/meta.yaml', Body: 'x'})))).to.equal('AccessDenied')
  })

  it('via the CLI: --json result, a second run prints "up to date" with 0 writes, a bad item among repeated flags is exit 2 with no AWS call', async () => {
    const home = new TempHome()
    try {
      const env = (log: string) => ({
        AWS_ACCESS_KEY_ID: moto.admin.accessKeyId,
        AWS_SECRET_ACCESS_KEY: moto.admin.secretAccessKey,
        AWS_REGION: 'us-east-1',
        PSB_CALL_LOG: join(logDir, log),
      })
      const calls = (log: string) => {
        try {
          return readFileSync(join(logDir, log), 'utf8').split('\n').filter(Boolean)
        } catch {
          return []
        }
      }
      const args = ['role', 'create', '--bucket', BUCKET, '--prefix', 'team-a', '--trust', 'github:acme/infra:ref:refs/heads/main', '--trust', `aws:${ADMIN_ARN}`, '--max-session', '2h', '--endpoint', moto.endpoint]
      const first = await runPsb([...args, '--json'], home, {env: env('1.log')})
      expect(first.code, first.stderr).to.equal(0)
      const r = JSON.parse(first.stdout) as RoleResult
      expect(r.roleArn).to.equal(`arn:aws:iam::${ACCOUNT_ID}:role/pulumi-state`)
      expect(r.maxSessionSeconds).to.equal(7200)
      expect(calls('1.log').filter((l) => MUTATING.test(l))).to.deep.equal(['iam CreateOpenIDConnectProvider', 'iam CreateRole', 'iam PutRolePolicy'])

      const second = await runPsb(args, home, {env: env('2.log')})
      expect(second.code, second.stderr).to.equal(0)
      expect(second.stdout).to.match(/role pulumi-state\s+unchanged/)
      expect(second.stdout).to.match(/Nothing to change: the role is up to date\./)
      expect(second.stdout).to.match(/sts:AssumeRoleWithWebIdentity by Federated arn:aws:iam::123456789012:oidc-provider\/token.actions.githubusercontent.com/)
      expect(second.stdout).to.match(/if StringEquals token.actions.githubusercontent.com:sub repo:acme\/infra:ref:refs\/heads\/main/)
      expect(calls('2.log').filter((l) => MUTATING.test(l))).to.deep.equal([])

      for (const bad of [
        ['--trust', 'github:acme/infra', '--trust', 'github:*'],
        ['--trust', 'github:acme/infra', '--attach-policy', 'arn:aws:iam::aws:policy/ReadOnlyAccess', '--attach-policy', 'nope'],
        ['--trust', 'github:acme/infra', '--max-session', '30m'],
      ]) {
        const r3 = await runPsb(['role', 'create', '--bucket', BUCKET, ...bad, '--endpoint', moto.endpoint], home, {env: env('3.log')})
        expect(r3.code, bad.join(' ')).to.equal(2)
        expect(calls('3.log'), bad.join(' ')).to.deep.equal([])
      }
      const dry = await runPsb([...args.slice(0, 2), '--role', 'other', ...args.slice(2), '--dry-run'], home, {env: env('4.log')})
      expect(dry.code, dry.stderr).to.equal(0)
      expect(dry.stdout).to.match(/Dry run: nothing was changed/)
      expect(calls('4.log').filter((l) => MUTATING.test(l))).to.deep.equal([])
    } finally {
      home.cleanup()
    }
  })

  it('psb destroy finds what role create made (role, inline policy, the OIDC provider psb created) and takes it down; a provider psb did not create stays', async () => {
    await ensureRole(adminCtx(), opts())
    const ctx = adminCtx()
    const {plan, first} = await planDestroy(ctx, {bucket: BUCKET, prefix: 'team-a', region: 'us-east-1', keepBucket: true, env: {HOME: logDir}})
    expect(plan.principals.map((p) => [p.kind, p.name, p.inlinePolicies])).to.deep.equal([['role', 'pulumi-state', [STATE_POLICY_NAME]]])
    expect(plan.oidcProviders).to.deep.equal([PROVIDER])
    await executeDestroy(ctx, plan, {bucket: BUCKET, prefix: 'team-a', region: 'us-east-1', keepBucket: true, env: {HOME: logDir}}, first)
    expect(await outcome(iam(moto.admin).send(new GetRoleCommand({RoleName: 'pulumi-state'})))).to.equal('NoSuchEntityException')
    expect((await iam(moto.admin).send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList).to.deep.equal([])

    // A provider the account already had is reused by role create, and left by destroy.
    await iam(moto.admin).send(new CreateOpenIDConnectProviderCommand({Url: 'https://token.actions.githubusercontent.com', ClientIDList: ['sts.amazonaws.com'], ThumbprintList: ['6938fd4d98bab03faadb97b34396831e3780aea1']}))
    await ensureRole(adminCtx(), opts())
    const again = await planDestroy(ctx, {bucket: BUCKET, prefix: 'team-a', region: 'us-east-1', keepBucket: true, env: {HOME: logDir}})
    expect(again.plan.oidcProviders).to.deep.equal([])
  })
})
