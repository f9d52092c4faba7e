/**
 * bench/keys: key rotation against moto (started here, IAM enforcement on).
 *
 *  1. One rotation: wall time of `psb keys rotate` (a fresh process), split into psb's own
 *     time and the propagation wait (the proof that the new key works: 3 consecutive
 *     successful calls, PSB_KEY_PROPAGATION_POLL_MS apart), with the default pause (1000 ms)
 *     and with no pause (what psb itself costs); and the same rotation in process (rotateKey).
 *  2. 20 profiles of 20 users: one run with 20 --profile flags vs 20 separate runs.
 *
 *   npm run build && node --import tsx bench/keys.ts
 *   BENCH_RUNS=7 BENCH_PROFILES=20 BENCH_DEFAULT_POLL_MANY=1 node --import tsx bench/keys.ts
 *
 * Writes bench/out/keys.json.
 */
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {MotoServer} from '../test/support/moto.js'
import {runPsb, TempHome} from '../test/support/cli.js'
import {credentialsText, makeStateUser, writeCredentials} from '../test/support/keys-fixture.js'
import {rotateKey} from '../src/lib/keys/rotate.js'
import {ROOT, median} from './lib.js'


const RUNS = Number(process.env.BENCH_RUNS ?? 5)
const PROFILES = Number(process.env.BENCH_PROFILES ?? 20)
const DEFAULT_POLL_MANY = process.env.BENCH_DEFAULT_POLL_MANY === '1'

const ms = (n: number) => `${Math.round(n)} ms`

interface Single {
  label: string
  wallMs: number
  coreTotalMs: number
  propagationWaitMs: number
  ownMs: number
}

