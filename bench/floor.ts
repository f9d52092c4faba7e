/**
 * bench/floor: how far down Node and the AWS SDK v3 can go on the work of `psb bucket create`'s
 * re-run (issue 12), against Terragrunt's `backend bootstrap` re-run, on one moto, in one run.
 * Each variant does the same 9 requests on a hardened bucket (GetCallerIdentity, HeadBucket, the
 * 7 reads); rounds are interleaved after one warm-up of each; medians of wall and CPU time.
 *
 *   node --import tsx bench/floor.ts [--rounds N] [--terragrunt BIN]
 *
 * | variant      | what runs                                                                 |
 * |--------------|---------------------------------------------------------------------------|
 * | node         | `node -e 0`: Node's own start-up                                          |
 * | signed       | bench/floor/signed.ts: SigV4 (@smithy/signature-v4) + node:http, no client |
 * | sdk          | bench/floor/reads.ts: the SDK's S3 and STS clients alone, bundled (esbuild, |
 * |              | CommonJS), from Node's compile cache                                      |
 * | sdk-snapshot | the same, from a V8 start-up snapshot (`node --build-snapshot`)           |
 * | psb          | `psb bucket create` on its hardened bucket (the built CLI)                |
 * | terragrunt   | `terragrunt backend bootstrap --non-interactive` on its hardened bucket   |
 *
 * The snapshot cannot hold node:http/https/http2 (V8 refuses their handles), so its bundle gets
 * them through lazy stand-ins that load the real module on first use.
 * Terragrunt: as in bench/terragrunt.ts (--terragrunt, TG_BIN, or bench/build-terragrunt.sh's
 * build); without one, the floor is printed alone. No target: it reports. Writes
 * bench/out/floor.json; exit 1 when a variant fails.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createRequire, builtinModules} from 'node:module'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'
import {build, type Plugin} from 'esbuild'
import {ROOT, check, findTerragrunt, median, run, sideBySideEnv, terragruntHcl} from './lib.js'
import {MotoServer} from '../test/support/moto.js'

const {values: args} = parseArgs({options: {rounds: {type: 'string', default: '9'}, terragrunt: {type: 'string'}}})
const ROUNDS = Number(args.rounds)
const REGION = 'us-east-1'
const LAZY = new Set(['http', 'https', 'http2'])

/** node:http/https/http2 as stand-ins that load the real module at first use (for the snapshot). */
const lazyHttp: Plugin = {
  name: 'lazy-http',
  setup(b) {
    b.onResolve({filter: /^(node:)?(http|https|http2)$/}, (a) =>
      a.namespace === 'lazy-http' ? {path: a.path, external: true} : {path: a.path.replace(/^node:/, ''), namespace: 'lazy-http'},
    )
    b.onLoad({filter: /.*/, namespace: 'lazy-http'}, (a) => {
      const real = createRequire(import.meta.url)(`node:${a.path}`) as Record<string, unknown>
      const names = Object.keys(real).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k) && k !== 'default')
      const lines = [
        `let __m; const __get = () => (__m ??= require('node:${a.path}'));`,
        'const __fn = (k) => new Proxy(function () {}, {apply: (_, t, a) => Reflect.apply(__get()[k], t, a), construct: (_, a, nt) => Reflect.construct(__get()[k], a, nt), get: (_, p) => __get()[k][p]});',
        'const __obj = (k) => new Proxy({}, {get: (_, p) => __get()[k][p], has: (_, p) => p in __get()[k], ownKeys: () => Reflect.ownKeys(__get()[k]), getOwnPropertyDescriptor: (_, p) => ({...Object.getOwnPropertyDescriptor(__get()[k], p), configurable: true})});',
        ...names.map((k) => `export const ${k} = ${typeof real[k] === 'function' ? '__fn' : '__obj'}(${JSON.stringify(k)});`),
        'export default new Proxy({}, {get: (_, p) => __get()[p], has: (_, p) => p in __get()});',
      ]
      return {contents: lines.join('\n'), loader: 'js'}
    })
  },
}

