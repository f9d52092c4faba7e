/**
 * `psb bucket create --history-days D` against moto (IAM enforcement on): psb's two rules
 * expire <prefix>/.pulumi/history/ and backups/, other rules stay as they are, a re-run makes
 * no write, a rule of someone else that already expires history sooner is not weakened.
 */
import {expect} from 'chai'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {S3Client, CreateBucketCommand, GetBucketLifecycleConfigurationCommand, PutBucketLifecycleConfigurationCommand, type LifecycleRule} from '@aws-sdk/client-s3'
import {useMoto} from '../support/moto.js'
import {runPsb, TempHome} from '../support/cli.js'
import {credentialsText, writeCredentials} from '../support/keys-fixture.js'

describe('psb bucket create --history-days (moto, IAM enforcement on)', function () {
  this.timeout(120_000)
  const moto = useMoto()
  let home: TempHome
  let logDir: string
  let n = 0
  beforeEach(() => {
    home = new TempHome('psb-hist-days-')
    logDir = mkdtempSync(join(tmpdir(), 'psb-hist-calls-'))
    writeCredentials(home.credentialsFile, credentialsText({admin: moto.admin}))
  })
  afterEach(() => {
    home.cleanup()
    rmSync(logDir, {recursive: true, force: true})
  })
  const s3 = () => new S3Client({region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: moto.admin, maxAttempts: 2})
  const rules = async (bucket: string): Promise<LifecycleRule[]> => (await s3().send(new GetBucketLifecycleConfigurationCommand({Bucket: bucket}))).Rules ?? []
  const create = (bucket: string, args: string[], log?: string) =>
    runPsb(['bucket', 'create', '--bucket', bucket, '--region', 'us-east-1', '--endpoint', moto.endpoint, '--admin-profile', 'admin', ...args], home, {env: log ? {PSB_CALL_LOG: log} : {}})
  const writes = (log: string) => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l && !/^\w+ (Get|Head|List)/.test(l)) : [])

  it('adds the history and backups rules under the prefix, keeps the others; a re-run writes nothing; without the flag they stay', async () => {
    const bucket = `hist-days-${++n}`
    const r = await create(bucket, ['--history-days', '30', '--prefix', 'team-a'])
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.match(/lifecycle-history-expiry\s+created\s+team-a\/\.pulumi\/history\/ and backups\/ expire after 30 days/)
    const ids = (await rules(bucket)).map((x) => [x.ID, x.Filter?.Prefix, x.Expiration?.Days])
    expect(ids).to.deep.include.members([
      ['psb-history-expiry:team-a', 'team-a/.pulumi/history/', 30],
      ['psb-backups-expiry:team-a', 'team-a/.pulumi/backups/', 30],
    ])
    const log = join(logDir, 'again.log')
    const again = await create(bucket, ['--history-days', '30', '--prefix', 'team-a'], log)
    expect(again.code, again.stderr).to.equal(0)
    expect(writes(log)).to.deep.equal([])
    const plain = join(logDir, 'plain.log')
    expect((await create(bucket, [], plain)).code).to.equal(0)
    expect(writes(plain)).to.deep.equal([])
    expect((await rules(bucket)).map((x) => x.ID)).to.include('psb-history-expiry:team-a')
  })

  it('never weakens: a rule of someone else that expires .pulumi/ sooner counts as present, and stays byte for byte', async () => {
    const bucket = `hist-days-${++n}`
    await s3().send(new CreateBucketCommand({Bucket: bucket}))
    const theirs: LifecycleRule = {ID: 'theirs', Status: 'Enabled', Filter: {Prefix: '.pulumi/'}, Expiration: {Days: 7}}
    await s3().send(new PutBucketLifecycleConfigurationCommand({Bucket: bucket, LifecycleConfiguration: {Rules: [theirs]}}))
    const r = await create(bucket, ['--history-days', '30'])
    expect(r.code, r.stderr).to.equal(0)
    const now = await rules(bucket)
    expect(now.find((x) => x.ID === 'theirs')).to.deep.include({Filter: {Prefix: '.pulumi/'}, Expiration: {Days: 7}})
    expect(now.map((x) => x.ID)).to.not.include('psb-history-expiry')
    expect(r.stdout).to.match(/lifecycle-history-expiry\s+unchanged\s+kept existing rule "theirs" \(7 days\): it expires \.pulumi\/history\/ and backups\/ within 30 days/)
  })

  it('bad --history-days is exit 2 with no call', async () => {
    const log = join(logDir, 'bad.log')
    for (const bad of ['-3', '1.5', 'soon']) {
      const r = await create(`hist-days-bad`, ['--history-days', bad], log)
      expect(r.code, r.stderr).to.equal(2)
    }
    expect(existsSync(log)).to.equal(false)
  })

  it('psb init --prefix team-a --history-days 30 passes the rule through (the prefix\'s history and backups)', async () => {
    const bucket = `hist-days-${++n}`
    const r = await runPsb(
      ['init', '--bucket', bucket, '--region', 'us-east-1', '--endpoint', moto.endpoint, '--admin-profile', 'admin', '--profile', 'team-a', '--user', 'pulumi-team-a', '--prefix', 'team-a', '--history-days', '30', '--no-login', '--no-verify', '--yes'],
      home,
      {env: {PSB_KEY_PROPAGATION_POLL_MS: '20'}},
    )
    expect(r.code, `${r.stdout}\n${r.stderr}`).to.equal(0)
    expect((await rules(bucket)).map((x) => [x.ID, x.Filter?.Prefix, x.Expiration?.Days])).to.deep.include.members([
      ['psb-history-expiry:team-a', 'team-a/.pulumi/history/', 30],
      ['psb-backups-expiry:team-a', 'team-a/.pulumi/backups/', 30],
    ])
  })
})
