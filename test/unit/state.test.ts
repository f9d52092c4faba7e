/**
 * The pure parts of the state domain (src/lib/state): Pulumi's lock format and key layout,
 * which locks are provably stale, which updates history prune keeps; and the --history-days
 * lifecycle unit (src/lib/bucket/settings/history-expiry.ts).
 */
import {expect} from 'chai'
import type {LifecycleRule} from '@aws-sdk/client-s3'
import {judgeLock, parseLock, type LockInfo} from '../../src/lib/state/locks.js'
import {keptUpdates} from '../../src/lib/state/history.js'
import {checkOneStack, lockStackOf, parseBackupName, parseHistoryName, stackMatches, validateStackRef} from '../../src/lib/state/layout.js'
import {historyRuleId, planHistoryExpiry} from '../../src/lib/bucket/settings/history-expiry.js'
import {planLifecycleSetting} from '../../src/lib/bucket/settings/lifecycle.js'
import {bucketOptionsFromFlags} from '../../src/cli/bucket.js'
import {thrown} from '../support/errors.js'

const DAY = 24 * 3600 * 1000
const HOUR = 3600 * 1000

describe('state: Pulumi locks', () => {
  it('reads the lock Pulumi writes (pkg/backend/diy/lock.go) and its stack from the key', () => {
    // As Go's json.Marshal writes lockContent, timestamp in RFC 3339 with nanoseconds and zone.
    const l = parseLock('{"pid":31337,"username":"alice","hostname":"build-7","timestamp":"2026-11-28T18:01:02.123456789+01:00"}')
    expect(l).to.deep.include({pid: 31337, user: 'alice', host: 'build-7'})
    expect(l!.timestamp!.toISOString()).to.equal('2026-11-28T17:01:02.123Z')
    expect(parseLock('not json')).to.equal(undefined)
    expect(lockStackOf('team-a/.pulumi/', 'team-a/.pulumi/locks/organization/web/prod/0f9e.json')).to.equal('organization/web/prod')
    expect(lockStackOf('.pulumi/', '.pulumi/locks/dev/0f9e.json')).to.equal('dev')
    expect(lockStackOf('.pulumi/', '.pulumi/locks/x.json')).to.equal(undefined)
  })

  const lock = (o: Partial<LockInfo>): LockInfo => ({key: 'k', stack: 'organization/web/prod', readable: true, ...o})
  const judge = {hostname: 'here', isRunning: (pid: number) => pid === 1}

  it('a lock of this host is live while its pid runs, at any age, even with --older-than; stale when it does not', () => {
    expect(judgeLock(lock({host: 'here', pid: 1, ageMs: 30 * DAY}), {...judge, olderThanMs: HOUR})).to.include({clear: false, live: true})
    expect(judgeLock(lock({host: 'here', pid: 2, ageMs: 1000}), judge)).to.include({clear: true})
  })

  it('a lock of another host needs --older-than, and is cleared only when older', () => {
    expect(judgeLock(lock({host: 'there', pid: 1, ageMs: 30 * DAY}), judge)).to.include({clear: false, live: false})
    expect(judgeLock(lock({host: 'there', pid: 1, ageMs: 2 * HOUR}), {...judge, olderThanMs: HOUR})).to.include({clear: true})
    expect(judgeLock(lock({host: 'there', pid: 1, ageMs: HOUR - 1}), {...judge, olderThanMs: HOUR})).to.include({clear: false, live: true})
    expect(judgeLock(lock({readable: false}), {...judge, olderThanMs: HOUR})).to.include({clear: false})
  })

  it('--stack: dev, project/dev or organization/project/dev; anything else is bad input', () => {
    expect(stackMatches('organization/web/prod', 'prod')).to.equal(true)
    expect(stackMatches('organization/web/prod', 'web/prod')).to.equal(true)
    expect(stackMatches('web/prod', 'organization/web/prod')).to.equal(true)
    expect(stackMatches('organization/web/prod', 'api/prod')).to.equal(false)
    expect(stackMatches('organization/web/preprod', 'prod')).to.equal(false)
    for (const bad of ['a/b/c/d', 'we b', '', '../x/..x/y/z']) expect(thrown(() => validateStackRef(bad)).exitCode, bad).to.equal(2)
    // One stack only: `prod` of two projects is ambiguous (exit 2, before any write).
    expect(thrown(() => checkOneStack('prod', ['organization/web/prod', 'organization/api/prod'])).exitCode).to.equal(2)
    expect(() => checkOneStack('prod', ['organization/web/prod', 'web/prod'])).not.to.throw()
  })
})

