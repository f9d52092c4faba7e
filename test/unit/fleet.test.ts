/**
 * The fleet runners in-process: verifyFleet (bounded concurrency, order kept, one target's
 * failure isolated, the account check, the exit code of the worst target), its table, and the
 * rotation's grouping by region and summary. The AWS side is proven on moto in
 * test/cli/fleet-verify.test.ts and test/cli/fleet-rotate.test.ts.
 */
import {expect} from 'chai'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Chalk} from 'chalk'
import {resolveTargets, parseTarget, type Target} from '../../src/lib/fleet/targets.js'
import {accountCheck, fleetVerifyExit, verifyFleet, type FleetVerifyRow} from '../../src/lib/fleet/verify.js'
import {byRegion, rotateSummary} from '../../src/lib/fleet/rotate.js'
import {renderFleetVerify, renderRotateSummary, refuseWithAllPsbProfiles} from '../../src/cli/fleet-verify.js'
import {PsbError} from '../../src/lib/errors.js'
import type {VerifyOptions, VerifyResult} from '../../src/lib/verify/run.js'
import type {RotateResult} from '../../src/lib/keys/rotate.js'
import {thrown} from '../support/errors.js'

const plain = new Chalk({level: 0})
const A = '111111111111'
const B = '222222222222'

describe('fleet: verifyFleet', () => {
  let dir: string
  let env: NodeJS.ProcessEnv
  const targets: Target[] = resolveTargets(
    [`${A}/us-east-1`, `${A}/eu-west-1`, `${B}/us-east-1`, `${B}/eu-west-1`, `${B}/ap-southeast-2`].map((t) => parseTarget(t)),
    {},
  )
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'psb-fleet-'))
    // Every profile but B/ap-southeast-2's.
    writeFileSync(join(dir, 'credentials'), targets.slice(0, 4).map((t) => `[${t.profile}]\naws_access_key_id = AKIAEXAMPLEEXAMPLE12\naws_secret_access_key = x\n`).join('\n'))
    env = {AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'), AWS_CONFIG_FILE: join(dir, 'config'), HOME: dir}
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('runs at most --concurrency targets at once, keeps their order, isolates a failure, and judges the key\'s account', async () => {
    let running = 0
    let most = 0
    const seen: VerifyOptions[] = []
    const verify = async (o: VerifyOptions): Promise<VerifyResult> => {
      seen.push(o)
      running++
      most = Math.max(most, running)
      await new Promise((r) => setTimeout(r, o.region === 'us-east-1' ? 30 : 5))
      running--
      if (o.profile === targets[1]!.profile) throw new PsbError('boom', {code: 'Boom', hint: 'h'})
      // B/eu-west-1's profile holds a key of account A.
      const account = o.profile === targets[3]!.profile ? A : o.profile.split('-')[1]!
      const status = o.profile === targets[2]!.profile ? 'warn' : 'pass'
      return {ok: true, checks: [{id: 'credentials', title: 'c', status: 'pass'}, {id: 'key-age', title: 'k', status}], identity: {account, arn: 'a'}}
    }
    const rows: FleetVerifyRow[] = []
    const r = await verifyFleet(targets, {concurrency: 2, env, verify, onTarget: (row) => rows.push(row)})
    expect(most).to.equal(2)
    expect(r.targets.map((t) => `${t.account}/${t.region}`)).to.deep.equal(targets.map((t) => t.id))
    expect(r.targets.map((t) => t.status)).to.deep.equal(['pass', 'error', 'warn', 'fail', 'error'])
    expect(r.targets[1]!.error).to.deep.equal({code: 'Boom', message: 'boom', hint: 'h'})
    expect(r.targets[4]!.error!.code).to.equal('ProfileNotFound')
    expect(r.targets[3]!.checks!.at(-1)).to.include({id: 'target-account', status: 'fail'})
    expect(r.targets[3]!.counts).to.deep.equal({pass: 2, warn: 0, fail: 1})
    expect(rows).to.have.length(5)
    // Each with its own profile, bucket and region, and without the Pulumi checks.
    expect(seen.map((o) => [o.profile, o.bucket, o.region, o.pulumi])).to.deep.include([targets[0]!.profile, targets[0]!.bucket, 'us-east-1', false])
    expect(seen).to.have.length(4)
    expect(r.exitCode).to.equal(1)
  })

  it('the exit code is the worst target\'s: error 1, else fail 3, else 0', () => {
    const row = (status: FleetVerifyRow['status']) => ({status}) as FleetVerifyRow
    expect(fleetVerifyExit([row('pass'), row('warn')])).to.equal(0)
    expect(fleetVerifyExit([row('pass'), row('fail')])).to.equal(3)
    expect(fleetVerifyExit([row('fail'), row('error')])).to.equal(1)
    expect(fleetVerifyExit([])).to.equal(0)
  })

  it('accountCheck: none without an identity (MinIO), pass on the target\'s account, fail naming the other', () => {
    const t = targets[0]!
    expect(accountCheck(t, {ok: true, checks: []})).to.equal(undefined)
    expect(accountCheck(t, {ok: true, checks: [], identity: {account: '', arn: ''}})).to.equal(undefined)
    expect(accountCheck(t, {ok: true, checks: [], identity: {account: A, arn: ''}})!.status).to.equal('pass')
    expect(accountCheck(t, {ok: true, checks: [], identity: {account: B, arn: ''}})).to.include({status: 'fail', detail: `profile ${t.profile} holds a key of account ${B}`})
  })

  it('renders one row per target, what failed with its fix, and the totals', async () => {
    const verify = async (o: VerifyOptions): Promise<VerifyResult> => ({ok: false, checks: [{id: 'versioning', title: 'Versioning', status: o.region === 'eu-west-1' ? 'fail' : 'pass', detail: 'Suspended', hint: 'turn it on'}]})
    const r = await verifyFleet(targets, {env, verify})
    const text = renderFleetVerify(r, plain)
    expect(text.split('\n')[0]).to.match(/^ACCOUNT\s+REGION\s+BUCKET\s+PROFILE\s+PASS\s+WARN\s+FAIL\s+STATUS\s+TIME$/)
    expect(text).to.match(new RegExp(`${A}\\s+eu-west-1\\s+pulumi-state-${A}-eu-west-1\\s+pulumi-${A}-eu-west-1\\s+0\\s+0\\s+1\\s+fail\\s+\\d+\\.\\d s`))
    expect(text).to.contain(`${A}/eu-west-1:\n  fail  Versioning: Suspended\n      fix: turn it on`)
    expect(text).to.contain(`${B}/ap-southeast-2:\n  error  The profile pulumi-${B}-ap-southeast-2 is not in the AWS credentials or config file.`)
    expect(text.split('\n').at(-1)).to.equal('5 targets: 2 passed, 0 with warnings, 2 failed, 1 not verified')
  })
})

