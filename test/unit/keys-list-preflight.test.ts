/**
 * The checks a rotation makes before it changes anything (src/lib/keys/preflight.ts) and the
 * run's options and lock (src/lib/keys/run.ts), in process, without AWS: each function is
 * called with real files in a temp home, and its result, error code, exit code, message and
 * hint are what the user sees (issue 10, "Test strength": these mutants had no in-process
 * test; the CLI tests run dist/ in a subprocess, which never sees a mutant).
 */
import {expect} from 'chai'
import {existsSync, rmSync, writeFileSync} from 'node:fs'
import {credentialsText, journalEntry as entry, tempHomeDir, writeCredentials} from '../support/keys-fixture.js'
import {thrown, rejection} from '../support/errors.js'
import {
  DEFAULT_POLL_MS,
  KEYS_EXIT,
  DEFAULT_SUCCESSES,
  DEFAULT_WAIT_MS,
  checkpoint,
  daysOld,
  emptyResult,
  envNumber,
  fail,
  makeState,
  openRotationSession,
  propagationPollMs,
  readTextIfExists,
  refuseRoleProfile,
  underRotationLock,
  validateCommon,
  type RotateResult,
} from '../../src/lib/keys/run.js'
import {checkLongTerm, currentKey, noKeyError, notDue, planRotation, recoverFirst, resultOfRecovery, strayKeys} from '../../src/lib/keys/preflight.js'
import {Journal, journalPath, lockPath} from '../../src/lib/keys/journal.js'
import {createAwsContext} from '../../src/lib/aws/client.js'
import {isPsbError, type PsbError} from '../../src/lib/errors.js'
import {DAY_MS, formatDuration} from '../../src/lib/duration.js'
import {registerSecret} from '../../src/lib/redact.js'
import {requestInterrupt, resetInterrupt} from '../../src/lib/interrupt.js'
import {silentLogger} from '../../src/lib/types.js'
import {type IamKey} from '../../src/lib/keys/iam-calls.js'

const OLD = 'AKIAOLDOLDOLDOLD1111'
const OTHER = 'AKIAOTHEROTHEROT2222'
const KEYS = {accessKeyId: OLD, secretAccessKey: 'old/secret/value/0000000000000000000000'}
const admin = createAwsContext({region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: {accessKeyId: 'AKIAADMINADMINADMIN1', secretAccessKey: 'x'.repeat(40)}})

/** Sets (or, with undefined, deletes) an environment variable for the length of `fn`. */
function withEnv<T>(name: string, value: string | undefined, fn: () => T): T {
  const before = process.env[name]
  if (value === undefined) delete process.env[name]
  else process.env[name] = value
  try {
    return fn()
  } finally {
    if (before === undefined) delete process.env[name]
    else process.env[name] = before
  }
}

/** Date.now() fixed at `now` for the length of `fn`. */
function atTime<T>(now: number, fn: () => T): T {
  const real = Date.now
  Date.now = () => now
  try {
    return fn()
  } finally {
    Date.now = real
  }
}

