/**
 * `psb verify --targets FILE` against moto (IAM enforcement on) over two accounts: the
 * management account and one made with organizations:CreateAccount, entered by assuming its
 * OrganizationAccountAccessRole. Each target is set up by `psb init` with that account's
 * admin session, then the fleet is verified with NO admin profile left: every target with its
 * own profile.
 */
import {expect} from 'chai'
import {readFileSync, writeFileSync} from 'node:fs'
import {S3Client, PutBucketVersioningCommand} from '@aws-sdk/client-s3'
import {useMoto, ACCOUNT_ID} from '../support/moto.js'
import {runPsb} from '../support/cli.js'
import {mutatingCalls} from '../support/calls.js'
import {FleetHome, ok} from '../support/fleet-fixture.js'

describe('psb verify --targets (subprocess, moto, two accounts)', function () {
  this.timeout(300000)
  const moto = useMoto()
  let f: FleetHome
  let home: FleetHome['home']
  let other: string
  beforeEach(async () => {
    f = await FleetHome.create(moto)
    home = f.home
    other = f.other
  })
  afterEach(() => f.cleanup())
  const env = () => f.env()
  const initTarget = (a: string, r: string) => f.initTarget(a, r)
  const dropAdmins = () => f.dropAdmins()

  it('one row per target, each verified with its own profile; a failed check is exit 3, a missing profile exit 1, a foreign key fails', async () => {
    const targets = [
      [ACCOUNT_ID, 'us-west-1'],
      [other, 'us-west-1'],
      [other, 'eu-west-1'],
    ] as const
    for (const [a, r] of targets) await initTarget(a, r)
    dropAdmins()
    const file = home.path('fleet.txt')
    writeFileSync(file, `# the fleet\n${targets.map(([a, r]) => `${a}/${r}`).join('\n')}\n`)

    writeFileSync(home.path('calls.log'), '')
    const all = await runPsb(['verify', '--targets', file, '--endpoint', moto.endpoint, '--concurrency', '2', '--json'], home, {env: env()})
    ok(all)
    const doc = JSON.parse(all.stdout)
    expect(doc.targets.map((t: {account: string; region: string}) => `${t.account}/${t.region}`)).to.deep.equal(targets.map(([a, r]) => `${a}/${r}`))
    for (const t of doc.targets) {
      expect(t.status, JSON.stringify(t)).to.be.oneOf(['pass', 'warn'])
      expect(t.bucket).to.equal(`pulumi-state-${t.account}-${t.region}`)
      expect(t.profile).to.equal(`pulumi-${t.account}-${t.region}`)
      expect(t.counts.fail).to.equal(0)
      const own = t.checks.find((c: {id: string}) => c.id === 'target-account')
      expect(own.status).to.equal('pass')
      expect(t.checks.map((c: {id: string}) => c.id)).to.include.members(['credentials', 'bucket', 'versioning', 'round-trip', 'key-age'])
      expect(t.ms).to.be.a('number')
    }
    // Only each target's sentinel object was written (and deleted).
    expect(mutatingCalls(readFileSync(home.path('calls.log'), 'utf8')).sort()).to.deep.equal(Array(3).fill(['s3 CopyObject', 's3 DeleteObject', 's3 DeleteObject', 's3 PutObject']).flat().sort())

    // The human table: one row per target, and the totals.
    const human = await runPsb(['verify', '--targets', file, '--endpoint', moto.endpoint], home, {env: env()})
    ok(human)
    expect(human.stdout).to.match(/ACCOUNT\s+REGION\s+BUCKET\s+PROFILE\s+PASS\s+WARN\s+FAIL\s+STATUS\s+TIME/)
    for (const [a, r] of targets) expect(human.stdout).to.match(new RegExp(`${a}\\s+${r}\\s+pulumi-state-${a}-${r}\\s+pulumi-${a}-${r}\\s+\\d+\\s+\\d+\\s+0\\s+(pass|warn)`))
    expect(human.stdout).to.match(/3 targets: \d passed, \d with warnings, 0 failed, 0 not verified/)
    expect(human.stderr).to.match(/\[3\/3\] /)

    // One bucket loses versioning (made with that account's admin session): that target fails, exit 3; the others pass.
    const s3 = new S3Client({region: 'eu-west-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: f.otherAdmin, maxAttempts: 1})
    await s3.send(new PutBucketVersioningCommand({Bucket: `pulumi-state-${other}-eu-west-1`, VersioningConfiguration: {Status: 'Suspended'}}))
    const failed = await runPsb(['verify', '--targets', file, '--endpoint', moto.endpoint, '--json'], home, {env: env()})
    ok(failed, 3)
    const rows = JSON.parse(failed.stdout).targets
    expect(rows.map((t: {status: string}) => t.status)).to.satisfy((s: string[]) => s[2] === 'fail' && s[0] !== 'fail' && s[1] !== 'fail')
    expect(rows[2].checks.find((c: {id: string; status: string}) => c.id === 'versioning').status).to.equal('fail')

    // A target whose profile is missing cannot be verified: its row says why, the others still run, exit 1.
    // A target claiming the main account with the other account's profile: its key belongs elsewhere (fail).
    writeFileSync(file, `${ACCOUNT_ID}/us-west-1\n${ACCOUNT_ID}/eu-west-2\n${ACCOUNT_ID}/eu-west-1 profile=pulumi-${other}-us-west-1 bucket=pulumi-state-${other}-us-west-1\n`)
    const mixed = await runPsb(['verify', '--targets', file, '--endpoint', moto.endpoint, '--json'], home, {env: env()})
    ok(mixed, 1)
    const [good, missing, foreign] = JSON.parse(mixed.stdout).targets
    expect(good.status).to.be.oneOf(['pass', 'warn'])
    expect(missing).to.include({status: 'error'})
    expect(missing.error.code).to.equal('ProfileNotFound')
    expect(missing.error.hint).to.contain(`psb init --target ${ACCOUNT_ID}/eu-west-2`)
    expect(foreign.status).to.equal('fail')
    expect(foreign.checks.find((c: {id: string}) => c.id === 'target-account')).to.include({status: 'fail', detail: `profile pulumi-${other}-us-west-1 holds a key of account ${other}`})
  })

  it('--shard 1/2 and 2/2 verify disjoint halves whose union is the fleet; bad input is exit 2 before any call', async () => {
    const file = home.path('fleet.txt')
    const lines = ['111111111111/us-east-1', '222222222222/us-east-1', '333333333333/eu-west-1', '444444444444/eu-west-1', '555555555555/ap-southeast-2']
    writeFileSync(file, lines.join('\n'))
    const ids: string[] = []
    for (const shard of ['1/2', '2/2']) {
      const r = await runPsb(['verify', '--targets', file, '--shard', shard, '--endpoint', moto.endpoint, '--json'], home, {env: env()})
      ok(r, 1) // no profile exists: every row is an error, and nothing stops
      const rows = JSON.parse(r.stdout).targets as Array<{account: string; region: string; status: string}>
      expect(rows.length).to.be.within(2, 3)
      for (const row of rows) expect(row.status).to.equal('error')
      ids.push(...rows.map((t) => `${t.account}/${t.region}`))
    }
    expect(ids.sort()).to.deep.equal([...lines].sort())

    writeFileSync(home.path('calls.log'), '')
    for (const [args, code] of [
      [['--targets', home.path('missing.txt')], 'TargetsFileUnreadable'],
      [['--target', '12345/us-east-1'], 'AccountIdInvalid'],
      [['--targets', file, '--shard', '3/2'], 'ShardInvalid'],
      [['--targets', file, '--bucket-template', 'state'], 'TargetBucketShared'],
      [['--targets', file, '--profile', 'x'], 'FleetFlagConflict'],
      [['--targets', file, '--target', '111111111111/us-east-1'], 'TargetDuplicate'],
      [['--shard', '1/2', '--bucket', 'some-bucket', '--region', 'us-east-1', '--profile', 'x'], 'FleetFlagConflict'],
      [['--targets', file, '--region', 'us-east-1'], 'FleetFlagConflict'],
    ] as const) {
      const r = await runPsb(['verify', ...args, '--endpoint', moto.endpoint, '--json'], home, {env: env()})
      ok(r, 2)
      expect(JSON.parse(r.stdout).error.code, args.join(' ')).to.equal(code)
    }
    expect(readFileSync(home.path('calls.log'), 'utf8')).to.equal('')
  })
})
