/**
 * psb on a REAL MinIO (built from the Go module proxy, pinned: scripts/build-minio.sh), the
 * second real S3 implementation beside moto, and the real Pulumi CLI on it. MinIO has no AWS
 * IAM or STS: its root key stands for the admin profile and for the key a user made with
 * `mc` (the bring-your-own-key of `init --no-iam`). The steps build on each other:
 *   1. bucket create: exactly what is applied and what is skipped (the abort-multipart rule
 *      alone, noncurrent expiry applied); a second run makes 0 writes;
 *   2. creds write: MinIO's key id is refused as an AWS key, accepted with --endpoint;
 *   3. init --no-iam exits 0 and lists what mc must do; init without --no-iam picks it by itself;
 *   4. verify exits 0, warnings only, the IAM checks "not available on this store";
 *   5. keys rotate: exit 2 naming the store's own tool;
 *   6. the real Pulumi CLI: stack init, up, refresh with the URL psb wrote.
 */
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {GetBucketLifecycleConfigurationCommand, ListObjectsV2Command, S3Client} from '@aws-sdk/client-s3'
import {TempHome, baseEnv, runPsb, type RunResult} from '../support/cli.js'
import {mutatingCalls} from '../support/calls.js'
import {useMinio} from '../support/minio.js'
import {usePulumiBuild} from '../support/pulumi.js'

const BUCKET = 'psb-minio-state'
const REGION = 'us-east-1'
const PASSPHRASE = 'correct horse battery staple'

interface Run extends RunResult {
  args: string[]
}

