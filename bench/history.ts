/**
 * bench/history: `psb history prune` of a stack with 5,000 history files (2,500 updates:
 * a .history.json and a .checkpoint.json each) and 2,500 backups, against moto (started
 * here, IAM enforcement on), as an administrator (DeleteObjects in batches of 1,000).
 *
 *   1. --dry-run: wall time and requests (the listing only);
 *   2. the prune (--keep 100): wall time, every request counted from PSB_CALL_LOG;
 *   3. a second run: 0 mutating calls.
 *
 *   npm run build && node --import tsx bench/history.ts
 *   BENCH_UPDATES=2500 BENCH_KEEP=100 node --import tsx bench/history.ts
 *
 * Targets: deletes = ceil(files / 1,000) DeleteObjects; lists = ceil(objects / 1,000) pages;
 * 0 mutating calls on the second run. Writes bench/out/history.json.
 */
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {S3Client, CreateBucketCommand, PutObjectCommand} from '@aws-sdk/client-s3'
import {MotoServer} from '../test/support/moto.js'
import {runPsb, TempHome} from '../test/support/cli.js'
import {credentialsText, writeCredentials} from '../test/support/keys-fixture.js'
import {ROOT, check} from './lib.js'

const UPDATES = Number(process.env.BENCH_UPDATES ?? 2500)
const KEEP = Number(process.env.BENCH_KEEP ?? 100)
const BUCKET = 'bench-history'

async function fill(s3: S3Client): Promise<number> {
  const entries: string[] = []
  const base = BigInt(Date.now() - UPDATES * 60_000) * 1_000_000n
  for (let i = 0; i < UPDATES; i++) {
    const n = base + BigInt(i) * 60_000_000_000n
    entries.push(`.pulumi/history/app/dev/dev-${n}.history.json`, `.pulumi/history/app/dev/dev-${n}.checkpoint.json`, `.pulumi/backups/app/dev/dev.${n + 3_000_000n}.json`)
  }
  entries.push('.pulumi/stacks/app/dev.json')
  const body = JSON.stringify({pad: 'x'.repeat(2000)})
  let next = 0
  await Promise.all(
    Array.from({length: 48}, async () => {
      while (next < entries.length) await s3.send(new PutObjectCommand({Bucket: BUCKET, Key: entries[next++], Body: body}))
    }),
  )
  return entries.length
}

function calls(log: string): Record<string, number> {
  const out: Record<string, number> = {}
  if (!existsSync(log)) return out
  for (const l of readFileSync(log, 'utf8').split('\n').filter(Boolean)) out[l] = (out[l] ?? 0) + 1
  return out
}

async function main(): Promise<void> {
  const moto = new MotoServer()
  await moto.start()
  const home = new TempHome('psb-bench-history-')
  try {
    const s3 = new S3Client({region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: moto.admin})
    await s3.send(new CreateBucketCommand({Bucket: BUCKET}))
    const t0 = Date.now()
    const objects = await fill(s3)
    console.log(`filled ${objects} objects in ${Date.now() - t0} ms`)
    writeCredentials(home.credentialsFile, credentialsText({admin: moto.admin}))
    const args = ['history', 'prune', '--keep', String(KEEP), '--bucket', BUCKET, '--profile', 'admin', '--region', 'us-east-1', '--endpoint', moto.endpoint]
    const run = async (label: string, extra: string[]) => {
      const log = home.path(`${label}.log`)
      const started = Date.now()
      const r = await runPsb([...args, ...extra], home, {env: {PSB_CALL_LOG: log}, timeoutMs: 600_000})
      check(r, label)
      return {label, ms: Date.now() - started, calls: calls(log)}
    }
    const dry = await run('dry-run', ['--dry-run'])
    const prune = await run('prune', [])
    const again = await run('second run', [])
    // The .history.json, .checkpoint.json and backup of each pruned update.
    const files = (UPDATES - KEEP) * 3
    const mutating = (c: Record<string, number>) => Object.entries(c).filter(([k]) => !/^\w+ (Get|Head|List)/.test(k)).reduce((n, [, v]) => n + v, 0)
    const result = {
      updates: UPDATES,
      historyFiles: UPDATES * 2,
      backups: UPDATES,
      keep: KEEP,
      filesToDelete: files,
      runs: [dry, prune, again],
      targets: {
        deleteRequests: {want: Math.ceil(files / 1000), got: prune.calls['s3 DeleteObjects'] ?? 0},
        secondRunMutating: {want: 0, got: mutating(again.calls)},
      },
    }
    for (const r of result.runs) console.log(`${r.label.padEnd(11)} ${String(r.ms).padStart(6)} ms  ${JSON.stringify(r.calls)}`)
    mkdirSync(join(ROOT, 'bench', 'out'), {recursive: true})
    writeFileSync(join(ROOT, 'bench', 'out', 'history.json'), JSON.stringify(result, null, 2))
    const missed = result.targets.deleteRequests.got !== result.targets.deleteRequests.want || result.targets.secondRunMutating.got !== 0
    console.log(`targets: ${JSON.stringify(result.targets)}${missed ? '  MISSED' : '  met'}`)
    if (missed) process.exitCode = 1
  } finally {
    home.cleanup()
    await moto.stop()
  }
}

await main()
