/**
 * End to end with the REAL Pulumi CLI (v3.274.1 + pulumi-language-yaml, built from the Go
 * module proxy by scripts/build-pulumi.sh) against moto with IAM enforcement on and an
 * administrator key in a temporary HOME. Under CI=true a missing build fails the suite
 * (test/support/pulumi.ts); locally it is skipped with a loud message.
 *
 * The steps build on each other (one moto state for the whole describe):
 *   1. psb init with the least-privilege policy;
 *   2. a Pulumi YAML project with the passphrase secrets provider: stack init, a secret
 *      config value, up, stack output; the state object is in the bucket;
 *   3. psb keys rotate; up and refresh still work with the new key; the old key is rejected;
 *   4. psb verify passes; a second psb init changes nothing;
 *   5. two teams in one bucket (--prefix), neither able to touch the other's prefix.
 */
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {S3Client, CreateBucketCommand, GetObjectCommand, PutObjectCommand, ListObjectsV2Command, HeadObjectCommand} from '@aws-sdk/client-s3'
import {STSClient, GetCallerIdentityCommand} from '@aws-sdk/client-sts'
import {sharedMoto, type MotoServer, type Keys} from '../support/moto.js'
import {TempHome, baseEnv, runPsb, type RunResult} from '../support/cli.js'
import {usePulumiBuild} from '../support/pulumi.js'
import {VERIFY_SENTINEL_CALLS, mutatingCalls} from '../support/calls.js'

const REGION = 'us-west-1'
const BUCKET = 'e2e-pulumi-state'
const SHARED = 'e2e-shared-state'
const PASSPHRASE = 'correct horse battery staple'
const PROJECT = 'psb-e2e'

const PULUMI_YAML = `name: ${PROJECT}
runtime: yaml
description: A provider-free program for psb's end-to-end test (no plugin download needed)
config:
  greeting:
    type: string
    default: hello
  token:
    type: string
    secret: true
variables:
  message: \${greeting} from psb
outputs:
  message: \${message}
  token: \${token}
`

interface Run extends RunResult {
  args: string[]
}

