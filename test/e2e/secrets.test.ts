/**
 * Pulumi secrets from KMS, end to end with the REAL Pulumi CLI (test/support/pulumi.ts)
 * against moto with IAM enforcement on, with no PULUMI_CONFIG_PASSPHRASE anywhere unless a
 * step says so:
 *   1. psb init --secrets kms for two teams of one bucket (each its prefix, user, profile, key);
 *   2. team a: stack init --secrets-provider awskms://…, config set --secret, up, config get,
 *      as team a's least-privilege profile; the stack file holds an encrypted key, no salt;
 *   3. team b's profile is refused by KMS on team a's stack (Pulumi's error is shown);
 *   4. psb stack secrets moves a passphrase stack to KMS: its secrets stay readable without
 *      the passphrase; a second run changes nothing; a new stack is created with the key;
 *   5. psb verify checks the key with the profile's own key.
 * Pulumi's KMS client reaches moto through AWS_ENDPOINT_URL_KMS (what psb prints in "Next").
 */
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {sharedMoto, type MotoServer} from '../support/moto.js'
import {TempHome, baseEnv, runPsb, type RunResult} from '../support/cli.js'
import {inspectPulumiDir, isCI, usePulumiBuild} from '../support/pulumi.js'
import {ROOT} from '../support/cli.js'
import {buildBackendUrl} from '../../src/lib/pulumi/backend-url.js'
import {spawnSync} from 'node:child_process'

const REGION = 'us-west-1'
const BUCKET = 'e2e-secrets-state'
const PROJECT = 'psb-e2e-secrets'
const urlOf = (team: string) => `awskms://alias/pulumi-${BUCKET}-${team}?region=${REGION}`

const PULUMI_YAML = `name: ${PROJECT}
runtime: yaml
config:
  token:
    type: string
    secret: true
outputs:
  token: \${token}
`

interface Run extends RunResult {
  args: string[]
}

