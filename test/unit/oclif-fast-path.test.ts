/**
 * src/cli/oclif.ts, the fast path of issue 12: psb's own commands get oclif's root plugin alone
 * (no reading of the core plugins) only when no plugin is installed or linked and neither help
 * nor the version is asked for; everything else gets oclif's full load.
 */
import {expect} from 'chai'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {Interfaces} from '@oclif/core'
import {hasUserPlugins, loadOptions, oclifDataDir, ownCommandId} from '../../src/cli/oclif.js'
import {ROOT} from '../support/cli.js'
import {ensureFreshDist} from '../support/fresh-dist.js'

describe('the fast path past oclif\'s core plugins (src/cli/oclif.ts)', function () {
  this.timeout(180_000)
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'psb-fast-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('finds oclif\'s data directory as oclif does: PSB_DATA_DIR, XDG_DATA_HOME, LOCALAPPDATA on Windows, else ~/.local/share', () => {
    expect(oclifDataDir({PSB_DATA_DIR: '/d', XDG_DATA_HOME: '/x'}, 'linux')).to.equal('/d')
    expect(oclifDataDir({XDG_DATA_HOME: '/x', HOME: '/h'}, 'linux')).to.equal(join('/x', 'psb'))
    expect(oclifDataDir({HOME: '/h'}, 'linux')).to.equal(join('/h', '.local/share', 'psb'))
    expect(oclifDataDir({HOME: '/h'}, 'darwin')).to.equal(join('/h', '.local/share', 'psb'))
    expect(oclifDataDir({LOCALAPPDATA: 'C:\\L', HOME: '/h'}, 'win32')).to.equal(join('C:\\L', 'psb'))
    expect(oclifDataDir({LOCALAPPDATA: 'C:\\L', HOME: '/h'}, 'linux')).to.equal(join('/h', '.local/share', 'psb'))
  })

  it('sees an installed or linked plugin in the data directory, and none when it has no package.json or an empty list', () => {
    expect(hasUserPlugins(join(dir, 'absent'))).to.equal(false)
    writeFileSync(join(dir, 'package.json'), JSON.stringify({private: true, oclif: {schema: 1, plugins: []}}))
    expect(hasUserPlugins(dir)).to.equal(false)
    writeFileSync(join(dir, 'package.json'), JSON.stringify({oclif: {plugins: [{name: 'psb-plugin-x', type: 'user', tag: 'latest'}]}}))
    expect(hasUserPlugins(dir)).to.equal(true)
    writeFileSync(join(dir, 'package.json'), JSON.stringify({oclif: {plugins: [{name: 'x', type: 'link', root: '/x'}]}}))
    expect(hasUserPlugins(dir)).to.equal(true)
    // Unreadable or unexpected: oclif's own load decides (and warns as it does).
    writeFileSync(join(dir, 'package.json'), '{not json')
    expect(hasUserPlugins(dir)).to.equal(true)
    writeFileSync(join(dir, 'package.json'), JSON.stringify({dependencies: {x: '1'}}))
    expect(hasUserPlugins(dir)).to.equal(true)
  })

  it('names the command that argv starts with (space-separated topics), before any flag', () => {
    const ids = new Set(['bucket:create', 'keys:schedule:install', 'init'])
    expect(ownCommandId(['bucket', 'create', '--bucket', 'b'], ids)).to.equal('bucket:create')
    expect(ownCommandId(['keys', 'schedule', 'install', 'extra'], ids)).to.equal('keys:schedule:install')
    expect(ownCommandId(['init', '--yes'], ids)).to.equal('init')
    expect(ownCommandId(['bucket'], ids)).to.equal(undefined)
    expect(ownCommandId(['--bucket', 'create'], ids)).to.equal(undefined)
    expect(ownCommandId(['plugins', 'install', 'x'], ids)).to.equal(undefined)
    expect(ownCommandId([], ids)).to.equal(undefined)
  })

  describe('loadOptions against the built package', () => {
    before(() => ensureFreshDist())
    const env = () => ({PSB_DATA_DIR: dir})
    const rootOnly = (o: string | Interfaces.Options) => (typeof o === 'string' ? undefined : [...(o.plugins?.keys() ?? [])])

    it('psb\'s own command with no plugin installed: the root plugin alone', async () => {
      const o = await loadOptions(ROOT, ['bucket', 'create', '--bucket', 'b'], env())
      expect(rootOnly(o)).to.deep.equal(['psb'])
      expect((o as Interfaces.Options).root).to.equal(ROOT)
      expect(rootOnly(await loadOptions(ROOT, ['keys', 'schedule', 'status'], env()))).to.deep.equal(['psb'])
    })

    it('help, the version, a core plugin\'s command, a typo, no command, or an installed plugin: oclif\'s full load', async () => {
      for (const argv of [['bucket', 'create', '--help'], ['init', '-h'], ['--version'], ['--help'], ['help', 'init'], ['plugins'], ['plugins', 'install', 'x'], ['autocomplete'], ['bukcet', 'create'], []]) {
        expect(await loadOptions(ROOT, argv, env()), argv.join(' ')).to.equal(ROOT)
      }
      mkdirSync(dir, {recursive: true})
      writeFileSync(join(dir, 'package.json'), JSON.stringify({oclif: {plugins: [{name: 'psb-plugin-x', type: 'user'}]}}))
      expect(await loadOptions(ROOT, ['bucket', 'create', '--bucket', 'b'], env())).to.equal(ROOT)
    })
  })
})
