/**
 * `psb destroy` as a user runs it (the built CLI as a subprocess) against moto with IAM
 * enforced: backends set up by `psb init`, then taken down whole or one prefix at a time.
 */
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {CreateBucketCommand, ListObjectVersionsCommand, PutObjectCommand, DeleteObjectCommand, PutBucketVersioningCommand, S3Client, HeadBucketCommand} from '@aws-sdk/client-s3'
import {CreateOpenIDConnectProviderCommand, CreateRoleCommand, GetRoleCommand, ListOpenIDConnectProvidersCommand, ListUsersCommand, PutRolePolicyCommand} from '@aws-sdk/client-iam'
import {CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand, KMSClient} from '@aws-sdk/client-kms'
import {useMoto, ACCOUNT_ID} from '../support/moto.js'
import {RUN_JS, TempHome, baseEnv, runProcess, runPsb, type RunResult} from '../support/cli.js'
import {mutatingCalls} from '../support/calls.js'
import {CountingServer} from '../support/counting-server.js'
import {FaultProxy} from '../support/fault-proxy.js'
import {FakePulumi} from '../support/fake-pulumi.js'
import {assertNoSecrets, iamClient, spawnPsb, userKeys} from '../support/keys-fixture.js'
import {inspectPulumiDir} from '../support/pulumi.js'

const REGION = 'us-east-1'
const REAL_PULUMI = join(process.env.HOME ?? '', '.cache/psb/pulumi-v3.274.1-yaml-v1.25.0')