async function bundle(entry: string, outfile: string, snapshot: boolean): Promise<void> {
  await build({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, 'bench', 'floor', entry)],
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node22',
    mainFields: ['module', 'main'],
    minifySyntax: true,
    logLevel: 'error',
    external: builtinModules.filter((m) => !snapshot || !LAZY.has(m.replace(/^node:/, ''))),
    plugins: snapshot ? [lazyHttp] : [],
  })
}

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'commands', 'bucket', 'create.js'))) throw new Error('no built dist/: run `npm run build` first.')
  if (!existsSync('/usr/bin/time')) throw new Error('bench/floor needs GNU time (/usr/bin/time) for the CPU column.')
  const tg = findTerragrunt(args.terragrunt ?? process.env.TG_BIN)
  if (!tg) console.log('bench/floor: no Terragrunt binary (--terragrunt BIN, TG_BIN or bench/build-terragrunt.sh): the floor alone.')
  const work = mkdtempSync(join(tmpdir(), 'psb-bench-floor-'))
  const moto = new MotoServer()
  try {
    await bundle('reads.ts', join(work, 'reads.cjs'), false)
    await bundle('reads.ts', join(work, 'reads-snapshot.cjs'), true)
    await bundle('signed.ts', join(work, 'signed.cjs'), false)
    const blob = join(work, 'reads.blob')
    const snap = spawnSync(process.execPath, ['--no-warnings', '--snapshot-blob', blob, '--build-snapshot', join(work, 'reads-snapshot.cjs')], {encoding: 'utf8'})
    if (snap.status !== 0) throw new Error(`building the snapshot failed:\n${snap.stderr}`)

    await moto.start()
    writeFileSync(join(work, 'credentials'), `[bench]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n`)
    writeFileSync(join(work, 'config'), `[profile bench]\nregion = ${REGION}\n`)
    const env: Record<string, string> = {
      ...sideBySideEnv(work, moto.endpoint),
      FLOOR_ENDPOINT: moto.endpoint,
      FLOOR_BUCKET: 'floor-psb',
      FLOOR_PROFILE: 'bench',
      NODE_COMPILE_CACHE: join(work, 'compile-cache'),
    }
    const tgDir = join(work, 'tg')
    mkdirSync(tgDir)
    writeFileSync(join(tgDir, 'terragrunt.hcl'), terragruntHcl('floor-tg', moto.endpoint, REGION))
    const node = process.execPath
    const variants: Record<string, {cmd: string; argv: string[]; cwd?: string}> = {
      node: {cmd: node, argv: ['-e', '0']},
      signed: {cmd: node, argv: [join(work, 'signed.cjs')]},
      sdk: {cmd: node, argv: [join(work, 'reads.cjs')]},
      'sdk-snapshot': {cmd: node, argv: ['--snapshot-blob', blob, 'floor']},
      psb: {cmd: node, argv: [join(ROOT, 'bin', 'run.js'), 'bucket', 'create', '--bucket', 'floor-psb', '--region', REGION, '--endpoint', moto.endpoint, '--admin-profile', 'bench', '--json']},
      ...(tg ? {terragrunt: {cmd: tg, argv: ['backend', 'bootstrap', '--non-interactive'], cwd: tgDir}} : {}),
    }
    const once = async (name: string) => {
      const v = variants[name]
      const t = performance.now()
      const r = await run('/usr/bin/time', ['-f', 'psb-bench-cpu %U %S', v.cmd, ...v.argv], {env, cwd: v.cwd ?? work})
      const wall = performance.now() - t
      check(r, `bench/floor ${name}`)
      const cpu = /psb-bench-cpu ([\d.]+) ([\d.]+)/.exec(r.stderr)
      return {wall, cpu: cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : Number.NaN}
    }
    // The buckets: psb hardens its own (the SDK and signed variants read it), Terragrunt its own.
    await once('psb')
    if (tg) await once('terragrunt')
    for (const name of Object.keys(variants)) await once(name)
    const ms: Record<string, {wall: number[]; cpu: number[]}> = Object.fromEntries(Object.keys(variants).map((k) => [k, {wall: [], cpu: []}]))
    const load = [loadavg()[0]]
    for (let i = 0; i < ROUNDS; i++) {
      for (const name of Object.keys(variants)) {
        const r = await once(name)
        ms[name].wall.push(r.wall)
        ms[name].cpu.push(r.cpu)
      }
      load.push(loadavg()[0])
    }
    const med = Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, {wall: median(v.wall), cpu: median(v.cpu)}]))
    const base = med.terragrunt
    const ratio = (x: number, b?: number) => (b ? `${(x / b).toFixed(2)}x` : '-')
    console.log(`bench/floor: the re-run's 9 requests, one moto, ${ROUNDS} interleaved rounds, medians; load average ${load.map((l) => l.toFixed(1)).join(' → ')}`)
    console.log('| variant | wall | CPU (user + system) | wall / terragrunt | CPU / terragrunt |\n|---|---|---|---|---|')
    for (const [k, v] of Object.entries(med)) console.log(`| ${k} | ${v.wall.toFixed(0)} ms | ${v.cpu.toFixed(0)} ms | ${ratio(v.wall, base?.wall)} | ${ratio(v.cpu, base?.cpu)} |`)
    const outDir = join(ROOT, 'bench', 'out')
    mkdirSync(outDir, {recursive: true})
    writeFileSync(join(outDir, 'floor.json'), `${JSON.stringify({date: new Date().toISOString(), rounds: ROUNDS, terragrunt: tg ?? null, load, ms, medians: med}, null, 2)}\n`)
  } finally {
    await moto.stop()
    rmSync(work, {recursive: true, force: true})
  }
}

await main()
