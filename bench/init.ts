/**
 * bench/init: `psb init` from nothing vs the seed's manual sequence with the AWS CLI, in one
 * run against the same moto (started here, IAM enforcement on), and the mutating calls of a
 * second `psb init`.
 *
 *   manual (the seed's setup):  aws s3api create-bucket, aws iam create-user,
 *     aws iam attach-user-policy (AdministratorAccess), aws iam create-access-key,
 *     aws configure set aws_access_key_id / aws_secret_access_key / region
 *   psb init --bucket <new> --user <new> --profile <new> --region us-west-1 --endpoint <moto>
 *     --admin-profile admin --yes   (hardened bucket, least-privilege user, first key written
 *     and proven, pulumi login with the real Pulumi when built, verify: 16 checks)
 *
 * psb is timed twice per run: with the default pause of the new-key proof (a first key is
 * proven by one successful round; the pause only matters when a call has to be retried)
 * and with PSB_KEY_PROPAGATION_POLL_MS=0 (moto accepts a key at once: psb's own cost).
 * One warm-up of each first, then BENCH_RUNS (default 3) alternating runs; medians compared.
 *
 *   npm run build && node --import tsx bench/init.ts
 *
 * Writes bench/out/init.json; a missed target sets exit code 1.
 */
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {ROOT, check, fmtMs as fmt, median, run} from './lib.js'
import {MotoServer} from '../test/support/moto.js'
import {TempHome, baseEnv, RUN_JS} from '../test/support/cli.js'
import {findPulumiBuild} from '../test/support/pulumi.js'
import {mutatingCalls, VERIFY_SENTINEL_CALLS} from '../test/support/calls.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const REGION = 'us-west-1'
const TARGET_RATIO = 3

