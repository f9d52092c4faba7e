/**
 * End to end with the REAL Pulumi CLI, in two versions whose S3 URL dialects differ
 * (v3.274.1 and v3.200.0, each + pulumi-language-yaml 1.25.0, built from the Go module proxy
 * by scripts/build-pulumi.sh), against moto with IAM enforcement on and an administrator key
 * in a temporary HOME. No AWS_PROFILE anywhere: the profile is in the backend URL. Under
 * CI=true a missing build fails the suite (test/support/pulumi.ts); locally it is skipped
 * with a loud message.
 *
 * Per version, the steps build on each other (one moto state for the whole describe):
 *   1. psb init with an endpoint and the least-privilege policy;
 *   2. a Pulumi YAML project with the passphrase secrets provider: stack init, a secret
 *      config value, up, stack output; the state object is in the bucket;
 *   3. psb keys rotate; up and refresh still work with the new key; the old key is rejected;
 *   4. psb verify passes; a second psb init changes nothing;
 *   5. Pulumi's lock under the least-privilege user: taken and released, concurrent ups meet
 *      it; a stale lock is reported by verify;
 *   6. two teams in one bucket (--prefix), neither able to touch the other's prefix.
 * Across versions: a Pulumi.yaml written by `psb login --project` with one version on PATH
 * is used by the other, both ways.
 */
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {S3Client, CreateBucketCommand, GetObjectCommand, PutObjectCommand, ListObjectsV2Command, HeadObjectCommand, ListObjectVersionsCommand, DeleteObjectCommand} from '@aws-sdk/client-s3'
import {STSClient, GetCallerIdentityCommand} from '@aws-sdk/client-sts'
import {sharedMoto, type MotoServer, type Keys} from '../support/moto.js'
import {TempHome, baseEnv, runProcess, runPsb, type RunResult} from '../support/cli.js'
import {PULUMI_VERSIONS, usePulumiBuild, type PulumiVersion} from '../support/pulumi.js'
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

for (const version of PULUMI_VERSIONS) endToEnd(version)

