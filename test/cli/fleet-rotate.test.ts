/**
 * `psb keys rotate --all-psb-profiles` over a fleet on moto (IAM enforcement on, two accounts,
 * test/support/fleet-fixture.ts): every profile psb made is rotated with its own key, in its
 * own region; one that fails stops none of the others; the admin profiles are not touched.
 */
import {expect} from 'chai'
import {readFileSync} from 'node:fs'
import {IAMClient, CreateAccessKeyCommand} from '@aws-sdk/client-iam'
import {STSClient, GetCallerIdentityCommand} from '@aws-sdk/client-sts'
import {useMoto, ACCOUNT_ID} from '../support/moto.js'
import {runPsb} from '../support/cli.js'
import {mutatingCalls} from '../support/calls.js'
import {FleetHome, ok} from '../support/fleet-fixture.js'

/** profile → access key id, from the credentials file. */
function keyIds(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of text.matchAll(/\[([^\]]+)\][^[]*?aws_access_key_id\s*=\s*(\S+)/g)) out[m[1]!] = m[2]!
  return out
}

/** profile → result, from a --json document. */
function outcomes(doc: {results: Array<{profile: string; result: string}>}): Record<string, string> {
  return Object.fromEntries(doc.results.map((r) => [r.profile, r.result]))
}

describe('psb keys rotate --all-psb-profiles (subprocess, moto, two accounts)', function () {
  this.timeout(300000)
  const moto = useMoto()
  let f: FleetHome
  beforeEach(async () => {
    f = await FleetHome.create(moto)
  })
  afterEach(() => f.cleanup())

  it('rotates every psb profile with its own key, one failure stopping none; --dry-run changes nothing; summary and --json', async () => {
    const targets = [
      [ACCOUNT_ID, 'us-west-1'],
      [f.other, 'us-west-1'],
      [f.other, 'eu-west-1'],
    ] as const
    for (const [a, r] of targets) await f.initTarget(a, r)
    const profiles = targets.map(([a, r]) => `pulumi-${a}-${r}`)
    // The eu-west-1 user of the other account gets a second Active key psb did not make: its rotation must stop there.
    const iam = new IAMClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: f.otherAdmin, maxAttempts: 1})
    await iam.send(new CreateAccessKeyCommand({UserName: 'pulumi-eu-west-1'}))
    const before = readFileSync(f.home.credentialsFile, 'utf8')
    const args = ['keys', 'rotate', '--all-psb-profiles', '--endpoint', moto.endpoint, '--wait', '30s']

    f.resetCalls()
    const plan = await runPsb([...args, '--dry-run', '--json'], f.home, {env: f.env()})
    // The plan already sees the foreign second key: that profile would fail (exit 1), the others are planned.
    ok(plan, 1)
    const planned = JSON.parse(plan.stdout)
    // In the credentials file's (sorted) order.
    expect(planned.results.map((r: {profile: string}) => r.profile)).to.deep.equal([...profiles].sort())
    expect(outcomes(planned)).to.deep.equal({[profiles[0]!]: 'planned', [profiles[1]!]: 'planned', [profiles[2]!]: 'failed'})
    expect(planned.summary).to.deep.equal({profiles: 3, rotated: 0, created: 0, notDue: 0, planned: 2, failed: 1})
    expect(mutatingCalls(f.calls())).to.deep.equal([])
    expect(readFileSync(f.home.credentialsFile, 'utf8')).to.equal(before)

    const run = await runPsb([...args, '--json'], f.home, {env: f.env()})
    ok(run, 1)
    const doc = JSON.parse(run.stdout)
    expect(outcomes(doc)).to.deep.equal({[profiles[0]!]: 'rotated', [profiles[1]!]: 'rotated', [profiles[2]!]: 'failed'})
    expect(doc.summary).to.deep.equal({profiles: 3, rotated: 2, created: 0, notDue: 0, planned: 0, failed: 1})
    expect(doc.exitCode).to.equal(1)
    expect(run.stdout).not.to.match(/AKIA[A-Z0-9]{16}/)

    const old = keyIds(before)
    const now = keyIds(readFileSync(f.home.credentialsFile, 'utf8'))
    expect(now[profiles[0]!]).not.to.equal(old[profiles[0]!])
    expect(now[profiles[1]!]).not.to.equal(old[profiles[1]!])
    expect(now[profiles[2]!]).to.equal(old[profiles[2]!])
    expect(now['admin-main']).to.equal(old['admin-main'])
    expect(now['admin-other']).to.equal(old['admin-other'])
    // The other account's new key works, and is that account's.
    const secret = new RegExp(`\\[${profiles[1]}\\][^[]*?aws_secret_access_key\\s*=\\s*(\\S+)`).exec(readFileSync(f.home.credentialsFile, 'utf8'))![1]!
    const sts = new STSClient({region: 'us-west-1', endpoint: moto.endpoint, credentials: {accessKeyId: now[profiles[1]!]!, secretAccessKey: secret}, maxAttempts: 1})
    expect((await sts.send(new GetCallerIdentityCommand({}))).Account).to.equal(f.other)

    // The text output: one line per profile, then the summary; a second run with --max-age changes nothing.
    f.resetCalls()
    const again = await runPsb([...args, '--max-age', '30d'], f.home, {env: f.env()})
    ok(again)
    for (const p of profiles) expect(again.stdout).to.match(new RegExp(`not-due ${p} \\(user pulumi-[a-z0-9-]+\\): key AKIA…\\w{4} is 0 days old`))
    expect(again.stdout).to.contain('3 profiles psb made: 0 rotated, 3 not due, 0 failed.')
    expect(mutatingCalls(f.calls())).to.deep.equal([])
  })

  it('flags naming one profile or user are exit 2 with --all-psb-profiles, before any call; no psb profile is exit 2', async () => {
    f.resetCalls()
    for (const extra of [['--profile', 'admin-main'], ['--user', 'pulumi'], ['--create'], ['--admin-profile', 'admin-main'], ['--bucket', 'some-bucket']]) {
      const r = await runPsb(['keys', 'rotate', '--all-psb-profiles', ...extra, '--endpoint', moto.endpoint, '--json'], f.home, {env: f.env()})
      ok(r, 2)
      expect(JSON.parse(r.stdout).error.code, extra.join(' ')).to.equal('FlagConflict')
    }
    expect(f.calls()).to.equal('')
    const none = await runPsb(['keys', 'rotate', '--all-psb-profiles', '--endpoint', moto.endpoint, '--json'], f.home, {env: f.env()})
    ok(none, 2)
    expect(JSON.parse(none.stdout).error).to.include({code: 'NoPsbProfiles'})
    expect(JSON.parse(none.stdout).error.message).to.contain('nothing was rotated')
    expect(mutatingCalls(f.calls())).to.deep.equal([])
  })
})
