import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {FakePulumi} from '../support/fake-pulumi.js'
import {TempHome, runPsb} from '../support/cli.js'

const BASE = ['login', '--bucket', 'acme-state', '--region', 'eu-west-1']
const URL_ = 's3://acme-state?region=eu-west-1'

describe('psb login (subprocess, fake pulumi)', () => {
  let home: TempHome
  let fake: FakePulumi
  beforeEach(() => {
    home = new TempHome()
    fake = new FakePulumi({version: '3.274.1'})
    // The profiles the tests name exist, as they would on a machine that logs Pulumi in.
    writeFileSync(home.credentialsFile, ['pulumi', 'x', 'ci'].map((p) => `[${p}]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n`).join('\n'), {mode: 0o600})
  })
  afterEach(() => {
    home.cleanup()
    fake.cleanup()
  })

  it('runs pulumi login with the URL under PULUMI_HOME and confirms it with whoami -v', async () => {
    const pulumiHome = home.path('pulumi-home')
    const r = await runPsb([...BASE, '--prefix', 'team a', '--profile', 'pulumi', '--endpoint', 'http://127.0.0.1:5000'], home, {env: fake.env({PULUMI_HOME: pulumiHome})})
    const url = 's3://acme-state/team%20a?region=eu-west-1&profile=pulumi&endpoint=http%3A%2F%2F127.0.0.1%3A5000&use_path_style=true&disable_https=true'
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.include(`Backend URL: ${url}`)
    expect(r.stdout).to.include('Logged in: Pulumi now uses')
    expect(fake.calls().map((c) => c.argv)).to.deep.equal([['version'], ['login', url], ['whoami', '-v']])
    for (const c of fake.calls()) expect(c.env).to.include({PULUMI_HOME: pulumiHome, PULUMI_SKIP_UPDATE_CHECK: 'true'})
    expect(JSON.parse(readFileSync(`${pulumiHome}/credentials.json`, 'utf8')).current).to.equal(url)
  })

  it('--json prints one LoginResult document on stdout', async () => {
    const r = await runPsb([...BASE, '--json'], home, {env: fake.env()})
    expect(r.code, r.stderr).to.equal(0)
    const doc = JSON.parse(r.stdout)
    expect(doc).to.include({url: URL_, pulumiVersion: '3.274.1', whoami: 'fake-user', backendUrl: URL_, dialect: 'native', form: 'new'})
    expect(doc.changes).to.deep.equal([{item: 'pulumi login', status: 'updated', detail: `${URL_} (confirmed by pulumi whoami -v)`}])
    expect(existsSync(join(fake.home, 'credentials.json'))).to.equal(true)
  })

  it('speaks the dialect of an older Pulumi (3.200: SDK v1 names, the profile in the URL, never AWS_PROFILE)', async () => {
    fake.configure({version: '3.200.0'})
    const r = await runPsb([...BASE, '--profile', 'pulumi', '--json'], home, {env: fake.env()})
    expect(r.code, r.stderr).to.equal(0)
    expect(JSON.parse(r.stdout).url).to.equal('s3://acme-state?region=eu-west-1&profile=pulumi')
    const e = await runPsb([...BASE, '--profile', 'pulumi', '--endpoint', 'http://127.0.0.1:5000', '--json'], home, {env: fake.env()})
    expect(e.code, e.stderr).to.equal(0)
    const doc = JSON.parse(e.stdout)
    expect(doc.url).to.equal('s3://acme-state?region=eu-west-1&profile=pulumi&endpoint=http%3A%2F%2F127.0.0.1%3A5000&s3ForcePathStyle=true&disableSSL=true')
    expect(doc.env).to.deep.equal({})
    expect(e.stdout + e.stderr).not.to.include('AWS_PROFILE')
    expect(fake.calls().find((c) => c.argv[0] === 'login' && c.argv[1] === doc.url)!.env.AWS_PROFILE).to.equal(undefined)
  })

  it('--print writes a portable URL by default; --dialect picks another and names the Pulumi versions that refuse it; a bad --dialect is exit 2', async () => {
    const args = [...BASE, '--profile', 'pulumi', '--endpoint', 'http://127.0.0.1:5000', '--print']
    const portable = await runPsb(args, home, {env: fake.env()})
    expect(portable.code, portable.stderr).to.equal(0)
    expect(portable.stdout).to.equal('s3://acme-state?region=eu-west-1&profile=pulumi&endpoint=http%3A%2F%2F127.0.0.1%3A5000&s3ForcePathStyle=true&disableSSL=true\n')
    expect(portable.stderr).to.include('Pulumi 3.245.x rejects "disableSSL"')
    const current = await runPsb([...args, '--dialect', 'current', '--json'], home, {env: fake.env()})
    expect(current.code, current.stderr).to.equal(0)
    const doc = JSON.parse(current.stdout)
    expect(doc).to.include({dialect: 'current', form: 'new', url: 's3://acme-state?region=eu-west-1&profile=pulumi&endpoint=http%3A%2F%2F127.0.0.1%3A5000&use_path_style=true&disable_https=true'})
    expect(doc.rejectedBy.join('\n')).to.include('Pulumi 3.113–3.244 rejects "use_path_style", "disable_https"')
    expect(current.stderr).to.include('--dialect portable writes one that does')
    fake.configure({version: '3.245.0'})
    const v245 = await runPsb(args, home, {env: fake.env()})
    expect(v245.stderr).to.include('Pulumi 3.245.0 (3.245.x) reads only the new URL names')
    const bad = await runPsb([...args, '--dialect', 'v3'], home, {env: fake.env()})
    expect(bad.code).to.equal(2)
    expect(bad.stderr).to.match(/dialect/)
  })

  it('refuses an endpoint with user:password@ (exit 2) in login --print, login and verify --json, never printing the password', async () => {
    const endpoint = 'https://admin:Pa55wordInUrl@s3.example.com'
    const runs = [
      await runPsb([...BASE, '--endpoint', endpoint, '--print'], home, {env: fake.env()}),
      await runPsb([...BASE, '--endpoint', endpoint, '--json'], home, {env: fake.env()}),
      await runPsb(['verify', '--bucket', 'acme-state', '--region', 'eu-west-1', '--profile', 'p', '--endpoint', endpoint, '--json'], home, {env: fake.env()}),
    ]
    for (const r of runs) {
      expect(r.code, r.stderr).to.equal(2)
      expect(r.stdout + r.stderr).not.to.include('Pa55wordInUrl')
      expect(r.stdout + r.stderr).to.match(/EndpointHasCredentials|--endpoint has a user name or password/)
    }
    expect(fake.calls().filter((c) => c.argv[0] === 'login')).to.deep.equal([])
    expect(existsSync(home.path('.pulumi', 'credentials.json'))).to.equal(false)
  })

  it('a profile missing on this machine is exit 2 with "Did you mean" before pulumi login; --print still prints (the URL may be for another machine)', async () => {
    const r = await runPsb([...BASE, '--profile', 'pulumy'], home, {env: fake.env()})
    expect(r.code, r.stderr).to.equal(2)
    expect(r.stderr).to.include('Did you mean "pulumi"?')
    expect(fake.calls().filter((c) => c.argv[0] === 'login')).to.deep.equal([])
    const p = await runPsb([...BASE, '--profile', 'ci-runner', '--print'], home, {env: fake.env()})
    expect(p.code, p.stderr).to.equal(0)
    expect(p.stdout).to.include('profile=ci-runner')
  })

  it('an empty or slash-only --prefix (e.g. an unset $TEAM) is exit 2 in login, verify and keys rotate, never "the whole bucket"', async () => {
    for (const p of ['', '/', '//']) {
      const runs = [
        await runPsb([...BASE, '--prefix', p, '--print'], home, {env: fake.env()}),
        await runPsb(['verify', '--bucket', 'acme-state', '--region', 'eu-west-1', '--profile', 'x', '--prefix', p, '--json'], home, {env: fake.env()}),
        await runPsb(['keys', 'rotate', '--profile', 'x', '--region', 'eu-west-1', '--prefix', p, '--json'], home, {env: fake.env()}),
      ]
      for (const r of runs) {
        expect(r.code, `${JSON.stringify(p)}: ${r.stdout}${r.stderr}`).to.equal(2)
        expect(r.stdout + r.stderr).to.match(/PrefixInvalid|--prefix (is empty|is only slashes)/)
      }
    }
    expect(fake.calls().filter((c) => c.argv[0] === 'login')).to.deep.equal([])
  })

  it('--print prints only the URL and logs nothing in', async () => {
    const r = await runPsb([...BASE, '--print'], home, {env: fake.env()})
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.equal(`${URL_}\n`)
    expect(fake.calls().map((c) => c.argv)).to.deep.equal([['version']])
  })

  it('--print --shell prints an export line a shell reads back to the same URL', async () => {
    const r = await runPsb([...BASE, '--prefix', "it's", '--endpoint', 'https://s3.example.com', '--print', '--shell'], home, {env: {PATH: '/nonexistent'}})
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.match(/^export PULUMI_BACKEND_URL='.*'\n$/)
    const value = execFileSync('sh', ['-c', 'eval "$1"; printf %s "$PULUMI_BACKEND_URL"', 'sh', r.stdout], {encoding: 'utf8'})
    // Pulumi absent: --print's portable URL, with a warning on stderr
    expect(value).to.equal("s3://acme-state/it's?region=eu-west-1&endpoint=https%3A%2F%2Fs3.example.com&s3ForcePathStyle=true")
    expect(r.stderr).to.include('Pulumi is not installed')
  })

  it('--project writes backend.url into Pulumi.yaml, keeping the rest, without running pulumi login', async () => {
    const dir = home.path('proj')
    mkdirSync(dir)
    writeFileSync(`${dir}/Pulumi.yaml`, '# infra\nname: infra\nruntime: yaml  # keep me\n')
    const r = await runPsb([...BASE, '--project', dir], home, {env: fake.env()})
    expect(r.code, r.stderr).to.equal(0)
    expect(readFileSync(`${dir}/Pulumi.yaml`, 'utf8')).to.equal(`# infra\nname: infra\nruntime: yaml  # keep me\nbackend:\n  url: ${URL_}\n`)
    expect(r.stdout).to.match(/created\s+backend\.url in .*Pulumi\.yaml/)
    expect(fake.calls().map((c) => c.argv)).to.deep.equal([['version']])
    const none = await runPsb([...BASE, '--project', home.path()], home, {env: fake.env()})
    expect(none.code).to.equal(2)
    expect(none.stderr).to.include('has no Pulumi.yaml')
  })

  it('Pulumi missing from PATH: exit 1 with the install hint and the exact URL', async () => {
    const r = await runPsb([...BASE, '--profile', 'pulumi'], home, {env: {PATH: '/nonexistent'}})
    expect(r.code).to.equal(1)
    expect(r.stderr).to.include('The Pulumi CLI was not found on PATH')
    expect(r.stderr).to.include('https://www.pulumi.com/docs/install/')
    expect(r.stderr).to.include(`pulumi login 's3://acme-state?region=eu-west-1&profile=pulumi'`)
  })

  it('Pulumi failing: its stderr is shown, exit 1, no stack trace', async () => {
    fake.configure({version: '3.274.1', fail: {command: 'login', stderr: 'error: could not log in: AccessDenied: psb-test-marker', code: 255}})
    const r = await runPsb(BASE, home, {env: fake.env()})
    expect(r.code).to.equal(1)
    expect(r.stderr).to.include('psb-test-marker')
    expect(r.stderr).to.include('exited with 255')
    expect(r.stderr).to.not.match(/\n\s+at /)
  })

  it('warns when PULUMI_BACKEND_URL overrides the login', async () => {
    const r = await runPsb(BASE, home, {env: fake.env({PULUMI_BACKEND_URL: 'file:///tmp/elsewhere'})})
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stderr).to.match(/warning: PULUMI_BACKEND_URL is set to "file:\/\/\/tmp\/elsewhere"/)
  })

  it('--dry-run shows the URL and the commands, and runs none', async () => {
    const r = await runPsb([...BASE, '--dry-run'], home, {env: fake.env()})
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.include(`would run: pulumi login '${URL_}'`)
    expect(r.stdout).to.include('would run: pulumi whoami -v')
    expect(fake.calls().map((c) => c.argv)).to.deep.equal([['version']])
    expect(existsSync(fake.home)).to.equal(false)
  })

  it('bad input exits 2 before running pulumi', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['login', '--region', 'eu-west-1'], /Missing required flag bucket/i],
      [['login', '--bucket', 'acme-state'], /No AWS region is set/],
      [[...BASE, '--shell'], /--print/],
      [['login', '--bucket', 'Bad_Bucket', '--region', 'eu-west-1'], /not a valid S3 bucket name/],
    ]
    for (const [args, message] of cases) {
      const r = await runPsb(args, home, {env: fake.env()})
      expect(r.code, args.join(' ')).to.equal(2)
      expect(r.stderr, args.join(' ')).to.match(message)
    }
    expect(fake.calls()).to.deep.equal([])
  })
})
