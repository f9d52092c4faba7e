#!/usr/bin/env node
// The build's bundler (`npm run build`, prepack): esbuild writes one pre-bundled ESM file per
// command (dist/commands/**), per hook (dist/hooks/**) and for the help class, at the paths
// package.json's "oclif" section names, plus shared chunks (dist/chunks/). The entry points are
// found by glob, so a new command or hook needs no change here. The AWS SDK, chalk, listr2,
// @oclif/core and the other libraries are bundled (tree-shaken, ESM builds); bin/run.js starts
// oclif from the bundle (dist/cli/oclif.js), so psb's commands share its Command and Config.
// oclif's plugins stay external (they bring their own @oclif/core, as plugins may). Dynamic
// imports (the SDK clients) become chunks loaded on first use, so `--help` and `--version`
// load no AWS code. Linked source maps name the src/ files (bin/run.js turns them on with DEBUG).
// Usage: node scripts/bundle.mjs [root]   (writes <root>/dist; prints a one-line summary)
import {build} from 'esbuild'
import {globSync, rmSync, writeFileSync} from 'node:fs'
import {builtinModules} from 'node:module'
import {join, resolve} from 'node:path'

const root = resolve(process.argv[2] ?? join(import.meta.dirname, '..'))
const ENTRY_GLOBS = ['src/commands/**/*.ts', 'src/hooks/**/*.ts', 'src/cli/help.ts', 'src/cli/oclif.ts', 'src/index.ts']
const entryPoints = ENTRY_GLOBS.flatMap((g) => globSync(g, {cwd: root})).filter((f) => !f.endsWith('.d.ts')).sort()
const outdir = join(root, 'dist')
rmSync(outdir, {recursive: true, force: true})

// Node's built-ins through require(), not ESM imports: an ESM import of a built-in makes Node
// build its ESM facade, which reads every export, and the getters run: node:http's (WebSocket,
// CloseEvent, ...) load undici, node:process's build allowedNodeEnvironmentFlags (together about
// 20 ms of CPU for a command that talks to AWS). esbuild reads a named import of this CommonJS
// shim as a property access at call time. Each importing module gets its own shim (the path
// names the importer), so that a shim always lands in its importer's chunk: one shared shim
// would be a chunk of its own, one more file to load.
const builtinsAsRequire = {
  name: 'builtins-as-require',
  setup(b) {
    const names = builtinModules.filter((m) => !m.startsWith('_')).map((m) => m.replace(/^node:/, '').replace(/[/\\]/g, '\\/'))
    b.onResolve({filter: new RegExp(`^(node:)?(${names.join('|')})$`)}, (args) =>
      // import and import() go through the shim (the SDK's HTTP handler imports node:http on its
      // first plain-HTTP request); the shim's own require() stays Node's.
      /^(import-statement|dynamic-import)$/.test(args.kind) && args.namespace !== 'builtin'
        ? {path: `${args.importer}:${args.path.replace(/^node:/, '')}`, namespace: 'builtin'}
        : {path: args.path, external: true},
    )
    b.onLoad({filter: /.*/, namespace: 'builtin'}, (args) => ({contents: `module.exports = require(${JSON.stringify(`node:${args.path.slice(args.path.lastIndexOf(':') + 1)}`)})`, loader: 'js'}))
  },
}

// The region check (src/lib/files/aws-config.ts isKnownRegion) needs the SDK's partition table
// only: taking @aws-sdk/core/client whole would put its ~300 KB on the start path of every
// command (the aws-profile init hook imports that file), and a runtime require() of it loads a
// second, CommonJS copy of @smithy/core (12 modules, about 35 ms of CPU).
const partitionTable = {
  name: 'partition-table',
  setup(b) {
    b.onResolve({filter: /^@aws-sdk\/core\/client$/}, (args) =>
      args.importer.endsWith(join('src', 'lib', 'files', 'aws-config.ts'))
        ? {path: join(root, 'node_modules', '@aws-sdk', 'core', 'dist-es', 'submodules', 'client', 'util-endpoints', 'lib', 'aws', 'partition.js')}
        : undefined,
    )
  },
}

const started = Date.now()
const result = await build({
  absWorkingDir: root,
  entryPoints,
  outbase: 'src',
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  // ESM builds first (dist-es of the AWS SDK): tree-shaken, and no CommonJS wrappers.
  mainFields: ['module', 'main'],
  // oclif's plugins load from node_modules (with their own @oclif/core); oclif's optional
  // TypeScript support (development only) is never bundled.
  external: ['@oclif/plugin-*', 'typescript', 'ts-node', 'tsx', 'tsx/*'],
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: 'linked',
  sourcesContent: false,
  minifySyntax: true,
  legalComments: 'linked',
  metafile: true,
  plugins: [builtinsAsRequire, partitionTable],
  logLevel: 'warning',
  // CommonJS dependencies bundled into ESM call require() for Node's built-ins.
  banner: {js: "import {createRequire as __psbCreateRequire} from 'node:module'; const require = __psbCreateRequire(import.meta.url);"},
})
// Node looks up the package scope of every ES module it loads (is a .js file ESM?), walking up
// from the file's folder: a package.json beside the chunks ends that walk at once (about 10 ms
// of CPU less for a command's ~50 files; bench/README.md).
for (const dir of [outdir, join(outdir, 'chunks')]) writeFileSync(join(dir, 'package.json'), `${JSON.stringify({type: 'module'})}\n`)
// The marker the packaging test reads: this dist/ is the bundle, not tsc's per-module output.
const outputs = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js'))
writeFileSync(join(outdir, 'bundle.json'), `${JSON.stringify({bundler: 'esbuild', entryPoints: entryPoints.length, files: outputs.length}, null, 2)}\n`)
const bytes = Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith('.js')).reduce((n, [, o]) => n + o.bytes, 0)
console.log(`bundle: ${entryPoints.length} entry points, ${outputs.length} files, ${(bytes / 1e6).toFixed(2)} MB of JS in ${Date.now() - started} ms`)