function endToEnd(version: PulumiVersion): void {
describe(`end to end: psb + the real Pulumi CLI ${version}, against moto with IAM enforcement`, function () {
  this.timeout(240_000)
  const pulumi = usePulumiBuild(version)
  let started = 0
  before(() => (started = Date.now()))
  after(() => process.stderr.write(`      (e2e with Pulumi ${version}: ${((Date.now() - started) / 1000).toFixed(0)} s)\n`))
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
    expect(r.stdout).to.match(/✔ Verify \(with the profile's own key\): (\d+) checks: \1 passed, 0 warnings, 0 failed/)
    expect(r.stderr).not.to.contain('AdministratorAccess')
    // The login needs no AWS_PROFILE on either version: the profile is in the URL.
    expect(r.stdout + r.stderr).not.to.contain('AWS_PROFILE')
    const current = (JSON.parse(readFileSync(home.path('.pulumi', 'credentials.json'), 'utf8')) as {current: string}).current
    expect(current).to.contain('profile=pulumi').and.contain(version === 'v3.200.0' ? 's3ForcePathStyle=true' : 'use_path_style=true')
    expect(Object.keys(env())).not.to.include('AWS_PROFILE')
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
    expect(v.stdout).to.match(/(\d+) checks: \d+ passed, [01] warnings?, 0 failed/)
    expect(v.stdout).to.match(/pass {2}Pulumi is logged in to this backend: s3:\/\/e2e-pulumi-state\?/)

    writeFileSync(callLog(), '')
    const r = await psb(['init', '--bucket', BUCKET, '--region', REGION, '--endpoint', moto.endpoint, '--admin-profile', 'admin', '--profile', 'pulumi', '--yes'])
    ok(r)
    expect(r.stdout).to.contain('Nothing to change: everything was already set up.')
    expect(mutatingCalls(readFileSync(callLog(), 'utf8')).sort()).to.deep.equal(VERIFY_SENTINEL_CALLS)
    ok(await runPulumi(['up', '--yes', '--skip-preview'], stackDir))
  })

  it('5. Pulumi\'s lock under the least-privilege user: taken and released; concurrent ups meet it', async () => {
    const admin = s3(moto.admin)
    const locks = `.pulumi/locks/organization/${PROJECT}/dev/`
    const before = await admin.send(new ListObjectVersionsCommand({Bucket: BUCKET, Prefix: locks}))
    const seen = (before.Versions ?? []).length
    // Two ups at once: each takes the lock or is turned away by it, and none is left behind.
    const both = await Promise.all([runPulumi(['up', '--yes', '--skip-preview'], stackDir), runPulumi(['up', '--yes', '--skip-preview'], stackDir)])
    for (const r of both.filter((x) => x.code !== 0)) expect(r.stdout + r.stderr, r.stderr).to.match(/locked/i)
    // Pulumi checks, writes its lock, then checks again (pkg/backend/diy/lock.go): two ups that
    // write in the same instant both see the other's lock and both step back. Then one up alone
    // must take the lock and finish.
    if (both.every((r) => r.code !== 0)) ok(await runPulumi(['up', '--yes', '--skip-preview'], stackDir))
    const after = await admin.send(new ListObjectVersionsCommand({Bucket: BUCKET, Prefix: locks}))
    // Taken: the least-privilege user wrote lock objects (one version per up that got it) ...
    expect((after.Versions ?? []).length - seen).to.be.at.least(1)
    expect((after.Versions ?? []).every((x) => x.Key?.startsWith(locks) && x.Key.endsWith('.json'))).to.equal(true)
    // ... and released: each is deleted again (a delete marker on top), nothing is listed.
    expect((after.DeleteMarkers ?? []).filter((m) => m.IsLatest)).to.have.length((after.Versions ?? []).length)
    expect((await admin.send(new ListObjectsV2Command({Bucket: BUCKET, Prefix: '.pulumi/locks/'}))).KeyCount ?? 0).to.equal(0)
  })

  it('5b. verify reports the layout, the URL and the delete-marker rule; a stale lock is reported with its age', async () => {
    const args = ['verify', '--profile', 'pulumi', '--bucket', BUCKET, '--region', REGION, '--endpoint', moto.endpoint, '--json']
    const doc = JSON.parse((await psb(args)).stdout) as {checks: Array<{id: string; status: string; detail?: string; hint?: string}>}
    const byId = Object.fromEntries(doc.checks.map((c) => [c.id, c]))
    expect(byId['pulumi-layout']).to.include({status: 'pass', detail: 'project layout (.pulumi/meta.yaml version: 1)'})
    expect(byId['pulumi-url'].status).to.equal('pass')
    expect(byId['lifecycle-delete-markers'].status).to.equal('pass')
    // A lock in Pulumi's format, two hours old, left by a crashed run.
    const key = `.pulumi/locks/organization/${PROJECT}/dev/0b6f3c7e-2f1a-4c55-9d0e-8a1b2c3d4e5f.json`
    const lock = {pid: 4242, username: 'ci', hostname: 'runner-7', timestamp: new Date(Date.now() - 2 * 3600_000).toISOString()}
    await s3(moto.admin).send(new PutObjectCommand({Bucket: BUCKET, Key: key, Body: JSON.stringify(lock)}))
    try {
      const stale = JSON.parse((await psb(args)).stdout) as typeof doc
      const check = stale.checks.find((c) => c.id === 'pulumi-locks')
      // The pulumi-locks check comes with \`psb locks\` (issue 16): until that branch is in,
      // there is no such check to assert on.
      if (!check) return void process.stderr.write('      (pulumi-locks check not in this build yet: stale-lock assertion not made)\n')
      expect(check.status).to.equal('warn')
      expect(check.detail).to.contain('dev').and.match(/\b2 ?h|2 hours|1[12]\d ?min/)
      expect(check.hint).to.contain('psb locks clear')
    } finally {
      await s3(moto.admin).send(new DeleteObjectCommand({Bucket: BUCKET, Key: key}))
    }
    ok(await runPulumi(['up', '--yes', '--skip-preview'], stackDir))
  })

  it('6. two teams share one bucket under --prefix, and neither can touch the other\'s prefix', async () => {
    for (const team of ['team-a', 'team-b']) {
      const r = await psb(
        ['init', '--bucket', SHARED, '--prefix', team, '--user', `pulumi-${team}`, '--profile', team, '--region', REGION, '--endpoint', moto.endpoint, '--admin-profile', 'admin', '--yes'],
        `.pulumi-${team}`,
      )
      ok(r)
      expect(r.stdout).to.match(/(\d+) checks: \1 passed/)
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
}

describe('across Pulumi versions: the Pulumi.yaml that psb login --project writes works on v3.274.1 and v3.200.0, both ways', function () {
  this.timeout(600_000)
  const newest = usePulumiBuild('v3.274.1')
  const oldest = usePulumiBuild('v3.200.0')
  const CROSS = 'e2e-cross-state'
  let moto: MotoServer
  let home: TempHome

  before(async function () {
    this.timeout(60_000)
    moto = await sharedMoto()
    await moto.reset()
    home = new TempHome('psb-e2e-cross-')
    writeFileSync(home.credentialsFile, `[admin]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n`, {mode: 0o600})
  })
  after(() => home?.cleanup())

  const env = (dir: string, pulumiHome: string) => ({
    PATH: `${dir}:${process.env.PATH}`,
    PULUMI_HOME: home.path(pulumiHome),
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
    PSB_KEY_PROPAGATION_POLL_MS: '20',
  })
  const build = (v: PulumiVersion) => (v === 'v3.274.1' ? newest.build : oldest.build)
  const ok = (r: RunResult & {what: string}) => expect(r.code, `${r.what} exited ${r.code}\n${r.stdout}\n${r.stderr}`).to.equal(0)
  /** The real pulumi of one version in a project folder, never logged in (its own PULUMI_HOME): backend.url decides. */
  const pulumi = async (v: PulumiVersion, args: string[], cwd: string) => {
    const e = {...baseEnv(home.dir), ...env(build(v).dir, `.pulumi-${v}`)}
    return {what: `pulumi ${v} ${args.join(' ')}`, ...(await runProcess(build(v).pulumi, [...args, '--non-interactive'], {cwd, env: e, timeoutMs: 120_000}))}
  }
  const psb = async (v: PulumiVersion, args: string[]) => ({what: `psb ${args.join(' ')}`, ...(await runPsb(args, home, {env: env(build(v).dir, `.pulumi-${v}`), timeoutMs: 120_000}))})
  const yamlUrl = (dir: string) => /^\s+url:\s*(\S+)/m.exec(readFileSync(join(dir, 'Pulumi.yaml'), 'utf8'))?.[1]?.replace(/^"|"$/g, '')
  function project(name: string): string {
    const dir = home.path(name)
    mkdirSync(dir, {recursive: true})
    writeFileSync(join(dir, 'Pulumi.yaml'), PULUMI_YAML)
    return dir
  }

  it('psb init (no login) sets up the backend and the least-privilege profile', async () => {
    ok(await psb('v3.274.1', ['init', '--bucket', CROSS, '--region', REGION, '--endpoint', moto.endpoint, '--admin-profile', 'admin', '--profile', 'pulumi', '--no-login', '--yes']))
  })

  for (const [writer, reader] of [['v3.274.1', 'v3.200.0'], ['v3.200.0', 'v3.274.1']] as const) {
    it(`written with ${writer} on PATH, used by ${reader} (stack init, secret, up), then by ${writer}`, async () => {
      const dir = project(`cross-${writer}`)
      const w = await psb(writer, ['login', '--bucket', CROSS, '--prefix', writer, '--region', REGION, '--endpoint', moto.endpoint, '--profile', 'pulumi', '--project', dir, '--json'])
      ok(w)
      const doc = JSON.parse(w.stdout) as {url: string; dialect: string; pulumiVersion: string}
      expect(doc).to.include({dialect: 'portable', pulumiVersion: writer.slice(1)})
      expect(doc.url).to.equal(`s3://${CROSS}/${writer}?region=${REGION}&profile=pulumi&endpoint=${encodeURIComponent(moto.endpoint)}&s3ForcePathStyle=true&disableSSL=true`)
      expect(yamlUrl(dir)).to.equal(doc.url)
      ok(await pulumi(reader, ['stack', 'init', 'dev', '--secrets-provider', 'passphrase'], dir))
      ok(await pulumi(reader, ['config', 'set', '--secret', 'token', `s3cr3t-${writer}`], dir))
      ok(await pulumi(reader, ['up', '--yes', '--skip-preview'], dir))
      // The writer's Pulumi has its own PULUMI_HOME (no stack selected there): it names the stack.
      ok(await pulumi(writer, ['up', '--yes', '--skip-preview', '--stack', 'dev'], dir))
      const out = await pulumi(writer, ['stack', 'output', 'token', '--show-secrets', '--stack', 'dev'], dir)
      ok(out)
      expect(out.stdout.trim()).to.equal(`s3cr3t-${writer}`)
      await s3Admin().send(new HeadObjectCommand({Bucket: CROSS, Key: `${writer}/.pulumi/stacks/${PROJECT}/dev.json`}))
    })
  }

  it('the other forms, as docs/login.md says: 3.274.1\'s native URL breaks 3.200.0; the old psb URL (no profile) breaks 3.200.0 without AWS_PROFILE', async () => {
    const dir = project('cross-native')
    ok(await psb('v3.274.1', ['login', '--bucket', CROSS, '--prefix', 'native', '--region', REGION, '--endpoint', moto.endpoint, '--profile', 'pulumi', '--project', dir, '--dialect', 'native']))
    expect(yamlUrl(dir)).to.contain('use_path_style=true')
    const refused = await pulumi('v3.200.0', ['stack', 'ls'], dir)
    expect(refused.code).to.not.equal(0)
    expect(refused.stderr + refused.stdout).to.match(/unknown query parameter "(use_path_style|disable_https)"/)
    ok(await pulumi('v3.274.1', ['stack', 'ls'], dir))
    // psb's URL for 3.113–3.244 before this change: the profile left to AWS_PROFILE.
    const old = `s3://${CROSS}/old?region=${REGION}&endpoint=${encodeURIComponent(moto.endpoint)}&s3ForcePathStyle=true&disableSSL=true`
    writeFileSync(join(dir, 'Pulumi.yaml'), `${PULUMI_YAML}backend:\n  url: ${old}\n`)
    const noCreds = await pulumi('v3.200.0', ['stack', 'ls'], dir)
    expect(noCreds.code).to.not.equal(0)
    expect(noCreds.stderr + noCreds.stdout).to.match(/NoCredentialProviders|no valid credential|credentials/i)
  })

  const s3Admin = () => new S3Client({region: REGION, endpoint: moto.endpoint, forcePathStyle: true, credentials: moto.admin, maxAttempts: 1})
})
