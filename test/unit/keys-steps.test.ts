import {expect} from 'chai'
import {existsSync, rmSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {tempHomeDir} from '../support/keys-fixture.js'
import {Journal, type JournalStep} from '../../src/lib/keys/journal.js'
import {TRANSITIONS, advance, isProven} from '../../src/lib/keys/steps.js'
import {acquireOneShotLock, type LockHolder} from '../../src/lib/files/lock.js'

describe('rotation steps: the journal as a state machine', () => {
  let home: ReturnType<typeof tempHomeDir>
  beforeEach(() => {
    home = tempHomeDir()
  })
  afterEach(() => rmSync(home.dir, {recursive: true, force: true}))

  const base = {kind: 'rotate' as const, user: 'u', profile: 'p', profiles: ['p'], oldKeyId: 'AKIAOLDOLDOLDOLDOLD1', step: 'creating' as const, acting: 'self' as const, startedAt: new Date().toISOString()}

  it('the forward run reaches every state from creating, and a failure before the proof can roll back', () => {
    const forward: JournalStep[] = ['creating', 'created', 'writing', 'written', 'verified', 'deactivating', 'deactivated', 'deleting']
    for (let i = 0; i + 1 < forward.length; i++) expect(TRANSITIONS[forward[i]], forward[i]).to.include(forward[i + 1])
    for (const s of ['creating', 'created', 'writing', 'written'] as const) {
      expect(TRANSITIONS[s], s).to.include('rolling-back')
      expect(isProven(s), s).to.equal(false)
    }
    for (const s of ['verified', 'deactivating', 'deactivated', 'deleting'] as const) {
      expect(TRANSITIONS[s], s).to.not.include('rolling-back')
      expect(isProven(s), s).to.equal(true)
    }
    expect(isProven('rolling-back')).to.equal(false)
  })

  it('advance moves the journal entry as the table allows and refuses any other move', () => {
    const j = new Journal(home.credentialsFile)
    const e = j.record({...base, id: 'a1'})
    advance(j, e, 'created', {newKeyId: 'AKIANEWNEWNEWNEWNEW2'})
    expect(j.list()[0]).to.include({step: 'created', newKeyId: 'AKIANEWNEWNEWNEWNEW2'})
    expect(() => advance(j, e, 'deactivating')).to.throw(/no transition from created to deactivating/)
    expect(j.list()[0].step).to.equal('created')
    advance(j, e, 'rolling-back', {lastError: 'x'})
    expect(() => advance(j, e, 'verified')).to.throw(/no transition from rolling-back to verified/)
  })
})

describe('files/lock: the one-shot lock', () => {
  let home: ReturnType<typeof tempHomeDir>
  beforeEach(() => {
    home = tempHomeDir()
  })
  afterEach(() => rmSync(home.dir, {recursive: true, force: true}))

  const opts = {name: 'test lock', staleAfterMs: 60_000, lockedError: (_p: string, h: LockHolder | undefined) => new Error(`held by ${h?.pid ?? '?'}`)}

  it('fails at once while held, is taken after release, and judges another host\'s lock by its start time', () => {
    const path = `${home.dir}/x.lock`
    const lock = acquireOneShotLock(path, opts)
    expect(() => acquireOneShotLock(path, opts)).to.throw(`held by ${process.pid}`)
    lock.release()
    expect(existsSync(path)).to.equal(false)
    const other = (startedAt: string) => JSON.stringify({pid: 1, host: `${hostname()}-elsewhere`, startedAt, nonce: 'n'}) + '\n'
    writeFileSync(path, other(new Date().toISOString()))
    expect(() => acquireOneShotLock(path, opts)).to.throw('held by 1')
    writeFileSync(path, other(new Date(Date.now() - 120_000).toISOString()))
    acquireOneShotLock(path, opts).release()
  })
})