describe('state: history prune keeps what it promises', () => {
  const now = Date.UTC(2026, 10, 28)
  const ns = (agoMs: number) => BigInt(now - agoMs) * 1_000_000n
  const updates = [0.5, 1.5, 2.5, 10.5, 20.5].map((d) => ({nanos: ns(d * DAY), checkpoint: true}))

  it('the newest --keep N, plus those newer than --keep-days D; at least the newest, and the newest checkpoint', () => {
    const days = (s: Set<bigint>) => updates.filter((u) => s.has(u.nanos)).length
    expect(days(keptUpdates(updates, 2, undefined, now))).to.equal(2)
    expect(days(keptUpdates(updates, undefined, 3, now))).to.equal(3)
    expect(days(keptUpdates(updates, 4, 3, now))).to.equal(4)
    expect(days(keptUpdates(updates, 1, 15, now))).to.equal(4)
    expect([...keptUpdates(updates, 0, 0, now)]).to.deep.equal([updates[0].nanos])
    const noCheckpoint = [{nanos: ns(1000), checkpoint: false}, ...updates.slice(1)]
    expect([...keptUpdates(noCheckpoint, 0, 0, now)].sort()).to.deep.equal([noCheckpoint[0].nanos, noCheckpoint[1].nanos].sort())
  })

  it('recognises only the file names Pulumi writes', () => {
    expect(parseHistoryName('dev-1764352862123456789.history.json')).to.deep.equal({stackName: 'dev', nanos: 1764352862123456789n, kind: 'history'})
    expect(parseHistoryName('my-stack-17.checkpoint.json.gz')).to.deep.equal({stackName: 'my-stack', nanos: 17n, kind: 'checkpoint'})
    expect(parseHistoryName('notes.txt')).to.equal(undefined)
    expect(parseBackupName('dev.1764352862123456789.json.zst')).to.deep.equal({stackName: 'dev', nanos: 1764352862123456789n})
    expect(parseBackupName('dev.json')).to.equal(undefined)
  })
})

describe('bucket: --history-days (lifecycle unit)', () => {
  const other: LifecycleRule = {ID: 'archive', Status: 'Enabled', Filter: {Prefix: 'logs/'}, Expiration: {Days: 400}}

  it('adds one rule per folder (history, backups) under the state prefix; other rules stay', () => {
    const p = planHistoryExpiry([other], {days: 30, prefix: 'team-a'})
    expect(p.changed).to.equal(true)
    expect(p.rules).to.deep.equal([
      other,
      {ID: 'psb-history-expiry:team-a', Status: 'Enabled', Filter: {Prefix: 'team-a/.pulumi/history/'}, Expiration: {Days: 30}},
      {ID: 'psb-backups-expiry:team-a', Status: 'Enabled', Filter: {Prefix: 'team-a/.pulumi/backups/'}, Expiration: {Days: 30}},
    ])
    expect(p.changes[0]).to.include({item: 'lifecycle-history-expiry', status: 'created'})
    expect(planHistoryExpiry(p.rules, {days: 30, prefix: 'team-a'})).to.include({changed: false})
    expect(historyRuleId('history', 'x'.repeat(300))).to.match(/^psb-history-expiry:[0-9a-f]{16}$/)
  })

  it('never weakens: a rule of someone else that expires the folder as soon or sooner counts as present; without the flag psb\'s rules are kept', () => {
    const theirs: LifecycleRule = {ID: 'theirs', Status: 'Enabled', Filter: {Prefix: '.pulumi/'}, Expiration: {Days: 10}}
    const p = planHistoryExpiry([theirs], {days: 30})
    expect(p).to.include({changed: false})
    expect(p.rules).to.deep.equal([theirs])
    expect(p.notes.join()).to.contain('"theirs"')
    const ours = planHistoryExpiry([], {days: 30}).rules
    expect(planHistoryExpiry(ours, {})).to.include({changed: false})
    expect(planHistoryExpiry(ours, {}).changes[0]).to.include({status: 'unchanged'})
    expect(planHistoryExpiry(ours, {days: 0}).rules).to.deep.equal([])
    expect(planHistoryExpiry([], {})).to.deep.include({changed: false, changes: []})
  })

  it('is off by default: the lifecycle plan without --history-days has no history rule and no extra item', () => {
    const plan = planLifecycleSetting(undefined, undefined)
    expect(plan.change!.rules.map((r) => r.ID)).to.deep.equal(['psb-noncurrent-expiry', 'psb-abort-incomplete-multipart', 'psb-expired-delete-markers'])
    expect(plan.changes.map((c) => c.item)).to.not.include('lifecycle-history-expiry')
    const withHistory = planLifecycleSetting(undefined, undefined, {days: 90})
    expect(withHistory.change!.rules.map((r) => r.ID)).to.include.members(['psb-history-expiry', 'psb-backups-expiry'])
  })

  it('flags: --history-days is whole days (exit 2 otherwise), --prefix is the state prefix', () => {
    expect(bucketOptionsFromFlags({bucket: 'acme-state', 'history-days': '2w', prefix: '/team-a/'}, 'us-east-1')).to.deep.include({historyDays: 14, statePrefix: 'team-a'})
    for (const bad of ['-1', '1.5', '12h', 'abc']) expect(thrown(() => bucketOptionsFromFlags({bucket: 'acme-state', 'history-days': bad}, 'us-east-1')).exitCode, bad).to.equal(2)
  })
})
