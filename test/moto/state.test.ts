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
})
