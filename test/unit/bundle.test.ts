/**
 * The build (scripts/bundle.mjs): every command and hook gets its own bundled file, found by
 * glob, and the tests' staleness check (test/support/fresh-dist.ts) knows a bundled dist/.
 */
import {expect} from 'chai'
import {existsSync, globSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import {builtinModules} from 'node:module'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {ROOT} from '../support/cli.js'
import {ensureFreshDist, staleReason} from '../support/fresh-dist.js'

/** The files a bundled file imports statically (what loads before its code runs), itself included. */
function staticGraph(start: string): Set<string> {
  const seen = new Set<string>()
  const visit = (f: string) => {
    if (seen.has(f)) return
    seen.add(f)
    const text = readFileSync(f, 'utf8')
    for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s*"(\.[^"]+)"/gm)) visit(join(dirname(f), m[1]))
    for (const m of text.matchAll(/^import\s*"(\.[^"]+)"/gm)) visit(join(dirname(f), m[1]))
  }
  visit(start)
  return seen
}

describe('the bundle (scripts/bundle.mjs)', function () {
  this.timeout(180_000)

  describe('the staleness check of the tests knows the bundle', () => {
    let root: string
    const file = (rel: string, text = '', mtime = 1_000) => {
      const p = join(root, rel)
      mkdirSync(dirname(p), {recursive: true})
      writeFileSync(p, text)
      utimesSync(p, mtime, mtime)
    }
    beforeEach(() => {
      root = mkdtempSync(join(tmpdir(), 'psb-stale-'))
      file('src/commands/a.ts')
      file('package.json', '{}')
      file('scripts/bundle.mjs')
      file('dist/commands/a.js')
      file('dist/bundle.json', '{"bundler":"esbuild"}')
      file('oclif.manifest.json', '{}', 2_000)
      for (const d of ['src/commands', 'src', 'scripts', 'dist/commands', 'dist']) utimesSync(join(root, d), 1_000, 1_000)
    })
    afterEach(() => rmSync(root, {recursive: true, force: true}))

    it('a bundle newer than its inputs is fresh', () => {
      expect(staleReason(root)).to.equal(undefined)
    })
    it('a dist/ without the bundle marker (tsc\'s per-module output) is stale', () => {
      rmSync(join(root, 'dist', 'bundle.json'))
      expect(staleReason(root)).to.match(/not built/)
    })
    it('a change to the bundler itself makes dist/ stale', () => {
      utimesSync(join(root, 'scripts', 'bundle.mjs'), 3_000, 3_000)
      expect(staleReason(root)).to.equal('scripts/bundle.mjs changed after the last build')
    })
    it('a change under src/ makes dist/ stale', () => {
      file('src/commands/new.ts', '', 3_000)
      expect(staleReason(root)).to.equal('src changed after the last build')
    })
  })

  describe('the built dist/', () => {
    before(() => ensureFreshDist())

    it('has one bundled file per command and hook, found by glob (a new command needs no bundler change), and no per-module files', () => {
      const sources = ['src/commands/**/*.ts', 'src/hooks/**/*.ts'].flatMap((g) => globSync(g, {cwd: ROOT}))
      expect(sources.length).to.be.greaterThan(10)
      for (const src of sources) expect(existsSync(join(ROOT, src.replace(/^src\//, 'dist/').replace(/\.ts$/, '.js'))), src).to.equal(true)
      expect(existsSync(join(ROOT, 'dist', 'lib'))).to.equal(false)
      expect(JSON.parse(readFileSync(join(ROOT, 'dist', 'bundle.json'), 'utf8'))).to.include({bundler: 'esbuild', entryPoints: sources.length + 2})
    })

    it('the hooks and the help class (the --help / --version path) hold no AWS SDK code: it comes in chunks loaded on first use', () => {
      const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {oclif: {hooks: Record<string, string | string[]>; helpClass: string}}
      const startFiles = [...Object.values(pkg.oclif.hooks).flat(), pkg.oclif.helpClass, './dist/cli/oclif.js'].map((f) => join(ROOT, f))
      // Static imports only: a dynamic import() is loaded when its code runs, not at start.
      const seen = new Set(startFiles.flatMap((f) => [...staticGraph(f)]))
      const sdk = [...seen].filter((f) => /S3Client|STSClient|IAMClient|KMSClient|smithy/i.test(readFileSync(f, 'utf8')))
      expect(sdk.map((f) => f.slice(ROOT.length + 1))).to.deep.equal([])
    })

    it('imports no Node built-in as an ES module (node:http\'s ES module facade would load undici): require() through the banner\'s createRequire', () => {
      const builtin = new RegExp(`^(node:)?(${builtinModules.map((m) => m.replace(/^node:/, '').replace('/', '\\/')).join('|')})$`)
      const found: string[] = []
      for (const f of globSync('dist/**/*.js', {cwd: ROOT})) {
        const text = readFileSync(join(ROOT, f), 'utf8')
        for (const m of text.matchAll(/(?:^(?:import|export)\s[^;]*?from\s*|\bimport\(\s*)["']([^"']+)["']/gm)) if (builtin.test(m[1]) && m[1] !== 'node:module') found.push(`${f}: ${m[1]}`)
      }
      expect(found).to.deep.equal([])
    })

    it('bucket create\'s start path holds none of verify\'s table (the Pulumi CLI checks, YAML, schedules)', () => {
      const seen = staticGraph(join(ROOT, 'dist', 'commands', 'bucket', 'create.js'))
      const heavy = [...seen].filter((f) => /^\/\/ (src\/lib\/verify\/checks\/|node_modules\/(yaml|plist|xmlbuilder)\/)/m.test(readFileSync(f, 'utf8')))
      expect(heavy.map((f) => f.slice(ROOT.length + 1))).to.deep.equal([])
    })

    it('the region check holds the SDK\'s partition table: no require of @aws-sdk/core/client (a second, CommonJS @smithy/core) at run time', () => {
      const files = globSync('dist/**/*.js', {cwd: ROOT}).map((f) => [f, readFileSync(join(ROOT, f), 'utf8')] as const)
      expect(files.filter(([, t]) => t.includes('@aws-sdk/core/client')).map(([f]) => f)).to.deep.equal([])
      expect(files.filter(([, t]) => t.includes('partitionsInfo')).length).to.be.greaterThan(0)
    })
  })
})