describe('end to end: psb + the real Pulumi CLI, against moto with IAM enforcement', function () {
  this.timeout(240_000)
  const pulumi = usePulumiBuild()
  let moto: MotoServer
  let home: TempHome
  let failed = false

  before(async function () {
    this.timeout(60_000)
    moto = await sharedMoto()
    await moto.reset()
    home = new TempHome('psb-e2e-')
    writeFileSync(home.credentialsFile, `[admin]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n`, {mode: 0o600})
  })
  after(() => home?.cleanup())
  // The steps build on each other (init, then up, then rotate, ...): after a failure the
  // later steps are skipped, because they would only repeat it. The failed step still fails
  // the run, so a skip here never hides a failure.
  beforeEach(function () {
    if (failed) this.skip()
  })
  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true
  })

  const callLog = () => home.path('calls.log')
  /** The environment of psb and pulumi: the real Pulumi first on PATH, Pulumi's home in the temp HOME. */
  const env = (pulumiHome = '.pulumi', extra: Record<string, string> = {}) => ({
    PATH: `${pulumi.build.dir}:${process.env.PATH}`,
    PULUMI_HOME: home.path(pulumiHome),
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
    PSB_KEY_PROPAGATION_POLL_MS: '20',
    PSB_CALL_LOG: callLog(),
    ...extra,
  })
  const psb = async (args: string[], pulumiHome?: string, extra?: Record<string, string>): Promise<Run> => ({args, ...(await runPsb(args, home, {env: env(pulumiHome, extra), timeoutMs: 120_000}))})
  const ok = (r: Run) => expect(r.code, `${r.args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`).to.equal(0)

  /** Runs the real pulumi in a project folder. */
  function runPulumi(args: string[], cwd: string, pulumiHome = '.pulumi'): Promise<Run> {
    return new Promise((resolve, reject) => {
      const e = {...baseEnv(home.dir), ...env(pulumiHome)}
      delete (e as Record<string, string>).PSB_CALL_LOG
      const child = spawn(pulumi.build.pulumi, [...args, '--non-interactive'], {cwd, env: e, stdio: ['ignore', 'pipe', 'pipe']})
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
      child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
      child.on('error', reject)
      child.on('close', (code, signal) => {
        clearTimeout(timer)
        resolve({args: ['pulumi', ...args], code, signal, stdout, stderr})
      })
    })
  }

  function project(name: string): string {
    const dir = home.path(name)
    mkdirSync(dir, {recursive: true})
    writeFileSync(join(dir, 'Pulumi.yaml'), PULUMI_YAML)
    return dir
  }

  function profileKeys(profile: string): Keys {
    const text = readFileSync(home.credentialsFile, 'utf8')
    const section = text.split(/^\[/m).find((s) => s.startsWith(`${profile}]`))!
    return {
      accessKeyId: /aws_access_key_id\s*=\s*(\S+)/.exec(section)![1],
      secretAccessKey: /aws_secret_access_key\s*=\s*(\S+)/.exec(section)![1],
    }
  }
  const s3 = (k: Keys) => new S3Client({region: REGION, endpoint: moto.endpoint, forcePathStyle: true, credentials: k, maxAttempts: 1})
  const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: Error & {Code?: string}) => e.Code ?? e.name)

  /** A stack "dev" with a secret, brought up: returns the project folder. */
  async function upStack(name: string, pulumiHome?: string): Promise<string> {
    const dir = project(name)
    ok(await runPulumi(['stack', 'init', 'dev', '--secrets-provider', 'passphrase'], dir, pulumiHome))
    ok(await runPulumi(['config', 'set', '--secret', 'token', `s3cr3t-${name}`], dir, pulumiHome))
    ok(await runPulumi(['up', '--yes', '--skip-preview'], dir, pulumiHome))
    return dir
  }

  let stackDir = ''
  let firstKey: Keys

  it('1. psb init sets up the backend with the least-privilege policy (no AdministratorAccess)', async () => {
    const r = await psb(['init', '--bucket', BUCKET, '--region', REGION, '--endpoint', moto.endpoint, '--admin-profile', 'admin', '--profile', 'pulumi', '--yes'])
    ok(r)
    expect(r.stdout).to.match(/✔ Verify \(with the profile's own key\): 17 checks: 17 passed, 0 warnings, 0 failed/)
    expect(r.stderr).not.to.contain('AdministratorAccess')
    firstKey = profileKeys('pulumi')
    const who = await new STSClient({region: REGION, endpoint: moto.endpoint, credentials: firstKey}).send(new GetCallerIdentityCommand({}))
    expect(who.Arn).to.equal('arn:aws:iam::123456789012:user/pulumi')
    // The Pulumi user cannot do what an administrator can.
    expect(await code(s3(firstKey).send(new CreateBucketCommand({Bucket: 'e2e-another-bucket', CreateBucketConfiguration: {LocationConstraint: REGION}})))).to.equal('AccessDenied')
  })

  it('2. a Pulumi YAML project: stack init, secret config, up, stack output; the state is in the bucket', async () => {
    stackDir = await upStack('app')
    const out = await runPulumi(['stack', 'output', '--json', '--show-secrets'], stackDir)
    ok(out)
    expect(JSON.parse(out.stdout)).to.deep.equal({message: 'hello from psb', token: 's3cr3t-app'})
    const plain = await runPulumi(['stack', 'output', 'token'], stackDir)
    ok(plain)
    expect(plain.stdout.trim()).to.equal('[secret]')

    const admin = s3(moto.admin)
    const key = `.pulumi/stacks/${PROJECT}/dev.json`
    await admin.send(new HeadObjectCommand({Bucket: BUCKET, Key: key}))
    const state = await (await admin.send(new GetObjectCommand({Bucket: BUCKET, Key: key}))).Body!.transformToString()
    expect(state).to.contain('"secrets_providers"')
    expect(state, 'the secret is encrypted in the state').not.to.contain('s3cr3t-app')
  })

  it('3. psb keys rotate: pulumi up and refresh still work with the new key, and the old key is rejected', async () => {
    const r = await psb(['keys', 'rotate', '--profile', 'pulumi', '--region', REGION, '--endpoint', moto.endpoint])
    ok(r)
    const newKey = profileKeys('pulumi')
    expect(newKey.accessKeyId).not.to.equal(firstKey.accessKeyId)
    ok(await runPulumi(['up', '--yes', '--skip-preview'], stackDir))
    ok(await runPulumi(['refresh', '--yes', '--skip-preview'], stackDir))
    const sts = new STSClient({region: REGION, endpoint: moto.endpoint, credentials: firstKey, maxAttempts: 1})
    expect(await code(sts.send(new GetCallerIdentityCommand({})))).to.equal('InvalidClientTokenId')
    expect(await code(s3(firstKey).send(new ListObjectsV2Command({Bucket: BUCKET, Prefix: '.pulumi/'})))).to.equal('InvalidAccessKeyId')
  })

  it('4. psb verify passes; a second psb init changes nothing (only verify\'s sentinel object is written)', async () => {
    const v = await psb(['verify', '--profile', 'pulumi', '--bucket', BUCKET, '--region', REGION, '--endpoint', moto.endpoint])
    ok(v)
    expect(v.stdout).to.match(/17 checks: 1[67] passed, [01] warnings?, 0 failed/)
    expect(v.stdout).to.match(/pass {2}Pulumi is logged in to this backend: s3:\/\/e2e-pulumi-state\?/)

    writeFileSync(callLog(), '')
    const r = await psb(['init', '--bucket', BUCKET, '--region', REGION, '--endpoint', moto.endpoint, '--admin-profile', 'admin', '--profile', 'pulumi', '--yes'])
    ok(r)
    expect(r.stdout).to.contain('Nothing to change: everything was already set up.')
    expect(mutatingCalls(readFileSync(callLog(), 'utf8')).sort()).to.deep.equal(VERIFY_SENTINEL_CALLS)
    ok(await runPulumi(['up', '--yes', '--skip-preview'], stackDir))
  })

  it('5. two teams share one bucket under --prefix, and neither can touch the other\'s prefix', async () => {
    for (const team of ['team-a', 'team-b']) {
      const r = await psb(
        ['init', '--bucket', SHARED, '--prefix', team, '--user', `pulumi-${team}`, '--profile', team, '--region', REGION, '--endpoint', moto.endpoint, '--admin-profile', 'admin', '--yes'],
        `.pulumi-${team}`,
      )
      ok(r)
      expect(r.stdout).to.match(/17 checks: 17 passed/)
      await upStack(`app-${team}`, `.pulumi-${team}`)
    }
    const admin = s3(moto.admin)
    for (const team of ['team-a', 'team-b']) await admin.send(new HeadObjectCommand({Bucket: SHARED, Key: `${team}/.pulumi/stacks/${PROJECT}/dev.json`}))

    const a = s3(profileKeys('team-a'))
    expect(await code(a.send(new ListObjectsV2Command({Bucket: SHARED, Prefix: 'team-a/.pulumi/'})))).to.equal('ok')
    expect(await code(a.send(new GetObjectCommand({Bucket: SHARED, Key: `team-b/.pulumi/stacks/${PROJECT}/dev.json`})))).to.equal('AccessDenied')
    expect(await code(a.send(new PutObjectCommand({Bucket: SHARED, Key: `team-b/.pulumi/stacks/${PROJECT}/dev.json`, Body: '{}'})))).to.equal('AccessDenied')
    expect(await code(a.send(new ListObjectsV2Command({Bucket: SHARED, Prefix: 'team-b/.pulumi/'})))).to.equal('AccessDenied')
    const b = s3(profileKeys('team-b'))
    expect(await code(b.send(new GetObjectCommand({Bucket: SHARED, Key: `team-a/.pulumi/stacks/${PROJECT}/dev.json`})))).to.equal('AccessDenied')

    // Pulumi itself, with team-a's key pointed at team-b's prefix, is refused too.
    const cross = await psb(['verify', '--profile', 'team-a', '--bucket', SHARED, '--prefix', 'team-b', '--region', REGION, '--endpoint', moto.endpoint, '--no-pulumi'])
    expect(cross.code).to.equal(3)
    expect(cross.stdout).to.match(/fail {2}Round trip under s3:\/\/e2e-shared-state\/team-b\/\.pulumi\//)
    // Each team's stack is intact and its own.
    for (const team of ['team-a', 'team-b']) {
      const out = await runPulumi(['stack', 'output', 'token', '--show-secrets'], home.path(`app-${team}`), `.pulumi-${team}`)
      ok(out)
      expect(out.stdout.trim()).to.equal(`s3cr3t-app-${team}`)
    }
  })
})
