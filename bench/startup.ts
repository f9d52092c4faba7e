/**
 * Start-up benchmark: `node --import tsx bench/startup.ts [--runs N] [--dir BUILT]`.
 *
 * Builds psb as it ships (dist/ + oclif.manifest.json) in a temporary copy of the repository
 * (or uses --dir, a folder that already has both), then, on this same Node, measures the median
 * wall time of `node -e ""`, `psb --version`, `psb --help` and `psb creds write --help`
 * (interleaved rounds after warm-up runs, so the compile cache is warm and drift is shared),
 * and prints each median and its ratio to `node -e ""`.
 * Targets: --version <= 4.5x, each --help <= 5.5x, also with the example plugin installed
 * (examples/plugin-tag-policy, packed and installed with `psb plugins install` into a temp data dir).
 * It also checks, with a module-resolution hook, that none of the AWS SDK is loaded for help
 * or version, and lists which psb modules each case loads.
 * A bare oclif CLI (one command, plugin-help, manifest, compile cache) is measured too, as
 * the framework's own floor. Exit code 1 when a target is missed, or when help/version load
 * the AWS SDK or a command module.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {cpus, loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {buildCopy} from '../test/support/build-copy.js'
import {ROOT as REPO_ROOT} from '../test/support/cli.js'
import {median} from './lib.js'

interface Case {
  name: string
  args: string[]
  /** Largest ratio to `node -e ""`; undefined: the baseline. */
  target?: number
  /** Environment on top of the bench's (the example plugin's data dir). */
  env?: NodeJS.ProcessEnv
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1] : undefined
}

const RUNS = Number(arg('--runs') ?? 15)
const WARMUP = 3

const env: NodeJS.ProcessEnv = {}
for (const [k, v] of Object.entries(process.env)) if (!/^(AWS_|PULUMI_|PSB_|DEBUG$|NODE_OPTIONS$|FORCE_COLOR$)/.test(k)) env[k] = v
env.NO_COLOR = '1'

