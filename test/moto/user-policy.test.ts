/**
 * `psb user create` against moto with IAM enforcement on: the policy is proven with real
 * signed requests made with a key of the created user.
 *
 * Stock moto neither evaluates `StringLike` on `s3:prefix` nor maps the bucket-settings
 * reads to their own IAM actions; test/support/moto_launcher.py adds both, so the prefix
 * limit on ListBucket and the settings-read statement are proven here too.
 */
import {expect} from 'chai'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {
  S3Client,
  CreateBucketCommand,
  PutBucketVersioningCommand,
  PutBucketEncryptionCommand,
  PutBucketTaggingCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  GetBucketVersioningCommand,
  GetBucketEncryptionCommand,
  GetBucketTaggingCommand,
  GetBucketLocationCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketPolicyCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
} from '@aws-sdk/client-s3'
import {
  IAMClient,
  CreateUserCommand,
  CreateAccessKeyCommand,
  ListAccessKeysCommand,
  DeleteAccessKeyCommand,
  UpdateAccessKeyCommand,
  GetUserCommand,
  ListUsersCommand,
  PutUserPolicyCommand,
  GetUserPolicyCommand,
  CreatePolicyCommand,
  AttachUserPolicyCommand,
  ListAttachedUserPoliciesCommand,
  ListUserTagsCommand,
  ListUserPoliciesCommand,
} from '@aws-sdk/client-iam'
import {useMoto, ACCOUNT_ID, ADMIN_USER, type Keys} from '../support/moto.js'
import {runPsb, TempHome} from '../support/cli.js'
import {createAwsContext} from '../../src/lib/aws/client.js'
import {PsbError} from '../../src/lib/errors.js'
import {buildStatePolicy, parsePolicyDocument, policiesEquivalent, SID, STATE_POLICY_NAME, type PolicyStatement} from '../../src/lib/iam/policy.js'
import {ensureUser, type UserResult} from '../../src/lib/iam/user.js'

const BUCKET = 'acme-pulumi-state'
const OTHER = 'someone-elses-bucket'
const MUTATING = /^(iam|s3|sts) (Create|Put|Update|Delete|Attach|Detach|Tag|Untag)/

