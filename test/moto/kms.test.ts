/**
 * `psb kms create` against moto with IAM enforcement on: the key, its alias, rotation, tags
 * and key policy, and the grant proven with real signed requests made with the keys of the
 * users involved. test/support/moto_launcher.py makes moto authorise KMS requests against
 * the key they name (stock moto uses `*`) and refuse cryptography with a key that is not
 * enabled, as AWS does.
 */
import {expect} from 'chai'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {IAMClient, CreateUserCommand, CreateAccessKeyCommand, CreateRoleCommand, GetRolePolicyCommand, GetUserPolicyCommand} from '@aws-sdk/client-iam'
import {STSClient, AssumeRoleCommand} from '@aws-sdk/client-sts'
import {
  KMSClient,
  CreateKeyCommand,
  CreateAliasCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms'
import {useMoto, ACCOUNT_ID, ADMIN_USER, type Keys} from '../support/moto.js'
import {runPsb, TempHome} from '../support/cli.js'
import {createAwsContext} from '../../src/lib/aws/client.js'
import {PsbError} from '../../src/lib/errors.js'
import {ensureSecretsKey} from '../../src/lib/kms/key.js'
import {KEY_SID, SECRETS_POLICY_NAME, SECRETS_SID, SECRETS_USE_ACTIONS} from '../../src/lib/kms/names.js'
import {parsePolicyDocument, type PolicyStatement} from '../../src/lib/iam/policy.js'

const REGION = 'us-east-1'
const BUCKET = 'acme-pulumi-state'
const MUTATING = /^(iam|s3|kms) (Create|Put|Update|Delete|Attach|Detach|Tag|Untag|Enable|Disable|Schedule|Cancel)/

describe('psb kms create against moto (IAM enforcement on)', function () {
  this.timeout(60_000)
  const moto = useMoto()
  const kms = (k: Keys & {sessionToken?: string}) => new KMSClient({region: REGION, endpoint: moto.endpoint, credentials: k, maxAttempts: 1})
  const iam = () => new IAMClient({region: REGION, endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1})
  const admin = () => createAwsContext({region: REGION, endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1})
  const outcome = (p: Promise<unknown>) => p.then(() => 'allowed', (e: Error) => e.name)
  let logDir: string
  beforeEach(() => {
    logDir = mkdtempSync(join(tmpdir(), 'psb-kms-log-'))
    process.env.PSB_CALL_LOG = join(logDir, 'calls.log')
  })
  afterEach(() => {
    delete process.env.PSB_CALL_LOG
    rmSync(logDir, {recursive: true, force: true})
  })
  const mutating = () => {
    let text = ''
    try {
      text = readFileSync(join(logDir, 'calls.log'), 'utf8')
    } catch {}
    return text.split('\n').filter((l) => MUTATING.test(l))
  }
  const userWithKey = async (name: string): Promise<Keys> => {
    await iam().send(new CreateUserCommand({UserName: name}))
    const k = (await iam().send(new CreateAccessKeyCommand({UserName: name}))).AccessKey!
    return {accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey!}
  }

  it('creates the key (alias, rotation, tags, key policy) and grants exactly Encrypt/Decrypt/GenerateDataKey to the named user', async () => {
    await userWithKey('pulumi-team-a')
    const r = await ensureSecretsKey(admin(), {bucket: BUCKET, prefix: 'team-a', region: REGION, principals: [{kind: 'user', name: 'pulumi-team-a'}]})
    expect(r.alias).to.equal('alias/pulumi-acme-pulumi-state-team-a')
    expect(r.providerUrl).to.equal('awskms://alias/pulumi-acme-pulumi-state-team-a?region=us-east-1')
    expect(r.created).to.equal(true)
    const k = kms(moto.admin)
    const meta = (await k.send(new DescribeKeyCommand({KeyId: r.alias}))).KeyMetadata!
    expect(meta.Arn).to.equal(r.keyArn)
    expect(meta.KeySpec).to.equal('SYMMETRIC_DEFAULT')
    expect((await k.send(new GetKeyRotationStatusCommand({KeyId: r.keyArn}))).KeyRotationEnabled).to.equal(true)
    const tags = Object.fromEntries(((await k.send(new ListResourceTagsCommand({KeyId: r.keyArn}))).Tags ?? []).map((t) => [t.TagKey, t.TagValue]))
    expect(tags).to.include({'managed-by': 'psb', 'psb-bucket': BUCKET, 'psb-prefix': 'team-a'})
    const policy = parsePolicyDocument((await k.send(new GetKeyPolicyCommand({KeyId: r.keyArn, PolicyName: 'default'}))).Policy!)
    const statements = policy.Statement as PolicyStatement[]
    const use = statements.find((s) => s.Sid === KEY_SID.use)!
    expect(use.Action).to.deep.equal(SECRETS_USE_ACTIONS)
    expect(use.Condition).to.deep.equal({ArnEquals: {'aws:PrincipalArn': [`arn:aws:iam::${ACCOUNT_ID}:user/pulumi-team-a`]}})
    const admins = statements.find((s) => s.Sid === KEY_SID.admin)!
    expect(admins.Principal).to.deep.equal({AWS: `arn:aws:iam::${ACCOUNT_ID}:root`})
    expect(admins.Action).to.not.include('kms:Decrypt')
    const grant = parsePolicyDocument((await iam().send(new GetUserPolicyCommand({UserName: 'pulumi-team-a', PolicyName: SECRETS_POLICY_NAME}))).PolicyDocument!)
    expect(grant.Statement).to.deep.equal([{Sid: SECRETS_SID, Effect: 'Allow', Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], Resource: r.keyArn}])
  })

  it('signed requests: the granted user can GenerateDataKey, Encrypt and Decrypt; another team\'s user cannot; neither can manage the key', async () => {
    const a = await userWithKey('pulumi-team-a')
    const b = await userWithKey('pulumi-team-b')
    const ka = await ensureSecretsKey(admin(), {bucket: BUCKET, prefix: 'team-a', region: REGION, principals: [{kind: 'user', name: 'pulumi-team-a'}]})
    const kb = await ensureSecretsKey(admin(), {bucket: BUCKET, prefix: 'team-b', region: REGION, principals: [{kind: 'user', name: 'pulumi-team-b'}]})
    expect(ka.keyArn).to.not.equal(kb.keyArn)

    const dk = await kms(a).send(new GenerateDataKeyCommand({KeyId: ka.alias, KeySpec: 'AES_256'}))
    const back = await kms(a).send(new DecryptCommand({CiphertextBlob: dk.CiphertextBlob}))
    expect(Buffer.from(back.Plaintext!).equals(Buffer.from(dk.Plaintext!))).to.equal(true)
    const enc = await kms(a).send(new EncryptCommand({KeyId: ka.alias, Plaintext: Buffer.from('stack data key')}))
    expect(Buffer.from((await kms(a).send(new DecryptCommand({CiphertextBlob: enc.CiphertextBlob}))).Plaintext!).toString()).to.equal('stack data key')

    // Team b: its own key works, team a's does not (neither by alias nor by ciphertext).
    expect(await outcome(kms(b).send(new GenerateDataKeyCommand({KeyId: kb.alias, KeySpec: 'AES_256'})))).to.equal('allowed')
    expect(await outcome(kms(b).send(new GenerateDataKeyCommand({KeyId: ka.alias, KeySpec: 'AES_256'})))).to.equal('AccessDeniedException')
    expect(await outcome(kms(b).send(new EncryptCommand({KeyId: ka.keyArn, Plaintext: Buffer.from('x')})))).to.equal('AccessDeniedException')
    expect(await outcome(kms(b).send(new DecryptCommand({CiphertextBlob: dk.CiphertextBlob})))).to.equal('AccessDeniedException')

    // Neither manages a key: no deletion, no disabling, no policy or rotation change, no new key.
    for (const who of [a, b]) {
      for (const keyArn of [ka.keyArn, kb.keyArn]) {
        expect(await outcome(kms(who).send(new ScheduleKeyDeletionCommand({KeyId: keyArn, PendingWindowInDays: 7})))).to.equal('AccessDeniedException')
        expect(await outcome(kms(who).send(new DisableKeyCommand({KeyId: keyArn})))).to.equal('AccessDeniedException')
        expect(await outcome(kms(who).send(new DisableKeyRotationCommand({KeyId: keyArn})))).to.equal('AccessDeniedException')
        expect(await outcome(kms(who).send(new PutKeyPolicyCommand({KeyId: keyArn, PolicyName: 'default', Policy: '{"Version":"2012-10-17","Statement":[]}'})))).to.equal('AccessDeniedException')
      }
      expect(await outcome(kms(who).send(new CreateKeyCommand({})))).to.equal('AccessDeniedException')
    }
    expect((await kms(moto.admin).send(new DescribeKeyCommand({KeyId: ka.keyArn}))).KeyMetadata!.KeyState).to.equal('Enabled')
  })

  it('a second run makes 0 writes; a run after drift turns rotation back on and keeps statements psb did not write', async () => {
    await userWithKey('pulumi')
    const opts = {bucket: BUCKET, region: REGION, principals: [{kind: 'user' as const, name: 'pulumi'}]}
    const first = await ensureSecretsKey(admin(), opts)
    expect(first.alias).to.equal('alias/pulumi-acme-pulumi-state')
    expect(mutating()).to.deep.equal(['kms CreateKey', 'kms CreateAlias', 'kms EnableKeyRotation', 'iam PutUserPolicy'])
    rmSync(join(logDir, 'calls.log'), {force: true})
    const second = await ensureSecretsKey(admin(), opts)
    expect(mutating()).to.deep.equal([])
    expect(second.changes.every((c) => c.status === 'unchanged')).to.equal(true)

    const k = kms(moto.admin)
    await k.send(new DisableKeyRotationCommand({KeyId: first.keyArn}))
    const current = parsePolicyDocument((await k.send(new GetKeyPolicyCommand({KeyId: first.keyArn, PolicyName: 'default'}))).Policy!)
    const foreign: PolicyStatement = {Sid: 'AuditorsDescribe', Effect: 'Allow', Principal: {AWS: `arn:aws:iam::${ACCOUNT_ID}:role/auditor`}, Action: 'kms:DescribeKey', Resource: '*'}
    await k.send(new PutKeyPolicyCommand({KeyId: first.keyArn, PolicyName: 'default', Policy: JSON.stringify({...current, Statement: [...(current.Statement as PolicyStatement[]), foreign]})}))
    const third = await ensureSecretsKey(admin(), opts)
    expect(third.changes.find((c) => c.item === 'rotation')?.status).to.equal('updated')
    expect((await k.send(new GetKeyRotationStatusCommand({KeyId: first.keyArn}))).KeyRotationEnabled).to.equal(true)
    const after = parsePolicyDocument((await k.send(new GetKeyPolicyCommand({KeyId: first.keyArn, PolicyName: 'default'}))).Policy!)
    expect((after.Statement as PolicyStatement[]).find((s) => s.Sid === 'AuditorsDescribe')).to.deep.equal(foreign)
    // A run naming nobody never takes the user's use away.
    await ensureSecretsKey(admin(), {bucket: BUCKET, region: REGION})
    const last = parsePolicyDocument((await k.send(new GetKeyPolicyCommand({KeyId: first.keyArn, PolicyName: 'default'}))).Policy!)
    expect((last.Statement as PolicyStatement[]).find((s) => s.Sid === KEY_SID.use)?.Condition).to.deep.equal({ArnEquals: {'aws:PrincipalArn': [`arn:aws:iam::${ACCOUNT_ID}:user/pulumi`]}})
  })

  it('a role (--for-role) gets the same grant: its assumed session can use the key, not manage it', async () => {
    await iam().send(
      new CreateRoleCommand({
        RoleName: 'pulumi-ci',
        AssumeRolePolicyDocument: JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Principal: {AWS: `arn:aws:iam::${ACCOUNT_ID}:user/${ADMIN_USER}`}, Action: 'sts:AssumeRole'}]}),
      }),
    )
    const r = await ensureSecretsKey(admin(), {bucket: BUCKET, region: REGION, principals: [{kind: 'role', name: 'pulumi-ci'}]})
    expect(r.principals).to.deep.equal([{kind: 'role', name: 'pulumi-ci', arn: `arn:aws:iam::${ACCOUNT_ID}:role/pulumi-ci`}])
    const grant = parsePolicyDocument((await iam().send(new GetRolePolicyCommand({RoleName: 'pulumi-ci', PolicyName: SECRETS_POLICY_NAME}))).PolicyDocument!)
    expect((grant.Statement as PolicyStatement[])[0].Resource).to.equal(r.keyArn)
    const sts = new STSClient({region: REGION, endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1})
    const c = (await sts.send(new AssumeRoleCommand({RoleArn: `arn:aws:iam::${ACCOUNT_ID}:role/pulumi-ci`, RoleSessionName: 'ci'}))).Credentials!
    const session = {accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken!}
    const dk = await kms(session).send(new GenerateDataKeyCommand({KeyId: r.alias, KeySpec: 'AES_256'}))
    expect(await outcome(kms(session).send(new DecryptCommand({CiphertextBlob: dk.CiphertextBlob})))).to.equal('allowed')
    expect(await outcome(kms(session).send(new DisableKeyCommand({KeyId: r.keyArn})))).to.equal('AccessDeniedException')
  })

  it('refuses an alias pointing at a key psb did not create (no write), and manages it with adopt', async () => {
    const k = kms(moto.admin)
    const theirs = (await k.send(new CreateKeyCommand({Description: 'not psb'}))).KeyMetadata!
    await k.send(new CreateAliasCommand({AliasName: 'alias/pulumi-acme-pulumi-state', TargetKeyId: theirs.KeyId}))
    rmSync(join(logDir, 'calls.log'), {force: true})
    const error = await ensureSecretsKey(admin(), {bucket: BUCKET, region: REGION}).catch((e: unknown) => e)
    expect(error).to.be.instanceOf(PsbError)
    expect((error as PsbError).code).to.equal('KeyNotManaged')
    expect((error as PsbError).hint).to.match(/--adopt/)
    expect(mutating()).to.deep.equal([])
    const r = await ensureSecretsKey(admin(), {bucket: BUCKET, region: REGION, adopt: true})
    expect(r.adopted).to.equal(true)
    expect(r.keyArn).to.equal(theirs.Arn)
    const tags = Object.fromEntries(((await k.send(new ListResourceTagsCommand({KeyId: theirs.Arn}))).Tags ?? []).map((t) => [t.TagKey, t.TagValue]))
    expect(tags['managed-by']).to.equal('psb')
  })

  it('refuses a key that is pending deletion, and never cancels it', async () => {
    const r = await ensureSecretsKey(admin(), {bucket: BUCKET, region: REGION})
    await kms(moto.admin).send(new ScheduleKeyDeletionCommand({KeyId: r.keyId, PendingWindowInDays: 30}))
    const error = await ensureSecretsKey(admin(), {bucket: BUCKET, region: REGION}).catch((e: unknown) => e)
    expect((error as PsbError).code).to.equal('KeyPendingDeletion')
    expect((await kms(moto.admin).send(new DescribeKeyCommand({KeyId: r.keyArn}))).KeyMetadata!.KeyState).to.equal('PendingDeletion')
  })

  describe('the command', () => {
    let home: TempHome
    beforeEach(() => {
      home = new TempHome('psb-kms-cli-')
    })
    afterEach(() => home.cleanup())
    const psb = (args: string[]) =>
      runPsb(['kms', 'create', '--region', REGION, '--endpoint', moto.endpoint, ...args], home, {
        env: {AWS_ACCESS_KEY_ID: moto.admin.accessKeyId, AWS_SECRET_ACCESS_KEY: moto.admin.secretAccessKey, PSB_CALL_LOG: join(logDir, 'calls.log')},
      })

    it('an unknown --for-user (any item of the repeated flag) is exit 2 with nothing changed', async () => {
      await userWithKey('pulumi')
      const r = await psb(['--bucket', BUCKET, '--for-user', 'pulumi', '--for-user', 'nobody-here'])
      expect(r.code, r.stderr).to.equal(2)
      expect(r.stderr).to.match(/nobody-here/)
      expect(mutating()).to.deep.equal([])
    })

    it('--dry-run changes nothing; --json reports the key, the provider URL and the changes; a second run makes 0 writes', async () => {
      await userWithKey('pulumi')
      const dry = await psb(['--bucket', BUCKET, '--for-user', 'pulumi', '--dry-run'])
      expect(dry.code, dry.stderr).to.equal(0)
      expect(dry.stdout).to.match(/Dry run/)
      expect(mutating()).to.deep.equal([])
      const made = await psb(['--bucket', BUCKET, '--for-user', 'pulumi', '--json'])
      expect(made.code, made.stderr).to.equal(0)
      const doc = JSON.parse(made.stdout)
      expect(doc.providerUrl).to.equal('awskms://alias/pulumi-acme-pulumi-state?region=us-east-1')
      expect(doc.keyArn).to.match(/^arn:aws:kms:us-east-1:123456789012:key\//)
      rmSync(join(logDir, 'calls.log'), {force: true})
      const again = await psb(['--bucket', BUCKET, '--for-user', 'pulumi'])
      expect(again.code, again.stderr).to.equal(0)
      expect(again.stdout).to.match(/up to date; nothing changed/)
      expect(again.stdout).to.include('pulumi stack init <stack> --secrets-provider "awskms://alias/pulumi-acme-pulumi-state?region=us-east-1"')
      expect(again.stdout).to.include(`AWS_ENDPOINT_URL_KMS=${moto.endpoint}`)
      expect(mutating()).to.deep.equal([])
    })
  })
})