describe('fleet: keys rotate --all-psb-profiles', () => {
  it('groups profiles by region: the flag, else the profile\'s own, else the run\'s', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psb-fleet-'))
    try {
      writeFileSync(join(dir, 'config'), '[profile p1]\nregion = eu-west-1\n[profile p2]\nregion = us-west-2\n[profile p3]\nregion = eu-west-1\n[profile bad]\nregion = nowhere\n')
      const env = {AWS_CONFIG_FILE: join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'), HOME: dir}
      expect([...byRegion(['p1', 'p2', 'p3', 'p4', 'bad'], {region: 'us-east-1', env})]).to.deep.equal([
        ['eu-west-1', ['p1', 'p3']],
        ['us-west-2', ['p2']],
        ['us-east-1', ['p4', 'bad']],
      ])
      expect([...byRegion(['p1', 'p2'], {regionFlag: 'ap-south-1', region: 'us-east-1', env})]).to.deep.equal([['ap-south-1', ['p1', 'p2']]])
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('sums up the outcomes, and refuses flags that name one profile or user', () => {
    const r = (result: RotateResult['result']) => ({result}) as RotateResult
    const s = rotateSummary([r('rotated'), r('rotated'), r('failed'), r('not-due'), r('planned')])
    expect(s).to.deep.equal({profiles: 5, rotated: 2, created: 0, notDue: 1, planned: 1, failed: 1})
    expect(renderRotateSummary(s)).to.equal('5 profiles psb made: 2 rotated, 1 not due, 1 failed, 1 planned (dry run).')
    expect(() => refuseWithAllPsbProfiles({profile: []})).not.to.throw()
    for (const flags of [{profile: ['x']}, {user: 'u'}, {create: true}, {bucket: 'b'}, {prefix: 'p'}, {'admin-profile': 'a'}]) {
      const e = thrown(() => refuseWithAllPsbProfiles(flags))
      expect(e.exitCode).to.equal(2)
      expect(e.message).to.contain(`--${Object.keys(flags)[0]}`)
    }
  })
})