describe('end to end: Pulumi secrets from a psb KMS key (real Pulumi, moto with IAM enforcement)', function () {
  this.timeout(240_000)
  const pulumi = usePulumiBuild()
  let moto: MotoServer
  let home: TempHome
  let failed = false

  before(async function () {
    this.timeout(60_000)
    moto = await sharedMoto()
    await moto.reset()
    home = new TempHome('psb-e2e-secrets-')
    writeFileSync(home.credentialsFile, `[admin]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n`, {mode: 0o600})
  })
  after(() => home?.cleanup())
  beforeEach(function () {
    // Skip reason: the steps build on each other; after a failed step the later ones would only repeat it. The failed step still fails the run.
    if (failed) this.skip()
  })
  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true
  })

  /** Team `team`'s environment: its Pulumi home, its profile for KMS, moto's KMS endpoint; no passphrase. */
  const env = (team: string, extra: Record<string, string> = {}) => ({
    PATH: `${pulumi.build.dir}:${process.env.PATH}`,
    PULUMI_HOME: home.path(`.pulumi-${team}`),
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    AWS_PROFILE: team,
    AWS_ENDPOINT_URL_KMS: moto.endpoint,
    PSB_KEY_PROPAGATION_POLL_MS: '20',
    ...extra,
  })
  const psb = async (args: string[], team: string, extra?: Record<string, string>): Promise<Run> => ({args, ...(await runPsb(args, home, {env: env(team, extra), timeoutMs: 120_000}))})
  const ok = (r: Run) => expect(r.code, `${r.args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`).to.equal(0)

  function runPulumi(args: string[], cwd: string, team: string, extra: Record<string, string> = {}): Promise<Run> {
    return new Promise((resolve, reject) => {
      const e: Record<string, string> = {...baseEnv(home.dir), ...env(team, extra)}
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
  const stackFile = (dir: string, stack: string) => readFileSync(join(dir, `Pulumi.${stack}.yaml`), 'utf8')

  let appDir = ''

  it('1. psb init --secrets kms for two teams: each gets its own key, granted to its own user', async () => {
    for (const team of ['team-a', 'team-b']) {
      const r = await psb(['init', '--bucket', BUCKET, '--prefix', team, '--user', `pulumi-${team}`, '--profile', team, '--region', REGION, '--endpoint', moto.endpoint, '--admin-profile', 'admin', '--secrets', 'kms', '--yes'], team)
      ok(r)
      expect(r.stdout).to.contain(`pulumi stack init <stack> --secrets-provider "${urlOf(team)}"`)
      expect(r.stdout).to.contain(`export AWS_ENDPOINT_URL_KMS=${moto.endpoint}`)
      expect(r.stdout).to.match(/✔ Verify \(with the profile's own key\): (\d+) checks: \1 passed, 0 warnings, 0 failed/)
    }
  })

  it(`2. team a: stack init with awskms, config set --secret, up, config get — as its least-privilege profile, no passphrase`, async () => {
    appDir = project('app')
    ok(await runPulumi(['stack', 'init', 'dev', '--secrets-provider', urlOf('team-a')], appDir, 'team-a'))
    ok(await runPulumi(['config', 'set', '--secret', 'token', 'kms-s3cr3t'], appDir, 'team-a'))
    ok(await runPulumi(['up', '--yes', '--skip-preview'], appDir, 'team-a'))
    const got = await runPulumi(['config', 'get', 'token'], appDir, 'team-a')
    ok(got)
    expect(got.stdout.trim()).to.equal('kms-s3cr3t')
    const out = await runPulumi(['stack', 'output', 'token', '--show-secrets'], appDir, 'team-a')
    ok(out)
    expect(out.stdout.trim()).to.equal('kms-s3cr3t')
    const file = stackFile(appDir, 'dev')
    expect(file).to.contain(`secretsprovider: ${urlOf('team-a')}`)
    expect(file).to.match(/encryptedkey: \S+/)
    expect(file).not.to.contain('encryptionsalt')
    expect(file).not.to.contain('kms-s3cr3t')
  })

  it('3. team b\'s profile is refused by KMS on team a\'s stack, and Pulumi says so', async () => {
    // S3 access comes from the backend URL (profile=team-a); KMS from AWS_PROFILE=team-b.
    const r = await runPulumi(['config', 'get', 'token'], appDir, 'team-a', {AWS_PROFILE: 'team-b'})
    console.log(`      Pulumi's error for team b (exit ${r.code}):\n${(r.stderr + r.stdout).trim().replace(/^/gm, '        ')}`)
    expect(r.code).to.not.equal(0)
    expect(r.stderr + r.stdout).to.match(/AccessDenied/)
    expect(r.stderr + r.stdout).to.contain('pulumi-team-b')
    expect(r.stdout).not.to.contain('kms-s3cr3t')
  })

  it('4. psb stack secrets moves a passphrase stack to KMS; its secrets stay readable without the passphrase; a second run changes nothing', async () => {
    const passphrase = {PULUMI_CONFIG_PASSPHRASE: 'old shared passphrase'}
    const dir = project('legacy')
    ok(await runPulumi(['stack', 'init', 'prod', '--secrets-provider', 'passphrase'], dir, 'team-a', passphrase))
    ok(await runPulumi(['config', 'set', '--secret', 'token', 'from-the-passphrase-days'], dir, 'team-a', passphrase))
    ok(await runPulumi(['up', '--yes', '--skip-preview'], dir, 'team-a', passphrase))
    expect(stackFile(dir, 'prod')).to.contain('encryptionsalt')

    const noPass = await psb(['stack', 'secrets', '--project', dir, '--stack', 'prod', '--bucket', BUCKET, '--prefix', 'team-a', '--region', REGION, '--profile', 'team-a', '--endpoint', moto.endpoint], 'team-a')
    expect(noPass.code, noPass.stderr).to.equal(2)
    expect(noPass.stderr).to.contain('PULUMI_CONFIG_PASSPHRASE')

    const moved = await psb(['stack', 'secrets', '--project', dir, '--stack', 'prod', '--bucket', BUCKET, '--prefix', 'team-a', '--region', REGION, '--profile', 'team-a', '--endpoint', moto.endpoint, '--json'], 'team-a', passphrase)
    ok(moved)
    const doc = JSON.parse(moved.stdout)
    expect(doc).to.include({action: 'changed', previous: 'passphrase', providerUrl: urlOf('team-a')})
    expect(doc.commands).to.deep.equal([`pulumi stack change-secrets-provider ${urlOf('team-a')} --stack prod`])
    expect(stackFile(dir, 'prod')).to.contain(`secretsprovider: ${urlOf('team-a')}`)
    expect(stackFile(dir, 'prod')).not.to.contain('encryptionsalt')

    const got = await runPulumi(['config', 'get', 'token'], dir, 'team-a')
    ok(got)
    expect(got.stdout.trim()).to.equal('from-the-passphrase-days')
    ok(await runPulumi(['up', '--yes', '--skip-preview'], dir, 'team-a'))
    const out = await runPulumi(['stack', 'output', 'token', '--show-secrets'], dir, 'team-a')
    expect(out.stdout.trim()).to.equal('from-the-passphrase-days')

    const again = await psb(['stack', 'secrets', '--project', dir, '--stack', 'prod', '--bucket', BUCKET, '--prefix', 'team-a', '--region', REGION, '--profile', 'team-a', '--endpoint', moto.endpoint], 'team-a')
    ok(again)
    expect(again.stdout).to.contain('already uses')

    const fresh = await psb(['stack', 'secrets', '--project', dir, '--stack', 'staging', '--secrets-provider', urlOf('team-a'), '--profile', 'team-a', '--endpoint', moto.endpoint], 'team-a')
    ok(fresh)
    expect(fresh.stdout).to.contain('Created stack staging')
    ok(await runPulumi(['config', 'set', '--secret', 'token', 'staging-secret', '--stack', 'staging'], dir, 'team-a'))
    const st = await runPulumi(['config', 'get', 'token', '--stack', 'staging'], dir, 'team-a')
    expect(st.stdout.trim()).to.equal('staging-secret')
  })

  it('5. psb verify --secrets-provider: team a\'s profile passes the round trip; team b\'s fails it', async () => {
    const verify = (team: string) => psb(['verify', '--bucket', BUCKET, '--prefix', team, '--region', REGION, '--endpoint', moto.endpoint, '--no-pulumi', '--secrets-provider', urlOf('team-a'), '--json', '--profile', team], team)
    const a = await verify('team-a')
    const checks = JSON.parse(a.stdout).checks as {id: string; status: string}[]
    expect(checks.find((c) => c.id === 'secrets-roundtrip')?.status, a.stdout).to.equal('pass')
    const b = await verify('team-b')
    const bChecks = JSON.parse(b.stdout).checks as {id: string; status: string}[]
    expect(bChecks.find((c) => c.id === 'secrets-roundtrip')?.status).to.equal('fail')
  })

  it('6. the older Pulumi (3.200.0, gocloud v0.37 with AWS SDK v1 by default) ignores AWS_ENDPOINT_URL_KMS; with awssdk=v2 in the URL it reaches the endpoint', async function () {
    const r = spawnSync('bash', [join(ROOT, 'scripts', 'build-pulumi.sh')], {encoding: 'utf8', env: {...process.env, PULUMI_VERSION: 'v3.200.0', PSB_PULUMI_CACHED_ONLY: '1'}})
    const old = r.status === 0 ? inspectPulumiDir(r.stdout.trim().split('\n').at(-1) ?? '') : 'not built (scripts/build-pulumi.sh with PULUMI_VERSION=v3.200.0)'
    if (typeof old === 'string') {
      if (isCI()) throw new Error(`Pulumi 3.200.0: ${old}`)
      // Skip reason: off CI only, when the Pulumi 3.200.0 build is not cached; under CI it is a failure (above).
      console.warn(`      SKIPPED: Pulumi 3.200.0 is ${old}`)
      this.skip()
    }
    const dir = project('old-pulumi')
    // The backend URL in the dialect of 3.200.0 (psb login picks it by version).
    const backend = buildBackendUrl({bucket: BUCKET, prefix: 'team-a', region: REGION, profile: 'team-a', endpoint: moto.endpoint, pulumiVersion: '3.200.0'})
    const oldEnv = {PATH: `${old.dir}:${process.env.PATH}`, PULUMI_BACKEND_URL: backend}
    const run = (args: string[]) =>
      new Promise<Run>((resolve, reject) => {
        const e: Record<string, string> = {...baseEnv(home.dir), ...env('team-a', oldEnv)}
        const child = spawn(old.pulumi, [...args, '--non-interactive'], {cwd: dir, env: e, stdio: ['ignore', 'pipe', 'pipe']})
        let stdout = ''
        let stderr = ''
        child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
        child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
        child.on('error', reject)
        child.on('close', (code, signal) => resolve({args: ['pulumi', ...args], code, signal, stdout, stderr}))
      })
    // Stack names of their own: steps 2 and 4 made dev, prod and staging in team a's prefix.
    const plain = await run(['stack', 'init', 'old-v1sdk', '--secrets-provider', urlOf('team-a')])
    expect(plain.code).to.not.equal(0)
    expect(plain.stderr, plain.stderr).to.contain(`kms.${REGION}.amazonaws.com`)
    const v2 = `${urlOf('team-a')}&awssdk=v2`
    ok(await run(['stack', 'init', 'old-dev', '--secrets-provider', v2]))
    ok(await run(['config', 'set', '--secret', 'token', 'old-pulumi-secret']))
    const got = await run(['config', 'get', 'token'])
    ok(got)
    expect(got.stdout.trim()).to.equal('old-pulumi-secret')
  })
})
