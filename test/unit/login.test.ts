import {expect} from 'chai'
import {mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync, mkdirSync} from 'node:fs'
import {tmpdir, userInfo} from 'node:os'
import {join} from 'node:path'
import {parseDocument} from 'yaml'
import {login} from '../../src/lib/pulumi/login.js'
import {findPulumi, parsePulumiVersion, parseWhoami, pulumiCredentialsFile, pulumiVersion} from '../../src/lib/pulumi/cli.js'
import {setProjectBackend, withProjectBackend} from '../../src/lib/pulumi/project.js'
import {PsbError} from '../../src/lib/errors.js'
import {FakePulumi} from '../support/fake-pulumi.js'

const URL_ = 's3://acme-state/team-a?region=eu-west-1&profile=p&endpoint=http%3A%2F%2F127.0.0.1%3A5000&use_path_style=true&disable_https=true'

async function rejection(p: Promise<unknown>): Promise<PsbError> {
  try {
    await p
  } catch (error) {
    expect(error).to.be.instanceOf(PsbError)
    return error as PsbError
  }
  throw new Error('expected a rejection')
}

describe('Pulumi project file (backend.url)', () => {
  it('replaces an existing url in place, keeping every other byte (comments, spacing, flow maps, CRLF)', () => {
    const src = '# my project\r\nname: app   # the name\r\nruntime: yaml\r\nresources:\r\n  b:\r\n    properties: {acl: private}\r\nbackend:\r\n  # where state goes\r\n  url: file://~   # old\r\n'
    const {text, before} = withProjectBackend(src, URL_)
    expect(before).to.equal('file://~')
    expect(text).to.equal(src.replace('file://~', URL_))
  })

  it('appends a backend section when there is none, and keeps a missing final newline', () => {
    const src = 'name: app\nruntime: yaml\ndescription: "x"'
    const {text} = withProjectBackend(src, URL_)
    expect(text).to.equal(`${src}\nbackend:\n  url: ${URL_}\n`)
    expect(parseDocument(text).toJS()).to.deep.equal({name: 'app', runtime: 'yaml', description: 'x', backend: {url: URL_}})
  })

  it('fills an empty backend and a backend without url', () => {
    for (const src of ['name: app\nbackend:\n', 'name: app\nbackend:\n  url:\n', 'name: app\nbackend: {}\n']) {
      const {text} = withProjectBackend(src, URL_)
      expect(parseDocument(text).toJS(), src).to.deep.equal({name: 'app', backend: {url: URL_}})
    }
  })

  it('quotes a value that would not read back as plain YAML', () => {
    const odd = 's3://b?region=x #not a comment'
    const {text} = withProjectBackend('name: a\nbackend:\n  url: x\n', odd)
    expect(parseDocument(text).getIn(['backend', 'url'])).to.equal(odd)
  })

  it('rejects invalid YAML naming the line, several documents, and a non-map backend', () => {
    const cases: Array<[string, RegExp]> = [
      ['name: a\nruntime: [yaml\n', /line \d/],
      ['name: a\n---\nname: b\n', /2 YAML documents/],
      ['name: a\nbackend: s3://x\n', /backend in .* is not a mapping/],
      ['- a\n- b\n', /not a YAML mapping/],
    ]
    for (const [src, message] of cases) {
      let caught: unknown
      try {
        withProjectBackend(src, URL_)
      } catch (error) {
        caught = error
      }
      expect(caught, src).to.be.instanceOf(PsbError)
      expect((caught as PsbError).exitCode).to.equal(2)
      expect((caught as PsbError).message).to.match(message)
    }
  })

  it('writes atomically with the same mode, and reports unchanged on a second run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psb-proj-'))
    try {
      const file = join(dir, 'Pulumi.yaml')
      writeFileSync(file, 'name: app\nruntime: yaml\n')
      chmodSync(file, 0o640)
      const first = setProjectBackend(dir, URL_)
      expect(first).to.include({file, changed: true})
      expect(statSync(file).mode & 0o777).to.equal(0o640)
      expect(setProjectBackend(dir, URL_).changed).to.equal(false)
      const dry = setProjectBackend(dir, 's3://other?region=x', {dryRun: true})
      expect(dry.changed).to.equal(true)
      expect(readFileSync(file, 'utf8')).to.include(URL_)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('rejects a folder without Pulumi.yaml (exit 2)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psb-proj-'))
    try {
      expect(() => setProjectBackend(dir, URL_)).to.throw(PsbError, /has no Pulumi.yaml/)
      expect(() => setProjectBackend(join(dir, 'nope'), URL_)).to.throw(PsbError, /no such folder/)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('the pulumi CLI wrapper', () => {
  it('parses pulumi version and whoami -v output', () => {
    expect(parsePulumiVersion('v3.274.1\n')).to.equal('3.274.1')
    expect(parsePulumiVersion('warning: something\nv3.200.0-alpha.1\n')).to.equal('3.200.0-alpha.1')
    expect(parsePulumiVersion('no version here')).to.equal(undefined)
    expect(parseWhoami('Access token source: none\nUser: root\nOrganizations: a, b\nBackend URL: s3://b?region=x\nToken type: personal\n')).to.deep.equal({
      user: 'root',
      organizations: ['a', 'b'],
      backendUrl: 's3://b?region=x',
    })
  })

  it('finds pulumi on PATH, honours PULUMI_BIN, and rejects a PULUMI_BIN that is not executable', async () => {
    const fake = new FakePulumi({version: '3.200.0'})
    try {
      expect(findPulumi({PATH: `/nonexistent:${fake.dir}`})).to.equal(fake.bin)
      expect(findPulumi({PATH: '/nonexistent'})).to.equal(undefined)
      expect(findPulumi({PATH: '', PULUMI_BIN: fake.bin})).to.equal(fake.bin)
      expect(() => findPulumi({PULUMI_BIN: join(fake.dir, 'config.json')})).to.throw(PsbError, /PULUMI_BIN/)
      expect(await pulumiVersion({env: {PATH: fake.dir}})).to.equal('3.200.0')
      expect(await pulumiVersion({env: {PATH: '/nonexistent'}})).to.equal(undefined)
      expect(fake.calls()[0].env.PULUMI_SKIP_UPDATE_CHECK).to.equal('true')
    } finally {
      fake.cleanup()
    }
  })

  it('without pulumi on PATH: the error has the install hint and the URL, and points at ~/.pulumi/bin when Pulumi is there', async () => {
    const home = mkdtempSync(join(tmpdir(), 'psb-nopulumi-'))
    try {
      const url = 's3://acme-state?region=eu-west-1'
      const e = await rejection(login({bucket: 'acme-state', region: 'eu-west-1', env: {PATH: '/nonexistent', HOME: home}, cwd: home}))
      expect(e).to.include({exitCode: 1, code: 'PulumiNotFound'})
      expect(e.hint).to.include(`pulumi login '${url}'`).and.include('https://www.pulumi.com/docs/install/')
      expect(e.data).to.deep.equal({url})
      mkdirSync(join(home, '.pulumi', 'bin'), {recursive: true})
      writeFileSync(join(home, '.pulumi', 'bin', 'pulumi'), '#!/bin/sh\n', {mode: 0o755})
      const off = await rejection(login({bucket: 'acme-state', region: 'eu-west-1', env: {PATH: '/nonexistent', HOME: home}, cwd: home}))
      expect(off.message).to.include(`It is installed at ${join(home, '.pulumi', 'bin', 'pulumi')}, but that folder is not on PATH`)
    } finally {
      rmSync(home, {recursive: true, force: true})
    }
  })

  it('places credentials.json like Pulumi does', () => {
    // PULUMI_HOME unset: the account's home from the password database (Go's user.Current), not $HOME.
    expect(pulumiCredentialsFile({HOME: '/h'})).to.equal(join(userInfo().homedir, '.pulumi', 'credentials.json'))
    expect(pulumiCredentialsFile({HOME: '/h', PULUMI_HOME: '/p'})).to.equal('/p/credentials.json')
    expect(pulumiCredentialsFile({HOME: '/h', PULUMI_HOME: '/p', PULUMI_CREDENTIALS_PATH: '/c'})).to.equal('/c/credentials.json')
  })
})

describe('login() with a fake pulumi', () => {
  let fake: FakePulumi
  let home: string
  beforeEach(() => {
    fake = new FakePulumi({version: '3.274.1'})
    home = mkdtempSync(join(tmpdir(), 'psb-login-'))
    mkdirSync(join(home, 'work'))
  })
  afterEach(() => {
    fake.cleanup()
    rmSync(home, {recursive: true, force: true})
  })
  const env = (extra: Record<string, string> = {}) => ({PATH: fake.dir, HOME: home, PULUMI_HOME: join(home, 'ph'), AWS_SHARED_CREDENTIALS_FILE: join(home, 'c'), AWS_CONFIG_FILE: join(home, 'f'), ...extra})

  it('HOME is not the account\'s home and PULUMI_HOME is unset: names where Pulumi really keeps the login, and says so', async () => {
    const e: Record<string, string | undefined> = env()
    delete e.PULUMI_HOME
    const r = await login({bucket: 'acme-state', region: 'eu-west-1', env: e, cwd: join(home, 'work'), dryRun: true})
    const real = join(userInfo().homedir, '.pulumi', 'credentials.json')
    expect(r.credentialsFile).to.equal(real)
    expect(r.warnings.join('\n')).to.contain(`HOME is ${home}, but Pulumi keeps its login in ${real}`)
    expect(r.warnings.join('\n')).to.contain('Set PULUMI_HOME')
    // With PULUMI_HOME set, no note.
    expect((await login({bucket: 'acme-state', region: 'eu-west-1', env: env(), cwd: join(home, 'work'), dryRun: true})).warnings.join('\n')).not.to.contain('HOME is')
  })

  it('logs in, confirms with whoami, and is unchanged the second time', async () => {
    const opts = {bucket: 'acme-state', region: 'eu-west-1', env: env(), cwd: join(home, 'work')}
    const r = await login(opts)
    expect(r.url).to.equal('s3://acme-state?region=eu-west-1')
    expect(r).to.include({pulumiVersion: '3.274.1', dialect: 'native', form: 'new', whoami: 'fake-user', backendUrl: r.url})
    expect(r.changes).to.deep.equal([{item: 'pulumi login', status: 'updated', detail: `${r.url} (confirmed by pulumi whoami -v)`}])
    expect(fake.calls().map((c) => c.argv)).to.deep.equal([['version'], ['login', r.url], ['whoami', '-v']])
    expect(JSON.parse(readFileSync(join(home, 'ph', 'credentials.json'), 'utf8')).current).to.equal(r.url)
    expect((await login(opts)).changes[0].status).to.equal('unchanged')
  })

  it('runs pulumi without PULUMI_BACKEND_URL, and warns that it overrides the login', async () => {
    const r = await login({bucket: 'acme-state', region: 'eu-west-1', env: env({PULUMI_BACKEND_URL: 'file:///old'}), cwd: join(home, 'work')})
    expect(r.warnings.join('\n')).to.match(/PULUMI_BACKEND_URL is set to "file:\/\/\/old", and it overrides/)
    const runs = fake.calls().filter((c) => c.argv[0] !== 'version')
    expect(runs.map((c) => c.argv[0])).to.deep.equal(['login', 'whoami'])
    for (const c of runs) expect(c.env.PULUMI_BACKEND_URL).to.equal(undefined)
  })

  it('does not warn about PULUMI_BACKEND_URL or a Pulumi.yaml naming the same backend in another spelling', async () => {
    writeFileSync(join(home, 'work', 'Pulumi.yaml'), 'name: a\nbackend:\n  url: s3://acme-state?region=EU-WEST-1\n')
    const r = await login({bucket: 'acme-state', region: 'eu-west-1', env: env({PULUMI_BACKEND_URL: 's3://acme-state/?region=eu-west-1'}), cwd: join(home, 'work')})
    expect(r.url).to.equal('s3://acme-state?region=eu-west-1')
    expect(r.warnings.join('\n')).not.to.match(/PULUMI_BACKEND_URL|backend\.url/)
  })

  it('fails (exit 1) when whoami reports another URL', async () => {
    fake.configure({version: '3.274.1', whoamiUrl: 's3://elsewhere'})
    const e = await rejection(login({bucket: 'acme-state', region: 'eu-west-1', env: env(), cwd: home}))
    expect(e.exitCode).to.equal(1)
    expect(e.code).to.equal('LoginNotConfirmed')
    expect(e.message).to.include('s3://elsewhere')
  })

  it('passes the profile through AWS_PROFILE on Pulumi older than 3.113', async () => {
    fake.configure({version: '3.100.0'})
    const r = await login({bucket: 'acme-state', region: 'eu-west-1', profile: 'pulumi', env: env(), cwd: home})
    expect(r.url).to.equal('s3://acme-state?region=eu-west-1')
    expect(r.env).to.deep.equal({AWS_PROFILE: 'pulumi'})
    expect(fake.calls().find((c) => c.argv[0] === 'login')!.env.AWS_PROFILE).to.equal('pulumi')
    expect(r.warnings.join('\n')).to.include('AWS_PROFILE=pulumi')
    // and the profile is not in the (empty) AWS files yet
    expect(r.warnings.join('\n')).to.include('The AWS profile "pulumi" is not in your AWS credentials or config file')
  })

  it('Pulumi 3.200.0 with an endpoint: the profile goes into the URL, never into AWS_PROFILE', async () => {
    fake.configure({version: '3.200.0'})
    const r = await login({bucket: 'acme-state', region: 'eu-west-1', profile: 'pulumi', endpoint: 'http://127.0.0.1:5000', env: env(), cwd: home})
    expect(r.url).to.equal('s3://acme-state?region=eu-west-1&profile=pulumi&endpoint=http%3A%2F%2F127.0.0.1%3A5000&s3ForcePathStyle=true&disableSSL=true')
    expect(r.env).to.deep.equal({})
    expect(fake.calls().find((c) => c.argv[0] === 'login')!.env.AWS_PROFILE).to.equal(undefined)
    expect(r.warnings.join('\n')).not.to.include('AWS_PROFILE')
  })

  it('--project writes a portable URL by default, whatever Pulumi is installed; --dialect native the installed one', async () => {
    const dir = join(home, 'work')
    writeFileSync(join(dir, 'Pulumi.yaml'), 'name: a\nruntime: yaml\n')
    const opts = {bucket: 'acme-state', region: 'eu-west-1', profile: 'pulumi', endpoint: 'https://s3.example.com', env: env(), cwd: home, project: dir}
    const portable = 's3://acme-state?region=eu-west-1&profile=pulumi&endpoint=https%3A%2F%2Fs3.example.com&s3ForcePathStyle=true'
    for (const version of ['3.274.1', '3.200.0']) {
      fake.configure({version})
      const r = await login(opts)
      expect(r.url, version).to.equal(portable)
      expect(r).to.include({dialect: 'portable', form: 'legacy'})
      expect(r.rejectedBy).to.deep.equal([])
    }
    fake.configure({version: '3.274.1'})
    const native = await login({...opts, dialect: 'native'})
    expect(native.url).to.equal('s3://acme-state?region=eu-west-1&profile=pulumi&endpoint=https%3A%2F%2Fs3.example.com&use_path_style=true')
    expect(native.warnings.join('\n')).to.include('Pulumi 3.113–3.244 rejects "use_path_style"')
    expect(parseDocument(readFileSync(join(dir, 'Pulumi.yaml'), 'utf8')).getIn(['backend', 'url'])).to.equal(native.url)
  })

  it('a missing profile with a secret-shaped name is warned about without echoing the name', async () => {
    const name = 'q8Hn2VbR7xYt0LmK4pWz9sJd3GfA6cEeU1oIhN5r'
    const r = await login({bucket: 'acme-state', region: 'eu-west-1', profile: name, env: env(), cwd: home, dryRun: true})
    const text = r.warnings.join('\n')
    expect(text).to.include('is not in your AWS credentials or config file')
    expect(text).to.include('psb creds write --profile <name>')
    expect(text).not.to.include(name)
  })

  it('warns when the Pulumi.yaml of the current folder pins another backend', async () => {
    writeFileSync(join(home, 'work', 'Pulumi.yaml'), 'name: a\nbackend:\n  url: file:///elsewhere\n')
    const r = await login({bucket: 'acme-state', region: 'eu-west-1', env: env(), cwd: join(home, 'work')})
    expect(r.warnings.join('\n')).to.include('sets backend.url to "file:///elsewhere"')
    // pulumi runs outside that folder, so the project does not change what whoami reports
    for (const c of fake.calls()) expect(c.cwd).to.not.equal(join(home, 'work'))
  })

  it('dry run: runs only `pulumi version`, changes nothing', async () => {
    const r = await login({bucket: 'acme-state', region: 'eu-west-1', dryRun: true, env: env(), cwd: home})
    expect(r.changes[0].status).to.equal('planned')
    expect(r.commands).to.deep.equal([`pulumi login 's3://acme-state?region=eu-west-1'`, 'pulumi whoami -v'])
    expect(fake.calls().map((c) => c.argv)).to.deep.equal([['version']])
  })
})