describe('keys: run options, lock session and preflight checks (in process, no AWS)', () => {
  let home: ReturnType<typeof tempHomeDir>
  beforeEach(() => {
    home = tempHomeDir()
    writeCredentials(home.credentialsFile, credentialsText({pulumi: KEYS}))
  })
  afterEach(() => rmSync(home.dir, {recursive: true, force: true}))
  const state = () => makeState({region: 'us-east-1', env: home.env, pollMs: 50, waitMs: 90_000, successes: 2})

  describe('run.ts', () => {
    it('envNumber: a finite number >= 0 from the environment; unset, empty, negative, infinite or not a number is no value', () => {
      const cases: [string | undefined, number | undefined][] = [
        [undefined, undefined],
        ['', undefined],
        ['250', 250],
        ['0', 0],
        ['-1', undefined],
        ['Infinity', undefined],
        ['abc', undefined],
      ]
      for (const [v, want] of cases) expect(withEnv('PSB_TEST_NUMBER', v, () => envNumber('PSB_TEST_NUMBER')), String(v)).to.equal(want)
    })

    it('propagationPollMs: PSB_KEY_PROPAGATION_POLL_MS when set, else 1000', () => {
      expect(withEnv('PSB_KEY_PROPAGATION_POLL_MS', '250', propagationPollMs)).to.equal(250)
      expect(withEnv('PSB_KEY_PROPAGATION_POLL_MS', undefined, propagationPollMs)).to.equal(DEFAULT_POLL_MS)
      expect(DEFAULT_POLL_MS).to.equal(1000)
      // makeState takes the pause from the environment when the caller gives none.
      expect(withEnv('PSB_KEY_PROPAGATION_POLL_MS', '75', () => makeState({region: 'us-east-1', env: home.env}).pollMs)).to.equal(75)
    })

    it('checkpoint: SIGKILLs its own process only at the step PSB_TEST_KILL_AFTER_STEP names', () => {
      const kills: unknown[][] = []
      const realKill = process.kill
      process.kill = ((...args: unknown[]) => {
        kills.push(args)
        return true
      }) as typeof process.kill
      try {
        withEnv('PSB_TEST_KILL_AFTER_STEP', 'file-written', () => {
          checkpoint('key-created')
          expect(kills).to.deep.equal([])
          checkpoint('file-written')
        })
        withEnv('PSB_TEST_KILL_AFTER_STEP', undefined, () => checkpoint('file-written'))
      } finally {
        process.kill = realKill
      }
      expect(kills).to.deep.equal([[process.pid, 'SIGKILL']])
    })

    it('validateCommon: no profile, --create without an administrator and --user, --create with two profiles: exit 2 with a hint', () => {
      const none = thrown(() => validateCommon({profiles: []}))
      expect([none.exitCode, none.code, none.message, none.hint]).to.deep.equal([2, 'BadInput', 'No profile to rotate.', 'Pass --profile <name> (repeatable).'])
      for (const o of [{admin}, {user: 'pulumi'}, {}]) {
        const e = thrown(() => validateCommon({profiles: ['pulumi'], create: true, ...o}))
        expect(e.exitCode).to.equal(2)
        expect(e.message).to.equal('--create needs --user and administrator credentials: a new profile has no key of its own to act with.')
        expect(e.hint).to.equal('Example: psb keys rotate --create --profile pulumi --user pulumi-state --admin-profile admin')
      }
      expect(() => validateCommon({profiles: ['pulumi'], create: true, admin, user: 'pulumi'})).to.not.throw()
      const two = thrown(() => validateCommon({profiles: ['a', 'b'], create: true, admin, user: 'pulumi'}))
      expect([two.exitCode, two.message, two.hint]).to.deep.equal([2, '--create takes a single --profile.', 'Run once per profile to create.'])
      // Without --create, several profiles and no administrator are fine.
      expect(() => validateCommon({profiles: ['a', 'b'], env: home.env})).to.not.throw()
    })

    it('validateCommon: every --profile is checked: an invalid name or a role profile anywhere in the list is exit 2', () => {
      writeFileSync(home.configFile, '[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deploy\n')
      const name = thrown(() => validateCommon({profiles: ['pulumi', 'a]b'], env: home.env}))
      expect([name.exitCode, name.code]).to.deep.equal([2, 'ProfileNameInvalid'])
      const role = thrown(() => validateCommon({profiles: ['pulumi', 'deploy'], env: home.env}))
      expect([role.exitCode, role.code]).to.deep.equal([2, 'ProfileAssumesRole'])
      expect(role.message).to.match(/^The profile "deploy" has no key to rotate: /)
    })

    it('validateCommon: --max-age and --wait must be finite and >= 0 (0 is allowed)', () => {
      for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
        const age = thrown(() => validateCommon({profiles: ['pulumi'], maxAgeMs: bad}))
        expect([age.exitCode, age.message], String(bad)).to.deep.equal([2, '--max-age must be a positive duration.'])
        const wait = thrown(() => validateCommon({profiles: ['pulumi'], waitMs: bad}))
        expect([wait.exitCode, wait.message], String(bad)).to.deep.equal([2, '--wait must be a positive duration.'])
      }
      for (const good of [0, 1, 30 * DAY_MS]) {
        expect(() => validateCommon({profiles: ['pulumi'], maxAgeMs: good, waitMs: good}), String(good)).to.not.throw()
      }
    })

    it('refuseRoleProfile: a profile with role_arn is exit 2 naming the role and the profile; one without passes', () => {
      writeFileSync(home.configFile, '[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deploy\nsource_profile = pulumi\n')
      expect(() => refuseRoleProfile('pulumi', 'rotate', home.env)).to.not.throw()
      const e = thrown(() => refuseRoleProfile('deploy', 'list', home.env))
      expect(e.exitCode).to.equal(2)
      expect(e.code).to.equal('ProfileAssumesRole')
      expect(e.message).to.equal(
        'The profile "deploy" has no key to list: it assumes arn:aws:iam::123456789012:role/deploy (role_arn in the AWS config file). Its credentials are temporary; nothing was changed.',
      )
      expect(e.hint).to.equal('A role needs no rotation. To check the profile, run `psb verify --profile deploy`; to rotate the key of its source profile, pass that profile instead.')
    })

    it('openRotationSession: holds the lock until release, with the journal and the ids of the entries it found', () => {
      const before = new Journal(home.credentialsFile).record(entry({id: 'aaaaaaaaaaaa', profile: 'pulumi'}))
      const s = openRotationSession(home.credentialsFile, 'init')
      try {
        expect(s.credentialsFile).to.equal(home.credentialsFile)
        expect(s.journal.path).to.equal(journalPath(home.credentialsFile))
        expect(s.journal.list().map((e) => e.id)).to.deep.equal([before.id])
        expect([...s.inherited]).to.deep.equal([before.id])
        expect(existsSync(lockPath(home.credentialsFile))).to.equal(true)
        // A second session of the same file is refused while this one holds the lock.
        const locked = thrown(() => openRotationSession(home.credentialsFile, 'init'))
        expect(locked.exitCode).to.equal(KEYS_EXIT.LOCKED)
      } finally {
        s.release()
      }
      expect(existsSync(lockPath(home.credentialsFile))).to.equal(false)
    })

    it('openRotationSession: an unreadable journal releases the lock it took and throws', () => {
      writeFileSync(journalPath(home.credentialsFile), '{not json')
      const e = thrown(() => openRotationSession(home.credentialsFile, 'init'))
      expect(e.message).to.match(/journal/i)
      expect(existsSync(lockPath(home.credentialsFile))).to.equal(false)
    })

    it('makeState: the credentials file of the environment, the defaults (60 s wait, 3 successes, silent), at least one success', () => {
      const st = withEnv('PSB_KEY_PROPAGATION_POLL_MS', undefined, () => makeState({region: 'eu-west-1', endpoint: 'http://127.0.0.1:1', env: home.env}))
      expect(st).to.deep.equal({
        env: home.env,
        credentialsFile: home.credentialsFile,
        region: 'eu-west-1',
        endpoint: 'http://127.0.0.1:1',
        admin: undefined,
        logger: silentLogger,
        waitMs: DEFAULT_WAIT_MS,
        pollMs: DEFAULT_POLL_MS,
        successes: DEFAULT_SUCCESSES,
        rotatedKeys: new Map(),
        waited: 0,
        session: undefined,
      })
      expect([DEFAULT_WAIT_MS, DEFAULT_SUCCESSES]).to.deep.equal([60_000, 3])
      expect(makeState({region: 'us-east-1', env: home.env, successes: 0}).successes).to.equal(1)
      expect(makeState({region: 'us-east-1', env: home.env, successes: 5, waitMs: 0}).successes).to.equal(5)
      expect(makeState({region: 'us-east-1', env: home.env, waitMs: 0}).waitMs).to.equal(0)
    })

    it('daysOld: whole days since creation, never negative; no date is no age', () => {
      const now = Date.parse('2026-05-10T12:00:00Z')
      expect(daysOld(undefined, now)).to.equal(undefined)
      expect(daysOld(new Date(now - 1.9 * DAY_MS), now)).to.equal(1)
      expect(daysOld(new Date(now - 2 * DAY_MS), now)).to.equal(2)
      expect(daysOld(new Date(now + DAY_MS), now)).to.equal(0)
      expect(daysOld(new Date(Date.now() - 3 * DAY_MS - 1000))).to.equal(3)
    })

    it('fail: a PsbError whose message and hint are redacted; emptyResult: a blank result of the profile', () => {
      registerSecret('zzSecretValueZZ0123456789abcdefghijklmnop')
      const e = fail('boom zzSecretValueZZ0123456789abcdefghijklmnop', {code: 'X', hint: 'hint zzSecretValueZZ0123456789abcdefghijklmnop', exitCode: 2, data: {a: 1}})
      expect([e.message, e.hint, e.code, e.exitCode, e.data]).to.deep.equal(['boom ****', 'hint ****', 'X', 2, {a: 1}])
      expect(fail('m', {code: 'Y'}).hint).to.equal(undefined)
      expect(emptyResult('p')).to.deep.equal({profile: 'p', user: '', result: 'planned', profilesUpdated: [], warnings: [], recovered: [], changes: [], timings: {totalMs: 0, propagationWaitMs: 0}, exitCode: 0})
      expect(emptyResult('p', 'u').user).to.equal('u')
    })

    it('readTextIfExists: the text of a file, or undefined when it cannot be read', () => {
      expect(readTextIfExists(home.credentialsFile)).to.equal(credentialsText({pulumi: KEYS}))
      expect(readTextIfExists(`${home.dir}/nosuch`)).to.equal(undefined)
      expect(readTextIfExists(home.dir)).to.equal(undefined)
    })

    it('underRotationLock: holds the lock and opens the journal while the work runs, releases it after (also on error); a dry run takes neither', async () => {
      const st = state()
      const seen: boolean[] = []
      expect(await underRotationLock(st, true, 'keys rotate', async () => (seen.push(existsSync(lockPath(home.credentialsFile))), 'dry'))).to.equal('dry')
      expect(st.journal).to.equal(undefined)
      expect(await underRotationLock(st, false, 'keys rotate', async () => (seen.push(existsSync(lockPath(home.credentialsFile))), 'wet'))).to.equal('wet')
      expect(st.journal?.path).to.equal(journalPath(home.credentialsFile))
      expect(seen).to.deep.equal([false, true])
      expect(existsSync(lockPath(home.credentialsFile))).to.equal(false)
      const boom = await underRotationLock(st, false, 'keys rotate', async () => {
        throw new Error('boom')
      }).catch((error: Error) => error.message)
      expect(boom).to.equal('boom')
      expect(existsSync(lockPath(home.credentialsFile))).to.equal(false)
    })

    it('underRotationLock after SIGINT: Interrupted (exit 130), nothing was changed, no lock taken; a dry run still runs', async () => {
      requestInterrupt('SIGINT')
      try {
        let ran = false
        const e = await rejection(
          underRotationLock(state(), false, 'keys rotate', async () => {
            ran = true
          }),
        )
        expect([e.code, e.exitCode, e.message]).to.deep.equal(['Interrupted', 130, 'Interrupted (SIGINT): nothing was changed.'])
        expect(ran).to.equal(false)
        expect(existsSync(lockPath(home.credentialsFile))).to.equal(false)
        expect(await underRotationLock(state(), true, 'keys rotate', async () => 'dry')).to.equal('dry')
      } finally {
        resetInterrupt()
      }
    })

    it('underRotationLock with a session: uses its journal; a session of another file is refused', async () => {
      const s = openRotationSession(home.credentialsFile, 'init')
      try {
        const st = {...state(), session: s}
        expect(await underRotationLock(st, false, 'keys rotate', async () => 'ran')).to.equal('ran')
        expect(st.journal).to.equal(s.journal)
        const other = tempHomeDir()
        try {
          const wrong = {...makeState({region: 'us-east-1', env: other.env}), session: s}
          let ran = false
          const e = await rejection(
            underRotationLock(wrong, false, 'keys rotate', async () => {
              ran = true
            }),
          )
          expect(ran).to.equal(false)
          expect(e.code).to.equal('RotationSessionMismatch')
          expect(e.message).to.equal(`The rotation session is for ${home.credentialsFile}, not ${other.credentialsFile}.`)
        } finally {
          rmSync(other.dir, {recursive: true, force: true})
        }
      } finally {
        s.release()
      }
    })
  })

  describe('preflight.ts', () => {
    const res = (): RotateResult => emptyResult('pulumi', 'pulumi')
    const key = (id: string, status: 'Active' | 'Inactive', created?: string): IamKey => ({id, status, created: created ? new Date(created) : undefined})

    it('noKeyError: exit 2, ProfileHasNoKey, the file named, and how to create the first key', () => {
      const e = noKeyError(state(), 'ci') as PsbError
      expect(isPsbError(e)).to.equal(true)
      expect([e.exitCode, e.code]).to.deep.equal([2, 'ProfileHasNoKey'])
      expect(e.message).to.equal(`The profile "ci" has no access key in ${home.credentialsFile}.`)
      expect(e.hint).to.equal(
        'Check the name (psb rotates keys of the credentials file), or create it with its first key: psb keys rotate --create --profile ci --user <iam-user> --admin-profile <admin>.',
      )
    })

    it('checkLongTerm: a profile with a session token is exit 2 (TemporaryCredentials); long-term keys pass', () => {
      expect(() => checkLongTerm('pulumi', KEYS)).to.not.throw()
      const e = thrown(() => checkLongTerm('pulumi', {...KEYS, sessionToken: 'token'}))
      expect([e.exitCode, e.code]).to.deep.equal([2, 'TemporaryCredentials'])
      expect(e.message).to.equal('The profile "pulumi" holds temporary credentials (a session token): only the long-term keys of an IAM user can be rotated.')
      expect(e.hint).to.equal("Rotate the IAM user's own profile, or remove the stale aws_session_token line from the profile.")
    })

    it('currentKey: records the old key in the result; a key not of the user is KeyNotOfUser, with a hint for each way of acting', () => {
      const r = res()
      const created = '2026-01-02T03:04:05.000Z'
      const k = atTime(Date.parse(created) + 3.5 * DAY_MS, () => currentKey([key(OTHER, 'Inactive'), key(OLD, 'Active', created)], KEYS, {profile: 'pulumi', user: 'pulumi', admin: false}, r))
      expect(k.id).to.equal(OLD)
      expect([r.oldKeyId, r.oldKeyCreatedAt, r.oldKeyAgeDays]).to.deep.equal([OLD, created, 3])
      // A key IAM gives no creation date for: no date and no age, no error.
      const undated = res()
      expect(currentKey([key(OLD, 'Active')], KEYS, {profile: 'pulumi', user: 'pulumi', admin: true}, undated).id).to.equal(OLD)
      expect([undated.oldKeyId, undated.oldKeyCreatedAt, undated.oldKeyAgeDays]).to.deep.equal([OLD, undefined, undefined])
      const self = thrown(() => currentKey([key(OTHER, 'Active')], KEYS, {profile: 'pulumi', user: 'pulumi', admin: false}, res()))
      expect([self.exitCode, self.code]).to.deep.equal([1, 'KeyNotOfUser'])
      expect(self.message).to.equal('The key AKIA…1111 of profile "pulumi" is not a key of the IAM user pulumi.')
      expect(self.hint).to.equal('The key may have been deleted; write a working key into the profile first (psb creds write).')
      const asAdmin = thrown(() => currentKey([], KEYS, {profile: 'pulumi', user: 'other', admin: true}, res()))
      expect(asAdmin.hint).to.equal("Check --user, or drop it to let psb find the user from the profile's key.")
    })

    it('notDue: with --max-age, a younger key is not due (exit 10, when it becomes due); a key of exactly that age, an older one, or no --max-age is due', () => {
      const created = Date.parse('2026-03-01T00:00:00.000Z')
      const maxAge = 30 * DAY_MS
      const k = key(OLD, 'Active', '2026-03-01T00:00:00.000Z')
      const young = res()
      expect(atTime(created + 10 * DAY_MS, () => notDue(young, k, maxAge))).to.equal(true)
      expect(young.result).to.equal('not-due')
      expect(young.exitCode).to.equal(KEYS_EXIT.NOT_DUE)
      expect(young.exitCode).to.equal(10)
      expect(young.dueAt).to.equal('2026-03-31T00:00:00.000Z')
      expect(young.changes).to.deep.equal([{item: 'key AKIA…1111', status: 'unchanged', detail: `${formatDuration(10 * DAY_MS)} old, not due before 2026-03-31T00:00:00.000Z`}])
      for (const [age, max] of [
        [maxAge, maxAge],
        [40 * DAY_MS, maxAge],
        [10 * DAY_MS, undefined],
      ] as const) {
        const r = res()
        expect(atTime(created + age, () => notDue(r, k, max)), `${age} ${max}`).to.equal(false)
        expect(r).to.deep.equal(res())
      }
      // A key IAM gives no creation date for is always due.
      expect(notDue(res(), key(OLD, 'Active'), maxAge)).to.equal(false)
    })

    it('strayKeys: Inactive keys no profile holds are strays (to delete); no other key means none', () => {
      const cur = key(OLD, 'Active')
      expect(strayKeys(state(), [cur], cur, 'pulumi', 'pulumi')).to.deep.equal([])
      const stray = key(OTHER, 'Inactive', '2026-01-01T00:00:00Z')
      expect(strayKeys(state(), [stray, cur], cur, 'pulumi', 'pulumi')).to.deep.equal([stray])
    })

    it('strayKeys: a second Active key no profile holds stops the run (SecondKeyInUse), saying how to delete it', () => {
      const cur = key(OLD, 'Active')
      const e = thrown(() => strayKeys(state(), [cur, key(OTHER, 'Active', '2026-01-05T06:07:08Z')], cur, 'pulumi', 'pulumi'))
      expect([e.exitCode, e.code]).to.deep.equal([1, 'SecondKeyInUse'])
      expect(e.message).to.equal(
        `The IAM user pulumi already has a second access key, AKIA…2222 (Active, created 2026-01-05), that profile "pulumi" does not hold, and no profile of ${home.credentialsFile} holds it. IAM allows two keys per user, so there is no room for a new one, and psb never deletes a key it did not create. Nothing was changed.`,
      )
      expect(e.data).to.deep.equal({user: 'pulumi', keyId: 'AKIA…2222', status: 'Active', profiles: []})
      expect(e.hint).to.equal(
        'If that key is no longer used (psb keys list shows when it was last used), delete it: aws iam delete-access-key --user-name pulumi --access-key-id <id> (aws iam list-access-keys --user-name pulumi shows the full id). Then run again.',
      )
    })

    it('strayKeys: a second key that profiles hold (even Inactive) stops the run, naming them and how to share one key', () => {
      writeCredentials(home.credentialsFile, credentialsText({pulumi: KEYS, ci: {accessKeyId: OTHER, secretAccessKey: 's'.repeat(40)}, dev: {accessKeyId: OTHER, secretAccessKey: 's'.repeat(40)}}))
      const cur = key(OLD, 'Active')
      const e = thrown(() => strayKeys(state(), [cur, key(OTHER, 'Inactive')], cur, 'pulumi', 'pulumi'))
      expect(e.code).to.equal('SecondKeyInUse')
      expect(e.message).to.equal(
        `The IAM user pulumi already has a second access key, AKIA…2222 (Inactive), that profile "pulumi" does not hold; profile(s) ci, dev of ${home.credentialsFile} hold it. IAM allows two keys per user, so there is no room for a new one, and psb never deletes a key it did not create. Nothing was changed.`,
      )
      expect(e.data).to.deep.equal({user: 'pulumi', keyId: 'AKIA…2222', status: 'Inactive', profiles: ['ci', 'dev']})
      expect(e.hint).to.equal('Make the profiles use one key: rotate "ci", "dev" instead, or copy one key into all of them; then delete the other key.')
    })

    it('planRotation: the dry run plan, step by step, with and without a bucket and --keep-old', () => {
      const cur = key(OLD, 'Active')
      const withAll = planRotation(state(), res(), {strays: [key(OTHER, 'Inactive')], user: 'pulumi', holdersOfOld: ['ci', 'pulumi'], bucket: 'state-b', current: cur, keepOld: true})
      expect(withAll.profilesUpdated).to.deep.equal(['ci', 'pulumi'])
      expect(withAll.changes).to.deep.equal([
        {item: 'stray key AKIA…2222', status: 'planned', detail: 'delete (Inactive, no profile holds it)'},
        {item: 'new access key', status: 'planned', detail: 'create for pulumi'},
        {item: 'profile(s) ci, pulumi', status: 'planned', detail: `write the new key into ${home.credentialsFile} (backup first)`},
        {item: 'new key', status: 'planned', detail: 'prove it works: 2 consecutive calls (STS, s3://state-b), waiting up to 1m 30s'},
        {item: 'old key AKIA…1111', status: 'planned', detail: 'deactivate (kept Inactive)'},
      ])
      const plain = planRotation(state(), res(), {strays: [], user: 'pulumi', holdersOfOld: ['pulumi'], current: cur})
      expect(plain.changes.slice(2)).to.deep.equal([
        {item: 'new key', status: 'planned', detail: 'prove it works: 2 consecutive calls (STS), waiting up to 1m 30s'},
        {item: 'old key AKIA…1111', status: 'planned', detail: 'deactivate, then delete'},
      ])
      expect(plain.changes).to.have.length(4)
    })

    it('resultOfRecovery: the profile\'s result is the rotation recovery finished: created or rotated, old key deleted or kept Inactive', () => {
      const base = entry({profile: 'pulumi', profiles: ['pulumi', 'ci'], oldKeyId: OLD, newKeyId: OTHER})
      const deleted = resultOfRecovery(res(), {entry: base, action: 'finished', message: 'Finished it.', newKeyCreatedAt: '2026-01-01T00:00:00.000Z'})
      expect(deleted).to.deep.include({user: 'pulumi', result: 'rotated', oldKeyId: OLD, newKeyId: OTHER, newKeyCreatedAt: '2026-01-01T00:00:00.000Z', oldKey: 'deleted'})
      expect(deleted.profilesUpdated).to.deep.equal(['pulumi', 'ci'])
      expect(deleted.changes).to.deep.equal([{item: 'interrupted rotation', status: 'updated', detail: 'Finished it.'}])
      expect(resultOfRecovery(res(), {entry: {...base, keepOld: true}, action: 'finished', message: 'm'}).oldKey).to.equal('inactive')
      const created = resultOfRecovery(res(), {entry: {...base, kind: 'create', oldKeyId: undefined}, action: 'finished', message: 'm'})
      expect(created.result).to.equal('created')
      expect(created.oldKey).to.equal(undefined)
    })

    it('recoverFirst, dry run: lists the journal\'s unfinished runs of this profile (asked for, or holding its key) and changes nothing', async () => {
      const j = new Journal(home.credentialsFile)
      j.record(entry({id: '111111111111', profile: 'pulumi', profiles: [], step: 'creating'}))
      j.record(entry({id: '222222222222', profile: 'ci', profiles: ['ci', 'pulumi'], step: 'written'}))
      j.record(entry({id: '333333333333', profile: 'dev', profiles: ['dev'], step: 'verified'}))
      const journalBytes = () => JSON.stringify(new Journal(home.credentialsFile).list())
      const before = journalBytes()
      const dry = res()
      expect(await recoverFirst(state(), {region: 'us-east-1', dryRun: true}, 'pulumi', dry)).to.equal(undefined)
      expect(dry.changes).to.deep.equal([
        {item: 'unfinished rotation of pulumi (creating)', status: 'planned', detail: 'finish or undo it first'},
        {item: 'unfinished rotation of ci (written)', status: 'planned', detail: 'finish or undo it first'},
      ])
      expect(dry.recovered).to.deep.equal([])
      expect(journalBytes()).to.equal(before)
      // Not a dry run and no journal opened (no lock): nothing is listed or done here.
      const wet = res()
      expect(await recoverFirst(state(), {region: 'us-east-1'}, 'pulumi', wet)).to.equal(undefined)
      expect(wet.changes).to.deep.equal([])
    })
  })
})