describe('psb user create against moto (IAM enforcement on)', () => {
  const moto = useMoto()
  const s3 = (k: Keys) => new S3Client({region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: k, maxAttempts: 1})
  const iam = (k: Keys) => new IAMClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: k, maxAttempts: 1})
  const adminCtx = () => createAwsContext({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1})
  const denied = async (p: Promise<unknown>): Promise<string> => {
    const outcome = await p.then(
      () => 'allowed',
      (e: Error) => e.name,
    )
    return outcome
  }
  let logDir: string
  beforeEach(() => {
    logDir = mkdtempSync(join(tmpdir(), 'psb-user-log-'))
  })
  afterEach(() => {
    delete process.env.PSB_CALL_LOG
    rmSync(logDir, {recursive: true, force: true})
  })
  /** Runs fn with PSB_CALL_LOG set (clients made inside fn log their calls); returns the calls. */
  async function logged<T>(fn: () => Promise<T>): Promise<{value: T; calls: string[]}> {
    const file = join(logDir, `calls-${Math.random().toString(36).slice(2)}.log`)
    process.env.PSB_CALL_LOG = file
    try {
      const value = await fn()
      let text = ''
      try {
        text = readFileSync(file, 'utf8')
      } catch {}
      return {value, calls: text.split('\n').filter(Boolean)}
    } finally {
      delete process.env.PSB_CALL_LOG
    }
  }

  async function setUpBuckets(): Promise<void> {
    const a = s3(moto.admin)
    await a.send(new CreateBucketCommand({Bucket: BUCKET}))
    await a.send(new PutBucketVersioningCommand({Bucket: BUCKET, VersioningConfiguration: {Status: 'Enabled'}}))
    await a.send(new PutBucketEncryptionCommand({Bucket: BUCKET, ServerSideEncryptionConfiguration: {Rules: [{ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'AES256'}}]}}))
    await a.send(new PutBucketTaggingCommand({Bucket: BUCKET, Tagging: {TagSet: [{Key: 'managed-by', Value: 'psb'}]}}))
    await a.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: BUCKET,
        LifecycleConfiguration: {Rules: [{ID: 'noncurrent', Status: 'Enabled', Filter: {Prefix: ''}, NoncurrentVersionExpiration: {NoncurrentDays: 90}}]},
      }),
    )
    await a.send(
      new PutBucketPolicyCommand({
        Bucket: BUCKET,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{Sid: 'TlsOnly', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`], Condition: {Bool: {'aws:SecureTransport': 'false'}}}],
        }),
      }),
    )
    await a.send(new CreateBucketCommand({Bucket: OTHER}))
    await a.send(new PutObjectCommand({Bucket: OTHER, Key: '.pulumi/meta.yaml', Body: 'version: 1\n'}))
  }

  async function keyOf(user: string): Promise<Keys> {
    const k = (await iam(moto.admin).send(new CreateAccessKeyCommand({UserName: user}))).AccessKey!
    return {accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey!}
  }

  /** A Pulumi-like round trip under `root` (`''` or `team-a/`): list, put, head, get, copy, delete. */
  async function stateRoundTrip(k: Keys, root: string): Promise<void> {
    const c = s3(k)
    const meta = `${root}.pulumi/meta.yaml`
    await c.send(new PutObjectCommand({Bucket: BUCKET, Key: meta, Body: 'version: 1\n'}))
    await c.send(new PutObjectCommand({Bucket: BUCKET, Key: `${root}.pulumi/stacks/proj/dev.json`, Body: '{}'}))
    const listed = await c.send(new ListObjectsV2Command({Bucket: BUCKET, Prefix: `${root}.pulumi/stacks/`, Delimiter: '/'}))
    expect(listed.CommonPrefixes?.map((p) => p.Prefix)).to.deep.equal([`${root}.pulumi/stacks/proj/`])
    await c.send(new HeadObjectCommand({Bucket: BUCKET, Key: meta}))
    const got = await c.send(new GetObjectCommand({Bucket: BUCKET, Key: meta}))
    expect(await got.Body!.transformToString()).to.equal('version: 1\n')
    await c.send(new CopyObjectCommand({Bucket: BUCKET, Key: `${root}.pulumi/stacks/proj/dev.json.bak`, CopySource: `${BUCKET}/${root}.pulumi/stacks/proj/dev.json`}))
    await c.send(new DeleteObjectCommand({Bucket: BUCKET, Key: `${root}.pulumi/stacks/proj/dev.json.bak`}))
    await c.send(new DeleteObjectCommand({Bucket: BUCKET, Key: `${root}.pulumi/stacks/proj/dev.json`}))
  }

  /** The bucket settings `psb verify` reads. */
  async function readSettings(k: Keys): Promise<void> {
    const c = s3(k)
    expect((await c.send(new GetBucketVersioningCommand({Bucket: BUCKET}))).Status).to.equal('Enabled')
    const enc = await c.send(new GetBucketEncryptionCommand({Bucket: BUCKET}))
    expect(enc.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm).to.equal('AES256')
    expect((await c.send(new GetBucketTaggingCommand({Bucket: BUCKET}))).TagSet).to.deep.equal([{Key: 'managed-by', Value: 'psb'}])
    await c.send(new GetBucketLocationCommand({Bucket: BUCKET}))
    expect((await c.send(new GetBucketLifecycleConfigurationCommand({Bucket: BUCKET}))).Rules).to.have.length(1)
    expect(JSON.parse((await c.send(new GetBucketPolicyCommand({Bucket: BUCKET}))).Policy!).Statement[0].Sid).to.equal('TlsOnly')
  }

  /** The user manages its own keys (UserName explicit, as psb keys rotate does), and nobody else's. */
  async function selfServiceKeys(k: Keys, user: string): Promise<void> {
    const c = iam(k)
    expect((await c.send(new GetUserCommand({UserName: user}))).User?.UserName).to.equal(user)
    expect((await c.send(new ListAccessKeysCommand({UserName: user}))).AccessKeyMetadata).to.have.length(1)
    const second = (await c.send(new CreateAccessKeyCommand({UserName: user}))).AccessKey!
    await c.send(new UpdateAccessKeyCommand({UserName: user, AccessKeyId: second.AccessKeyId!, Status: 'Inactive'}))
    await c.send(new DeleteAccessKeyCommand({UserName: user, AccessKeyId: second.AccessKeyId!}))
    expect((await c.send(new ListAccessKeysCommand({UserName: user}))).AccessKeyMetadata).to.have.length(1)
    // psb verify's self-inspection
    expect((await c.send(new ListUserPoliciesCommand({UserName: user}))).PolicyNames).to.include(STATE_POLICY_NAME)
    await c.send(new ListAttachedUserPoliciesCommand({UserName: user}))
    await c.send(new GetUserPolicyCommand({UserName: user, PolicyName: STATE_POLICY_NAME}))
    // ...and nobody else's
    expect(await denied(c.send(new CreateAccessKeyCommand({UserName: ADMIN_USER})))).to.equal('AccessDenied')
    expect(await denied(c.send(new ListAccessKeysCommand({UserName: ADMIN_USER})))).to.equal('AccessDenied')
    expect(await denied(c.send(new GetUserPolicyCommand({UserName: ADMIN_USER, PolicyName: 'admin'})))).to.equal('AccessDenied')
    expect(await denied(c.send(new ListUsersCommand({})))).to.equal('AccessDenied')
    expect(await denied(c.send(new CreateUserCommand({UserName: 'sneaky'})))).to.equal('AccessDenied')
    expect(await denied(c.send(new PutUserPolicyCommand({UserName: user, PolicyName: 'more', PolicyDocument: JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Action: '*', Resource: '*'}]})})))).to.equal('AccessDenied')
  }

  it('a user limited to a prefix (with an IAM path): state under <prefix>/.pulumi/, settings, own keys — and nothing else', async () => {
    await setUpBuckets()
    const r = await ensureUser(adminCtx(), {user: 'pulumi-team-a', path: '/ci/', bucket: BUCKET, prefix: 'team-a'})
    expect(r.arn).to.equal(`arn:aws:iam::${ACCOUNT_ID}:user/ci/pulumi-team-a`)
    expect(r.accountId).to.equal(ACCOUNT_ID)
    expect(r.changes.map((c) => c.status)).to.deep.equal(['created', 'created'])
    expect(r.policy).to.deep.equal(buildStatePolicy({bucket: BUCKET, prefix: 'team-a', userArn: r.arn}))
    const tags = (await iam(moto.admin).send(new ListUserTagsCommand({UserName: 'pulumi-team-a'}))).Tags
    expect(tags).to.deep.include.members([
      {Key: 'managed-by', Value: 'psb'},
      {Key: 'psb-bucket', Value: BUCKET},
      {Key: 'psb-prefix', Value: 'team-a'},
    ])
    const k = await keyOf('pulumi-team-a')

    // CAN
    await stateRoundTrip(k, 'team-a/')
    await readSettings(k)
    await selfServiceKeys(k, 'pulumi-team-a')

    // CANNOT
    const c = s3(k)
    expect(await denied(c.send(new CreateBucketCommand({Bucket: 'new-bucket-by-pulumi'})))).to.equal('AccessDenied')
    expect(await denied(c.send(new ListObjectsV2Command({Bucket: OTHER})))).to.equal('AccessDenied')
    expect(await denied(c.send(new GetObjectCommand({Bucket: OTHER, Key: '.pulumi/meta.yaml'})))).to.equal('AccessDenied')
    expect(await denied(c.send(new PutObjectCommand({Bucket: OTHER, Key: '.pulumi/meta.yaml', Body: 'x'})))).to.equal('AccessDenied')
    expect(await denied(c.send(new GetBucketVersioningCommand({Bucket: OTHER})))).to.equal('AccessDenied')
    // outside its prefix in its own bucket: no write, no read, no delete
    for (const key of ['.pulumi/meta.yaml', 'team-b/.pulumi/meta.yaml', 'team-a-evil/.pulumi/meta.yaml', 'team-a']) {
      expect(await denied(c.send(new PutObjectCommand({Bucket: BUCKET, Key: key, Body: 'x'}))), key).to.equal('AccessDenied')
    }
    await s3(moto.admin).send(new PutObjectCommand({Bucket: BUCKET, Key: 'team-b/.pulumi/meta.yaml', Body: 'version: 1\n'}))
    expect(await denied(c.send(new GetObjectCommand({Bucket: BUCKET, Key: 'team-b/.pulumi/meta.yaml'})))).to.equal('AccessDenied')
    // listing is limited to its prefix too (s3:prefix StringLike, evaluated by the launcher)
    expect(await denied(c.send(new ListObjectsV2Command({Bucket: BUCKET, Prefix: 'team-b/.pulumi/'})))).to.equal('AccessDenied')
    expect(await denied(c.send(new ListObjectsV2Command({Bucket: BUCKET})))).to.equal('AccessDenied')
    expect(await denied(c.send(new DeleteObjectCommand({Bucket: BUCKET, Key: 'team-b/.pulumi/meta.yaml'})))).to.equal('AccessDenied')
    expect(await denied(c.send(new CopyObjectCommand({Bucket: BUCKET, Key: 'team-b/.pulumi/copy', CopySource: `${BUCKET}/team-a/.pulumi/meta.yaml`})))).to.equal('AccessDenied')
    // no bucket setting can be changed
    expect(await denied(c.send(new PutBucketVersioningCommand({Bucket: BUCKET, VersioningConfiguration: {Status: 'Suspended'}})))).to.equal('AccessDenied')
    expect(await denied(c.send(new PutBucketPolicyCommand({Bucket: BUCKET, Policy: '{}'})))).to.equal('AccessDenied')
  })

  it('via the CLI: no prefix, AdministratorAccess attached with a warning; the user works under .pulumi/; a second run makes no mutating call', async () => {
    await setUpBuckets()
    const home = new TempHome()
    try {
      const env = {
        AWS_ACCESS_KEY_ID: moto.admin.accessKeyId,
        AWS_SECRET_ACCESS_KEY: moto.admin.secretAccessKey,
        AWS_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
        PSB_CALL_LOG: join(logDir, 'cli-1.log'),
      }
      const args = ['user', 'create', '--bucket', BUCKET, '--attach-policy', 'arn:aws:iam::aws:policy/AdministratorAccess', '--endpoint', moto.endpoint]
      const first = await runPsb([...args, '--json'], home, {env})
      expect(first.code, first.stderr).to.equal(0)
      const r = JSON.parse(first.stdout) as UserResult
      expect(r.user).to.equal('pulumi')
      expect(r.arn).to.equal(`arn:aws:iam::${ACCOUNT_ID}:user/pulumi`)
      expect(r.attachedPolicies).to.deep.equal(['arn:aws:iam::aws:policy/AdministratorAccess'])
      expect(r.changes.map((c) => `${c.item}: ${c.status}`)).to.deep.equal([
        'user pulumi: created',
        `inline policy ${STATE_POLICY_NAME}: created`,
        'attached policy arn:aws:iam::aws:policy/AdministratorAccess: created',
      ])
      expect(first.stderr).to.match(/warning: arn:aws:iam::aws:policy\/AdministratorAccess grants the whole account 123456789012/)
      const stored = (await iam(moto.admin).send(new GetUserPolicyCommand({UserName: 'pulumi', PolicyName: STATE_POLICY_NAME}))).PolicyDocument!
      expect(policiesEquivalent(stored, buildStatePolicy({bucket: BUCKET, userArn: r.arn}))).to.equal(true)
      const mutating1 = readFileSync(join(logDir, 'cli-1.log'), 'utf8').split('\n').filter((l) => MUTATING.test(l))
      expect(mutating1).to.deep.equal(['iam CreateUser', 'iam PutUserPolicy', 'iam AttachUserPolicy'])

      // The state policy alone is proven in the other tests; with AdministratorAccess the key can do anything:
      const k = await keyOf('pulumi')
      await stateRoundTrip(k, '')
      await s3(k).send(new CreateBucketCommand({Bucket: 'admin-can-create-buckets'}))

      // Second run: human output, nothing changed, 0 mutating calls.
      const second = await runPsb(args, home, {env: {...env, PSB_CALL_LOG: join(logDir, 'cli-2.log')}})
      expect(second.code, second.stderr).to.equal(0)
      expect(second.stdout).to.match(/user pulumi\s+unchanged/)
      expect(second.stdout).to.match(/inline policy psb-pulumi-state\s+unchanged/)
      expect(second.stdout).to.match(/PulumiStateObjects\s+s3:GetObject, s3:PutObject, s3:DeleteObject\n\s+on arn:aws:s3:::acme-pulumi-state\/\*\n/)
      expect(second.stdout).to.include('Nothing to change')
      const calls2 = readFileSync(join(logDir, 'cli-2.log'), 'utf8').split('\n').filter(Boolean)
      expect(calls2.filter((l) => MUTATING.test(l))).to.deep.equal([])
      expect(calls2).to.include('iam GetUser')
    } finally {
      home.cleanup()
    }
  })

  it('a user without a prefix: the whole .pulumi/ tree, its settings and its keys, but no other bucket', async () => {
    await setUpBuckets()
    const r = await ensureUser(adminCtx(), {user: 'pulumi', bucket: BUCKET})
    const k = await keyOf(r.user)
    await stateRoundTrip(k, '')
    await readSettings(k)
    await selfServiceKeys(k, 'pulumi')
    const c = s3(k)
    expect(await denied(c.send(new CreateBucketCommand({Bucket: 'new-bucket-by-pulumi'})))).to.equal('AccessDenied')
    expect(await denied(c.send(new ListObjectsV2Command({Bucket: OTHER, Prefix: '.pulumi/'})))).to.equal('AccessDenied')
    expect(await denied(c.send(new GetObjectCommand({Bucket: OTHER, Key: '.pulumi/meta.yaml'})))).to.equal('AccessDenied')
  })

  it('policy drift: a hand-edited inline policy is put back, an equivalent rewrite is left alone, extra policies survive', async () => {
    await setUpBuckets()
    const admin = iam(moto.admin)
    const first = await ensureUser(adminCtx(), {user: 'pulumi', bucket: BUCKET, prefix: 'team-a'})
    // Someone widens the policy by hand and attaches an extra policy of their own.
    await admin.send(
      new PutUserPolicyCommand({
        UserName: 'pulumi',
        PolicyName: STATE_POLICY_NAME,
        PolicyDocument: JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Action: 's3:*', Resource: '*'}]}),
      }),
    )
    const extra = (
      await admin.send(
        new CreatePolicyCommand({
          PolicyName: 'pulumi-deploy-lambda',
          PolicyDocument: JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Action: 'lambda:*', Resource: '*'}]}),
        }),
      )
    ).Policy!.Arn!
    await admin.send(new AttachUserPolicyCommand({UserName: 'pulumi', PolicyArn: extra}))
    await admin.send(new PutUserPolicyCommand({UserName: 'pulumi', PolicyName: 'hand-made', PolicyDocument: JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Action: 'sqs:ListQueues', Resource: '*'}]})}))

    const {value: fixed, calls} = await logged(() => ensureUser(adminCtx(), {user: 'pulumi', bucket: BUCKET, prefix: 'team-a'}))
    expect(fixed.changes.find((c) => c.item === `inline policy ${STATE_POLICY_NAME}`)?.status).to.equal('updated')
    expect(calls.filter((l) => MUTATING.test(l))).to.deep.equal(['iam PutUserPolicy'])
    const stored = (await admin.send(new GetUserPolicyCommand({UserName: 'pulumi', PolicyName: STATE_POLICY_NAME}))).PolicyDocument!
    expect(policiesEquivalent(stored, first.policy)).to.equal(true)
    const attached = (await admin.send(new ListAttachedUserPoliciesCommand({UserName: 'pulumi'}))).AttachedPolicies!.map((p) => p.PolicyArn)
    expect(attached).to.deep.equal([extra])
    expect(fixed.attachedPolicies).to.deep.equal([extra])
    expect((await admin.send(new ListUserPoliciesCommand({UserName: 'pulumi'}))).PolicyNames).to.have.members([STATE_POLICY_NAME, 'hand-made'])
    // the put-back policy is enforced again: no write outside the prefix
    const k = await keyOf('pulumi')
    expect(await denied(s3(k).send(new PutObjectCommand({Bucket: BUCKET, Key: 'elsewhere/x', Body: 'x'})))).to.equal('AccessDenied')

    // An equivalent spelling (reordered, one-element arrays, lower-case actions, no Sids) is left alone.
    const doc = parsePolicyDocument(stored)
    const respelled = {
      Version: '2012-10-17',
      Statement: [...(doc.Statement as PolicyStatement[])].reverse().map((s) => ({
        Effect: s.Effect,
        Action: (Array.isArray(s.Action) ? [...s.Action].reverse() : [s.Action!]).map((a) => a.toLowerCase()),
        Resource: [s.Resource as string],
        ...(s.Condition ? {Condition: s.Condition} : {}),
      })),
    }
    await admin.send(new PutUserPolicyCommand({UserName: 'pulumi', PolicyName: STATE_POLICY_NAME, PolicyDocument: JSON.stringify(respelled)}))
    const {value: same, calls: calls2} = await logged(() => ensureUser(adminCtx(), {user: 'pulumi', bucket: BUCKET, prefix: 'team-a'}))
    expect(same.changes.every((c) => c.status === 'unchanged'), JSON.stringify(same.changes)).to.equal(true)
    expect(calls2.filter((l) => MUTATING.test(l))).to.deep.equal([])
  })

  describe('the scope of a user limited to a prefix is never widened by accident (issue 10, defect 8)', () => {
    const cliEnv = () => ({
      AWS_ACCESS_KEY_ID: moto.admin.accessKeyId,
      AWS_SECRET_ACCESS_KEY: moto.admin.secretAccessKey,
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      PSB_CALL_LOG: join(logDir, `cli-${Math.random().toString(36).slice(2)}.log`),
    })
    const storedPolicy = async (user: string) => (await iam(moto.admin).send(new GetUserPolicyCommand({UserName: user, PolicyName: STATE_POLICY_NAME}))).PolicyDocument!
    const tags = async (user: string) => (await iam(moto.admin).send(new ListUserTagsCommand({UserName: user}))).Tags!

    for (const empty of ['', '/', '//']) {
      it(`--prefix ${JSON.stringify(empty)} (e.g. an unset $TEAM) is exit 2 with no AWS call, for a new user and for an existing team user`, async () => {
        await setUpBuckets()
        const team = await ensureUser(adminCtx(), {user: 'pulumi-team-a', bucket: BUCKET, prefix: 'team-a'})
        const home = new TempHome()
        try {
          for (const user of ['pulumi-new', 'pulumi-team-a']) {
            const env = cliEnv()
            const r = await runPsb(['user', 'create', '--bucket', BUCKET, '--user', user, '--prefix', empty, '--endpoint', moto.endpoint, '--json'], home, {env})
            expect(r.code, r.stderr).to.equal(2)
            expect(JSON.parse(r.stdout).error.code).to.equal('PrefixInvalid')
            let calls = ''
            try {
              calls = readFileSync(env.PSB_CALL_LOG, 'utf8')
            } catch {}
            expect(calls).to.equal('')
          }
          const users = (await iam(moto.admin).send(new ListUsersCommand({}))).Users!.map((u) => u.UserName)
          expect(users).not.to.include('pulumi-new')
          expect(policiesEquivalent(await storedPolicy('pulumi-team-a'), team.policy)).to.equal(true)
        } finally {
          home.cleanup()
        }
      })
    }

    it('a re-run without --prefix, or with another prefix, is refused (exit 2, 0 writes); --widen-scope does it with a warning', async () => {
      await setUpBuckets()
      const team = await ensureUser(adminCtx(), {user: 'pulumi-team-a', bucket: BUCKET, prefix: 'team-a'})
      const home = new TempHome()
      try {
        const base = ['user', 'create', '--bucket', BUCKET, '--user', 'pulumi-team-a', '--endpoint', moto.endpoint]
        for (const extra of [[], ['--prefix', 'team-b'], ['--dry-run']]) {
          const env = cliEnv()
          const r = await runPsb([...base, ...extra, '--json'], home, {env})
          expect(r.code, `${extra.join(' ')}: ${r.stderr}`).to.equal(2)
          const doc = JSON.parse(r.stdout)
          expect(doc.error.code).to.equal('ScopeWidening')
          expect(doc.error.message).to.include('team-a')
          expect(doc.error.hint).to.include('--widen-scope')
          expect(readFileSync(env.PSB_CALL_LOG, 'utf8').split('\n').filter((l) => MUTATING.test(l))).to.deep.equal([])
        }
        expect(policiesEquivalent(await storedPolicy('pulumi-team-a'), team.policy)).to.equal(true)
        expect((await tags('pulumi-team-a')).find((t) => t.Key === 'psb-prefix')?.Value).to.equal('team-a')
        const k = await keyOf('pulumi-team-a')
        expect(await denied(s3(k).send(new PutObjectCommand({Bucket: BUCKET, Key: '.pulumi/meta.yaml', Body: 'x'})))).to.equal('AccessDenied')

        // The same prefix is no change at all.
        const same = await runPsb([...base, '--prefix', 'team-a'], home, {env: cliEnv()})
        expect(same.code, same.stderr).to.equal(0)

        // --widen-scope: warned, the policy grants the whole bucket and the tag no longer names the team.
        const wide = await runPsb([...base, '--widen-scope'], home, {env: cliEnv()})
        expect(wide.code, wide.stderr).to.equal(0)
        expect(wide.stderr).to.match(/--widen-scope: the IAM user pulumi-team-a was limited to the prefix team-a; its policy now grants the whole bucket/)
        expect(policiesEquivalent(await storedPolicy('pulumi-team-a'), buildStatePolicy({bucket: BUCKET, userArn: team.arn}))).to.equal(true)
        expect((await tags('pulumi-team-a')).map((t) => t.Key)).not.to.include('psb-prefix')
        await stateRoundTrip(k, '')
      } finally {
        home.cleanup()
      }
    })

    it('a user of the whole bucket may be narrowed to a prefix without --widen-scope', async () => {
      await setUpBuckets()
      await ensureUser(adminCtx(), {user: 'pulumi', bucket: BUCKET})
      const r = await ensureUser(adminCtx(), {user: 'pulumi', bucket: BUCKET, prefix: 'team-a'})
      expect(r.changes.find((c) => c.item === `inline policy ${STATE_POLICY_NAME}`)?.status).to.equal('updated')
      expect((await tags('pulumi')).find((t) => t.Key === 'psb-prefix')?.Value).to.equal('team-a')
    })

    it('ensureUser refuses the widening before any call that writes (in-process, exit 2)', async () => {
      await setUpBuckets()
      await ensureUser(adminCtx(), {user: 'pulumi-team-a', bucket: BUCKET, prefix: 'team-a'})
      const {value: e, calls} = await logged(() => ensureUser(adminCtx(), {user: 'pulumi-team-a', bucket: BUCKET}).then(() => undefined, (error: unknown) => error))
      expect(e).to.be.instanceOf(PsbError)
      expect((e as PsbError).exitCode).to.equal(2)
      expect(calls.filter((l) => MUTATING.test(l))).to.deep.equal([])
    })
  })

  it('a second run makes zero mutating calls (with an attached policy)', async () => {
    // (moto keeps no permissions boundary for users, so the boundary is tested with nock in test/unit/user-validate.test.ts)
    await setUpBuckets()
    const opts = {user: 'pulumi', bucket: BUCKET, prefix: 'team-a', attachPolicies: ['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess']}
    const {value: one, calls: c1} = await logged(() => ensureUser(adminCtx(), opts))
    expect(one.changes.map((c) => c.status)).to.deep.equal(['created', 'created', 'created'])
    expect(c1.filter((l) => MUTATING.test(l))).to.deep.equal(['iam CreateUser', 'iam PutUserPolicy', 'iam AttachUserPolicy'])
    const {value: two, calls: c2} = await logged(() => ensureUser(adminCtx(), opts))
    expect(c2.filter((l) => MUTATING.test(l))).to.deep.equal([])
    expect(c2.length).to.be.greaterThan(0)
    expect(two.changes.map((c) => `${c.item}: ${c.status}`)).to.deep.equal([
      'user pulumi: unchanged',
      'tags: unchanged',
      `inline policy ${STATE_POLICY_NAME}: unchanged`,
      'attached policy arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess: unchanged',
    ])
    expect(two.policy).to.deep.equal(one.policy)
    expect(two.attachedPolicies).to.deep.equal(['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess'])
  })

  it('an existing user psb did not create is refused without --adopt (nothing changed) and taken over with it', async () => {
    await setUpBuckets()
    const admin = iam(moto.admin)
    await admin.send(new CreateUserCommand({UserName: 'deploy', Tags: [{Key: 'team', Value: 'infra'}]}))
    await admin.send(new AttachUserPolicyCommand({UserName: 'deploy', PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess'}))

    const {value: err, calls} = await logged(() => ensureUser(adminCtx(), {user: 'deploy', bucket: BUCKET}).catch((e: unknown) => e))
    expect(err).to.be.instanceOf(PsbError)
    expect((err as PsbError).code).to.equal('UserNotManaged')
    expect((err as PsbError).exitCode).to.equal(1)
    expect((err as PsbError).message).to.include('deploy')
    expect((err as PsbError).hint).to.include('--adopt')
    expect(calls.filter((l) => MUTATING.test(l))).to.deep.equal([])
    expect((await admin.send(new ListUserPoliciesCommand({UserName: 'deploy'}))).PolicyNames).to.deep.equal([])

    const r = await ensureUser(adminCtx(), {user: 'deploy', bucket: BUCKET, adopt: true})
    expect(r.adopted).to.equal(true)
    expect(r.changes[0]).to.include({item: 'user deploy', status: 'updated'})
    const tags = (await admin.send(new ListUserTagsCommand({UserName: 'deploy'}))).Tags
    expect(tags).to.deep.include.members([
      {Key: 'team', Value: 'infra'},
      {Key: 'managed-by', Value: 'psb'},
      {Key: 'psb-bucket', Value: BUCKET},
    ])
    expect(r.attachedPolicies).to.deep.equal(['arn:aws:iam::aws:policy/ReadOnlyAccess'])
    const k = await keyOf('deploy')
    await stateRoundTrip(k, '')
    // now managed: a plain second run needs no --adopt and changes nothing
    const again = await ensureUser(adminCtx(), {user: 'deploy', bucket: BUCKET})
    expect(again.adopted).to.equal(false)
    expect(again.changes.every((c) => c.status === 'unchanged')).to.equal(true)

    // and via the CLI: exit 1 with the hint
    await admin.send(new CreateUserCommand({UserName: 'legacy'}))
    const home = new TempHome()
    try {
      const res = await runPsb(['user', 'create', '--bucket', BUCKET, '--user', 'legacy', '--endpoint', moto.endpoint], home, {
        env: {AWS_ACCESS_KEY_ID: moto.admin.accessKeyId, AWS_SECRET_ACCESS_KEY: moto.admin.secretAccessKey, AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true'},
      })
      expect(res.code).to.equal(1)
      expect(res.stderr).to.match(/legacy already exists and was not created by psb/)
      expect(res.stderr).to.include('--adopt')
    } finally {
      home.cleanup()
    }
  })

  it('--dry-run: the plan and the policy, no mutating call, nothing created', async () => {
    await setUpBuckets()
    const {value: plan, calls} = await logged(() => ensureUser(adminCtx(), {user: 'pulumi', bucket: BUCKET, attachPolicies: ['arn:aws:iam::aws:policy/AdministratorAccess'], dryRun: true}))
    expect(plan.dryRun).to.equal(true)
    expect(plan.created).to.equal(false)
    expect(plan.changes.map((c) => c.status)).to.deep.equal(['planned', 'planned', 'planned'])
    expect(plan.warnings.join('\n')).to.include('grants the whole account')
    expect(calls.filter((l) => MUTATING.test(l))).to.deep.equal([])
    expect(await denied(iam(moto.admin).send(new GetUserCommand({UserName: 'pulumi'})))).to.match(/^NoSuchEntity/)

    const home = new TempHome()
    try {
      const res = await runPsb(['user', 'create', '--bucket', BUCKET, '--dry-run', '--endpoint', moto.endpoint], home, {
        env: {AWS_ACCESS_KEY_ID: moto.admin.accessKeyId, AWS_SECRET_ACCESS_KEY: moto.admin.secretAccessKey, AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true', PSB_CALL_LOG: join(logDir, 'dry.log')},
      })
      expect(res.code, res.stderr).to.equal(0)
      expect(res.stdout).to.match(/user pulumi\s+planned/)
      expect(res.stdout).to.include('"Sid": "SelfServiceKeyRotation"')
      expect(res.stdout).to.include('Dry run: nothing was changed.')
      expect(readFileSync(join(logDir, 'dry.log'), 'utf8').split('\n').filter((l) => MUTATING.test(l))).to.deep.equal([])
    } finally {
      home.cleanup()
    }
  })

  it('names the denied IAM action and the user ARN', async () => {
    const admin = iam(moto.admin)
    await admin.send(new CreateUserCommand({UserName: 'weak-admin'}))
    await admin.send(
      new PutUserPolicyCommand({
        UserName: 'weak-admin',
        PolicyName: 'all-but-create-user',
        PolicyDocument: JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', NotAction: 'iam:CreateUser', Resource: '*'}]}),
      }),
    )
    const k = await keyOf('weak-admin')
    const ctx = createAwsContext({region: 'us-east-1', endpoint: moto.endpoint, credentials: k, maxAttempts: 1})
    const err = (await ensureUser(ctx, {user: 'pulumi', bucket: BUCKET}).catch((e: unknown) => e)) as PsbError
    expect(err).to.be.instanceOf(PsbError)
    expect(err.code).to.equal('AccessDenied')
    expect(err.message).to.include('AWS denied iam:CreateUser on arn:aws:iam::123456789012:user/pulumi')
    expect(err.hint).to.include('iam:CreateUser')
    expect(err.data).to.deep.equal({action: 'iam:CreateUser', resource: 'arn:aws:iam::123456789012:user/pulumi'})
  })

  it('reads the bucket\'s customer KMS key: none while the bucket is missing (warning), the key once it is SSE-KMS, none for aws/s3', async () => {
    const key = `arn:aws:kms:us-east-1:${ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab`
    const warnings: string[] = []
    const logger = {warn: (m: string) => warnings.push(m), info() {}}
    const first = await ensureUser(adminCtx(), {user: 'pulumi', bucket: BUCKET, logger})
    expect((first.policy.Statement as PolicyStatement[]).map((s) => s.Sid)).to.not.include(SID.kms)
    expect(warnings.join('\n')).to.match(/bucket acme-pulumi-state does not exist \(yet\)/)

    const a = s3(moto.admin)
    await a.send(new CreateBucketCommand({Bucket: BUCKET}))
    await a.send(new PutBucketEncryptionCommand({Bucket: BUCKET, ServerSideEncryptionConfiguration: {Rules: [{ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'aws:kms', KMSMasterKeyID: key}, BucketKeyEnabled: true}]}}))
    const second = await ensureUser(adminCtx(), {user: 'pulumi', bucket: BUCKET})
    expect(second.kmsKeyArn).to.equal(key)
    expect(second.changes.find((c) => c.item.startsWith('inline policy'))?.status).to.equal('updated')
    const kms = (second.policy.Statement as PolicyStatement[]).find((s) => s.Sid === SID.kms)!
    expect(kms).to.deep.equal({Sid: 'PulumiStateKms', Effect: 'Allow', Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], Resource: key})

    // A bare key id is turned into the key ARN in the bucket's region.
    await a.send(new PutBucketEncryptionCommand({Bucket: BUCKET, ServerSideEncryptionConfiguration: {Rules: [{ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'aws:kms', KMSMasterKeyID: '1234abcd-12ab-34cd-56ef-1234567890ab'}}]}}))
    expect((await ensureUser(adminCtx(), {user: 'pulumi', bucket: BUCKET, dryRun: true})).kmsKeyArn).to.equal(key)

    await a.send(new PutBucketEncryptionCommand({Bucket: BUCKET, ServerSideEncryptionConfiguration: {Rules: [{ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/aws/s3'}}]}}))
    const third = await ensureUser(adminCtx(), {user: 'pulumi', bucket: BUCKET})
    expect(third.kmsKeyArn).to.equal(undefined)
    expect((third.policy.Statement as PolicyStatement[]).map((s) => s.Sid)).to.not.include(SID.kms)
  })

  it('--print-policy: with credentials (STS), offline with --account-id, and with ACCOUNT_ID shown when there is neither', async () => {
    await setUpBuckets()
    const home = new TempHome()
    try {
      const creds = {AWS_ACCESS_KEY_ID: moto.admin.accessKeyId, AWS_SECRET_ACCESS_KEY: moto.admin.secretAccessKey, AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true'}
      const withSts = await runPsb(['user', 'create', '--print-policy', '--bucket', BUCKET, '--prefix', 'team-a', '--endpoint', moto.endpoint], home, {env: {...creds, PSB_CALL_LOG: join(logDir, 'print.log')}})
      expect(withSts.code, withSts.stderr).to.equal(0)
      expect(JSON.parse(withSts.stdout)).to.deep.equal(buildStatePolicy({bucket: BUCKET, prefix: 'team-a', userArn: `arn:aws:iam::${ACCOUNT_ID}:user/pulumi`}))
      expect(readFileSync(join(logDir, 'print.log'), 'utf8').split('\n').filter((l) => MUTATING.test(l))).to.deep.equal([])

      const offline = await runPsb(['user', 'create', '--print-policy', '--bucket', 'b-state', '--account-id', '210987654321', '--user', 'ci', '--path', '/bots/'], home, {env: {AWS_EC2_METADATA_DISABLED: 'true'}})
      expect(offline.code, offline.stderr).to.equal(0)
      expect(JSON.parse(offline.stdout)).to.deep.equal(buildStatePolicy({bucket: 'b-state', userArn: 'arn:aws:iam::210987654321:user/bots/ci'}))

      // The literal `psb user create --print-policy --bucket b`: with credentials it prints (and warns that
      // "b" cannot be a real bucket name); with no credentials at all it prints the policy with
      // ACCOUNT_ID in the ARNs and a warning that says how to fill it in.
      const short = await runPsb(['user', 'create', '--print-policy', '--bucket', 'b', '--endpoint', moto.endpoint], home, {env: creds})
      expect(short.code, short.stderr).to.equal(0)
      expect(JSON.parse(short.stdout)).to.deep.equal(buildStatePolicy({bucket: 'b', userArn: `arn:aws:iam::${ACCOUNT_ID}:user/pulumi`}))
      expect(short.stderr).to.include('"b" is not a valid S3 bucket name')
      const none = await runPsb(['user', 'create', '--print-policy', '--bucket', 'b'], home, {env: {AWS_EC2_METADATA_DISABLED: 'true'}})
      expect(none.code, none.stderr).to.equal(0)
      expect(JSON.parse(none.stdout)).to.deep.equal(buildStatePolicy({bucket: 'b', userArn: 'arn:aws:iam::ACCOUNT_ID:user/pulumi'}))
      expect(none.stderr).to.match(/No AWS credentials, so no account id: the ARNs below show it as ACCOUNT_ID\. Pass --account-id/)
    } finally {
      home.cleanup()
    }
  })
})
