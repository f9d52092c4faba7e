/**
 * `psb init` and `psb verify` as subprocesses against moto (IAM enforcement on), with a fake
 * `pulumi` for speed (test/e2e/pulumi.test.ts runs the real one).
 */
import {expect} from 'chai'
import {spawn, spawnSync} from 'node:child_process'
import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {ListBucketsCommand, S3Client} from '@aws-sdk/client-s3'
import {IAMClient, ListAccessKeysCommand} from '@aws-sdk/client-iam'
import {useMoto} from '../support/moto.js'
import {RUN_JS, TempHome, baseEnv, runPsb, type RunResult} from '../support/cli.js'
import {FakePulumi} from '../support/fake-pulumi.js'
import {VERIFY_SENTINEL_CALLS, mutatingCalls} from '../support/calls.js'

const REGION = 'us-west-1'
// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[/

describe('psb init / psb verify (subprocess, moto, fake pulumi)', function () {
  const moto = useMoto()
  let home: TempHome
  let fake: FakePulumi

  beforeEach(() => {
    home = new TempHome()
    fake = new FakePulumi({version: '3.274.1'})
    writeFileSync(home.credentialsFile, `[admin]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n`, {mode: 0o600})
  })
  afterEach(() => {
    home.cleanup()
    fake.cleanup()
  })

  const env = (extra: Record<string, string | undefined> = {}) =>
    fake.env({PULUMI_HOME: home.path('.pulumi'), PSB_KEY_PROPAGATION_POLL_MS: '20', PSB_CALL_LOG: home.path('calls.log'), ...extra})
  const initArgs = (bucket = 'init-state', extra: string[] = []) => [
    'init',
    '--bucket',
    bucket,
    '--region',
    REGION,
    '--endpoint',
    moto.endpoint,
    '--admin-profile',
    'admin',
    ...(extra.includes('--profile') ? [] : ['--profile', 'pulumi']),
    ...extra,
  ]
  const calls = () => {
    try {
      return readFileSync(home.path('calls.log'), 'utf8')
    } catch {
      return ''
    }
  }
  const resetCalls = () => writeFileSync(home.path('calls.log'), '')
  const ok = (r: RunResult) => expect(r.code, `exit ${r.code}\n${r.stdout}\n${r.stderr}`).to.equal(0)

  it('sets everything up in plain lines (no TTY, no ANSI), then a second run changes nothing', async () => {
    const r1 = await runPsb(initArgs(), home, {env: env()})
    ok(r1)
    expect(r1.stdout + r1.stderr).not.to.match(ANSI)
    expect(r1.stdout).to.match(/✔ Bucket s3:\/\/init-state \(us-west-1\): created/)
    expect(r1.stdout).to.match(/✔ IAM user pulumi: created/)
    expect(r1.stdout).to.match(/✔ Access key of pulumi in profile pulumi: created \(AKIA…\w{4}; written and proven to work\)/)
    expect(r1.stdout).to.match(/✔ Pulumi login: logged in \(s3:\/\/init-state, Pulumi 3.274.1\)/)
    expect(r1.stdout).to.match(/✔ Verify \(with the profile's own key\): 17 checks: 1[67] passed/)
    expect(r1.stdout).to.contain('Next:')
    expect(r1.stdout).to.contain('pulumi up')
    expect(statSync(home.credentialsFile).mode & 0o777).to.equal(0o600)
    const secret = /aws_secret_access_key = (\S+)\s*$/m.exec(readFileSync(home.credentialsFile, 'utf8').split('[pulumi]')[1])![1]
    expect(r1.stdout + r1.stderr).not.to.contain(secret)

    resetCalls()
    const r2 = await runPsb(initArgs(), home, {env: env()})
    ok(r2)
    for (const step of ['Bucket s3://init-state \\(us-west-1\\)', 'IAM user pulumi', 'Access key of pulumi in profile pulumi', 'Pulumi login']) {
      expect(r2.stdout).to.match(new RegExp(`✔ ${step}: unchanged`))
    }
    expect(r2.stdout).to.contain('Nothing to change: everything was already set up.')
    // Only verify's sentinel object is written (and deleted).
    expect(mutatingCalls(calls()).sort()).to.deep.equal(VERIFY_SENTINEL_CALLS)
  })

  it('--dry-run prints the full plan and changes nothing', async () => {
    const r = await runPsb(initArgs('plan-state', ['--dry-run']), home, {env: env()})
    ok(r)
    expect(r.stdout).to.contain('The plan:')
    for (const item of ['would create in us-west-1', 'inline policy psb-pulumi-state', 'create for pulumi', 'pulumi login']) expect(r.stdout).to.contain(item)
    expect(r.stdout).to.contain('Dry run: nothing was changed.')
    expect(mutatingCalls(calls())).to.deep.equal([])
    const s3 = new S3Client({region: REGION, endpoint: moto.endpoint, forcePathStyle: true, credentials: moto.admin})
    expect((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).to.have.length(0)
    expect(readFileSync(home.credentialsFile, 'utf8')).not.to.contain('[pulumi]')
  })

  it('a re-run for a team user without its --prefix (an unset $TEAM) is exit 2 before any write; --prefix "" too (issue 10 defect 8)', async () => {
    ok(await runPsb(initArgs('init-state', ['--user', 'pulumi-team-a', '--profile', 'team-a', '--prefix', 'team-a', '--no-login', '--no-verify']), home, {env: env()}))
    for (const extra of [[], ['--prefix', ''], ['--prefix', '/'], ['--prefix', 'team-b'], ['--dry-run']]) {
      resetCalls()
      // Another bucket: without the preflight, init would create it before the user step refuses.
      const r = await runPsb(initArgs('init-state-two', ['--user', 'pulumi-team-a', '--profile', 'team-a', '--no-login', '--no-verify', '--json', ...extra]), home, {env: env()})
      expect(r.code, `${extra.join(' ')}: ${r.stdout}\n${r.stderr}`).to.equal(2)
      expect(JSON.parse(r.stdout).error.code).to.equal(extra[1] === '' || extra[1] === '/' ? 'PrefixInvalid' : 'ScopeWidening')
      expect(mutatingCalls(calls())).to.deep.equal([])
    }
  })

  it('--json prints one summary document on stdout, and nothing else', async () => {
    const r = await runPsb(initArgs('json-state', ['--json']), home, {env: env()})
    ok(r)
    const doc = JSON.parse(r.stdout)
    expect(doc).to.include({bucket: 'json-state', region: REGION, user: 'pulumi', profile: 'pulumi', changed: true, dryRun: false})
    expect(doc.backendUrl).to.match(/^s3:\/\/json-state\?region=us-west-1&profile=pulumi&endpoint=/)
    expect(Object.keys(doc.steps)).to.deep.equal(['bucket', 'user', 'key', 'login', 'verify'])
    expect(doc.steps.bucket.status).to.equal('created')
    expect(doc.verify.ok).to.equal(true)
    expect(doc.next).to.include('pulumi up')
  })

  it('never prompts without a TTY, in CI or with --yes: a missing value is exit 2 before any AWS call', async () => {
    for (const extra of [[], ['--yes']]) {
      const r = await runPsb(['init', '--region', REGION, '--endpoint', moto.endpoint, '--admin-profile', 'admin', ...extra], home, {env: env({CI: 'true'})})
      expect(r.code).to.equal(2)
      expect(r.stderr).to.match(/--bucket is missing \(psb does not ask: (CI is set|--yes)\)/)
    }
    const noRegion = await runPsb(['init', '--bucket', 'x-state', '--endpoint', moto.endpoint, '--admin-profile', 'admin'], home, {env: env()})
    expect(noRegion.code).to.equal(2)
    expect(noRegion.stderr).to.contain('No AWS region is set (psb does not ask: not a terminal)')
    const bad = await runPsb(initArgs('Bad_Bucket'), home, {env: env()})
    expect(bad.code).to.equal(2)
    const same = await runPsb(['init', '--bucket', 'x-state', '--region', REGION, '--endpoint', moto.endpoint, '--admin-profile', 'admin', '--profile', 'admin'], home, {env: env()})
    expect(same.code).to.equal(2)
    expect(same.stderr).to.contain('also the profile psb acts with as administrator')
    expect(calls()).to.equal('')
  })

  it('after a failure at a step, the same command continues from there', async () => {
    // 1. The login fails (Pulumi cannot log in): bucket, user and key are done.
    fake.configure({version: '3.274.1', fail: {command: 'login', stderr: 'error: simulated login failure', code: 255}})
    const r1 = await runPsb(initArgs('resume-state'), home, {env: env()})
    expect(r1.code, r1.stdout + r1.stderr).to.equal(1)
    expect(r1.stderr).to.match(/✖ Pulumi login/)
    expect(r1.stdout).to.contain('Stopped at: Pulumi login.')
    expect(r1.stderr).to.contain('psb init stopped at step "Pulumi login"')
    expect(r1.stderr).to.contain('simulated login failure')

    // 2. Killed right after the key was created (before it was written anywhere).
    const iam = new IAMClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin})
    const r2 = await runPsb(initArgs('resume-state', ['--user', 'pulumi2', '--profile', 'pulumi2']), home, {env: env({PSB_TEST_KILL_AFTER_STEP: 'key-created'})})
    expect(r2.signal, `${r2.code}\n${r2.stdout}\n${r2.stderr}`).to.equal('SIGKILL')
    expect((await iam.send(new ListAccessKeysCommand({UserName: 'pulumi2'}))).AccessKeyMetadata).to.have.length(1)

    // 3. Re-runs continue: finished steps unchanged, the rest done.
    fake.configure({version: '3.274.1'})
    resetCalls()
    const r3 = await runPsb(initArgs('resume-state'), home, {env: env()})
    ok(r3)
    expect(r3.stdout).to.match(/Bucket s3:\/\/resume-state \(us-west-1\): unchanged/)
    expect(r3.stdout).to.match(/Access key of pulumi in profile pulumi: unchanged/)
    expect(r3.stdout).to.match(/Pulumi login: logged in/)
    const r4 = await runPsb(initArgs('resume-state', ['--user', 'pulumi2', '--profile', 'pulumi2']), home, {env: env()})
    ok(r4)
    expect(r4.stdout).to.match(/Access key of pulumi2 in profile pulumi2: created/)
    // The orphaned key of the killed run was cleaned up: the user has exactly one key.
    expect((await iam.send(new ListAccessKeysCommand({UserName: 'pulumi2'}))).AccessKeyMetadata).to.have.length(1)
  })

  it('the seed\'s one command: AdministratorAccess attached, profile default, with the warning', async () => {
    const r = await runPsb(
      ['init', '--bucket', 'nelsons-pulumi-state-backend', '--region', REGION, '--user', 'pulumi', '--attach-policy', 'arn:aws:iam::aws:policy/AdministratorAccess', '--profile', 'default', '--endpoint', moto.endpoint, '--admin-profile', 'admin'],
      home,
      {env: env()},
    )
    ok(r)
    expect(r.stderr).to.match(/warning: .*AdministratorAccess/)
    expect(r.stdout).to.match(/warn {2}The user is not broader than it needs to be: user pulumi has AdministratorAccess/)
    expect(readFileSync(home.credentialsFile, 'utf8')).to.contain('[default]')
  })

  it('psb verify: exit 0 with a checklist, exit 3 when a check fails, --json as data', async () => {
    ok(await runPsb(initArgs('verify-state'), home, {env: env()}))
    const args = ['verify', '--profile', 'pulumi', '--bucket', 'verify-state', '--region', REGION, '--endpoint', moto.endpoint]
    const good = await runPsb(args, home, {env: env()})
    ok(good)
    expect(good.stdout).to.match(/^ {2}pass {2}Round trip under s3:\/\/verify-state\/\.pulumi\/: put, head, get, list, copy, delete/m)
    expect(good.stdout).to.match(/17 checks: 1[67] passed/)
    expect(good.stdout).not.to.match(ANSI)

    // Without --bucket: the backend Pulumi is logged in to.
    const fromLogin = await runPsb(['verify', '--json'], home, {env: env()})
    ok(fromLogin)
    expect(JSON.parse(fromLogin.stdout)).to.include({ok: true, bucket: 'verify-state', region: REGION, profile: 'pulumi'})

    writeFileSync(home.credentialsFile, readFileSync(home.credentialsFile, 'utf8'), {mode: 0o644})
    const {chmodSync} = await import('node:fs')
    chmodSync(home.credentialsFile, 0o644)
    const bad = await runPsb([...args, '--json'], home, {env: env()})
    expect(bad.code).to.equal(3)
    const doc = JSON.parse(bad.stdout)
    expect(doc.ok).to.equal(false)
    expect(doc.checks.find((c: {id: string}) => c.id === 'credentials-file')).to.include({status: 'fail'})

    const missing = await runPsb(['verify', '--region', REGION], home, {env: env({PULUMI_HOME: home.path('empty-pulumi')})})
    expect(missing.code).to.equal(2)
  })

  it('on a terminal, asks for the missing region and bucket (offering pulumi-state-<account>-<region>)', async function () {
    if (spawnSync('script', ['--version']).status !== 0) {
      if (process.env.CI) throw new Error('`script` (util-linux) is needed for the terminal test')
      // Skipped only off CI, on a machine without util-linux's `script` (no pseudo-terminal).
      this.skip()
    }
    const args = ['init', '--endpoint', moto.endpoint, '--admin-profile', 'admin', '--profile', 'pulumi', '--no-login', '--no-verify']
    const command = [process.execPath, RUN_JS, ...args].map((a) => `'${a}'`).join(' ')
    const childEnv: Record<string, string> = {...baseEnv(home.dir), ...(env() as Record<string, string>), TERM: 'xterm', NO_COLOR: '1'}
    // `script` gives psb a pseudo-terminal: stdin and stdout are TTYs, so init prompts.
    const child = spawn('script', ['-qfec', command, '/dev/null'], {cwd: home.dir, env: childEnv, stdio: ['pipe', 'pipe', 'pipe']})
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (out += d))
    const waitFor = async (re: RegExp) => {
      const deadline = Date.now() + 30000
      while (!re.test(out)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ${re} in:\n${out}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    const code = new Promise<number | null>((resolve) => child.on('close', resolve))
    await waitFor(/AWS region/)
    child.stdin.write('us-east-1\r')
    await waitFor(/pulumi-state-123456789012-us-east-1/)
    child.stdin.write('\r')
    expect(await code, out).to.equal(0)
    child.stdin.end()
    const s3 = new S3Client({region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: moto.admin})
    const names = ((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name)
    expect(names).to.include('pulumi-state-123456789012-us-east-1')
  })
})