describe('MinIO: a real S3-compatible store without AWS IAM', function () {
  this.timeout(240_000)
  const minio = useMinio()
  const pulumi = usePulumiBuild()
  let home: TempHome
  let failed = false

  before(function () {
    home = new TempHome('psb-minio-')
    const root = minio.server.root
    writeFileSync(home.credentialsFile, `[admin]\naws_access_key_id = ${root.accessKeyId}\naws_secret_access_key = ${root.secretAccessKey}\n`, {mode: 0o600})
  })
  after(() => home?.cleanup())
  beforeEach(function () {
    // Skip reason: the steps build on each other; after a failed step the later ones would only repeat it. The failed step still fails the run.
    if (failed) this.skip()
  })
  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true
  })

  const endpoint = () => minio.server.endpoint
  const env = (extra: Record<string, string> = {}) => ({
    PATH: `${pulumi.build.dir}:${process.env.PATH}`,
    PULUMI_HOME: home.path('.pulumi'),
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
    ...extra,
  })
  const psb = async (args: string[], o: {input?: string; env?: Record<string, string>} = {}): Promise<Run> => ({
    args,
    ...(await runPsb(args, home, {env: env(o.env), input: o.input, timeoutMs: 120_000})),
  })
  const ok = (r: Run) => expect(r.code, `${r.args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`).to.equal(0)
  const noSecret = (r: Run) => expect(`${r.stdout}${r.stderr}`).to.not.contain(minio.server.root.secretAccessKey)
  const common = () => ['--bucket', BUCKET, '--region', REGION, '--endpoint', endpoint()]
  const s3 = () =>
    new S3Client({region: REGION, endpoint: endpoint(), forcePathStyle: true, credentials: minio.server.root})

  it('1. bucket create: applies versioning, the TLS-only policy, noncurrent expiry, delete-marker removal and tags; skips exactly encryption, public-access block, ownership and the abort-multipart rule', async () => {
    const log = home.path('bucket-1.log')
    const r = await psb(['bucket', 'create', ...common(), '--admin-profile', 'admin', '--json'], {env: {PSB_CALL_LOG: log}})
    ok(r)
    const doc = JSON.parse(r.stdout) as {changes: {item: string; status: string; detail?: string}[]}
    const status = Object.fromEntries(doc.changes.map((c) => [c.item, c.status]))
    expect(status).to.deep.equal({
      bucket: 'created',
      versioning: 'created',
      encryption: 'skipped',
      'public-access-block': 'skipped',
      'object-ownership': 'skipped',
      'tls-only-policy': 'created',
      'lifecycle-noncurrent-expiry': 'created',
      'lifecycle-abort-multipart': 'skipped',
      'lifecycle-expired-delete-markers': 'created',
      tags: 'created',
    })
    const abort = doc.changes.find((c) => c.item === 'lifecycle-abort-multipart')!
    expect(abort.detail).to.contain('rule psb-abort-incomplete-multipart refused by this store')
    expect(r.stderr).to.contain('refused lifecycle rule psb-abort-incomplete-multipart')
    // What MinIO holds: psb's noncurrent rule and its delete-marker rule, and nothing else.
    const rules = (await s3().send(new GetBucketLifecycleConfigurationCommand({Bucket: BUCKET}))).Rules ?? []
    expect(rules.map((x) => [x.ID, x.NoncurrentVersionExpiration?.NoncurrentDays ?? x.Expiration?.ExpiredObjectDeleteMarker])).to.deep.equal([
      ['psb-noncurrent-expiry', 90],
      ['psb-expired-delete-markers', true],
    ])
  })

  it('1b. a second bucket create makes 0 writes, and still reports the refused rule as skipped', async () => {
    const log = home.path('bucket-2.log')
    const r = await psb(['bucket', 'create', ...common(), '--admin-profile', 'admin', '--json'], {env: {PSB_CALL_LOG: log}})
    ok(r)
    expect(mutatingCalls(readFileSync(log, 'utf8'))).to.deep.equal([])
    const doc = JSON.parse(r.stdout) as {changes: {item: string; status: string; detail?: string}[]}
    const abort = doc.changes.find((c) => c.item === 'lifecycle-abort-multipart')!
    expect(abort.status).to.equal('skipped')
    expect(abort.detail).to.contain('refused by this store before')
    expect(doc.changes.filter((c) => !['unchanged', 'skipped'].includes(c.status))).to.deep.equal([])
  })

  it('2. creds write: a MinIO key id is refused as an AWS key (the hint names --non-aws-key), accepted with --endpoint', async () => {
    const {accessKeyId, secretAccessKey} = minio.server.root
    const refused = await psb(['creds', 'write', '--profile', 'byok', '--access-key-id', accessKeyId, '--secret-stdin'], {input: secretAccessKey})
    expect(refused.code).to.equal(2)
    expect(refused.stderr).to.contain('--non-aws-key')
    const written = await psb(['creds', 'write', '--profile', 'byok', '--access-key-id', accessKeyId, '--endpoint', endpoint(), '--secret-stdin'], {input: secretAccessKey})
    ok(written)
    noSecret(written)
    expect(readFileSync(home.credentialsFile, 'utf8')).to.contain(`[byok]\naws_access_key_id = ${accessKeyId}\n`)
    const injected = await psb(['creds', 'write', '--profile', 'byok', '--access-key-id', 'bad=id', '--non-aws-key', '--secret-stdin'], {input: secretAccessKey})
    expect(injected.code).to.equal(2)
  })

  it('3. init --no-iam: bucket, the store key written into the profile, login, verify; exit 0, and the summary says what mc must do', async () => {
    const {accessKeyId, secretAccessKey} = minio.server.root
    const args = ['init', '--no-iam', ...common(), '--admin-profile', 'admin', '--profile', 'pulumi', '--access-key-id', accessKeyId, '--secret-stdin', '--yes']
    const r = await psb(args, {input: secretAccessKey})
    ok(r)
    noSecret(r)
    expect(r.stdout).to.contain('mc admin user add').and.contain('mc admin policy attach').and.contain('"s3:PutObject"')
    expect(r.stdout).to.contain('IAM user').and.contain('skipped')
    expect(readFileSync(home.credentialsFile, 'utf8')).to.contain(`[pulumi]\naws_access_key_id = ${accessKeyId}\n`)
  })

  it('3b. init without --no-iam on MinIO chooses it by itself (notice); the profile already holds the key: nothing to change', async () => {
    const r = await psb(['init', ...common(), '--admin-profile', 'admin', '--profile', 'pulumi', '--yes', '--json'])
    ok(r)
    expect(r.stderr).to.contain('continues as with --no-iam')
    const doc = JSON.parse(r.stdout) as {changed: boolean; store: {noIam: boolean; mustDo: string[]} | null; verify: {ok: boolean}}
    expect(doc.store?.noIam).to.equal(true)
    expect(doc.changed).to.equal(false)
    expect(doc.verify.ok).to.equal(true)
  })

  it('4. verify: exit 0, warnings only; STS/IAM checks "not available on this store"; no hint names keys rotate or user create', async () => {
    const r = await psb(['verify', ...common(), '--profile', 'pulumi', '--json'])
    ok(r)
    const doc = JSON.parse(r.stdout) as {ok: boolean; checks: {id: string; status: string; detail?: string; hint?: string}[]}
    expect(doc.ok).to.equal(true)
    const by = Object.fromEntries(doc.checks.map((c) => [c.id, c]))
    for (const id of ['credentials', 'key-age', 'key-count', 'least-privilege']) {
      expect(by[id].status, id).to.equal('warn')
      expect(by[id].detail, id).to.contain('not available on this store')
    }
    expect(by['round-trip'].status).to.equal('pass')
    expect(by.versioning.status).to.equal('pass')
    expect(by['tls-policy'].status).to.equal('pass')
    expect(by.lifecycle.status).to.equal('pass')
    expect(by['pulumi-login'].status).to.equal('pass')
    expect(doc.checks.filter((c) => c.status === 'fail')).to.deep.equal([])
    const hints = doc.checks.map((c) => c.hint ?? '').join('\n')
    expect(hints).to.not.match(/keys rotate|user create|psb init(?! --no-iam)/)
  })

  it('5. keys rotate on MinIO: exit 2, naming the store\'s own tool; the profile is untouched', async () => {
    const before = readFileSync(home.credentialsFile, 'utf8')
    const r = await psb(['keys', 'rotate', '--profile', 'pulumi', '--endpoint', endpoint(), '--region', REGION])
    expect(r.code, `${r.stdout}\n${r.stderr}`).to.equal(2)
    expect(r.stderr).to.contain('mc admin').and.contain('no AWS IAM API')
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(before)
  })

  it('6. the real Pulumi CLI: stack init, up, refresh on MinIO with the URL psb wrote', async () => {
    const dir = home.path('project')
    mkdirSync(dir, {recursive: true})
    writeFileSync(join(dir, 'Pulumi.yaml'), 'name: psb-minio\nruntime: yaml\noutputs:\n  message: hello from MinIO\n')
    ok(await runPulumi(['stack', 'init', 'dev'], dir))
    ok(await runPulumi(['up', '--yes', '--skip-preview'], dir))
    ok(await runPulumi(['refresh', '--yes', '--skip-preview'], dir))
    const out = await runPulumi(['stack', 'output', 'message'], dir)
    ok(out)
    expect(out.stdout.trim()).to.equal('hello from MinIO')
    const listed = await s3().send(new ListObjectsV2Command({Bucket: BUCKET, Prefix: '.pulumi/stacks/'}))
    expect((listed.Contents ?? []).map((o) => o.Key)).to.include('.pulumi/stacks/psb-minio/dev.json')
  })

  /** The real pulumi in a project folder, logged in by psb (PULUMI_HOME), with the profile's key only. */
  function runPulumi(args: string[], cwd: string): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(pulumi.build.pulumi, [...args, '--non-interactive'], {cwd, env: {...baseEnv(home.dir), ...env()}, stdio: ['ignore', 'pipe', 'pipe']})
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
      child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
      child.on('error', reject)
      child.on('close', (code, signal) => resolve({args: ['pulumi', ...args], code, signal, stdout, stderr}))
    })
  }
})
