/**
 * bench/fleet: `psb init` over 20 targets (10 accounts × 2 regions, --concurrency 8) against
 * one `psb init` of a single target and against 20 separate `psb init` runs in sequence, all
 * against the same moto (started here, IAM enforced; the accounts made with Organizations'
 * CreateAccount, each acted in through its OrganizationAccountAccessRole). Every run is the
 * full chain: bucket, user, first key written and proven, verify.
 *
 *   targets: fleet ≤ 1.5 × (one init + the time moto takes for the extra requests, i.e. one
 *            init × calls(fleet) / calls(one) / concurrency), and sequence / fleet ≥ 5
 *
 *   npx tsc -p tsconfig.build.json && node --import tsx bench/fleet.ts
 *
 * moto builds an account's IAM on the first request acting in it (seconds, CPU-bound); AWS has
 * no such cost, so each account is touched once (AssumeRole, GetCallerIdentity, GetUser)
 * before anything is timed.
 *
 * Writes bench/out/fleet.json; a missed target sets exit code 1. BENCH_FLEET_ACCOUNTS (default
 * 10) changes the size (× 2 regions).
 */
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {loadavg, cpus} from 'node:os'
import {join} from 'node:path'
import {CreateAccountCommand, CreateOrganizationCommand, OrganizationsClient} from '@aws-sdk/client-organizations'
import {ROOT, check, fmtMs as fmt, run} from './lib.js'
import {MotoServer} from '../test/support/moto.js'
import {TempHome, baseEnv, RUN_JS} from '../test/support/cli.js'
import {mutatingCalls} from '../test/support/calls.js'
import {createAwsContext} from '../src/lib/aws/client.js'
import {DEFAULT_ROLE_NAME, targetContext} from '../src/lib/fleet/assume.js'
import {checkUserScope} from '../src/lib/iam/user.js'

const ACCOUNTS = Number(process.env.BENCH_FLEET_ACCOUNTS ?? 10)
const REGIONS = ['us-east-1', 'eu-west-1']
const SEQ_REGIONS = ['us-west-2', 'ap-southeast-2']
const CONCURRENCY = 8
const MAX_VS_ONE = 1.5
const MIN_VS_SEQUENCE = 5

