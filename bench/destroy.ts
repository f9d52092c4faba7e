/**
 * Bench: `psb destroy` of a bucket holding BENCH_VERSIONS (default 20,000) object versions,
 * on moto with IAM enforced. The bucket is made by `psb bucket create` (so it is psb's), then
 * filled with BENCH_VERSIONS / 2 keys under .pulumi/history/ with two versions each. psb runs
 * once, with PSB_CALL_LOG: the time, and every request counted. Target: one ListObjectVersions
 * page and one DeleteObjects per 1,000 versions (20 + 20 for 20,000), nothing else per object.
 */
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {PutObjectCommand, S3Client} from '@aws-sdk/client-s3'
import {ROOT, check, run} from './lib.js'
import {MotoServer} from '../test/support/moto.js'

const RUN_JS = join(ROOT, 'bin', 'run.js')
const REGION = 'us-east-1'
const VERSIONS = Number(process.env.BENCH_VERSIONS ?? 20_000)
const BUCKET = 'bench-destroy-state'

async function fill(moto: MotoServer): Promise<number> {
  const s3 = new S3Client({region: REGION, endpoint: moto.endpoint, forcePathStyle: true, credentials: moto.admin, maxAttempts: 5})
  const keys = Array.from({length: VERSIONS / 2}, (_, i) => `.pulumi/history/proj/dev/dev-${String(i).padStart(6, '0')}.checkpoint.json`)
  const started = Date.now()
  for (const body of ['{"v":1}', '{"v":2}']) {
    for (let i = 0; i < keys.length; i += 32) await Promise.all(keys.slice(i, i + 32).map((Key) => s3.send(new PutObjectCommand({Bucket: BUCKET, Key, Body: body}))))
  }
  s3.destroy()
  return Date.now() - started
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'psb-bench-destroy-'))
  const moto = new MotoServer()
  await moto.start()
  try {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: work,
      AWS_ACCESS_KEY_ID: moto.admin.accessKeyId,
      AWS_SECRET_ACCESS_KEY: moto.admin.secretAccessKey,
      AWS_CONFIG_FILE: join(work, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(work, 'credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      PULUMI_HOME: join(work, '.pulumi'),
    }
    const psb = (args: string[], extra: Record<string, string> = {}) =>
      run(process.execPath, [RUN_JS, ...args, '--region', REGION, '--endpoint', moto.endpoint], {env: {...env, ...extra}, cwd: work, timeoutMs: 1_800_000})
    check(await psb(['bucket', 'create', '--bucket', BUCKET, '--json']), 'psb bucket create')
    const fillMs = await fill(moto)
    console.log(`filled ${VERSIONS} versions in ${Math.round(fillMs / 1000)} s`)

    const log = join(work, 'calls.log')
    writeFileSync(log, '')
    const started = Date.now()
    const r = await psb(['destroy', '--bucket', BUCKET, '--yes', '--json'], {PSB_CALL_LOG: log})
    const ms = Date.now() - started
    check(r, 'psb destroy')
    const doc = JSON.parse(r.stdout)
    const counts: Record<string, number> = {}
    for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) counts[line] = (counts[line] ?? 0) + 1
    const pages = Math.ceil(VERSIONS / 1000)
    const lists = counts['s3 ListObjectVersions'] ?? 0
    const deletes = counts['s3 DeleteObjects'] ?? 0
    const result = {versions: VERSIONS, deleted: doc.objects.deleted, ms, lists, deletes, target: {lists: pages, deletes: pages}, calls: counts}
    console.log(JSON.stringify(result, null, 2))
    mkdirSync(join(ROOT, 'bench', 'out'), {recursive: true})
    writeFileSync(join(ROOT, 'bench', 'out', 'destroy.json'), JSON.stringify(result, null, 2) + '\n')
    if (doc.objects.deleted !== VERSIONS || lists !== pages || deletes !== pages) process.exitCode = 1
  } finally {
    await moto.stop()
    rmSync(work, {recursive: true, force: true})
  }
}

await main()