async function main(): Promise<void> {
  const moto = new MotoServer()
  await moto.start()
  const home = new TempHome('psb-bench-keys-')
  const callLog = home.path('calls.log')
  const env = (poll: string) => ({PSB_KEY_PROPAGATION_POLL_MS: poll, PSB_CALL_LOG: callLog})
  const psb = async (args: string[], poll: string) => {
    const t = performance.now()
    const r = await runPsb([...args, '--endpoint', moto.endpoint, '--region', 'us-east-1', '--json'], home, {env: env(poll)})
    const wall = performance.now() - t
    if (r.code !== 0) throw new Error(`psb ${args.join(' ')} exited ${r.code}:\n${r.stderr}`)
    return {wall, doc: JSON.parse(r.stdout) as {results: {timings: {totalMs: number; propagationWaitMs: number}}[]}}
  }
  const calls = () => {
    try {
      return readFileSync(callLog, 'utf8').trim().split('\n').filter(Boolean).length
    } catch {
      return 0
    }
  }
  const results: Record<string, unknown> = {runs: RUNS, profiles: PROFILES, node: process.version}
  try {
    // ---------------------------------------------------------------- one rotation
    const u = await makeStateUser(moto.endpoint, moto.admin, 'bench')
    writeCredentials(home.credentialsFile, credentialsText({pulumi: u.key}))
    await psb(['keys', 'rotate', '--profile', 'pulumi'], '0') // warm-up (compile cache, moto)
    const singles: Single[] = []
    for (const [label, poll] of [
      ['CLI, default pause (1000 ms)', '1000'],
      ['CLI, no pause (PSB_KEY_PROPAGATION_POLL_MS=0)', '0'],
    ] as const) {
      const rows: Single[] = []
      for (let i = 0; i < RUNS; i++) {
        const {wall, doc} = await psb(['keys', 'rotate', '--profile', 'pulumi'], poll)
        const t = doc.results[0].timings
        rows.push({label, wallMs: wall, coreTotalMs: t.totalMs, propagationWaitMs: t.propagationWaitMs, ownMs: wall - t.propagationWaitMs})
      }
      singles.push({
        label,
        wallMs: median(rows.map((r) => r.wallMs)),
        coreTotalMs: median(rows.map((r) => r.coreTotalMs)),
        propagationWaitMs: median(rows.map((r) => r.propagationWaitMs)),
        ownMs: median(rows.map((r) => r.ownMs)),
      })
    }
    {
      const rows: Single[] = []
      const envFiles = {HOME: home.dir, AWS_SHARED_CREDENTIALS_FILE: home.credentialsFile, AWS_CONFIG_FILE: home.configFile}
      for (let i = 0; i < RUNS; i++) {
        const t = performance.now()
        const r = await rotateKey({profile: 'pulumi', region: 'us-east-1', endpoint: moto.endpoint, env: envFiles, pollMs: 0})
        const wall = performance.now() - t
        rows.push({label: '', wallMs: wall, coreTotalMs: r.timings.totalMs, propagationWaitMs: r.timings.propagationWaitMs, ownMs: wall - r.timings.propagationWaitMs})
      }
      singles.push({
        label: 'in process (rotateKey), no pause',
        wallMs: median(rows.map((r) => r.wallMs)),
        coreTotalMs: median(rows.map((r) => r.coreTotalMs)),
        propagationWaitMs: median(rows.map((r) => r.propagationWaitMs)),
        ownMs: median(rows.map((r) => r.ownMs)),
      })
    }
    results.single = singles
    console.log(`\nOne rotation (median of ${RUNS}; moto on loopback, so "propagation" is the proof calls plus the pauses):`)
    console.log('  ' + ['how', 'wall', 'core total', 'propagation wait', "psb's own (wall - wait)"].join(' | '))
    for (const s of singles) console.log('  ' + [s.label, ms(s.wallMs), ms(s.coreTotalMs), ms(s.propagationWaitMs), ms(s.ownMs)].join(' | '))

    // ---------------------------------------------------------------- N profiles
    const many = async (poll: string) => {
      await moto.reset()
      const users = []
      for (let i = 0; i < PROFILES; i++) users.push(await makeStateUser(moto.endpoint, moto.admin, `bench-${String(i).padStart(2, '0')}`))
      const profiles = Object.fromEntries(users.map((x, i) => [`p${i}`, x.key]))
      const names = Object.keys(profiles)
      writeCredentials(home.credentialsFile, credentialsText(profiles))
      rmSync(callLog, {force: true})
      const t1 = performance.now()
      const one = await psb(['keys', 'rotate', ...names.flatMap((n) => ['--profile', n])], poll)
      const oneRunMs = performance.now() - t1
      const oneRunCalls = calls()
      const oneRunWait = one.doc.results.reduce((a, r) => a + r.timings.propagationWaitMs, 0)
      rmSync(callLog, {force: true})
      let waitSeparate = 0
      const t2 = performance.now()
      for (const n of names) {
        const r = await psb(['keys', 'rotate', '--profile', n], poll)
        waitSeparate += r.doc.results[0].timings.propagationWaitMs
      }
      const separateMs = performance.now() - t2
      const separateCalls = calls()
      return {poll: Number(poll), oneRunMs, oneRunWaitMs: oneRunWait, oneRunCalls, separateMs, separateWaitMs: waitSeparate, separateCalls}
    }
    const manyRows = [await many('0')]
    if (DEFAULT_POLL_MANY) manyRows.push(await many('1000'))
    results.many = manyRows
    console.log(`\n${PROFILES} profiles of ${PROFILES} users:`)
    console.log('  ' + ['pause', 'one run', 'of it waiting', 'AWS calls', `${PROFILES} runs`, 'of it waiting', 'AWS calls', 'per profile: one run / separate'].join(' | '))
    for (const m of manyRows) {
      console.log(
        '  ' +
          [`${m.poll} ms`, ms(m.oneRunMs), ms(m.oneRunWaitMs), m.oneRunCalls, ms(m.separateMs), ms(m.separateWaitMs), m.separateCalls, `${ms(m.oneRunMs / PROFILES)} / ${ms(m.separateMs / PROFILES)}`].join(
            ' | ',
          ),
      )
    }
    mkdirSync(join(ROOT, 'bench', 'out'), {recursive: true})
    writeFileSync(join(ROOT, 'bench', 'out', 'keys.json'), JSON.stringify(results, null, 2) + '\n')
    console.log('\nWritten: bench/out/keys.json')
  } finally {
    home.cleanup()
    await moto.stop()
  }
}

await main()