async function main(): Promise<void> {
  const moto = new MotoServer()
  await moto.start()
  const out: Record<string, unknown> = {node: process.version, cpus: cpus().length, loadBefore: loadavg()}
  try {
    const org = new OrganizationsClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1})
    await org.send(new CreateOrganizationCommand({FeatureSet: 'ALL'}))
    const accounts: string[] = []
    for (let i = 0; i < ACCOUNTS + 2; i++) accounts.push((await org.send(new CreateAccountCommand({AccountName: `bench-${i}`, Email: `bench-${i}@example.com`}))).CreateAccountStatus!.AccountId!)
    // moto builds an account's IAM the first time a request acts in it (3-7 s on a loaded
    // machine); AWS has no such cost, so every account is touched once before any timing.
    const admin = createAwsContext({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin})
    for (const a of accounts) await checkUserScope(await targetContext(admin, {account: a, region: 'us-east-1'}, {roleName: DEFAULT_ROLE_NAME, command: 'bench'}), {user: 'bench-warm', bucket: 'bench-warm'})
    // Two accounts for the warm-up and the single init; the others for the fleet and the sequence.
    const [warmAccount, oneAccount, ...fleetAccounts] = accounts

    const freshHome = (name: string) => {
      const home = new TempHome(`psb-bench-fleet-${name}-`)
      writeFileSync(home.credentialsFile, `[admin]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n`, {mode: 0o600})
      return home
    }
    const init = async (home: TempHome, list: string[], extra: string[] = []) => {
      const args = ['init', ...list.flatMap((t) => ['--target', t]), '--region', 'us-east-1', '--endpoint', moto.endpoint, '--admin-profile', 'admin', '--yes', ...extra]
      const env = {...baseEnv(home.dir), PSB_CALL_LOG: home.path('calls.log')}
      const t = performance.now()
      const r = await run(process.execPath, [RUN_JS, ...args], {env, cwd: home.dir})
      const ms = performance.now() - t
      check(r, `psb ${args.slice(0, 6).join(' ')} …`)
      return ms
    }
    const callsOf = (home: TempHome) => readFileSync(home.path('calls.log'), 'utf8').split('\n').filter(Boolean)

    // Warm-up: Node's compile cache, the SDK, moto's first requests of each kind.
    const warm = freshHome('warm')
    await init(warm, [`${warmAccount}/us-east-1`])
    warm.cleanup()

    const oneHome = freshHome('one')
    const oneMs = await init(oneHome, [`${oneAccount}/us-east-1`])
    const oneCalls = callsOf(oneHome).length
    oneHome.cleanup()

    // The fleet and the sequence do the same work on different targets: the same accounts, other regions.
    const fleetAll = fleetAccounts.flatMap((a) => REGIONS.map((r) => `${a}/${r}`))
    const seqTargets = fleetAccounts.flatMap((a) => SEQ_REGIONS.map((r) => `${a}/${r}`))
    const fleetHome = freshHome('fleet')
    const loadFleet = loadavg()
    const fleetMs = await init(fleetHome, fleetAll, ['--concurrency', String(CONCURRENCY)])
    const fleetCalls = callsOf(fleetHome)
    // The re-run: 0 writes for finished targets (verify's sentinel object aside).
    writeFileSync(fleetHome.path('calls.log'), '')
    const rerunMs = await init(fleetHome, fleetAll, ['--concurrency', String(CONCURRENCY)])
    const rerunWrites = mutatingCalls(callsOf(fleetHome).join('\n')).filter((c) => !/s3 (PutObject|CopyObject|DeleteObject)$/.test(c))
    fleetHome.cleanup()

    const seqMs: number[] = []
    const loadSeq = loadavg()
    for (const [i, t] of seqTargets.entries()) {
      const h = freshHome(`seq${i}`)
      seqMs.push(await init(h, [t]))
      h.cleanup()
    }
    const sequenceMs = seqMs.reduce((a, b) => a + b, 0)

    const n = fleetAll.length
    const requestsMs = (oneMs * (fleetCalls.length / oneCalls)) / CONCURRENCY
    const budget = MAX_VS_ONE * (oneMs + requestsMs)
    const vsSequence = sequenceMs / fleetMs
    Object.assign(out, {
      targets: n,
      concurrency: CONCURRENCY,
      oneInitMs: oneMs,
      oneInitCalls: oneCalls,
      fleetMs,
      fleetCalls: fleetCalls.length,
      fleetBudgetMs: budget,
      rerunMs,
      rerunWrites,
      sequenceMs,
      sequenceRunsMs: seqMs,
      vsOne: fleetMs / oneMs,
      vsSequence,
      loadFleet,
      loadSequence: loadSeq,
      loadAfter: loadavg(),
    })
    console.log(`fleet — psb init over ${n} targets (${n / 2} accounts × 2 regions, --concurrency ${CONCURRENCY}) on moto ${moto.endpoint}; ${cpus().length} CPUs, load ${loadFleet.map((l) => l.toFixed(1)).join(' ')}`)
    console.log(`  one psb init (1 target)              ${fmt(oneMs).padStart(9)}   ${oneCalls} AWS calls`)
    console.log(`  psb init, ${n} targets                ${fmt(fleetMs).padStart(9)}   ${fleetCalls.length} AWS calls; ${(fleetMs / oneMs).toFixed(2)}x one init`)
    console.log(`  budget 1.5 × (one + requests/conc.)  ${fmt(budget).padStart(9)}   ${fleetMs <= budget ? 'OK' : 'MISSED'}`)
    console.log(`  ${n} separate psb init, in sequence   ${fmt(sequenceMs).padStart(9)}   ${vsSequence.toFixed(2)}x the fleet (target >= ${MIN_VS_SEQUENCE}x) ${vsSequence >= MIN_VS_SEQUENCE ? 'OK' : 'MISSED'}`)
    console.log(`  re-run of the fleet                  ${fmt(rerunMs).padStart(9)}   writes besides verify's sentinel: ${rerunWrites.length} (target 0) ${rerunWrites.length === 0 ? 'OK' : 'MISSED'}`)
    mkdirSync(join(ROOT, 'bench', 'out'), {recursive: true})
    writeFileSync(join(ROOT, 'bench', 'out', 'fleet.json'), JSON.stringify(out, null, 2) + '\n')
    if (fleetMs > budget || vsSequence < MIN_VS_SEQUENCE || rerunWrites.length > 0) process.exitCode = 1
  } finally {
    await moto.stop()
  }
}

await main()
