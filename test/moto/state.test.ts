/**
 * `psb locks list|clear` and `psb history prune` against moto with IAM enforcement on, run as
 * the CLI (dist/) with the least-privilege user's own key (a --prefix user, so a second team's
 * prefix proves it is left whole). Pulumi's layout and lock format as pkg/backend/diy writes them.
 */
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {hostname} from 'node:os'
import {existsSync, readFileSync, rmSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {S3Client, PutObjectCommand, ListObjectsV2Command} from '@aws-sdk/client-s3'
import {useMoto, type Keys} from '../support/moto.js'
import {runPsb, TempHome, type RunResult} from '../support/cli.js'
import {credentialsText, makeStateUser, spawnPsb, writeCredentials} from '../support/keys-fixture.js'
import {FaultProxy} from '../support/fault-proxy.js'

const BUCKET = 'state-locks-history'
const DAY = 24 * 3600 * 1000

describe('psb locks and psb history prune (moto, IAM enforcement on)', function () {
  this.timeout(180_000)
  const moto = useMoto()
  let home: TempHome
  let logDir: string
  const admin = () => new S3Client({region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: moto.admin, maxAttempts: 2})
  let user = 0

  beforeEach(() => {
    home = new TempHome('psb-state-')
    logDir = mkdtempSync(join(tmpdir(), 'psb-state-calls-'))
  })
  afterEach(() => {
    home.cleanup()
    rmSync(logDir, {recursive: true, force: true})
  })

  /** A bucket (fresh per test), the state user of prefix team-a, its key in profile pulumi. */
  async function setup(): Promise<{bucket: string; key: Keys}> {
    const bucket = `${BUCKET}-${++user}`
    const u = await makeStateUser(moto.endpoint, moto.admin, `team-a-${user}`, {bucket, prefix: 'team-a'})
    writeCredentials(home.credentialsFile, credentialsText({pulumi: u.key}))
    return {bucket, key: u.key}
  }

  const psb = (args: string[], bucket: string, env: Record<string, string> = {}, endpoint = moto.endpoint): Promise<RunResult> =>
    runPsb([...args, '--bucket', bucket, '--prefix', 'team-a', '--profile', 'pulumi', '--region', 'us-east-1', '--endpoint', endpoint], home, {env})

  async function put(bucket: string, entries: [string, string][], parallel = 32): Promise<void> {
    const c = admin()
    let i = 0
    await Promise.all(
      Array.from({length: parallel}, async () => {
        while (i < entries.length) {
          const [Key, Body] = entries[i++]
          await c.send(new PutObjectCommand({Bucket: bucket, Key, Body}))
        }
      }),
    )
  }

  async function keys(bucket: string, prefix: string): Promise<string[]> {
    const c = admin()
    const out: string[] = []
    let token: string | undefined
    do {
      const r = await c.send(new ListObjectsV2Command({Bucket: bucket, Prefix: prefix, ContinuationToken: token}))
      out.push(...(r.Contents ?? []).map((o) => o.Key!))
      token = r.IsTruncated ? r.NextContinuationToken : undefined
    } while (token)
    return out.sort()
  }

  const lock = (pid: number, host: string, agoMs: number) => JSON.stringify({pid, username: 'alice', hostname: host, timestamp: new Date(Date.now() - agoMs).toISOString()})
  /** The pid of a process that has exited. */
  const deadPid = (): number => spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid!
  const L = 'team-a/.pulumi/locks/organization/webapp'

  describe('psb locks', () => {
    it('lists every lock: stack, who, pid, when, age (--json)', async () => {
      const {bucket} = await setup()
      await put(bucket, [
        [`${L}/prod/1b0e.json`, lock(4242, 'ci-runner-7', 3 * 3600_000)],
        [`${L}/dev/77aa.json`, lock(99, 'laptop', 60_000)],
        ['team-b/.pulumi/locks/organization/other/prod/ffff.json', lock(1, 'x', 0)],
      ])
      const r = await psb(['locks', 'list', '--json'], bucket)
      expect(r.code, r.stderr).to.equal(0)
      const doc = JSON.parse(r.stdout) as {locks: {stack: string; user: string; host: string; pid: number; when: string; ageMs: number}[]}
      expect(doc.locks.map((l) => [l.stack, `${l.user}@${l.host}`, l.pid])).to.deep.equal([
        ['organization/webapp/prod', 'alice@ci-runner-7', 4242],
        ['organization/webapp/dev', 'alice@laptop', 99],
      ])
      expect(doc.locks[0].ageMs).to.be.within(3 * 3600_000, 3 * 3600_000 + 60_000)
      const text = await psb(['locks', 'list'], bucket)
      expect(text.stdout).to.match(/organization\/webapp\/prod\s+alice@ci-runner-7\s+4242\s+\S+\s+3h/)
    })

    it('clear: refuses a live lock (this host, pid running) at any age and shows it; clears a dead one; other hosts need --older-than', async () => {
      const {bucket} = await setup()
      const host = hostname()
      const live = `${L}/prod/live.json`
      const dead = `${L}/dev/dead.json`
      const foreignOld = `${L}/staging/old.json`
      const foreignYoung = `${L}/qa/young.json`
      await put(bucket, [
        [live, lock(process.pid, host, 5 * DAY)],
        [dead, lock(deadPid(), host, 60_000)],
        [foreignOld, lock(4242, 'ci-runner-7', 3 * 3600_000)],
        [foreignYoung, lock(4243, 'ci-runner-8', 10 * 60_000)],
      ])
      const first = await psb(['locks', 'clear', '--json'], bucket)
      expect(first.code, first.stderr).to.equal(1)
      const doc = JSON.parse(first.stdout) as {cleared: number; refused: number; locks: {key: string; status: string; why: string}[]}
      const st = Object.fromEntries(doc.locks.map((l) => [l.key, l.status]))
      expect(st).to.deep.equal({[live]: 'refused', [dead]: 'cleared', [foreignOld]: 'refused', [foreignYoung]: 'refused'})
      expect(doc.locks.find((l) => l.key === live)!.why).to.contain(`pid ${process.pid} is running`)
      expect(await keys(bucket, 'team-a/.pulumi/locks/')).to.deep.equal([foreignYoung, foreignOld, live].sort())

      const dry = await psb(['locks', 'clear', '--older-than', '1h', '--dry-run'], bucket)
      expect(dry.stdout).to.contain('1 lock(s) would be cleared, 2 refused')
      expect(await keys(bucket, 'team-a/.pulumi/locks/')).to.have.length(3)

      const second = await psb(['locks', 'clear', '--older-than', '1h'], bucket)
      expect(second.code).to.equal(1)
      expect(second.stdout).to.match(/organization\/webapp\/prod\s+alice@\S+\s+\d+\s+5d[^\n]*refused\s+live/)
      expect(await keys(bucket, 'team-a/.pulumi/locks/')).to.deep.equal([foreignYoung, live].sort())

      const one = await psb(['locks', 'clear', '--older-than', '5m', '--stack', 'webapp/qa'], bucket)
      expect(one.code, one.stderr).to.equal(0)
      expect(await keys(bucket, 'team-a/.pulumi/locks/')).to.deep.equal([live])
    })

    it('bad input is exit 2 before any call: --older-than without a unit or 0, a malformed --stack', async () => {
      const {bucket} = await setup()
      const log = join(logDir, 'bad.log')
      for (const args of [['--older-than', '5'], ['--older-than', '0s'], ['--stack', 'a/b/c/d'], ['--stack', 'we b']]) {
        const r = await psb(['locks', 'clear', ...args], bucket, {PSB_CALL_LOG: log})
        expect(r.code, r.stderr).to.equal(2)
      }
      expect(existsSync(log)).to.equal(false)
    })
  })

  describe('psb history prune', () => {
    const H = 'team-a/.pulumi/history/webapp'
    const B = 'team-a/.pulumi/backups/webapp'
    const ns = (agoMs: number) => (BigInt(Date.now() - agoMs) * 1_000_000n + 123_456n).toString()
    const nsPlus = (n: string, ms: number) => (BigInt(n) + BigInt(ms) * 1_000_000n).toString()

    /** A stack as Pulumi writes it: per update a .history.json, a .checkpoint.json and (just after) a backup. */
    function stackFiles(stack: string, agesMs: number[]): {entries: [string, string][]; updates: {ns: string; files: string[]; backup: string}[]} {
      const entries: [string, string][] = [[`team-a/.pulumi/stacks/webapp/${stack}.json`, '{"checkpoint":{}}'], [`team-a/.pulumi/stacks/webapp/${stack}.json.bak`, '{}']]
      const updates = agesMs.map((age) => {
        const n = ns(age)
        const files = [`${H}/${stack}/${stack}-${n}.history.json`, `${H}/${stack}/${stack}-${n}.checkpoint.json`]
        const backup = `${B}/${stack}/${stack}.${nsPlus(n, 3)}.json`
        for (const f of [...files, backup]) entries.push([f, `{"update":"${n}","pad":"${'x'.repeat(100)}"}`])
        return {ns: n, files, backup}
      })
      return {entries, updates}
    }

    it('keeps exactly the newest --keep N and those newer than --keep-days D, their backups, the current state and unknown files; --dry-run shows counts and bytes; a locked stack is left; a re-run deletes nothing', async () => {
      const {bucket} = await setup()
      // dev: 20 updates, 0.5, 1.5, ..., 19.5 days old. prod: 5 updates, locked.
      const dev = stackFiles('dev', Array.from({length: 20}, (_, k) => (k + 0.5) * DAY))
      const prod = stackFiles('prod', Array.from({length: 5}, (_, k) => (k + 10.5) * DAY))
      const other: [string, string][] = [
        [`${H}/dev/notes.txt`, 'not pulumi'],
        ['team-b/.pulumi/history/webapp/dev/dev-1.history.json', '{}'],
        [`${L}/prod/abcd.json`, lock(4242, 'ci-runner-7', 60_000)],
      ]
      await put(bucket, [...dev.entries, ...prod.entries, ...other])
      const before = await keys(bucket, '')

      const dry = await psb(['history', 'prune', '--keep', '3', '--keep-days', '7', '--dry-run', '--json'], bucket)
      expect(dry.code, dry.stderr).to.equal(0)
      const plan = JSON.parse(dry.stdout) as {stacks: {stack: string; status: string; updates: number; kept: number; history: {count: number; bytes: number}; backups: {count: number; bytes: number}}[]}
      const size = Buffer.byteLength(dev.entries[2][1])
      expect(plan.stacks.map((x) => [x.stack, x.status, x.updates, x.kept, x.history.count, x.backups.count])).to.deep.equal([
        ['webapp/dev', 'planned', 20, 7, 26, 13],
        ['webapp/prod', 'locked', 5, 3, 4, 2],
      ])
      expect(plan.stacks[0].history.bytes).to.equal(26 * size)
      expect(await keys(bucket, '')).to.deep.equal(before)
      const dryText = await psb(['history', 'prune', '--keep', '3', '--keep-days', '7', '--dry-run'], bucket)
      expect(dryText.stdout).to.contain(`Dry run: 39 file(s), ${((39 * size) / 1024).toFixed(1)} KiB, would be deleted`)

      const run = await psb(['history', 'prune', '--keep', '3', '--keep-days', '7'], bucket)
      expect(run.code, run.stderr).to.equal(0)
      expect(run.stderr).to.contain('webapp/prod is locked by alice@ci-runner-7')
      const kept = dev.updates.slice(0, 7)
      const gone = new Set(dev.updates.slice(7).flatMap((u) => [...u.files, u.backup]))
      expect(await keys(bucket, '')).to.deep.equal(before.filter((k) => !gone.has(k)))
      expect(await keys(bucket, `${H}/dev/`)).to.deep.equal([...kept.flatMap((u) => u.files), `${H}/dev/notes.txt`].sort())

      const log = join(logDir, 'again.log')
      const again = await psb(['history', 'prune', '--keep', '3', '--keep-days', '7'], bucket, {PSB_CALL_LOG: log})
      expect(again.code, again.stderr).to.equal(0)
      expect(readFileSync(log, 'utf8').split('\n').filter((l) => !/^\w+ (Get|Head|List)/.test(l) && l)).to.deep.equal([])
    })

    it('never deletes the newest update, nor the newest checkpoint, even with --keep 0 --keep-days 0; needs --keep or --keep-days (exit 2)', async () => {
      const {bucket} = await setup()
      const dev = stackFiles('dev', [3 * DAY, 2 * DAY])
      // The newest update has no checkpoint (only its .history.json): the newest checkpoint is the one before it.
      const newestHistoryOnly = `${H}/dev/dev-${ns(DAY)}.history.json`
      await put(bucket, [...dev.entries, [newestHistoryOnly, '{}']])
      const none = await psb(['history', 'prune'], bucket)
      expect(none.code).to.equal(2)
      const r = await psb(['history', 'prune', '--keep', '0', '--keep-days', '0'], bucket)
      expect(r.code, r.stderr).to.equal(0)
      expect(await keys(bucket, `${H}/dev/`)).to.deep.equal([newestHistoryOnly, ...dev.updates[1].files].sort())
      expect(await keys(bucket, `${B}/dev/`)).to.deep.equal([dev.updates[1].backup])
    })

    // On moto a least-privilege DeleteObjects is denied (moto judges it on the bucket, not per key), so psb
    // deletes key by key there: killed at the 600th DeleteObject. As an administrator, batches of 1,000: killed
    // while the 2nd DeleteObjects is held.
    for (const who of ['pulumi', 'admin'] as const) {
      it(`killed with SIGKILL in the middle of a prune of 1,500 files (${who === 'admin' ? 'DeleteObjects batches' : 'one DeleteObject per key'}): a re-run finishes it, keeping exactly what it promises`, async () => {
        const {bucket, key} = await setup()
        if (who === 'admin') writeCredentials(home.credentialsFile, credentialsText({pulumi: key, admin: moto.admin}))
        const dev = stackFiles('dev', Array.from({length: 500}, (_, k) => (k + 1) * 60_000))
        await put(bucket, dev.entries, 48)
        const before = await keys(bucket, '')
        const proxy = new FaultProxy(moto.endpoint)
        await proxy.start()
        const isDelete = (req: {action: string; path: string}) => req.action === 'S3:DELETE' || (req.action === 'S3:POST' && req.path.includes('delete'))
        let singles = 0
        let batches = 0
        const at = (req: {action: string}) => (who === 'admin' ? req.action === 'S3:POST' && batches === 2 : req.action === 'S3:DELETE' && singles === 600)
        try {
          let release!: () => void
          const held = new Promise<void>((r) => (release = r))
          proxy.rules.push((req) => {
            if (!isDelete(req)) return undefined
            if (req.action === 'S3:POST') batches++
            else singles++
            return at(req) ? {hold: held} : undefined
          })
          const args = ['history', 'prune', '--keep', '10', '--bucket', bucket, '--prefix', 'team-a', '--profile', who, '--region', 'us-east-1', '--endpoint', proxy.endpoint]
          const run = spawnPsb(args, home.dir)
          await proxy.arrived((req) => isDelete(req) && at(req))
          run.child.kill('SIGKILL')
          const killed = await run.done
          release()
          expect(killed.signal).to.equal('SIGKILL')
        } finally {
          await proxy.stop()
        }
        const midway = await keys(bucket, '')
        expect(midway.length).to.be.lessThan(before.length)
        expect(midway.length).to.be.greaterThan(before.length - 1467)
        const again = await psb(['history', 'prune', '--keep', '10'], bucket)
        expect(again.code, again.stderr).to.equal(0)
        const gone = new Set(dev.updates.slice(10).flatMap((u) => [...u.files, u.backup]))
        expect(await keys(bucket, '')).to.deep.equal(before.filter((k) => !gone.has(k)))
      })
    }
  })
})
