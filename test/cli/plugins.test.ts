/**
 * Plugins (docs/plugins.md), with the built CLI as a subprocess against moto: the example
 * plugin (examples/plugin-tag-policy) built with the repo's TypeScript, packed with npm,
 * installed with `psb plugins install` into a temporary data dir (XDG_DATA_HOME), seen
 * acting in `psb verify` and `psb bucket create`, and uninstalled; a plain JavaScript plugin
 * (test/fixtures/plugin-js, no build step) linked, its checks counted and its failures
 * reported without breaking the command; and the update notice, off in tests, calling nothing.
 */
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {GetBucketTaggingCommand, S3Client} from '@aws-sdk/client-s3'
import {useMoto} from '../support/moto.js'
import {ROOT, TempHome, runPsb, type RunResult} from '../support/cli.js'
import {CountingServer} from '../support/counting-server.js'
import {FakePulumi} from '../support/fake-pulumi.js'
import {nothingToDo} from '../../src/hooks/init/update-check.js'

const REGION = 'eu-west-1'
const EXAMPLE = join(ROOT, 'examples', 'plugin-tag-policy')
const JS_FIXTURE = join(ROOT, 'test', 'fixtures', 'plugin-js')

interface Doc {
  checks: {id: string; status: string; detail?: string; hint?: string}[]
  changes: {item: string; status: string; detail?: string}[]
}