async function main(): Promise<void> {
  const moto = new MotoServer()
  await moto.start()
  const build = findPulumiBuild()
  const pulumiDir = typeof build === 'string' ? undefined : build.dir
  if (!pulumiDir) console.error(`(no Pulumi build: psb init runs with --no-login)\n${build}`)
  const out: Record<string, unknown> = {runs: RUNS, node: process.version, pulumi: typeof build === 'string' ? null : build.version}
  try {
    /** A fresh HOME holding the admin profile (psb) / nothing (aws: the admin key in the environment). */
    const freshHome = (name: string, withAdminProfile: boolean) => {
      const home = new TempHome(`psb-bench-init-${name}-`)
      if (withAdminProfile) writeFileSync(home.credentialsFile, `[admin]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n`, {mode: 0o600})
      return home
    }
    const psbEnv = (home: TempHome, poll: string | undefined, callLog?: string) => {
      const env: Record<string, string> = {...baseEnv(home.dir), PULUMI_HOME: home.path('.pulumi'), PULUMI_SKIP_UPDATE_CHECK: 'true'}
      if (pulumiDir) env.PATH = `${pulumiDir}:${env.PATH}`
      if (poll !== undefined) env.PSB_KEY_PROPAGATION_POLL_MS = poll
      if (callLog) env.PSB_CALL_LOG = callLog
      return env
    }
    const psbInit = async (home: TempHome, name: string, poll: string | undefined, callLog?: string) => {
      const args = ['init', '--bucket', `bench-init-${name}`, '--user', `pulumi-${name}`, '--profile', `pulumi-${name}`, '--region', REGION, '--endpoint', moto.endpoint, '--admin-profile', 'admin', '--yes']
      if (!pulumiDir) args.push('--no-login')
      const t = performance.now()
      const r = await run(process.execPath, [RUN_JS, ...args], {env: psbEnv(home, poll, callLog), cwd: home.dir})
      const ms = performance.now() - t
      check(r, `psb ${args.join(' ')}`)
      return ms
    }
    const manual = async (name: string) => {
      const home = freshHome(`aws-${name}`, false)
      const env: Record<string, string> = {
        ...baseEnv(home.dir),
        AWS_ACCESS_KEY_ID: moto.admin.accessKeyId,
        AWS_SECRET_ACCESS_KEY: moto.admin.secretAccessKey,
        AWS_DEFAULT_REGION: REGION,
      }
      const ep = ['--endpoint-url', moto.endpoint]
      const aws = async (args: string[]) => {
        const r = await run('aws', args, {env, cwd: home.dir})
        check(r, `aws ${args.join(' ')}`)
        return r.stdout
      }
      const t = performance.now()
      await aws(['s3api', 'create-bucket', '--bucket', `bench-aws-${name}`, '--create-bucket-configuration', `LocationConstraint=${REGION}`, ...ep])
      await aws(['iam', 'create-user', '--user-name', `pulumi-aws-${name}`, ...ep])
      await aws(['iam', 'attach-user-policy', '--user-name', `pulumi-aws-${name}`, '--policy-arn', 'arn:aws:iam::aws:policy/AdministratorAccess', ...ep])
      const key = JSON.parse(await aws(['iam', 'create-access-key', '--user-name', `pulumi-aws-${name}`, '--output', 'json', ...ep])).AccessKey
      await aws(['configure', 'set', 'aws_access_key_id', key.AccessKeyId, '--profile', `pulumi-aws-${name}`])
      await aws(['configure', 'set', 'aws_secret_access_key', key.SecretAccessKey, '--profile', `pulumi-aws-${name}`])
      await aws(['configure', 'set', 'region', REGION, '--profile', `pulumi-aws-${name}`])
      const ms = performance.now() - t
      home.cleanup()
      return ms
    }

    // Warm-up: Node's compile cache, the SDK, moto's first requests, Python's .pyc files.
    const warm = freshHome('warm', true)
    await psbInit(warm, 'warm', '0')
    warm.cleanup()
    await manual('warm')

    const psbDefault: number[] = []
    const psbNoPause: number[] = []
    const awsMs: number[] = []
    let keep: TempHome | undefined
    for (let i = 0; i < RUNS; i++) {
      const h1 = freshHome(`d${i}`, true)
      psbDefault.push(await psbInit(h1, `d${i}`, undefined))
      if (i === 0) keep = h1
      else h1.cleanup()
      awsMs.push(await manual(String(i)))
      const h2 = freshHome(`n${i}`, true)
      psbNoPause.push(await psbInit(h2, `n${i}`, '0'))
      h2.cleanup()
    }

    // A second psb init on the first run's setup: which calls change anything?
    const log = keep!.path('second.log')
    const secondMs = await psbInit(keep!, 'd0', undefined, log)
    const calls = readFileSync(log, 'utf8').split('\n').filter(Boolean)
    const mutating = mutatingCalls(calls.join('\n'))
    const sentinel = [...VERIFY_SENTINEL_CALLS]
    const others = mutating.filter((c) => {
      const i = sentinel.indexOf(c)
      if (i < 0) return true
      sentinel.splice(i, 1)
      return false
    })
    keep!.cleanup()

    const med = {psbDefault: median(psbDefault), psbNoPause: median(psbNoPause), aws: median(awsMs)}
    const ratioDefault = med.aws / med.psbDefault
    const ratioNoPause = med.aws / med.psbNoPause
    Object.assign(out, {
      psbInitDefaultPauseMs: psbDefault,
      psbInitNoPauseMs: psbNoPause,
      manualAwsCliMs: awsMs,
      medians: med,
      ratioDefaultPause: ratioDefault,
      ratioNoPause,
      second: {ms: secondMs, calls: calls.length, mutating, mutatingBesidesVerifySentinel: others},
    })

    console.log(`init — psb init from nothing vs the seed's manual sequence (moto ${moto.endpoint}, ${RUNS} runs, Pulumi ${out.pulumi ?? 'not built: --no-login'})`)
    console.log(`  psb init (default key-proof pause)       ${fmt(med.psbDefault).padStart(9)}   runs: ${psbDefault.map(fmt).join(', ')}`)
    console.log(`  psb init (PSB_KEY_PROPAGATION_POLL_MS=0) ${fmt(med.psbNoPause).padStart(9)}   runs: ${psbNoPause.map(fmt).join(', ')}`)
    console.log(`  aws CLI x 7 (manual sequence)            ${fmt(med.aws).padStart(9)}   runs: ${awsMs.map(fmt).join(', ')}`)
    console.log(`  ratio aws / psb, default pause           ${ratioDefault.toFixed(2)}x  (target >= ${TARGET_RATIO}x) ${ratioDefault >= TARGET_RATIO ? 'OK' : 'MISSED'}`)
    console.log(`  ratio aws / psb, no pause                ${ratioNoPause.toFixed(2)}x  (target >= ${TARGET_RATIO}x) ${ratioNoPause >= TARGET_RATIO ? 'OK' : 'MISSED'}`)
    console.log(`  second psb init: ${fmt(secondMs)}, ${calls.length} AWS calls, ${mutating.length} mutating (${mutating.join(', ') || 'none'}); besides verify's sentinel: ${others.length} (target 0) ${others.length === 0 ? 'OK' : 'MISSED'}`)

    mkdirSync(join(ROOT, 'bench', 'out'), {recursive: true})
    writeFileSync(join(ROOT, 'bench', 'out', 'init.json'), JSON.stringify(out, null, 2) + '\n')
    if (ratioNoPause < TARGET_RATIO || others.length > 0) process.exitCode = 1
  } finally {
    await moto.stop()
  }
}

await main()
