/**
 * bench/terragrunt: `psb bucket create` vs Terragrunt's `backend bootstrap` (a Go binary), on one
 * moto (IAM enforcement on), in one run: a new bucket, and the re-run on the hardened bucket.
 * Rounds are interleaved (psb new, terragrunt new, psb re-run, terragrunt re-run), each tool on
 * its own bucket, after one warm-up of each; medians and the ratio psb / terragrunt.
 *
 *   node --import tsx bench/terragrunt.ts [--rounds N] [--terragrunt BIN] [--dir DIR]
 *
 * Terragrunt: --terragrunt BIN, else TG_BIN, else bench/build-terragrunt.sh's cached build, else
 * a build from TG_SNAPSHOT (a git snapshot of gruntwork-io/terragrunt; see build-terragrunt.sh).
 * Without one the bench says so and times psb alone. --dir DIR: run psb from another built tree
 * (bin/run.js, dist/, oclif.manifest.json), e.g. an unbundled build, for an A/B.
 *
 * With GNU time (/usr/bin/time) it also reports each process's CPU time, which load disturbs less.
 * Target: psb / terragrunt <= 1.0 for both (wall time). Writes bench/out/terragrunt.json; exit 1 on a miss.
 */
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'
import {ROOT, check, findTerragrunt, median, run, sideBySideEnv, terragruntHcl} from './lib.js'
import {MotoServer} from '../test/support/moto.js'

const {values: args} = parseArgs({options: {rounds: {type: 'string', default: '5'}, terragrunt: {type: 'string'}, dir: {type: 'string'}}})
const ROUNDS = Number(args.rounds)
const REGION = 'us-east-1'
const PSB_ROOT = args.dir ?? ROOT
const HAS_TIME = existsSync('/usr/bin/time')