function timeOnce(args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}): number {
  const start = process.hrtime.bigint()
  const r = spawnSync(process.execPath, args, {cwd, env: {...env, ...extra}, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8'})
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return ms
}

/** Loader that records every module URL resolved, written at exit. */
function moduleRecorder(dir: string): string {
  const file = join(dir, 'record-modules.mjs')
  writeFileSync(
    file,
    `import {registerHooks} from 'node:module'
import {writeFileSync} from 'node:fs'
const seen = new Set()
registerHooks({resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r }})
process.on('exit', () => writeFileSync(process.env.PSB_BENCH_MODULES, [...seen].join('\\n')))
`,
  )
  return file
}

function loadedModules(recorder: string, args: string[], cwd: string, out: string, extra: NodeJS.ProcessEnv = {}): string[] {
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(recorder).href, ...args], {cwd, env: {...env, ...extra, PSB_BENCH_MODULES: out}, encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`module check of ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return readFileSync(out, 'utf8').split('\n').filter(Boolean)
}

/** Preload that appends the process's CPU time (user + system, ms) to $PSB_BENCH_CPU at exit. */
function cpuRecorder(dir: string): string {
  const file = join(dir, 'record-cpu.mjs')
  writeFileSync(
    file,
    `import {writeFileSync} from 'node:fs'
process.on('exit', () => { const u = process.cpuUsage(); writeFileSync(process.env.PSB_BENCH_CPU, String((u.user + u.system) / 1000)) })
`,
  )
  return pathToFileURL(file).href
}

function cpuOnce(probe: string, args: string[], cwd: string, out: string, extra: NodeJS.ProcessEnv = {}): number {
  const r = spawnSync(process.execPath, ['--import', probe, ...args], {cwd, env: {...env, ...extra, PSB_BENCH_CPU: out}, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return Number(readFileSync(out, 'utf8'))
}

/**
 * A bare oclif CLI (one command, plugin-help, a manifest, the compile cache) next to psb, on
 * the same node_modules: the framework's own start-up, for reference.
 */
function buildBare(parent: string, nodeModules: string): string {
  const dir = join(parent, 'bare')
  mkdirSync(join(dir, 'bin'), {recursive: true})
  mkdirSync(join(dir, 'commands'))
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({name: 'bare', version: '1.0.0', type: 'module', files: ['bin', 'commands'], oclif: {bin: 'bare', dirname: 'bare', commands: './commands', topicSeparator: ' ', plugins: ['@oclif/plugin-help']}}),
  )
  writeFileSync(
    join(dir, 'bin', 'run.js'),
    "#!/usr/bin/env node\nconst {enableCompileCache} = await import('node:module')\nenableCompileCache?.()\nconst {execute} = await import('@oclif/core')\nawait execute({dir: import.meta.url})\n",
  )
  writeFileSync(
    join(dir, 'commands', 'hello.js'),
    "import {Command, Flags} from '@oclif/core'\nexport default class Hello extends Command {\n  static summary = 'Say hello.'\n  static flags = {name: Flags.string({description: 'Who to greet.'})}\n  async run() { const {flags} = await this.parse(Hello); this.log(`hello ${flags.name ?? 'world'}`) }\n}\n",
  )
  symlinkSync(nodeModules, join(dir, 'node_modules'), 'dir')
  const r = spawnSync(process.execPath, [join(nodeModules, 'oclif', 'bin', 'run.js'), 'manifest', '.'], {cwd: dir, env, encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`oclif manifest for the bare CLI failed: ${r.stderr}`)
  return join(dir, 'bin', 'run.js')
}

/**
 * The example plugin (examples/plugin-tag-policy), built with the repo's tsc, packed and
 * installed with `psb plugins install` into its own data dir; answers that dir.
 */
function installExample(work: string, run: string): string {
  const example = join(REPO_ROOT, 'examples', 'plugin-tag-policy')
  const tsc = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', example], {encoding: 'utf8'})
  if (tsc.status !== 0) throw new Error(`building the example plugin failed: ${tsc.stdout}${tsc.stderr}`)
  const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--pack-destination', work, '--json'], {cwd: example, encoding: 'utf8'})
  if (pack.status !== 0) throw new Error(`npm pack of the example plugin failed: ${pack.stderr}`)
  const tarball = join(work, (JSON.parse(pack.stdout) as {filename: string}[])[0].filename)
  const data = join(work, 'plugin-data')
  const r = spawnSync(process.execPath, [run, 'plugins', 'install', tarball], {cwd: work, env: {...env, XDG_DATA_HOME: data}, encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`psb plugins install failed: ${r.stderr}`)
  return data
}

async function main(): Promise<void> {
  if (typeof (await import('node:module')).registerHooks !== 'function') throw new Error(`Node ${process.version} has no module.registerHooks (22.15 or newer is needed for the module check)`)
  const given = arg('--dir')
  const work = mkdtempSync(join(tmpdir(), 'psb-bench-'))
  let dir: string
  if (given) {
    if (!existsSync(join(given, 'oclif.manifest.json')) || !existsSync(join(given, 'dist'))) throw new Error(`${given} has no dist/ and oclif.manifest.json: build it first`)
    dir = given
  } else {
    process.stderr.write('Building psb (the bundle + oclif manifest) in a temporary copy...\n')
    const copy = buildCopy({parent: work})
    dir = copy.dir
  }
  try {
    const run = join(dir, 'bin', 'run.js')
    const manifest = JSON.parse(readFileSync(join(dir, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}
    const helpCmd = 'creds:write' in manifest.commands ? ['creds', 'write'] : ['login']
    const bare = buildBare(work, realpathSync(join(dir, 'node_modules')))
    // The update notice is on, as for a user, with its cache in the bench's folder and a
    // registry nobody answers on (loopback port 9): its refresh fails fast, off the clock.
    env.XDG_CACHE_HOME = join(work, 'cache')
    env.PSB_NPM_REGISTRY = 'http://127.0.0.1:9'
    const plugin = {XDG_DATA_HOME: installExample(work, run)}
    const cases: Case[] = [
      {name: 'node -e ""', args: ['-e', '']},
      {name: 'psb --version', args: [run, '--version'], target: 4.5},
      {name: 'psb --help', args: [run, '--help'], target: 5.5},
      {name: `psb ${helpCmd.join(' ')} --help`, args: [run, ...helpCmd, '--help'], target: 5.5},
      {name: 'psb --version (+plugin)', args: [run, '--version'], target: 4.5, env: plugin},
      {name: 'psb --help (+plugin)', args: [run, '--help'], target: 5.5, env: plugin},
      {name: 'bare oclif --version', args: [bare, '--version']},
      {name: 'bare oclif --help', args: [bare, '--help']},
      {name: 'bare oclif hello --help', args: [bare, 'hello', '--help']},
    ]
    const cwd = work
    const cpuProbe = cpuRecorder(work)
    const cpuFile = join(work, 'cpu.txt')
    // Warm up (fills the compile cache and the OS file cache), then interleaved rounds: wall
    // time (what the targets are about) and, in separate rounds, CPU time (user + system,
    // recorded at exit by a tiny preload), which a busy machine disturbs much less.
    for (let i = 0; i < WARMUP; i++) for (const c of cases) timeOnce(c.args, cwd, c.env)
    const wall = new Map<string, number[]>(cases.map((c) => [c.name, []]))
    const cpu = new Map<string, number[]>(cases.map((c) => [c.name, []]))
    for (let i = 0; i < RUNS; i++) {
      for (const c of cases) wall.get(c.name)!.push(timeOnce(c.args, cwd, c.env))
      for (const c of cases) cpu.get(c.name)!.push(cpuOnce(cpuProbe, c.args, cwd, cpuFile, c.env))
    }

    const base = median(wall.get(cases[0].name)!)
    const cpuBase = median(cpu.get(cases[0].name)!)
    let ok = true
    const load = loadavg()[0]
    console.log(`Start-up on Node ${process.version} (${process.execPath}), ${cpus().length} CPUs, load ${load.toFixed(2)}; median of ${RUNS} runs each:`)
    console.log('')
    console.log(`${'case'.padEnd(30)} ${'wall'.padStart(9)} ${'ratio'.padStart(7)}  ${'target'.padEnd(13)} ${'cpu'.padStart(9)} ${'ratio'.padStart(7)}`)
    for (const c of cases) {
      const m = median(wall.get(c.name)!)
      const ratio = m / base
      const cm = median(cpu.get(c.name)!)
      const verdict = c.target === undefined ? '' : ratio <= c.target ? `<= ${c.target}x ok` : `<= ${c.target}x MISSED`
      if (c.target !== undefined && ratio > c.target) ok = false
      console.log(`${c.name.padEnd(30)} ${`${m.toFixed(1)} ms`.padStart(9)} ${`${ratio.toFixed(2)}x`.padStart(7)}  ${verdict.padEnd(13)} ${`${cm.toFixed(1)} ms`.padStart(9)} ${`${(cm / cpuBase).toFixed(2)}x`.padStart(7)}`)
    }
    console.log('(bare oclif: a one-command oclif CLI with plugin-help, a manifest and the compile cache: the framework alone, for reference)')
    if (load > cpus().length * 0.75) console.log(`Note: the machine is busy (load ${load.toFixed(2)} on ${cpus().length} CPUs): wall-time ratios are inflated; compare with the bare oclif rows and the CPU ratios.`)
    console.log('')
    const recorder = moduleRecorder(work)
    const moduleReport: Array<{case: string; resolved: number; awsSdk: string[]; commands: string[]; psb: string[]}> = []
    for (const c of cases.filter((x) => x.name.startsWith('psb'))) {
      const urls = loadedModules(recorder, c.args, cwd, join(work, 'modules.txt'), c.env)
      const ours = urls.filter((u) => u.startsWith(pathToFileURL(join(dir, 'dist')).href)).map((u) => u.slice(pathToFileURL(dir).href.length + 1))
      // The bundle holds the SDK in chunks of its own (scripts/bundle.mjs): a loaded chunk with SDK code counts too.
      const sdkChunks = ours.filter((u) => u.endsWith('.js') && /\b(S3Client|STSClient|IAMClient|KMSClient)\b|@smithy\//.test(readFileSync(join(dir, u), 'utf8')))
      const sdk = [...urls.filter((u) => /\/@aws-sdk\/|\/@smithy\//.test(u)), ...sdkChunks]
      const commands = ours.filter((u) => u.startsWith('dist/commands/'))
      // An installed plugin's hooks load only when psb fires them, never at start-up.
      const pluginModules = urls.filter((u) => u.includes('/plugin-data/'))
      if (sdk.length > 0 || commands.length > 0 || pluginModules.length > 0) ok = false
      if (pluginModules.length > 0) console.log(`${c.name}: the installed plugin's modules were loaded: ${pluginModules.join(', ')}`)
      console.log(`${c.name}: ${urls.length} modules resolved; AWS SDK: ${sdk.length === 0 ? 'none' : `${sdk.length} (${sdk.slice(0, 3).join(', ')}...)`}; command modules: ${commands.length === 0 ? 'none (from the manifest)' : commands.join(', ')}`)
      console.log(`  psb modules: ${ours.join(', ') || 'none'}`)
      moduleReport.push({case: c.name, resolved: urls.length, awsSdk: sdk, commands, psb: ours})
    }
    console.log('')
    console.log(ok ? 'All start-up targets met.' : 'A start-up target was MISSED (see above).')
    const outDir = join(REPO_ROOT, 'bench', 'out')
    mkdirSync(outDir, {recursive: true})
    const rows = cases.map((c) => ({
      case: c.name,
      wallMs: median(wall.get(c.name)!),
      wallRatio: median(wall.get(c.name)!) / base,
      cpuMs: median(cpu.get(c.name)!),
      cpuRatio: median(cpu.get(c.name)!) / cpuBase,
      target: c.target,
      wallRuns: wall.get(c.name),
    }))
    writeFileSync(join(outDir, 'startup.json'), JSON.stringify({node: process.version, runs: RUNS, cpus: cpus().length, loadavg: loadavg(), pass: ok, rows, modules: moduleReport}, null, 2) + '\n')
    process.exitCode = ok ? 0 : 1
  } finally {
    rmSync(work, {recursive: true, force: true})
  }
}

await main()
