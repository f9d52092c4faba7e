/**
 * bench/bucket: `psb bucket create` for a new bucket vs. the same setup done by hand with
 * the AWS CLI, one `aws s3api` call per setting as a user following a guide would
 * (create-bucket, put-bucket-versioning, put-bucket-encryption, put-public-access-block,
 * put-bucket-ownership-controls, put-bucket-policy, put-bucket-lifecycle-configuration,
 * put-bucket-tagging) — both against the same local moto (IAM enforcement on), in one run.
 * Also counts the mutating calls of a second psb run on the same bucket (PSB_CALL_LOG).
 *
 * Targets: psb >= 3x faster than the AWS CLI sequence; 0 mutating calls on the re-run.
 *
 *   npm run build && node --import tsx bench/bucket.ts
 *   BENCH_RUNS=5 node --import tsx bench/bucket.ts
 *
 * Prints a table and writes bench/out/bucket.json. Exit code 1 when a target is missed.
 */
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {ROOT, check, median, run} from './lib.js'
import {MotoServer} from '../test/support/moto.js'

const RUN_JS = join(ROOT, 'bin', 'run.js')
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const REGION = 'us-east-1'
const TARGET_RATIO = 3

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'commands', 'bucket', 'create.js'))) {
    throw new Error('dist/ has no bucket create command: run `npm run build` first.')
  }
  const work = mkdtempSync(join(tmpdir(), 'psb-bench-bucket-'))
  const moto = new MotoServer()
  await moto.start()
  try {
    // A clean environment for both tools: the moto admin key, a temporary HOME, no AWS files.
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: work,
      LANG: process.env.LANG ?? 'C.UTF-8',
      AWS_ACCESS_KEY_ID: moto.admin.accessKeyId,
      AWS_SECRET_ACCESS_KEY: moto.admin.secretAccessKey,
      AWS_DEFAULT_REGION: REGION,
      AWS_CONFIG_FILE: join(work, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(work, 'credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      NO_UPDATE_NOTIFIER: '1',
      PSB_NO_UPDATE_CHECK: '1',
    }

    const psb = (bucket: string, extraEnv: Record<string, string> = {}) =>
      run(process.execPath, [RUN_JS, 'bucket', 'create', '--bucket', bucket, '--region', REGION, '--endpoint', moto.endpoint, '--json'], {env: {...env, ...extraEnv}, cwd: work})

    const policyFile = (bucket: string) => {
      const arn = `arn:aws:s3:::${bucket}`
      const file = join(work, `${bucket}-policy.json`)
      writeFileSync(
        file,
        JSON.stringify({
          Version: '2012-10-17',
          Statement: [{Sid: 'DenyInsecureTransport', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [arn, `${arn}/*`], Condition: {Bool: {'aws:SecureTransport': 'false'}}}],
        }),
      )
      return file
    }
    const lifecycleFile = join(work, 'lifecycle.json')
    writeFileSync(
      lifecycleFile,
      JSON.stringify({
        Rules: [
          {ID: 'noncurrent-expiry', Status: 'Enabled', Filter: {Prefix: ''}, NoncurrentVersionExpiration: {NoncurrentDays: 90}},
          {ID: 'abort-incomplete-multipart', Status: 'Enabled', Filter: {Prefix: ''}, AbortIncompleteMultipartUpload: {DaysAfterInitiation: 7}},
        ],
      }),
    )
    const awsSteps = (bucket: string): string[][] => [
      ['create-bucket', '--bucket', bucket, '--object-ownership', 'BucketOwnerEnforced'],
      ['put-bucket-versioning', '--bucket', bucket, '--versioning-configuration', 'Status=Enabled'],
      ['put-bucket-encryption', '--bucket', bucket, '--server-side-encryption-configuration', '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}'],
      ['put-public-access-block', '--bucket', bucket, '--public-access-block-configuration', 'BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true'],
      ['put-bucket-ownership-controls', '--bucket', bucket, '--ownership-controls', 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'],
      ['put-bucket-policy', '--bucket', bucket, '--policy', `file://${policyFile(bucket)}`],
      ['put-bucket-lifecycle-configuration', '--bucket', bucket, '--lifecycle-configuration', `file://${lifecycleFile}`],
      ['put-bucket-tagging', '--bucket', bucket, '--tagging', 'TagSet=[{Key=managed-by,Value=psb}]'],
    ]
    const awsCli = async (bucket: string) => {
      for (const step of awsSteps(bucket)) {
        const r = await run('aws', ['s3api', ...step, '--endpoint-url', moto.endpoint], {env, cwd: work})
        check(r, `aws s3api ${step[0]}`)
      }
    }

    // Warm-up (compile cache, Python bytecode), not measured.
    check(await psb('bench-warmup-psb'), 'psb warm-up')
    await awsCli('bench-warmup-aws')

    const psbMs: number[] = []
    const awsMs: number[] = []
    for (let i = 0; i < RUNS; i++) {
      let t = performance.now()
      const r = await psb(`bench-psb-${i}`)
      psbMs.push(performance.now() - t)
      check(r, 'psb bucket create')
      const doc = JSON.parse(r.stdout) as {created: boolean}
      if (!doc.created) throw new Error('psb did not create the bucket')
      t = performance.now()
      await awsCli(`bench-aws-${i}`)
      awsMs.push(performance.now() - t)
    }

    // Second psb run on an existing, hardened bucket: count the calls it makes.
    const log = join(work, 'calls.log')
    const t0 = performance.now()
    const again = await psb('bench-psb-0', {PSB_CALL_LOG: log})
    const rerunMs = performance.now() - t0
    check(again, 'psb bucket create (re-run)')
    const calls = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean)
    const mutating = calls.filter((c) => !/^\w+ (Get|Head|List)/.test(c))

    // The AWS CLI's bucket must match psb's on the settings both set (sanity: same work done).
    const verify = await psb('bench-aws-0', {PSB_CALL_LOG: join(work, 'verify.log')})
    check(verify, 'psb on the AWS CLI bucket')
    const vdoc = JSON.parse(verify.stdout) as {changes: Array<{item: string; status: string}>}
    const awsDiff = vdoc.changes.filter((c) => c.status !== 'unchanged').map((c) => `${c.item}:${c.status}`)

    const psbMed = median(psbMs)
    const awsMed = median(awsMs)
    const ratio = awsMed / psbMed
    const fmt = (ms: number) => `${ms.toFixed(0)} ms`
    console.log(`bench/bucket: new hardened bucket against local moto (${RUNS} runs each, median)`)
    console.log(`  psb bucket create (1 process)       ${fmt(psbMed).padStart(9)}   runs: ${psbMs.map(fmt).join(', ')}`)
    console.log(`  aws s3api x 8 (1 process per call)  ${fmt(awsMed).padStart(9)}   runs: ${awsMs.map(fmt).join(', ')}`)
    console.log(`  ratio aws / psb                     ${ratio.toFixed(2)}x   (target >= ${TARGET_RATIO}x) ${ratio >= TARGET_RATIO ? 'OK' : 'MISSED'}`)
    console.log(`  second psb run: ${calls.length} calls, ${mutating.length} mutating (target 0) ${mutating.length === 0 ? 'OK' : 'MISSED: ' + mutating.join(', ')}; ${fmt(rerunMs)}`)
    console.log(`  psb on the AWS CLI bucket would still change: ${awsDiff.length ? awsDiff.join(', ') : 'nothing'}`)

    const outDir = join(ROOT, 'bench', 'out')
    mkdirSync(outDir, {recursive: true})
    writeFileSync(
      join(outDir, 'bucket.json'),
      JSON.stringify({date: new Date().toISOString(), runs: RUNS, psbMs, awsMs, psbMedianMs: psbMed, awsMedianMs: awsMed, ratio, rerun: {calls: calls.length, mutating: mutating.length, ms: rerunMs}, awsDiff}, null, 2) + '\n',
    )
    if (ratio < TARGET_RATIO || mutating.length > 0) process.exitCode = 1
  } finally {
    await moto.stop()
    rmSync(work, {recursive: true, force: true})
  }
}

await main()
