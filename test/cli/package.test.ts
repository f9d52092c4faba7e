/**
 * Packaging: in a temporary copy of the repository (so the work tree never gets a
 * manifest), build, generate oclif.manifest.json, `npm pack`, install the tarball globally
 * into a temporary prefix, and run `psb` from another folder.
 */
import {expect} from 'chai'
import {spawnSync, type SpawnSyncReturns} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {delimiter, dirname, join} from 'node:path'
import {buildCopy} from '../support/build-copy.js'

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {cwd, env, encoding: 'utf8', timeout: 300_000})
}

describe('packaging: npm pack, npm install -g, psb from any folder', function () {
  this.timeout(600_000)
  let tmp: string
  let tarball: string
  let prefix: string
  let packed: string[] = []
  // Node 22 (this process's) first on PATH: the installed `psb` runs on `#!/usr/bin/env node`.
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(AWS_|PULUMI_|PSB_|npm_|NODE_COMPILE_CACHE$|XDG_CACHE_HOME$)/.test(k))),
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
    NO_UPDATE_NOTIFIER: '1',
    // psb's own update notice would ask registry.npmjs.org in the background.
    PSB_NO_UPDATE_CHECK: '1',
    NO_COLOR: '1',
  }

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'psb-pack-'))
    // Build and generate the manifest in a copy (tsc emits even when a file being written
    // elsewhere has a type error: CI's typecheck catches those; the emitted files matter here).
    const copy = buildCopy({parent: tmp}).dir
    expect(existsSync(join(copy, 'dist', 'commands', 'login.js'))).to.equal(true)
    expect(existsSync(join(copy, 'dist', 'lib'))).to.equal(false)
    expect(existsSync(join(copy, 'oclif.manifest.json'))).to.equal(true)
    const pack = run('npm', ['pack', '--pack-destination', tmp, '--json', '--ignore-scripts'], copy, env)
    expect(pack.status, pack.stderr).to.equal(0)
    const [info] = JSON.parse(pack.stdout) as Array<{filename: string; files: Array<{path: string}>}>
    tarball = join(tmp, info.filename)
    packed = info.files.map((f) => f.path)
    prefix = join(tmp, 'prefix')
    const install = run('npm', ['install', '-g', tarball, '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], tmp, env)
    expect(install.status, install.stderr).to.equal(0)
  })

  after(() => {
    if (tmp) rmSync(tmp, {recursive: true, force: true})
  })

  it('the tarball holds the built CLI and its manifest, and no sources or tests', () => {
    const list = packed
    expect(list).to.include.members(['package.json', 'bin/run.js', 'oclif.manifest.json', 'dist/commands/login.js', 'dist/hooks/init/node-version.js'])
    expect(list.filter((f) => f.startsWith('src/') || f.startsWith('test/') || f.endsWith('.ts'))).to.deep.equal([])
    // The bundle (scripts/bundle.mjs), not one file per module: no dist/lib/ or dist/cli/ modules
    // beside the help class and oclif's entry, the bundler's marker, and source maps for DEBUG.
    expect(list).to.include.members(['dist/bundle.json', 'dist/commands/login.js.map'])
    expect(list.filter((f) => f.startsWith('dist/lib/') || (f.startsWith('dist/cli/') && !/^dist\/cli\/(help|oclif)\.js/.test(f)))).to.deep.equal([])
    expect(JSON.parse(readFileSync(join(prefix, 'lib', 'node_modules', 'psb', 'dist', 'bundle.json'), 'utf8'))).to.include({bundler: 'esbuild'})
    const manifest = JSON.parse(readFileSync(join(prefix, 'lib', 'node_modules', 'psb', 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}
    expect(Object.keys(manifest.commands)).to.include('login')
  })

  it('the installed psb runs from another folder: --version, --help, and a command', () => {
    const psb = join(prefix, 'bin', 'psb')
    const elsewhere = join(tmp, 'elsewhere')
    mkdirSync(elsewhere)
    const version = run(psb, ['--version'], elsewhere, {...env, HOME: elsewhere})
    expect(version.status, version.stderr).to.equal(0)
    expect(version.stdout).to.match(/^psb\/0\.1\.0 /)
    const help = run(psb, ['--help'], elsewhere, {...env, HOME: elsewhere})
    expect(help.status, help.stderr).to.equal(0)
    expect(help.stdout).to.match(/^ {2}login +Point Pulumi at the S3 bucket/m)
    expect(help.stderr).to.equal('')
    const print = run(psb, ['login', '--bucket', 'acme-state', '--region', 'eu-west-1', '--print'], elsewhere, {...env, HOME: elsewhere, PATH: dirname(process.execPath)})
    expect(print.status, print.stderr).to.equal(0)
    expect(print.stdout).to.equal('s3://acme-state?region=eu-west-1\n')
    // The installed bundle keeps V8's compile cache in psb's cache folder, across runs.
    expect(readdirSync(join(elsewhere, '.cache', 'psb', 'compile-cache'))).to.not.deep.equal([])
    // DEBUG's stack trace names psb's sources (the bundle's source maps), not its chunks.
    const debug = run(psb, ['login', '--bucket', 'acme-state', '--region', 'eu-west-1', '--no-such-flag'], elsewhere, {...env, HOME: elsewhere, DEBUG: '1'})
    expect(debug.status).to.equal(2)
    expect(debug.stderr).to.match(/^\s+at .*src\/cli\/base-command\.ts:\d+:\d+\)?$/m)
    // Installed without the development dependencies.
    expect(readdirSync(join(prefix, 'lib', 'node_modules', 'psb', 'node_modules'))).to.not.include('mocha')
  })
})