const out = (r: RunResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`
const check = (r: RunResult, id: string) => (JSON.parse(r.stdout) as Doc).checks.find((c) => c.id === id)
const change = (r: RunResult, item: string) => (JSON.parse(r.stdout) as Doc).changes.find((c) => c.item === item)

/** Builds the example plugin with the repo's tsc and packs it (no scripts, no registry); answers the tarball's path. */
function packExample(dest: string): string {
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', EXAMPLE], {encoding: 'utf8'})
  expect(tsc.status, tsc.stdout + tsc.stderr).to.equal(0)
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const pack = spawnSync(npm, ['pack', '--ignore-scripts', '--pack-destination', dest, '--json'], {cwd: EXAMPLE, encoding: 'utf8'})
  expect(pack.status, pack.stderr).to.equal(0)
  return join(dest, (JSON.parse(pack.stdout) as {filename: string}[])[0].filename)
}

describe('psb plugins (subprocess, moto)', function () {
  const moto = useMoto()
  let home: TempHome
  beforeEach(() => {
    home = new TempHome()
    writeFileSync(home.credentialsFile, `[admin]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n`, {mode: 0o600})
  })
  afterEach(() => home.cleanup())

  const env = (extra: Record<string, string | undefined> = {}) => ({XDG_DATA_HOME: home.path('data'), PSB_BUCKET_MAX_WAIT_MS: '5000', ...extra})
  const psb = (args: string[], extra: Record<string, string | undefined> = {}) => runPsb(args, home, {env: env(extra)})
  const bucketCreate = (bucket: string, extra: Record<string, string | undefined> = {}) =>
    psb(['bucket', 'create', '--bucket', bucket, '--region', REGION, '--endpoint', moto.endpoint, '--admin-profile', 'admin', '--json'], extra)
  const verify = (bucket: string, extra: Record<string, string | undefined> = {}) =>
    psb(['verify', '--bucket', bucket, '--region', REGION, '--endpoint', moto.endpoint, '--profile', 'admin', '--no-pulumi', '--json'], extra)

  it('packs the example plugin, installs it into the data dir (never the global npm prefix), sees it act in bucket create and verify, and uninstalls it', async () => {
    const tarball = packExample(home.dir)
    const globalPrefix = home.path('global-npm')
    // An inherited npm_config_global / prefix must not send the plugin to the global prefix.
    const install = await runPsb(['plugins', 'install', `./${tarball.split('/').pop()}`], home, {env: env({npm_config_global: 'true', npm_config_prefix: globalPrefix, npm_config_offline: 'true'})})
    expect(install.code, out(install)).to.equal(0)
    expect(existsSync(home.path('data', 'psb', 'node_modules', 'psb-plugin-tag-policy', 'package.json'))).to.equal(true)
    expect(existsSync(globalPrefix)).to.equal(false)
    const listed = await psb(['plugins'])
    expect(listed.stdout).to.contain('psb-plugin-tag-policy 1.0.0')
    const inspect = await psb(['plugins', 'inspect', 'psb-plugin-tag-policy'])
    expect(inspect.code, out(inspect)).to.equal(0)
    expect(inspect.stdout).to.contain(home.path('data', 'psb', 'node_modules', 'psb-plugin-tag-policy'))

    const B = 'plugin-tag-state'
    const policy = {PSB_REQUIRED_TAGS: 'cost-center=42'}
    // Without a policy the plugin adds nothing; the bucket gets psb's own settings only.
    const plain = await bucketCreate(B)
    expect(plain.code, out(plain)).to.equal(0)
    expect(change(plain, 'tag-policy')).to.equal(undefined)
    // verify: the required tag is missing → the plugin's check fails, and verify exits 3 as for its own checks.
    const before = await verify(B, policy)
    expect(check(before, 'tag-policy'), out(before)).to.include({status: 'fail', detail: 'missing cost-center'})
    expect(before.code).to.equal(3)
    // bucket create adds the tag (never removing psb's), and a second run changes nothing.
    const tagged = await bucketCreate(B, policy)
    expect(tagged.code, out(tagged)).to.equal(0)
    expect(change(tagged, 'tag-policy')).to.deep.include({status: 'updated', detail: 'adds cost-center=42'})
    const s3 = new S3Client({region: REGION, endpoint: moto.endpoint, forcePathStyle: true, credentials: moto.admin})
    const tags = Object.fromEntries(((await s3.send(new GetBucketTaggingCommand({Bucket: B}))).TagSet ?? []).map((t) => [t.Key, t.Value]))
    expect(tags).to.deep.equal({'managed-by': 'psb', 'cost-center': '42'})
    const again = await bucketCreate(B, policy)
    expect((JSON.parse(again.stdout) as Doc).changes.every((c) => c.status === 'unchanged'), out(again)).to.equal(true)
    const after = await verify(B, policy)
    expect(check(after, 'tag-policy'), out(after)).to.include({status: 'pass'})

    const uninstall = await psb(['plugins', 'uninstall', 'psb-plugin-tag-policy'])
    expect(uninstall.code, out(uninstall)).to.equal(0)
    expect(existsSync(home.path('data', 'psb', 'node_modules', 'psb-plugin-tag-policy'))).to.equal(false)
    const gone = await verify(B, policy)
    expect(check(gone, 'tag-policy')).to.equal(undefined)
  })

  it('the example plugin\'s own tests pass (built with the repo\'s tsc, run with node --test)', () => {
    packExample(home.dir)
    const files = readdirSync(join(EXAMPLE, 'dist', 'test')).filter((f) => f.endsWith('.test.js')).map((f) => join(EXAMPLE, 'dist', 'test', f))
    const r = spawnSync(process.execPath, ['--test', ...files], {cwd: EXAMPLE, encoding: 'utf8'})
    expect(r.status, r.stdout + r.stderr).to.equal(0)
    expect(r.stdout).to.match(/# pass [1-9]/).and.match(/# fail 0/)
  })

  describe('a plain JavaScript plugin (no build step), linked', () => {
    beforeEach(async () => {
      const link = await psb(['plugins', 'link', JS_FIXTURE, '--no-install'])
      expect(link.code, out(link)).to.equal(0)
    })

    it('adds its checks to verify, counted like psb\'s own: a fail makes verify exit 3; its AWS client is the profile\'s', async () => {
      const B = 'plugin-js-state'
      expect((await bucketCreate(B)).code).to.equal(0)
      const pass = await verify(B)
      expect(check(pass, 'js-fixture'), out(pass)).to.deep.equal({id: 'js-fixture', title: 'The JS fixture check', status: 'pass', detail: `${B} ${REGION} admin reachable`, hint: 'fixture hint'})
      const fail = await verify(B, {PSB_FIXTURE_STATUS: 'fail'})
      expect(check(fail, 'js-fixture')).to.include({status: 'fail'})
      expect(fail.code).to.equal(3)
      const text = await psb(['verify', '--bucket', B, '--region', REGION, '--endpoint', moto.endpoint, '--profile', 'admin', '--no-pulumi'], {PSB_FIXTURE_STATUS: 'fail'})
      expect(text.stdout).to.match(/The JS fixture check/)
    })

    it('a plugin whose hooks throw is reported, and the command still runs', async () => {
      const B = 'plugin-js-throws'
      const created = await bucketCreate(B, {PSB_FIXTURE_THROW: '1'})
      expect(created.code, out(created)).to.equal(0)
      expect(created.stderr).to.contain('plugin psb-plugin-js-fixture: its psb:bucket-settings hook failed: fixture settings hook failed on purpose')
      const readFails = await bucketCreate(B, {PSB_FIXTURE_READ_THROW: '1'})
      expect(readFails.code, out(readFails)).to.equal(0)
      expect(change(readFails, 'js-fixture')).to.include({status: 'skipped'})
      const v = await verify(B, {PSB_FIXTURE_THROW: '1'})
      expect(check(v, 'plugin:psb-plugin-js-fixture'), out(v)).to.include({status: 'warn'})
      expect(check(v, 'plugin:psb-plugin-js-fixture')!.detail).to.contain('fixture hook failed on purpose')
      expect(v.code).to.not.equal(1)
    })

    it('psb init runs its setting and check, and psb:after-init receives the init summary', async () => {
      const fake = new FakePulumi({version: '3.274.1'})
      try {
        const file = home.path('after-init.json')
        const r = await runPsb(
          ['init', '--bucket', 'plugin-init-state', '--region', REGION, '--endpoint', moto.endpoint, '--admin-profile', 'admin', '--profile', 'pulumi', '--json'],
          home,
          {env: fake.env({...env(), PULUMI_HOME: home.path('.pulumi'), PSB_KEY_PROPAGATION_POLL_MS: '20', PSB_FIXTURE_AFTER_INIT: file})},
        )
        expect(r.code, out(r)).to.equal(0)
        const got = JSON.parse(readFileSync(file, 'utf8')) as {summary: {bucket: unknown}; dryRun: boolean}
        expect(got.dryRun).to.equal(false)
        expect(JSON.stringify(got.summary)).to.contain('plugin-init-state').and.contain('js-fixture')
      } finally {
        fake.cleanup()
      }
    })
  })
})

describe('the update notice (@oclif/plugin-warn-if-update-available)', function () {
  let home: TempHome
  let registry: CountingServer
  beforeEach(async () => {
    home = new TempHome()
    registry = new CountingServer()
    await registry.start()
  })
  afterEach(async () => {
    await registry.stop()
    home.cleanup()
  })

  /** Runs `psb --version` with the counting server as npm registry and an empty cache; answers the requests it got within `waitMs`. */
  async function requestsAfterVersion(extra: Record<string, string | undefined>, waitMs = 2500): Promise<number> {
    const started = Date.now()
    const r = await runPsb(['--version'], home, {env: {XDG_CACHE_HOME: home.path('cache'), PSB_NPM_REGISTRY: registry.endpoint, ...extra}})
    expect(r.code, out(r)).to.equal(0)
    expect(Date.now() - started, 'the check never delays the command').to.be.below(5000)
    const deadline = Date.now() + waitMs
    while (Date.now() < deadline && registry.requests === 0) await new Promise((resolve) => setTimeout(resolve, 100))
    return registry.requests
  }

  it('makes no network call with PSB_NO_UPDATE_CHECK (as the suite runs) nor under CI', async () => {
    expect(await requestsAfterVersion({PSB_NO_UPDATE_CHECK: '1'})).to.equal(0)
    expect(await requestsAfterVersion({PSB_NO_UPDATE_CHECK: undefined, CI: 'true'})).to.equal(0)
    expect(existsSync(home.path('cache', 'psb', 'version'))).to.equal(false)
  })

  it('on, with a fresh cached answer naming a newer version: warns (on stderr) and calls nothing; with the same version: loads nothing', async () => {
    const cache = home.path('cache', 'psb')
    mkdirSync(cache, {recursive: true})
    writeFileSync(join(cache, 'version'), JSON.stringify({latest: '99.0.0', current: '0.1.0'}))
    const env = {XDG_CACHE_HOME: home.path('cache'), PSB_NPM_REGISTRY: registry.endpoint, PSB_NO_UPDATE_CHECK: undefined, CI: undefined}
    const r = await runPsb(['--version'], home, {env})
    expect(r.stdout).to.match(/^psb\/0\.1\.0/)
    expect(r.stderr).to.contain('99.0.0').and.contain('PSB_NO_UPDATE_CHECK=1')
    writeFileSync(join(cache, 'version'), JSON.stringify({latest: '0.1.0', current: '0.1.0'}))
    expect(await nothingToDo({cacheDir: cache, version: '0.1.0', pjson: {oclif: {}}} as never)).to.equal(true)
    expect(await nothingToDo({cacheDir: cache, version: '0.0.9', pjson: {oclif: {}}} as never)).to.equal(false)
    expect(await nothingToDo({cacheDir: cache, version: '0.1.0', pjson: {oclif: {}}} as never, Date.now() + 61 * 86_400_000), 'stale after timeoutInDays').to.equal(false)
    expect(await nothingToDo({cacheDir: home.path('none'), version: '0.1.0', pjson: {oclif: {}}} as never), 'no cache yet').to.equal(false)
    const quiet = await runPsb(['--version'], home, {env})
    expect(quiet.stderr).to.equal('')
    expect(registry.requests).to.equal(0)
  })

  it('is on otherwise: the same run then asks the registry (so the test above can fail)', async () => {
    expect(await requestsAfterVersion({PSB_NO_UPDATE_CHECK: undefined, CI: undefined}, 8000)).to.be.greaterThan(0)
  })

})

describe('psb plugins: the data dir', () => {
  let home: TempHome
  beforeEach(() => (home = new TempHome()))
  afterEach(() => home.cleanup())

  it('plugins go under XDG_DATA_HOME/psb, created on first install only', async () => {
    mkdirSync(home.path('data'))
    const r = await runPsb(['plugins'], home, {env: {XDG_DATA_HOME: home.path('data')}})
    expect(r.code, out(r)).to.equal(0)
    expect(r.stdout).to.contain('No plugins installed.')
    expect(readdirSync(home.path('data'))).to.deep.equal([])
  })
})
