/**
 * The rotation journal's reader and guards, and the rotation lock's message: what a mutant
 * of src/lib/keys/journal.ts could change without the rotation tests noticing (no moto).
 */
import {expect} from 'chai'
import {mkdirSync, rmSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {tempHomeDir} from '../support/keys-fixture.js'
import {HEARTBEAT_MS, Journal, acquireRotationLock, journalPath, lockPath, readJournalEntries} from '../../src/lib/keys/journal.js'
import {isPsbError, type PsbError} from '../../src/lib/errors.js'

function thrown(fn: () => unknown): PsbError {
  try {
    fn()
  } catch (error) {
    expect(isPsbError(error), String(error)).to.equal(true)
    return error as PsbError
  }
  return expect.fail('expected a PsbError') as never
}

describe('rotation journal: its reader and guards', () => {
  let home: ReturnType<typeof tempHomeDir>
  beforeEach(() => {
    home = tempHomeDir()
  })
  afterEach(() => rmSync(home.dir, {recursive: true, force: true}))

  const entry = {id: 'e1', kind: 'rotate', user: 'u', profile: 'p', profiles: ['p'], step: 'created', acting: 'self', startedAt: 't', updatedAt: 't', pid: 1, host: 'h'}
  const write = (doc: unknown) => writeFileSync(journalPath(home.credentialsFile), typeof doc === 'string' ? doc : JSON.stringify(doc))
  const corrupt = (doc: unknown) => {
    write(doc)
    const e = thrown(() => readJournalEntries(home.credentialsFile))
    expect(e.code).to.equal('JournalCorrupt')
    expect(e.message).to.include(journalPath(home.credentialsFile))
    expect(e.hint).to.include(`delete ${journalPath(home.credentialsFile)}`)
    return e.message
  }

  it('reads a well-formed journal, and none at all as no entries', () => {
    expect(readJournalEntries(home.credentialsFile)).to.deep.equal([])
    write({version: 1, credentialsFile: home.credentialsFile, rotations: [entry]})
    expect(readJournalEntries(home.credentialsFile)).to.deep.equal([entry])
  })

  it('refuses another version, rotations that are not a list, and each entry without id, user, step or profiles (JournalCorrupt)', () => {
    expect(corrupt({version: 2, rotations: [entry]})).to.match(/not readable: unknown format\.$/)
    expect(corrupt({version: 1, rotations: {0: entry}})).to.match(/unknown format/)
    expect(corrupt('not json')).to.match(/not readable: /)
    for (const broken of [{id: 1}, {user: undefined}, {step: 7}, {profiles: 'p'}]) {
      expect(corrupt({version: 1, rotations: [entry, {...entry, ...broken}]}), JSON.stringify(broken)).to.match(/an entry lacks id, user, step or profiles/)
    }
  })

  it('a journal it cannot read is JournalUnreadable, not "none"', () => {
    mkdirSync(journalPath(home.credentialsFile))
    const e = thrown(() => readJournalEntries(home.credentialsFile))
    expect(e.code).to.equal('JournalUnreadable')
    expect(e.message).to.match(/^Cannot read the rotation journal .*psb-rotation\.json: /)
  })

  it('keeps a 40-character error text, refuses a key named like a token, and ids that are not 40 characters pass', () => {
    const j = new Journal(home.credentialsFile)
    const base = {kind: 'rotate' as const, user: 'u', profile: 'p', profiles: ['p'], step: 'creating' as const, acting: 'self' as const, startedAt: 't'}
    j.record({...base, id: 'a', lastError: 'x'.repeat(40)})
    expect(() => j.record({...base, id: 'b', sessionToken: 'x'} as never)).to.throw(/must not hold "sessionToken"/)
    expect(() => j.record({...base, id: 'c', oldKeyId: 'A'.repeat(40)})).to.throw(/journal field "oldKeyId" looks like a secret/)
    j.record({...base, id: 'd', oldKeyId: 'A'.repeat(39)})
    j.record({...base, id: 'e', oldKeyId: 'A'.repeat(41)})
    expect(readJournalEntries(home.credentialsFile).map((e) => e.id)).to.deep.equal(['a', 'd', 'e'])
  })

  it('update of an unknown entry throws; remove of an unknown entry writes nothing (the same file, not a new one)', () => {
    const j = new Journal(home.credentialsFile)
    expect(() => j.update('nope', {step: 'created'})).to.throw(/journal entry nope not found/)
    j.record({kind: 'rotate', user: 'u', profile: 'p', profiles: ['p'], step: 'creating', acting: 'self', startedAt: 't', id: 'kept'})
    const inode = statSync(journalPath(home.credentialsFile)).ino
    j.remove('nope')
    expect(statSync(journalPath(home.credentialsFile)).ino).to.equal(inode)
    expect(readJournalEntries(home.credentialsFile).map((e) => e.id)).to.deep.equal(['kept'])
  })

  it('update changes the entry it names and no other', () => {
    const j = new Journal(home.credentialsFile)
    const base = {kind: 'rotate' as const, user: 'u', profiles: ['p'], step: 'creating' as const, acting: 'self' as const, startedAt: 't'}
    j.record({...base, id: 'first', profile: 'a'})
    j.record({...base, id: 'second', profile: 'b'})
    j.update('second', {step: 'created', newKeyId: 'AKIANEWNEWNEWNEWNEW2'})
    const byId = Object.fromEntries(readJournalEntries(home.credentialsFile).map((e) => [e.id, e]))
    expect(byId.first).to.include({profile: 'a', step: 'creating'})
    expect(byId.first.newKeyId).to.equal(undefined)
    expect(byId.second).to.include({profile: 'b', step: 'created', newKeyId: 'AKIANEWNEWNEWNEWNEW2'})
  })

  it('a lock file still being written (empty) names "another process"', () => {
    writeFileSync(lockPath(home.credentialsFile), '')
    const e = thrown(() => acquireRotationLock(home.credentialsFile))
    expect(e.message).to.include('(another process (its lock file is being written))')
    expect(e.code).to.equal('RotationLocked')
  })

  it('forProfile finds an entry by the profile asked for or by any profile that held the old key', () => {
    const j = new Journal(home.credentialsFile)
    const base = {kind: 'rotate' as const, user: 'u', step: 'creating' as const, acting: 'self' as const, startedAt: 't'}
    j.record({...base, id: 'asked', profile: 'a', profiles: ['a', 'b']})
    j.record({...base, id: 'alone', profile: 'x', profiles: []})
    expect(j.forProfile('b').map((e) => e.id)).to.deep.equal(['asked'])
    expect(j.forProfile('a').map((e) => e.id)).to.deep.equal(['asked'])
    expect(j.forProfile('x').map((e) => e.id)).to.deep.equal(['alone'])
    expect(j.forProfile('c')).to.deep.equal([])
    // What list() hands out is a copy: changing it changes no entry.
    j.list()[0].profiles.push('c')
    expect(j.forProfile('c')).to.deep.equal([])
  })

  it('heartbeat touches the journal about every HEARTBEAT_MS while it runs, and not after it is stopped', async () => {
    const j = new Journal(home.credentialsFile)
    j.record({kind: 'rotate', user: 'u', profile: 'p', profiles: ['p'], step: 'creating', acting: 'self', startedAt: 't', id: 'h'})
    const path = journalPath(home.credentialsFile)
    const old = new Date(Date.now() - 60_000)
    utimesSync(path, old, old)
    const stop = j.heartbeat()
    await new Promise((r) => setTimeout(r, HEARTBEAT_MS + 400))
    stop()
    const touched = statSync(path).mtimeMs
    expect(Date.now() - touched).to.be.below(HEARTBEAT_MS + 400)
    utimesSync(path, old, old)
    await new Promise((r) => setTimeout(r, HEARTBEAT_MS + 200))
    expect(Math.abs(statSync(path).mtimeMs - old.getTime())).to.be.below(2)
  })

  it('the rotation lock names its holder and says where to delete it; for another host it names that host', () => {
    const held = acquireRotationLock(home.credentialsFile)
    try {
      const e = thrown(() => acquireRotationLock(home.credentialsFile))
      expect(e.message).to.match(new RegExp(`^Another key rotation for this credentials file is in progress \\(process ${process.pid} on ${hostname()}, started \\S+\\); this run changed nothing\\.$`))
      expect(e.hint).to.equal(`Let the other run finish, then run again. If no psb run is in progress, delete ${lockPath(home.credentialsFile)}.`)
      expect(e.data).to.deep.include({lock: lockPath(home.credentialsFile), pid: process.pid, host: hostname()})
    } finally {
      held.release()
    }
    writeFileSync(lockPath(home.credentialsFile), JSON.stringify({pid: 1, host: 'elsewhere', startedAt: new Date().toISOString(), nonce: 'n'}))
    const other = thrown(() => acquireRotationLock(home.credentialsFile))
    expect(other.hint).to.include(`If no psb run is in progress on elsewhere, delete ${lockPath(home.credentialsFile)}.`)
  })
})
