/**
 * The verify runner (src/lib/verify/run.ts) and the table of checks: ordering by needs,
 * concurrency of independent checks, skipping after a failed or absent need, stable order.
 */
import {expect} from 'chai'
import {CHECK_IDS, orderByNeeds, runChecks, type Check, type CheckUnit, type Verdict} from '../../src/lib/verify/run.js'
import {CHECKS} from '../../src/lib/verify/checks/index.js'

type Log = string[]
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A unit that logs its start and end, waits `ms`, and answers `verdict` (null: no check). */
function unit(id: string, needs: string[], verdict: Verdict | null = {status: 'pass'}, ms = 0): CheckUnit<Log> {
  return {
    id,
    title: `title of ${id}`,
    needs,
    async run(log) {
      log.push(`start ${id}`)
      await sleep(ms)
      log.push(`end ${id}`)
      return verdict ?? undefined
    },
  }
}

describe('verify runner', () => {
  it('runs a check only after the checks it needs, whatever their place in the table', async () => {
    const log: Log = []
    const checks = await runChecks([unit('b', ['a']), unit('c', ['b']), unit('a', [], {status: 'pass'}, 20)], log)
    expect(log).to.deep.equal(['start a', 'end a', 'start b', 'end b', 'start c', 'end c'])
    // The answer keeps the table's order, not the run order.
    expect(checks.map((c) => c.id)).to.deep.equal(['b', 'c', 'a'])
    expect(checks[0]).to.deep.equal({id: 'b', title: 'title of b', status: 'pass'})
  })

  it('runs independent checks concurrently', async () => {
    let inFlight = 0
    let most = 0
    let release!: () => void
    const bothStarted = new Promise<void>((r) => (release = r))
    const parallel = (id: string): CheckUnit<null> => ({
      id,
      title: id,
      needs: [],
      async run() {
        inFlight++
        most = Math.max(most, inFlight)
        if (inFlight === 2) release()
        // Run one after the other, the first would wait here for the timeout.
        await Promise.race([bothStarted, sleep(1000)])
        inFlight--
        return {status: 'pass'}
      },
    })
    const started = Date.now()
    await runChecks([parallel('x'), parallel('y')], null)
    expect(most).to.equal(2)
    expect(Date.now() - started).to.be.below(900)
  })

  it('keeps the table order while onCheck sees each check as it completes', async () => {
    const seen: string[] = []
    const checks = await runChecks([unit('slow', [], {status: 'pass'}, 40), unit('fast', [])], [], (c: Check) => seen.push(c.id))
    expect(seen).to.deep.equal(['fast', 'slow'])
    expect(checks.map((c) => c.id)).to.deep.equal(['slow', 'fast'])
  })

  it('skips a check whose need failed or added no check; a warn lets it run', async () => {
    const log: Log = []
    const checks = await runChecks(
      [
        unit('failed', [], {status: 'fail', detail: 'no'}),
        unit('after-fail', ['failed']),
        unit('absent', [], null),
        unit('after-absent', ['absent']),
        unit('warned', [], {status: 'warn'}),
        unit('after-warn', ['warned']),
        unit('deep', ['after-fail']),
      ],
      log,
    )
    expect(checks.map((c) => `${c.id}:${c.status}`)).to.deep.equal(['failed:fail', 'warned:warn', 'after-warn:pass'])
    expect(log).to.not.include('start after-fail')
    expect(log).to.not.include('start after-absent')
    expect(log).to.not.include('start deep')
  })

  it('rejects a table with an unknown need, a cycle or a repeated id', () => {
    expect(() => orderByNeeds([unit('a', ['nope'])])).to.throw(/a needs nope, which is not a check/)
    expect(() => orderByNeeds([unit('a', ['b']), unit('b', ['a'])])).to.throw(/cycle of needs: a → b → a/)
    expect(() => orderByNeeds([unit('a', []), unit('a', [])])).to.throw(/same id/)
  })

  it('makes the whole run throw when a check throws', async () => {
    const boom: CheckUnit<null> = {id: 'boom', title: 'boom', needs: [], run: () => Promise.reject(new Error('broken'))}
    let error: unknown
    await runChecks([boom, unit('after', ['boom']) as unknown as CheckUnit<null>], null).catch((e: unknown) => (error = e))
    expect((error as Error).message).to.equal('broken')
  })
})

describe('verify: the table of checks', () => {
  it('keeps the ids and the order of the checklist and --json', () => {
    expect(CHECK_IDS).to.deep.equal([
      'credentials',
      'bucket',
      'versioning',
      'encryption',
      'public-access-block',
      'ownership',
      'tls-policy',
      'lifecycle',
      'lifecycle-delete-markers',
      'round-trip',
      'pulumi-locks',
      'key-age',
      'key-count',
      'key-schedule',
      'credentials-file',
      'least-privilege',
      'role-trust',
      'pulumi-cli',
      'pulumi-login',
      'pulumi-backend-env',
      'pulumi-url',
      'pulumi-layout',
      'secrets-roundtrip',
      'secrets-key-state',
      'secrets-rotation',
    ])
  })

  it('is a valid table: unique ids, every need a check', () => {
    expect(orderByNeeds(CHECKS).map((c) => c.id)).to.have.members([...CHECK_IDS])
  })

  it('needs the credentials for every AWS check, the bucket for the settings and the round trip', () => {
    const needs = Object.fromEntries(CHECKS.map((c) => [c.id, c.needs]))
    for (const id of ['bucket', 'key-age', 'least-privilege', 'role-trust', 'secrets-roundtrip', 'secrets-key-state', 'secrets-rotation']) expect(needs[id]).to.include('credentials')
    for (const id of ['versioning', 'encryption', 'public-access-block', 'ownership', 'tls-policy', 'lifecycle', 'round-trip', 'pulumi-locks']) expect(needs[id]).to.deep.equal(['bucket'])
    for (const id of ['credentials', 'credentials-file', 'pulumi-cli']) expect(needs[id]).to.deep.equal([])
  })
})
