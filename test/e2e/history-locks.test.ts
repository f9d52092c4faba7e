/**
 * End to end with the REAL Pulumi CLI (3.274.1, test/support/pulumi.ts) against moto with IAM
 * enforcement on: `psb history prune` on a stack Pulumi made (four updates), keeping exactly
 * what it promises, after which Pulumi still works; and a lock left by a `pulumi up` killed
 * with SIGKILL, seen by `psb locks list`, cleared by
 * `psb locks clear` (this host, pid not running), after which `pulumi up` works again.
 */
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {S3Client, GetObjectCommand, ListObjectsV2Command} from '@aws-sdk/client-s3'
import {sharedMoto, type MotoServer} from '../support/moto.js'
import {TempHome, baseEnv, runPsb, type RunResult} from '../support/cli.js'
import {usePulumiBuild} from '../support/pulumi.js'
import {FaultProxy} from '../support/fault-proxy.js'
import {buildBackendUrl} from '../../src/lib/pulumi/backend-url.js'

const REGION = 'us-west-1'
const BUCKET = 'e2e-history-state'
const PROJECT = 'psb-history'
const PULUMI_YAML = `name: ${PROJECT}
runtime: yaml
config:
  n:
    type: string
    default: "0"
outputs:
  n: \${n}
`

describe('end to end: psb history prune and psb locks with the real Pulumi CLI (moto, IAM enforcement on)', function () {
  this.timeout(300_000)
  const pulumi = usePulumiBuild()
  let moto: MotoServer
  let home: TempHome
  let dir: string

  before(async function () {
    this.timeout(60_000)
    moto = await sharedMoto()
    await moto.reset()
    home = new TempHome('psb-e2e-hist-')
    writeFileSync(home.credentialsFile, `[admin]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n`, {mode: 0o600})
    target.push('--profile', 'pulumi', '--bucket', BUCKET, '--region', REGION, '--endpoint', moto.endpoint)
    dir = home.path('app')
    mkdirSync(dir, {recursive: true})
    writeFileSync(join(dir, 'Pulumi.yaml'), PULUMI_YAML)
  })
  after(() => home?.cleanup())

  const env = (extra: Record<string, string> = {}) => ({
    PATH: `${pulumi.build.dir}:${process.env.PATH}`,
    PULUMI_HOME: home.path('.pulumi'),
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    PULUMI_CONFIG_PASSPHRASE: 'pass',
    PSB_KEY_PROPAGATION_POLL_MS: '20',
    ...extra,
  })
  const psb = (args: string[]): Promise<RunResult> => runPsb(args, home, {env: env(), timeoutMs: 120_000})
  const target = [] as string[]
  const ok = (r: RunResult, what: string) => expect(r.code, `${what} exited ${r.code}\n${r.stdout}\n${r.stderr}`).to.equal(0)

  function runPulumi(args: string[], extra: Record<string, string> = {}): {child: ReturnType<typeof spawn>; done: Promise<RunResult>} {
    const e = {...baseEnv(home.dir), ...env(extra)}
    const child = spawn(pulumi.build.pulumi, [...args, '--non-interactive'], {cwd: dir, env: e, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (d) => (stdout += d))
    child.stderr!.setEncoding('utf8').on('data', (d) => (stderr += d))
    const done = new Promise<RunResult>((resolve) => child.on('close', (code, signal) => resolve({code, signal, stdout, stderr})))
    return {child, done}
  }
  const pulumiOk = async (args: string[]) => ok(await runPulumi(args).done, `pulumi ${args.join(' ')}`)

  const s3 = () => new S3Client({region: REGION, endpoint: moto.endpoint, forcePathStyle: true, credentials: moto.admin, maxAttempts: 2})
  async function keys(prefix: string): Promise<string[]> {
    const r = await s3().send(new ListObjectsV2Command({Bucket: BUCKET, Prefix: prefix}))
    return (r.Contents ?? []).map((o) => o.Key!).sort()
  }
  const text = async (key: string) => (await s3().send(new GetObjectCommand({Bucket: BUCKET, Key: key}))).Body!.transformToString()
  const nanos = (k: string) => BigInt(/[-.](\d+)\.(?:history\.|checkpoint\.)?json$/.exec(k)![1])

  it('history prune --keep 2 on a stack with four updates by Pulumi: the two newest updates stay, their backups, the current state; Pulumi still works', async () => {
    ok(await psb(['init', '--bucket', BUCKET, '--region', REGION, '--endpoint', moto.endpoint, '--admin-profile', 'admin', '--profile', 'pulumi', '--yes']), 'psb init')
    await pulumiOk(['stack', 'init', 'dev', '--secrets-provider', 'passphrase'])
    for (let i = 1; i <= 4; i++) {
      await pulumiOk(['config', 'set', 'n', String(i)])
      await pulumiOk(['up', '--yes', '--skip-preview'])
    }
    const H = `.pulumi/history/${PROJECT}/dev/`
    const B = `.pulumi/backups/${PROJECT}/dev/`
    const history = await keys(H)
    const backups = await keys(B)
    expect(history.filter((k) => k.endsWith('.history.json'))).to.have.length(4)
    expect(history.filter((k) => k.endsWith('.checkpoint.json'))).to.have.length(4)
    expect(backups.length).to.be.greaterThan(0)
    const stateKey = `.pulumi/stacks/${PROJECT}/dev.json`
    const state = await text(stateKey)

    const dry = await psb(['history', 'prune', '--keep', '2', '--dry-run', '--json', ...target])
    ok(dry, 'prune --dry-run')
    const plan = JSON.parse(dry.stdout) as {stacks: {stack: string; updates: number; kept: number; history: {count: number}}[]}
    expect(plan.stacks).to.have.length(1)
    expect(plan.stacks[0]).to.deep.include({stack: `${PROJECT}/dev`, updates: 4, kept: 2})
    expect(plan.stacks[0].history.count).to.equal(4)
    expect(await keys(H)).to.deep.equal(history)

    ok(await psb(['history', 'prune', '--keep', '2', ...target]), 'prune')
    const updates = [...new Set(history.map(nanos))].sort((a, b) => (a < b ? -1 : 1))
    const keptFrom = updates[2]
    expect(await keys(H)).to.deep.equal(history.filter((k) => nanos(k) >= keptFrom))
    expect(await keys(B)).to.deep.equal(backups.filter((k) => nanos(k) >= keptFrom))
    expect(await text(stateKey)).to.equal(state)

    const h = runPulumi(['stack', 'history', '--json'])
    const hr = await h.done
    ok(hr, 'pulumi stack history')
    expect(JSON.parse(hr.stdout)).to.have.length(2)
    await pulumiOk(['config', 'set', 'n', '7'])
    await pulumiOk(['up', '--yes', '--skip-preview'])
    const out = await runPulumi(['stack', 'output', 'n']).done
    expect(out.stdout.trim()).to.equal('7')
  })

  it('a lock left by a pulumi up killed with SIGKILL: listed, blocks pulumi, cleared by psb locks clear (this host, pid gone); pulumi up works again', async () => {
    const proxy = new FaultProxy(moto.endpoint)
    await proxy.start()
    let pid: number | undefined
    try {
      let release!: () => void
      const held = new Promise<void>((r) => (release = r))
      // Hold Pulumi's first write of the stack's state, after it took the lock; kill it there.
      proxy.rules.push((req) => (req.action === 'S3:PUT' && req.path.includes('/.pulumi/stacks/') ? {hold: held} : undefined))
      const url = buildBackendUrl({bucket: BUCKET, region: REGION, profile: 'pulumi', endpoint: proxy.endpoint, pulumiVersion: '3.274.1'})
      await pulumiOk(['config', 'set', 'n', '8'])
      const up = runPulumi(['up', '--yes', '--skip-preview', '--stack', 'dev'], {PULUMI_BACKEND_URL: url})
      pid = up.child.pid!
      const first = await Promise.race([proxy.arrived((req) => req.action === 'S3:PUT' && req.path.includes('/.pulumi/stacks/')), up.done])
      expect(first, `pulumi up ended before writing its state: ${JSON.stringify(first)}\n${proxy.calls.map((c) => `${c.action} ${c.path}`).join('\n')}`).to.have.property('path')
      up.child.kill('SIGKILL')
      await up.done
      release()
    } finally {
      await proxy.stop()
    }
    const locks = await keys('.pulumi/locks/')
    expect(locks).to.have.length(1)

    const list = await psb(['locks', 'list', '--json', ...target])
    ok(list, 'locks list')
    const doc = JSON.parse(list.stdout) as {locks: {stack: string; pid: number; host: string}[]}
    expect(doc.locks).to.have.length(1)
    expect(doc.locks[0]).to.include({stack: `organization/${PROJECT}/dev`, pid})

    const blocked = await runPulumi(['up', '--yes', '--skip-preview']).done
    expect(blocked.code).to.not.equal(0)
    expect(blocked.stderr + blocked.stdout).to.contain('locked')

    const clear = await psb(['locks', 'clear', ...target])
    ok(clear, 'locks clear')
    expect(clear.stdout).to.contain(`pid ${pid} is not running on this host`)
    expect(await keys('.pulumi/locks/')).to.deep.equal([])
    await pulumiOk(['up', '--yes', '--skip-preview'])
    const out = await runPulumi(['stack', 'output', 'n']).done
    expect(out.stdout.trim()).to.equal('8')
  })
})