describe('psb destroy (subprocess, moto with IAM enforced)', function () {
  const moto = useMoto()
  let home: TempHome
  let fake: FakePulumi
  const outputs: string[] = []

  beforeEach(() => {
    home = new TempHome('psb-destroy-')
    fake = new FakePulumi({version: '3.274.1'})
    outputs.length = 0
    writeFileSync(home.credentialsFile, `# keep me\n[admin]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n`, {mode: 0o600})
    writeFileSync(home.configFile, `[profile admin]\nregion = ${REGION}\noutput = json\n`, {mode: 0o600})
  })
  afterEach(() => {
    home.cleanup()
    fake.cleanup()
  })

  // moto may answer a 500 while it still deletes what a killed run sent: retry like the SDK's default.
  const s3 = () => new S3Client({region: REGION, endpoint: moto.endpoint, forcePathStyle: true, credentials: moto.admin, maxAttempts: 5})
  const env = (extra: Record<string, string | undefined> = {}) =>
    fake.env({PULUMI_HOME: home.path('.pulumi'), PSB_KEY_PROPAGATION_POLL_MS: '20', PSB_CALL_LOG: home.path('calls.log'), ...extra})
  const psb = async (args: string[], extra: Record<string, string | undefined> = {}, endpoint = moto.endpoint): Promise<RunResult> => {
    const r = await runPsb([...args, '--region', REGION, '--endpoint', endpoint, '--admin-profile', 'admin'], home, {env: env(extra)})
    outputs.push(r.stdout, r.stderr)
    return r
  }
  const ok = (r: RunResult) => expect(r.code, `exit ${r.code}\n${r.stdout}\n${r.stderr}`).to.equal(0)
  const calls = () => (existsSync(home.path('calls.log')) ? readFileSync(home.path('calls.log'), 'utf8') : '')
  const resetCalls = () => writeFileSync(home.path('calls.log'), '')
  const init = async (bucket: string, extra: string[] = []) =>
    ok(await psb(['init', '--bucket', bucket, '--no-login', '--no-verify', ...(extra.includes('--profile') ? [] : ['--profile', 'pulumi']), ...extra]))
  /** Objects with two versions each; `deleted` gets one version and a delete marker. */
  const putObjects = async (bucket: string, keys: string[], deleted?: string) => {
    const c = s3()
    for (const key of keys) for (const body of ['v1', 'v2']) await c.send(new PutObjectCommand({Bucket: bucket, Key: key, Body: body}))
    if (deleted) {
      await c.send(new PutObjectCommand({Bucket: bucket, Key: deleted, Body: 'v1'}))
      await c.send(new DeleteObjectCommand({Bucket: bucket, Key: deleted}))
    }
    c.destroy()
  }
  const versions = async (bucket: string, prefix?: string): Promise<string[]> => {
    const c = s3()
    const r = await c.send(new ListObjectVersionsCommand({Bucket: bucket, Prefix: prefix}))
    c.destroy()
    return [...(r.Versions ?? []), ...(r.DeleteMarkers ?? [])].map((v) => v.Key!).sort()
  }
  const bucketExists = async (bucket: string) => {
    const c = s3()
    try {
      await c.send(new HeadBucketCommand({Bucket: bucket}))
      return true
    } catch {
      return false
    } finally {
      c.destroy()
    }
  }
  const users = async () => ((await iamClient(moto.endpoint, moto.admin).send(new ListUsersCommand({}))).Users ?? []).map((u) => u.UserName!).sort()

  it('destroys a whole backend made by psb init: key (IAM and profile), user, profile, login, every version, the bucket; a second run makes 0 writes', async () => {
    await init('whole-state')
    await putObjects('whole-state', ['.pulumi/meta.yaml', '.pulumi/history/p/dev/dev-1.checkpoint.json'], 'notes.txt')
    const profileKey = /\[pulumi\]\naws_access_key_id = (\S+)/.exec(readFileSync(home.credentialsFile, 'utf8'))![1]
    // Pulumi logged in to this backend: the real CLI logs out when it is there.
    const real = inspectPulumiDir(REAL_PULUMI)
    const pulumiEnv = typeof real === 'string' ? {} : {PULUMI_BIN: real.pulumi}
    mkdirSync(home.path('.pulumi'), {recursive: true})
    const url = `s3://whole-state?region=${REGION}&endpoint=${encodeURIComponent(moto.endpoint)}&s3ForcePathStyle=true`
    writeFileSync(home.path('.pulumi', 'credentials.json'), JSON.stringify({current: url, accessTokens: {[url]: ''}, accounts: {[url]: {lastValidatedAt: '0001-01-01T00:00:00Z'}}}))

    const r = await psb(['destroy', '--bucket', 'whole-state', '--yes', '--json'], pulumiEnv)
    ok(r)
    const doc = JSON.parse(r.stdout)
    const items = doc.changes.map((c: {item: string; status: string}) => `${c.status} ${c.item}`)
    expect(items).to.include.members(['deleted user pulumi', 'deleted profile pulumi', 'deleted bucket whole-state', 'deleted pulumi logout'])
    expect(doc.objects.deleted).to.equal(6)
    expect(await bucketExists('whole-state')).to.equal(false)
    expect(await users()).to.deep.equal(['psb-test-admin'])
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(`# keep me\n[admin]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n`)
    expect(readFileSync(home.configFile, 'utf8')).to.equal(`[profile admin]\nregion = ${REGION}\noutput = json\n`)
    if (typeof real !== 'string') {
      // The real `pulumi logout` removed the login (it deletes credentials.json when no login is left).
      const file = home.path('.pulumi', 'credentials.json')
      expect(existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')).current ?? '') : '').to.equal('')
    }
    expect(r.stdout + r.stderr).to.not.include(profileKey)

    resetCalls()
    const again = await psb(['destroy', '--bucket', 'whole-state', '--yes', '--json'], pulumiEnv)
    ok(again)
    expect(JSON.parse(again.stdout).changes).to.deep.equal([])
    expect(mutatingCalls(calls())).to.deep.equal([])
    assertNoSecrets(outputs, [moto.admin.secretAccessKey])
  })

  it('--prefix takes down one team (objects, user, profile) and leaves the bucket and a second team whole', async () => {
    await init('shared-state', ['--prefix', 'team-a', '--user', 'pulumi-team-a', '--profile', 'team-a'])
    await init('shared-state', ['--prefix', 'team-b', '--user', 'pulumi-team-b', '--profile', 'team-b'])
    await putObjects('shared-state', ['team-a/.pulumi/meta.yaml', 'team-a/.pulumi/history/x.json', 'team-b/.pulumi/meta.yaml', 'team-ab/kept.txt'])
    const before = await versions('shared-state')
    const teamBKeys = await userKeys(moto.endpoint, moto.admin, 'pulumi-team-b')
    const credsB = /\[team-b\][^[]*/.exec(readFileSync(home.credentialsFile, 'utf8'))![0]

    const r = await psb(['destroy', '--bucket', 'shared-state', '--prefix', 'team-a', '--yes', '--json'])
    ok(r)
    const doc = JSON.parse(r.stdout)
    expect(doc.left.map((c: {item: string}) => c.item)).to.include('user pulumi-team-b')
    expect(await bucketExists('shared-state')).to.equal(true)
    expect(await versions('shared-state')).to.deep.equal(before.filter((k) => !k.startsWith('team-a/')))
    expect(await users()).to.deep.equal(['psb-test-admin', 'pulumi-team-b'])
    expect(await userKeys(moto.endpoint, moto.admin, 'pulumi-team-b')).to.deep.equal(teamBKeys)
    const creds = readFileSync(home.credentialsFile, 'utf8')
    expect(creds).to.include(credsB)
    expect(creds).to.not.include('[team-a]')
    expect(readFileSync(home.configFile, 'utf8')).to.not.include('team-a')
    expect(readFileSync(home.configFile, 'utf8')).to.include('[profile team-b]')
  })

  it('refuses while a stack exists under the prefix (exit 2, listing it with its last update, nothing changed); --force-stacks goes ahead', async () => {
    await init('stack-state', ['--prefix', 'team-a', '--user', 'pulumi-team-a', '--profile', 'team-a'])
    await putObjects('stack-state', ['team-a/.pulumi/stacks/proj/dev.json', 'team-b/.pulumi/stacks/proj/prod.json'])
    resetCalls()
    const r = await psb(['destroy', '--bucket', 'stack-state', '--prefix', 'team-a', '--yes'])
    expect(r.code, r.stderr).to.equal(2)
    expect(r.stderr).to.match(/1 Pulumi stack still exists under stack-state\/team-a\//)
    expect(r.stderr).to.match(/proj\/dev \(last updated \d{4}-\d\d-\d\dT/)
    expect(r.stderr).to.not.include('prod')
    expect(r.stderr).to.include('--force-stacks')
    expect(mutatingCalls(calls())).to.deep.equal([])
    expect(await users()).to.include('pulumi-team-a')

    ok(await psb(['destroy', '--bucket', 'stack-state', '--prefix', 'team-a', '--yes', '--force-stacks']))
    expect(await versions('stack-state')).to.deep.equal(['team-b/.pulumi/stacks/proj/prod.json', 'team-b/.pulumi/stacks/proj/prod.json'])
    expect(await users()).to.not.include('pulumi-team-a')
  })

  it('refuses while a stack made by the real Pulumi exists; after `pulumi stack rm` it goes ahead', async function () {
    const real = inspectPulumiDir(REAL_PULUMI)
    if (typeof real === 'string') {
      // Skipped only off CI, where the Pulumi build may be missing (test/support/pulumi.ts says how to build it).
      if (process.env.CI) throw new Error(`the real Pulumi CLI is needed: ${real}`)
      this.skip()
    }
    const build = real as Exclude<typeof real, string>
    const pulumiEnv = {PATH: `${build.dir}:${process.env.PATH}`, PULUMI_SKIP_UPDATE_CHECK: 'true', PULUMI_CONFIG_PASSPHRASE: 'destroy-test'}
    // psb init logs the real Pulumi in to the prefix.
    ok(await psb(['init', '--bucket', 'real-stack-state', '--prefix', 'team-a', '--user', 'pulumi-team-a', '--profile', 'team-a', '--no-verify'], pulumiEnv))
    const dir = home.path('proj')
    mkdirSync(dir)
    writeFileSync(join(dir, 'Pulumi.yaml'), 'name: proj\nruntime: yaml\noutputs:\n  greeting: hello\n')
    const pulumi = (args: string[]) => runProcess(build.pulumi, [...args, '--non-interactive'], {env: {...baseEnv(home.dir), ...(env(pulumiEnv) as Record<string, string>)}, cwd: dir})
    const init = await pulumi(['stack', 'init', 'dev', '--secrets-provider', 'passphrase'])
    expect(init.code, init.stderr).to.equal(0)

    const r = await psb(['destroy', '--bucket', 'real-stack-state', '--prefix', 'team-a', '--yes'], pulumiEnv)
    expect(r.code, r.stderr).to.equal(2)
    expect(r.stderr).to.match(/proj\/dev \(last updated \d{4}-/)
    expect(await users()).to.include('pulumi-team-a')

    const rm = await pulumi(['stack', 'rm', 'dev', '--yes'])
    expect(rm.code, rm.stderr).to.equal(0)
    const done = await psb(['destroy', '--bucket', 'real-stack-state', '--prefix', 'team-a', '--yes', '--json'], pulumiEnv)
    ok(done)
    expect(JSON.parse(done.stdout).changes.map((c: {item: string}) => c.item)).to.include('pulumi logout')
    expect(await versions('real-stack-state', 'team-a/')).to.deep.equal([])
    expect(await users()).to.not.include('pulumi-team-a')
  })

  it('a whole-bucket destroy finds the stacks of every prefix', async () => {
    await init('all-stacks')
    await putObjects('all-stacks', ['.pulumi/stacks/root.json', 'deep/team/.pulumi/stacks/p/s.json.gz', 'other/file.txt'])
    const r = await psb(['destroy', '--bucket', 'all-stacks', '--dry-run', '--json'])
    expect(r.code, r.stderr).to.equal(2)
    const err = JSON.parse(r.stdout).error
    expect(err.code).to.equal('StacksExist')
    expect(err.data.stacks.map((s: {prefix: string; name: string}) => `${s.prefix}:${s.name}`)).to.deep.equal([':root', 'deep/team:p/s'])
  })

  it('--dry-run prints the plan and makes 0 mutating calls', async () => {
    await init('dry-state')
    await putObjects('dry-state', ['a', 'b'])
    resetCalls()
    const r = await psb(['destroy', '--bucket', 'dry-state', '--dry-run'])
    ok(r)
    expect(r.stdout).to.match(/user pulumi/)
    expect(r.stdout).to.match(/every version and delete marker \(4\)/)
    expect(r.stdout).to.include('Dry run: nothing was changed.')
    expect(mutatingCalls(calls())).to.deep.equal([])
    expect(calls()).to.not.equal('')
    expect(await versions('dry-state')).to.have.length(4)
    expect(readFileSync(home.credentialsFile, 'utf8')).to.include('[pulumi]')
  })

  it('refuses without --yes off a terminal: exit 2 before any AWS call', async () => {
    const server = new CountingServer()
    await server.start()
    try {
      const r = await psb(['destroy', '--bucket', 'any-state'], {}, server.endpoint)
      expect(r.code, r.stderr).to.equal(2)
      expect(r.stderr).to.include('--yes')
      const bad = await psb(['destroy', '--bucket', 'Bad_Bucket', '--yes'], {}, server.endpoint)
      expect(bad.code).to.equal(2)
      expect(server.requests).to.equal(0)
    } finally {
      await server.stop()
    }
  })

  it('--keep-bucket keeps the bucket and its objects; --keep-user keeps the user, its keys and the profile', async () => {
    await init('keep-state')
    await putObjects('keep-state', ['a'])
    ok(await psb(['destroy', '--bucket', 'keep-state', '--keep-user', '--yes']))
    expect(await bucketExists('keep-state')).to.equal(false)
    expect(await users()).to.include('pulumi')
    expect(readFileSync(home.credentialsFile, 'utf8')).to.include('[pulumi]')

    await init('keep-state')
    await putObjects('keep-state', ['a'])
    ok(await psb(['destroy', '--bucket', 'keep-state', '--keep-bucket', '--yes']))
    expect(await versions('keep-state')).to.have.length(2)
    expect(await users()).to.not.include('pulumi')
    expect(readFileSync(home.credentialsFile, 'utf8')).to.not.include('[pulumi]')
  })

  it('leaves what psb did not make: an untagged bucket, a user tagged for the bucket but not managed-by=psb', async () => {
    const c = s3()
    await c.send(new CreateBucketCommand({Bucket: 'not-ours'}))
    await c.send(new PutBucketVersioningCommand({Bucket: 'not-ours', VersioningConfiguration: {Status: 'Enabled'}}))
    c.destroy()
    await putObjects('not-ours', ['x'])
    await iamClient(moto.endpoint, moto.admin).send(new (await import('@aws-sdk/client-iam')).CreateUserCommand({UserName: 'handmade', Tags: [{Key: 'psb-bucket', Value: 'not-ours'}]}))
    const r = await psb(['destroy', '--bucket', 'not-ours', '--yes', '--json'])
    ok(r)
    const doc = JSON.parse(r.stdout)
    expect(doc.changes).to.deep.equal([])
    expect(doc.left.map((l: {item: string}) => l.item)).to.have.members(['bucket not-ours', 'user handmade'])
    expect(await versions('not-ours')).to.have.length(2)
    expect(await users()).to.include('handmade')
  })

  it('a psb role and its OIDC provider go; a provider another role still trusts stays', async () => {
    await init('role-state')
    const iam = iamClient(moto.endpoint, moto.admin)
    const provider = (await iam.send(new CreateOpenIDConnectProviderCommand({Url: 'https://token.actions.githubusercontent.com', ClientIDList: ['sts.amazonaws.com'], ThumbprintList: ['a'.repeat(40)], Tags: [{Key: 'managed-by', Value: 'psb'}]}))).OpenIDConnectProviderArn!
    const trust = JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Principal: {Federated: provider}, Action: 'sts:AssumeRoleWithWebIdentity'}]})
    const tags = [{Key: 'managed-by', Value: 'psb'}, {Key: 'psb-bucket', Value: 'role-state'}]
    await iam.send(new CreateRoleCommand({RoleName: 'pulumi-ci', AssumeRolePolicyDocument: trust, Tags: tags}))
    await iam.send(new PutRolePolicyCommand({RoleName: 'pulumi-ci', PolicyName: 'psb-pulumi-state', PolicyDocument: JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::role-state'}]})}))
    await iam.send(new CreateRoleCommand({RoleName: 'other-ci', AssumeRolePolicyDocument: trust}))

    const r = await psb(['destroy', '--bucket', 'role-state', '--yes', '--json'])
    ok(r)
    const doc = JSON.parse(r.stdout)
    expect(doc.changes.map((c: {item: string}) => c.item)).to.include('role pulumi-ci')
    expect(doc.left.map((c: {item: string; detail: string}) => `${c.item}: ${c.detail}`)).to.include(`OIDC provider ${provider}: still trusted by role other-ci`)
    expect(await iam.send(new GetRoleCommand({RoleName: 'pulumi-ci'})).catch((e: Error) => e.name)).to.match(/^NoSuchEntity/)
    expect((await iam.send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList).to.have.length(1)

    // Without the other role, the provider goes with psb's role.
    await init('role-state-2')
    await iam.send(new CreateRoleCommand({RoleName: 'pulumi-ci-2', AssumeRolePolicyDocument: trust, Tags: [{Key: 'managed-by', Value: 'psb'}, {Key: 'psb-bucket', Value: 'role-state-2'}]}))
    await iam.send(new (await import('@aws-sdk/client-iam')).DeleteRoleCommand({RoleName: 'other-ci'}))
    ok(await psb(['destroy', '--bucket', 'role-state-2', '--yes']))
    expect((await iam.send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList).to.deep.equal([])
    expect(ACCOUNT_ID).to.be.a('string')
  })

  it('schedules a psb KMS key for deletion in 30 days (never deletes it), and says so', async () => {
    await init('kms-state')
    const kms = new KMSClient({region: REGION, endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1})
    const key = (await kms.send(new CreateKeyCommand({Tags: [{TagKey: 'managed-by', TagValue: 'psb'}, {TagKey: 'psb-bucket', TagValue: 'kms-state'}]}))).KeyMetadata!.KeyId!
    await kms.send(new CreateAliasCommand({AliasName: 'alias/pulumi-kms-state', TargetKeyId: key}))
    const other = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!
    await kms.send(new CreateAliasCommand({AliasName: 'alias/pulumi-kms-state-x', TargetKeyId: other}))

    const r = await psb(['destroy', '--bucket', 'kms-state', '--yes'])
    ok(r)
    expect(r.stdout).to.include(`The KMS key ${key} is scheduled for deletion`)
    expect(r.stdout).to.include('(30 days), not deleted')
    expect((await kms.send(new DescribeKeyCommand({KeyId: key}))).KeyMetadata!.KeyState).to.equal('PendingDeletion')
    expect((await kms.send(new DescribeKeyCommand({KeyId: other}))).KeyMetadata!.KeyState).to.equal('Enabled')
    expect(r.stdout).to.include('alias/pulumi-kms-state-x')
    expect(r.stdout).to.include('psb did not make it')
    resetCalls()
    ok(await psb(['destroy', '--bucket', 'kms-state', '--yes']))
    expect(mutatingCalls(calls())).to.deep.equal([])
    kms.destroy()
  })

  it('on a terminal: shows the plan and asks; "no" changes nothing, "yes" goes ahead with progress', async function () {
    if (spawnSync('script', ['--version']).status !== 0) {
      // Skipped only off CI, on a machine without util-linux's `script` (no pseudo-terminal).
      if (process.env.CI) throw new Error('`script` (util-linux) is needed for the terminal test')
      this.skip()
    }
    await init('tty-state')
    await putObjects('tty-state', ['a'])
    const onTty = (answer: string) => {
      const cmd = [process.execPath, RUN_JS, 'destroy', '--bucket', 'tty-state', '--region', REGION, '--endpoint', moto.endpoint, '--admin-profile', 'admin'].map((a) => `'${a}'`).join(' ')
      // script(1) gives psb a pseudo-terminal; what we type arrives as keystrokes.
      return runProcess('script', ['-qec', cmd, '/dev/null'], {env: {...baseEnv(home.dir), ...(env() as Record<string, string>)}, cwd: home.dir, input: answer})
    }
    const no = await onTty('n\r')
    expect(no.stdout).to.include('Plan to destroy the backend tty-state')
    expect(no.stdout).to.include('Delete everything listed above')
    expect(no.stdout).to.include('Stopped: nothing was changed.')
    expect(await users()).to.include('pulumi')
    const yes = await onTty('y\r')
    expect(yes.stdout).to.match(/Deleted 2 object versions/)
    expect(await bucketExists('tty-state')).to.equal(false)
    expect(await users()).to.not.include('pulumi')
  })

  describe('killed with SIGKILL mid-run, a re-run finishes', () => {
    let proxy: FaultProxy
    beforeEach(async () => {
      proxy = new FaultProxy(moto.endpoint)
      await proxy.start()
    })
    afterEach(() => proxy.stop())

    const killAt = async (bucket: string, match: (r: {action: string; method: string; path: string}) => boolean) => {
      const release = new Promise(() => {})
      let hit!: () => void
      const held = new Promise<void>((r) => (hit = r))
      proxy.rules.push((req) => {
        if (!match(req)) return undefined
        hit()
        return {hold: release}
      })
      const run = spawnPsb(['destroy', '--bucket', bucket, '--yes', '--region', REGION, '--endpoint', proxy.endpoint, '--admin-profile', 'admin'], home.dir, env() as Record<string, string>)
      const early = await Promise.race([held.then(() => undefined), run.done])
      if (early) throw new Error(`psb ended before the request to kill it at (exit ${early.code}):\n${early.stdout}\n${early.stderr}\n${calls()}\n${proxy.calls.map((x) => `${x.method} ${x.path.slice(0, 80)}`).join('\n')}`)
      run.child.kill('SIGKILL')
      expect((await run.done).signal).to.equal('SIGKILL')
      proxy.rules.length = 0
    }

    it('killed while deleting the user: the re-run deletes the rest', async () => {
      await init('kill-user-state')
      await putObjects('kill-user-state', ['a'])
      await killAt('kill-user-state', (r) => r.action === 'DeleteUser')
      expect(readFileSync(home.credentialsFile, 'utf8')).to.not.include('[pulumi]')
      ok(await psb(['destroy', '--bucket', 'kill-user-state', '--yes']))
      expect(await users()).to.deep.equal(['psb-test-admin'])
      expect(await bucketExists('kill-user-state')).to.equal(false)
    })

    it('killed between two DeleteObjects batches: the re-run empties and deletes the bucket', async function () {
      this.timeout(300_000)
      await init('kill-objects-state')
      const c = s3()
      const keys = Array.from({length: 1100}, (_, i) => `.pulumi/history/h-${String(i).padStart(5, '0')}`)
      for (let i = 0; i < keys.length; i += 20) await Promise.all(keys.slice(i, i + 20).map((Key) => c.send(new PutObjectCommand({Bucket: 'kill-objects-state', Key, Body: 'x'}))))
      c.destroy()
      let posts = 0
      await killAt('kill-objects-state', (r) => r.method === 'POST' && r.action.startsWith('S3') && ++posts === 2)
      const left = await versions('kill-objects-state')
      expect(left.length).to.be.greaterThan(0)
      const r = await psb(['destroy', '--bucket', 'kill-objects-state', '--yes', '--json'])
      ok(r)
      expect(await bucketExists('kill-objects-state')).to.equal(false)
    })
  })
})