async function main(): Promise<void> {
  if (!existsSync(join(PSB_ROOT, 'dist', 'commands', 'bucket', 'create.js'))) throw new Error(`${PSB_ROOT} has no built dist/: run \`npm run build\` first.`)
  const tg = findTerragrunt(args.terragrunt ?? process.env.TG_BIN)
  if (!tg) console.log('bench/terragrunt: no Terragrunt binary (give --terragrunt BIN, TG_BIN, or TG_SNAPSHOT for bench/build-terragrunt.sh): psb alone.')
  const work = mkdtempSync(join(tmpdir(), 'psb-bench-tg-'))
  const moto = new MotoServer()
  await moto.start()
  try {
    writeFileSync(join(work, 'credentials'), `[bench]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n`)
    writeFileSync(join(work, 'config'), `[profile bench]\nregion = ${REGION}\n`)
    const env = sideBySideEnv(work, moto.endpoint)
    // CPU time (user + system) of each process, from GNU time when the machine has it: a busy
    // machine stretches wall time far more than CPU time.
    const cpuMs: Record<string, number[]> = {}
    const timedRun = (cmd: string, argv: string[], opts: {env: Record<string, string>; cwd: string}) =>
      HAS_TIME ? run('/usr/bin/time', ['-f', 'psb-bench-cpu %U %S', cmd, ...argv], opts) : run(cmd, argv, opts)
    const psb = (bucket: string, extra: Record<string, string> = {}) =>
      timedRun(process.execPath, [join(PSB_ROOT, 'bin', 'run.js'), 'bucket', 'create', '--bucket', bucket, '--region', REGION, '--endpoint', moto.endpoint, '--admin-profile', 'bench', '--json'], {env: {...env, ...extra}, cwd: work})
    const terragrunt = (bucket: string) => {
      const dir = join(work, bucket)
      mkdirSync(dir, {recursive: true})
      writeFileSync(join(dir, 'terragrunt.hcl'), terragruntHcl(bucket, moto.endpoint, REGION))
      return timedRun(tg!, ['backend', 'bootstrap', '--non-interactive'], {env, cwd: dir})
    }
    const timed = async (what: string, f: () => ReturnType<typeof run>, key?: string): Promise<number> => {
      const t = performance.now()
      const r = await f()
      const ms = performance.now() - t
      check(r, what)
      const cpu = /psb-bench-cpu ([\d.]+) ([\d.]+)/.exec(r.stderr)
      if (key && cpu) (cpuMs[key] ??= []).push((Number(cpu[1]) + Number(cpu[2])) * 1000)
      return ms
    }

    await timed('psb warm-up', () => psb('bench-warm-psb'))
    if (tg) await timed('terragrunt warm-up', () => terragrunt('bench-warm-tg'))
    const ms = {psbNew: [] as number[], psbRerun: [] as number[], tgNew: [] as number[], tgRerun: [] as number[]}
    const load = [loadavg()[0]]
    for (let i = 0; i < ROUNDS; i++) {
      ms.psbNew.push(await timed('psb bucket create (new)', () => psb(`bench-psb-${i}`), 'psbNew'))
      if (tg) ms.tgNew.push(await timed('terragrunt backend bootstrap (new)', () => terragrunt(`bench-tg-${i}`), 'tgNew'))
      ms.psbRerun.push(await timed('psb bucket create (re-run)', () => psb(`bench-psb-${i}`), 'psbRerun'))
      if (tg) ms.tgRerun.push(await timed('terragrunt backend bootstrap (re-run)', () => terragrunt(`bench-tg-${i}`), 'tgRerun'))
      load.push(loadavg()[0])
    }
    // What psb sends: a new bucket and the re-run, counted with PSB_CALL_LOG.
    const calls = async (bucket: string) => {
      const log = join(work, `${bucket}-${performance.now()}.calls`)
      check(await psb(bucket, {PSB_CALL_LOG: log}), 'psb (call log)')
      return readFileSync(log, 'utf8').trim().split('\n')
    }
    const newCalls = await calls('bench-psb-calls')
    const rerunCalls = await calls('bench-psb-calls')

    const med = Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, v.length ? median(v) : undefined])) as Record<keyof typeof ms, number | undefined>
    const fmt = (x: number | undefined) => (x === undefined ? '-' : `${(x / 1000).toFixed(3)} s`)
    const ratio = (a?: number, b?: number) => (a !== undefined && b !== undefined ? a / b : undefined)
    const newRatio = ratio(med.psbNew, med.tgNew)
    const rerunRatio = ratio(med.psbRerun, med.tgRerun)
    const verdict = (r?: number) => (r === undefined ? '' : r <= 1 ? 'OK' : 'MISSED')
    console.log(`bench/terragrunt: one moto, ${ROUNDS} interleaved rounds, medians; load average ${load.map((l) => l.toFixed(1)).join(' → ')}`)
    console.log('| | psb | terragrunt | psb / terragrunt |\n|---|---|---|---|')
    console.log(`| new bucket | ${fmt(med.psbNew)} | ${fmt(med.tgNew)} | ${newRatio?.toFixed(2) ?? '-'}x ${verdict(newRatio)} |`)
    console.log(`| re-run | ${fmt(med.psbRerun)} | ${fmt(med.tgRerun)} | ${rerunRatio?.toFixed(2) ?? '-'}x ${verdict(rerunRatio)} |`)
    for (const [k, v] of Object.entries(ms)) if (v.length) console.log(`  ${k.padEnd(9)} runs: ${v.map((x) => x.toFixed(0)).join(', ')} ms${cpuMs[k] ? `; CPU median ${median(cpuMs[k]).toFixed(0)} ms (user + system)` : ''}`)
    const cpuRatio = (a: string, b: string) => (cpuMs[a] && cpuMs[b] ? (median(cpuMs[a]) / median(cpuMs[b])).toFixed(2) : '-')
    if (HAS_TIME && tg) console.log(`  CPU ratio psb / terragrunt: new bucket ${cpuRatio('psbNew', 'tgNew')}x, re-run ${cpuRatio('psbRerun', 'tgRerun')}x`)
    console.log(`  psb requests: new bucket ${newCalls.length} (${newCalls.join(', ')}); re-run ${rerunCalls.length}`)

    const outDir = join(ROOT, 'bench', 'out')
    mkdirSync(outDir, {recursive: true})
    writeFileSync(join(outDir, 'terragrunt.json'), `${JSON.stringify({date: new Date().toISOString(), rounds: ROUNDS, terragrunt: tg ?? null, psbRoot: PSB_ROOT, load, ms, cpuMs, medians: med, newRatio, rerunRatio, psbCalls: {new: newCalls, rerun: rerunCalls}}, null, 2)}\n`)
    if ((newRatio ?? 0) > 1 || (rerunRatio ?? 0) > 1) process.exitCode = 1
  } finally {
    await moto.stop()
    rmSync(work, {recursive: true, force: true})
  }
}

await main()
