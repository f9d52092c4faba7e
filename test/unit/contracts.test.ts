/**
 * The contracts of docs/contracts.md: the --json schemas against the TypeScript types (a
 * document typed `Required<T>` has every field of T, and must match), the error document of
 * every command, and scripts/contracts.ts on fixtures: a deliberately broken schema and a
 * renamed flag fail it; additions, a changelog entry, a major version bump let it pass.
 */
import {expect} from 'chai'
import {cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {ROOT} from '../support/cli.js'
import {ensureFreshDist} from '../support/fresh-dist.js'
import {schemaNameOf, schemaValidators, validateDocument, checkJsonOutput} from '../support/json-contract.js'
import {checkContracts, compareSchemaDirs, compareSchemas, compareSnapshots, main, snapshotFromManifest, unreleasedSection, type ContractInput, type Snapshot} from '../../scripts/contracts.js'
import {errorDocument} from '../../src/cli/base-command.js'
import {verifyDocument} from '../../src/cli/checks.js'
import {fleetVerifyDocument} from '../../src/cli/fleet-verify.js'
import type {FleetVerifyRow} from '../../src/lib/fleet/verify.js'
import type {RotateSummary} from '../../src/lib/fleet/rotate.js'
import {rotateRecord} from '../../src/cli/keys.js'
import {listRecord} from '../../src/commands/keys/list.js'
import {PsbError} from '../../src/lib/errors.js'
import type {BucketResult} from '../../src/lib/bucket/options.js'
import type {SecretsKeyResult} from '../../src/lib/kms/key.js'
import type {StackSecretsResult} from '../../src/lib/pulumi/stack-secrets.js'
import type {WriteProfileResult} from '../../src/lib/files/credentials.js'
import type {DestroyResult} from '../../src/lib/destroy/options.js'
import type {LoginResult} from '../../src/lib/pulumi/login.js'
import type {ClearResult, LockInfo} from '../../src/lib/state/locks.js'
import type {PruneResult} from '../../src/lib/state/history.js'
import type {UserResult} from '../../src/lib/iam/user.js'
import type {GithubWorkflowResult} from '../../src/lib/ci/github.js'
import type {RolePreview, RoleResult} from '../../src/lib/iam/role.js'
import type {RotateResult} from '../../src/lib/keys/run.js'
import type {ListKeysResult} from '../../src/lib/keys/list.js'
import type {RemoveResult, StatusEntry} from '../../src/lib/schedule/index.js'

const FIX = join(ROOT, 'test', 'fixtures', 'contracts')
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'))
const change = {item: 'versioning', status: 'created' as const, detail: 'Enabled'}
const lock: Required<LockInfo> = {key: '.pulumi/locks/o/p/s/1.json', stack: 'o/p/s', user: 'ann', host: 'h', pid: 7, when: '2026-01-01T00:00:00Z', ageMs: 5, readable: true}
const tally = {count: 1, bytes: 2}
const requests = {list: 1, get: 2, delete: 3}

/** A document of each command with every field its type has (Required<T>): the schema must accept each. */
const FULL: Record<string, unknown> = {
  'bucket-create': {bucket: 'b', region: 'us-east-1', arn: 'arn:aws:s3:::b', created: true, encryption: {algorithm: 'aws:kms', kmsKeyId: 'k'}, changes: [change], warnings: ['w'], dryRun: false} satisfies Required<BucketResult>,
  'kms-create': {alias: 'alias/x', region: 'r', accountId: '1', keyId: 'k', keyArn: 'a', created: true, adopted: false, providerUrl: 'awskms://alias/x?region=r', principals: [{kind: 'user', name: 'u', arn: 'a'}], changes: [change], warnings: [], dryRun: false} satisfies Required<SecretsKeyResult>,
  'stack-secrets': {project: 'p', stack: 's', providerUrl: 'u', action: 'changed', previous: 'passphrase', commands: ['pulumi x'], pulumiOutput: 'o', changes: [change], dryRun: false} satisfies Required<StackSecretsResult>,
  'creds-write': {profile: 'p', dryRun: false, credentialsFile: 'c', configFile: 'f', credentialsChanged: true, configChanged: false, backup: 'b', configBackup: 'cb', changes: [change], diff: [{file: 'c', line: 1, op: '+', text: 't'}], warnings: []} satisfies Required<WriteProfileResult>,
  destroy: {bucket: 'b', prefix: 'p', dryRun: true, changes: [change], left: [change], stacks: [{prefix: 'p', name: 'n', lastUpdated: 't'}], objects: {deleted: 1, listRequests: 1, deleteRequests: 1}, kmsKeys: [{keyId: 'k', deletionDate: 'd', pendingWindowInDays: 30}], warnings: []} satisfies Required<DestroyResult>,
  login: {url: 's3://b', pulumiVersion: '3.200.0', whoami: 'me', projectFile: 'Pulumi.yaml', changes: [change], warnings: [], dialect: 'native', form: 'new', rejectedBy: [], backendUrl: 's3://b', env: {AWS_PROFILE: 'p'}, commands: ['pulumi login'], credentialsFile: 'c'} satisfies Required<LoginResult>,
  'locks-list': {bucket: 'b', prefix: 'p', locks: [lock]},
  'locks-clear': {bucket: 'b', prefix: 'p', ...({locks: [{...lock, status: 'cleared', why: 'stale'}], cleared: 1, refused: 0, dryRun: false, requests} satisfies Required<ClearResult>)},
  'history-prune': {bucket: 'b', prefix: 'p', ...({root: 'r', stacks: [{stack: 's', status: 'locked', updates: 3, kept: 1, history: tally, backups: tally, remaining: tally, lock, failed: [{key: 'k', code: 'AccessDenied'}]}], deleted: tally, dryRun: false, requests} satisfies Required<PruneResult>)},
  'user-create': {user: 'u', arn: 'a', accountId: '1', policyName: 'p', policy: {Version: '2012-10-17', Statement: []}, attachedPolicies: [], changes: [change], path: '/', created: true, adopted: false, kmsKeyArn: 'k', dryRun: false, warnings: []} satisfies Required<UserResult>,
  'role-create': {roleArn: 'a', changes: [change], oidcProviderArn: 'o', policy: {Version: '2012-10-17', Statement: []}, role: 'r', path: '/', accountId: '1', policyName: 'p', trustPolicy: {Version: '2012-10-17', Statement: []}, attachedPolicies: [], maxSessionSeconds: 3600, requireMfa: false, kmsKeyArn: 'k', created: true, adopted: false, dryRun: false, warnings: []} satisfies Required<RoleResult>,
  'keys-rotate': {
    results: [rotateRecord({profile: 'p', user: 'u', result: 'rotated', oldKeyId: 'AKIAOLDOLDOLDOLDOLD1', newKeyId: 'AKIANEWNEWNEWNEWNEW1', oldKeyAgeDays: 91, profilesUpdated: ['p'], warnings: [], userArn: 'a', oldKeyCreatedAt: 't', newKeyCreatedAt: 't', dueAt: 't', oldKey: 'deleted', cleanupPending: false, recovered: [], changes: [change], timings: {totalMs: 1, propagationWaitMs: 1}, error: {code: 'X', message: 'm', hint: 'h', exitCode: 1}, exitCode: 0} satisfies Required<RotateResult>)],
    exitCode: 0,
    summary: {profiles: 1, rotated: 1, created: 0, notDue: 0, planned: 0, failed: 0} satisfies Required<RotateSummary>,
  },
  'keys-list': listRecord({user: 'u', userArn: 'a', keys: [{accessKeyId: 'AKIAOLDOLDOLDOLDOLD1', status: 'Active', createdAt: 't', ageDays: 1, lastUsed: {date: 'd', service: 's3', region: 'r'}, profiles: ['p']}], pending: [{profile: 'p', step: 'created', startedAt: 't'}], warnings: []} satisfies Required<ListKeysResult>),
  'keys-schedule-status': {schedules: [{profile: 'p', scheduler: 'cron', where: 'crontab', schedule: '0 3 * * *', every: '1d', maxAge: '90d', nextRun: 't', lastRun: {time: 't', exitCode: 0, result: 'rotated', message: 'm'}, keyAgeDays: 3, keyAgeError: 'e', missing: [], reinstall: 'psb keys schedule install', logFile: 'l'} satisfies Required<StatusEntry>]},
  'keys-schedule-remove': {dryRun: true, removed: [{profile: 'p', scheduler: 'cron', removed: ['crontab line']} satisfies RemoveResult]},
  'keys-schedule-install': {dryRun: true, results: [{profile: 'p', scheduler: 'cron', schedule: '0 3 * * *', every: '1d', maxAge: '90d', replaced: [], command: ['node', 'run.js'], environment: {}, logFile: 'l'}]},
  'ci-github': {path: '.github/workflows/pulumi.yml', status: 'created', repo: 'o/r', roleArn: 'arn:aws:iam::1:role/r', backendUrl: 's3://b?region=r', stack: 'dev', branch: 'main', secretsProvider: 'awskms://alias/x?region=r', workflow: 'name: x', changes: [change], dryRun: false} satisfies Required<GithubWorkflowResult>,
  verify: verifyDocument({profile: 'p', bucket: 'b', region: 'r'}, {ok: false, checks: [{id: 'bucket-exists', title: 'Bucket exists', status: 'fail', detail: 'd', hint: 'h'}], identity: {account: '1', arn: 'a'}, url: 's3://b'}),
}

/** Second documents of commands with two forms (verify over a fleet). */
const FULL_MORE: Array<[string, unknown]> = [
  [
    'verify',
    fleetVerifyDocument({
      exitCode: 1,
      targets: [
        {account: '1', region: 'r', bucket: 'b', profile: 'p', prefix: 'x', status: 'fail', ms: 5, counts: {pass: 1, warn: 0, fail: 1}, checks: [{id: 'target-account', title: 't', status: 'fail', detail: 'd', hint: 'h'}], error: {code: 'C', message: 'm', hint: 'h'}} satisfies Required<FleetVerifyRow>,
        {account: '2', region: 'r', bucket: 'b', profile: 'p', prefix: null, status: 'error', ms: 0, counts: {pass: 0, warn: 0, fail: 0}, error: {code: 'ProfileNotFound', message: 'm'}},
      ],
    }),
  ],
]

describe('--json schemas (schemas/*.schema.json)', () => {
  it('there is one schema per command, and each compiles', () => {
    const manifestIds = Object.keys(readJson(join(ROOT, 'command-snapshot.json'))).map((id) => id.replace(/ /g, '-')).sort()
    expect([...schemaValidators().keys()].sort()).to.deep.equal(manifestIds)
  })

  it('the error document of every command matches its schema (with and without data)', () => {
    for (const name of schemaValidators().keys()) {
      validateDocument(name, errorDocument(new PsbError('Bucket name "A" is invalid.', {code: 'BucketNameInvalid', exitCode: 2, hint: 'Use lowercase.'})))
      validateDocument(name, errorDocument(new PsbError('failed', {data: {init: {}}})))
    }
  })

  it('a document with every field of its TypeScript type matches the schema, for every command but init (run against moto in test/cli/init*)', () => {
    for (const [name, doc] of Object.entries(FULL)) validateDocument(name, doc)
    validateDocument('role-create', {roleArn: 'a', accountId: '1', policyName: 'p', policy: {Statement: []}, trustPolicy: {Statement: []}, kmsKeyArn: 'k'} satisfies Required<RolePreview>)
    for (const [name, doc] of FULL_MORE) validateDocument(name, doc)
    expect(Object.keys(FULL).sort()).to.deep.equal([...schemaValidators().keys()].filter((n) => n !== 'init').sort())
  })

  it('a document that breaks the contract fails: a missing field, a wrong type, an unknown field, an error without its code', () => {
    const verify = FULL.verify as Record<string, unknown>
    const {ok: _ok, ...noOk} = verify
    expect(() => validateDocument('verify', noOk)).to.throw(/does not match schemas\/verify\.schema\.json.*ok/)
    expect(() => validateDocument('verify', {...verify, ok: 'yes'})).to.throw(/must be boolean/)
    expect(() => validateDocument('bucket-create', {...(FULL['bucket-create'] as object), secret: 'x'})).to.throw(/additionalProperty/)
    expect(() => validateDocument('login', {error: {message: 'm', exitCode: 1}})).to.throw(/code/)
  })

  it('checkJsonOutput finds the schema of a command line, and fails on output that is not one JSON document', () => {
    expect(schemaNameOf(['keys', 'schedule', 'status', '--json'])).to.equal('keys-schedule-status')
    expect(schemaNameOf(['keys', 'rotate', '--profile', 'x'])).to.equal('keys-rotate')
    expect(() => checkJsonOutput(['verify', '--json'], {stdout: 'not json', code: 1, signal: null})).to.throw(/printed no single JSON document/)
    expect(() => checkJsonOutput(['verify', '--json'], {stdout: '{"ok": true}', code: 0, signal: null})).to.throw(/does not match/)
    // Not --json, help, or killed: nothing to check.
    checkJsonOutput(['verify'], {stdout: 'text', code: 0, signal: null})
    checkJsonOutput(['verify', '--json', '--help'], {stdout: 'help', code: 0, signal: null})
    checkJsonOutput(['verify', '--json'], {stdout: '', code: null, signal: 'SIGKILL'})
  })
})

describe('scripts/contracts.ts: breaking changes to schemas and the command snapshot fail CI', () => {
  const baseline = join(FIX, 'baseline')
  const committed = (): Snapshot => readJson(join(ROOT, 'command-snapshot.json'))
  const renamed = (): Snapshot => readJson(join(FIX, 'command-snapshot.renamed-flag.json'))
  const input = (over: Partial<ContractInput>): ContractInput => ({
    generated: committed(),
    committed: committed(),
    baselineSnapshot: committed(),
    schemaDir: baseline,
    baselineSchemaDir: baseline,
    changelog: '# Changelog\n\n## Unreleased\n\n## 0.1.0\n- `--max-age`\n',
    version: '0.1.0',
    baselineVersion: '0.1.0',
    ...over,
  })

  it('a deliberately broken schema (fixture) is breaking: property removed, enum and type narrowed, new required property', () => {
    const found = compareSchemaDirs(baseline, join(FIX, 'broken'))
    const breaking = found.filter((f) => f.breaking).map((f) => `${f.where}: ${f.what}`)
    expect(breaking).to.include.members([
      'keys-rotate.schema.json #/definitions/result/properties/results/items/properties/cleanupPending: property removed',
      'keys-rotate.schema.json #/definitions/result/properties/results/items/properties/rotatedBy: new required property',
      'keys-rotate.schema.json #/definitions/result/properties/exitCode: type narrowed: no longer integer',
      'keys-rotate.schema.json #/definitions/change/properties/status: enum narrowed: "skipped" removed',
    ])
    const r = checkContracts(input({schemaDir: join(FIX, 'broken')}))
    expect(r.ok).to.equal(false)
    expect(r.lines.join('\n')).to.match(/breaking change to a --json schema without a major version bump .*cleanupPending: property removed/)
  })

  it('the broken schema passes with a major version bump; additions (fixture) pass without one', () => {
    expect(checkContracts(input({schemaDir: join(FIX, 'broken'), version: '1.0.0'})).ok).to.equal(true)
    const additive = compareSchemaDirs(baseline, join(FIX, 'additive'))
    expect(additive.map((f) => [f.breaking, f.what])).to.deep.equal([
      [false, 'new optional property'],
      [false, 'enum widened: "replaced" added'],
    ])
    expect(checkContracts(input({schemaDir: join(FIX, 'additive')})).ok).to.equal(true)
  })

  it('schema rules: a property no longer required, additionalProperties closed, a removed schema are breaking; a new schema is not', () => {
    const a = {type: 'object', properties: {x: {type: 'string'}}, required: ['x']}
    expect(compareSchemas(a, {...a, required: []}).map((f) => f.breaking)).to.deep.equal([true])
    expect(compareSchemas(a, {...a, additionalProperties: false}).map((f) => f.breaking)).to.deep.equal([true])
    expect(compareSchemas(a, {...a, properties: {x: {type: ['string', 'null']}}}).map((f) => f.breaking)).to.deep.equal([false])
    expect(compareSchemas(a, {...a, description: 'docs only'})).to.deep.equal([])
    const empty = mkdtempSync(join(tmpdir(), 'psb-contracts-'))
    try {
      expect(compareSchemaDirs(baseline, empty).map((f) => [f.breaking, f.what])).to.deep.equal([[true, 'schema removed (a command lost its --json document)']])
      expect(compareSchemaDirs(empty, baseline).map((f) => [f.breaking, f.what])).to.deep.equal([[false, 'new schema']])
    } finally {
      rmSync(empty, {recursive: true, force: true})
    }
  })

  it('a renamed flag (fixture) fails: the snapshot not updated, or updated without a CHANGELOG entry', () => {
    const notUpdated = checkContracts(input({generated: renamed()}))
    expect(notUpdated.ok).to.equal(false)
    expect(notUpdated.lines.join('\n')).to.match(/command-snapshot.json is not what the commands are/).and.match(/BREAKING: keys rotate --max-age: flag removed or renamed/)
    const noChangelog = checkContracts(input({generated: renamed(), committed: renamed()}))
    expect(noChangelog.ok).to.equal(false)
    expect(noChangelog.lines.join('\n')).to.match(/not in CHANGELOG.md's Unreleased section: keys rotate --max-age: flag removed or renamed \(name --max-age there/)
    const changelog = '# Changelog\n\n## Unreleased\n\n### Changed\n- `psb keys rotate --max-age` is now `--max-key-age`.\n\n## 0.1.0\n'
    expect(checkContracts(input({generated: renamed(), committed: renamed(), changelog})).ok).to.equal(true)
  })

  it('snapshot rules: a changed default, a removed char or env var, a new required flag break; a new flag or command does not', () => {
    const base = committed()
    const next: Snapshot = JSON.parse(JSON.stringify(base))
    next['keys rotate'].flags.wait.default = '30s'
    next['keys rotate'].flags['new-optional'] = {type: 'boolean'}
    next['new command'] = {aliases: [], flags: {}, args: {}}
    const found = compareSnapshots(base, next)
    expect(found.filter((f) => f.breaking).map((f) => `${f.where}: ${f.what}`)).to.deep.equal(['keys rotate --wait: default changed from "60s" to "30s"'])
    expect(found.filter((f) => !f.breaking).map((f) => f.where)).to.deep.equal(['keys rotate --new-optional', 'new command'])
    expect(compareSnapshots({c: {aliases: [], flags: {f: {type: 'option', char: 'f', env: 'X'}}, args: {}}}, {c: {aliases: [], flags: {f: {type: 'option'}, g: {type: 'option', required: true}}, args: {}}}).map((f) => f.what)).to.deep.equal([
      'char -f removed or changed',
      'env var X removed or changed',
      'new required flag',
    ])
  })

  it('reads only the Unreleased section of the changelog', () => {
    expect(unreleasedSection('# C\n\n## Unreleased\n- a\n\n## 0.1.0\n- b\n')).to.equal('- a\n\n')
    expect(unreleasedSection('# C\n\n## 0.1.0\n- b\n')).to.equal('')
  })

  describe('on the repository', function () {
    this.timeout(300_000)
    before(() => ensureFreshDist())

    it('passes: command-snapshot.json is what the commands are, the schemas break nothing of the baseline', async () => {
      const lines: string[] = []
      expect(await main(ROOT, [], {log: (l) => lines.push(l)}), lines.join('\n')).to.equal(0)
      expect(snapshotFromManifest(readJson(join(ROOT, 'oclif.manifest.json')))).to.deep.equal(committed())
      expect(committed()['keys rotate'].flags['max-age']).to.deep.equal({type: 'option'})
    })

    it('fails on a copy of it whose built commands renamed a flag, naming the flag', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'psb-contracts-'))
      try {
        for (const f of ['package.json', 'CHANGELOG.md', 'command-snapshot.json', 'schemas']) cpSync(join(ROOT, f), join(dir, f), {recursive: true})
        const manifest = readJson(join(ROOT, 'oclif.manifest.json'))
        const flags = manifest.commands['keys:rotate'].flags
        flags['max-key-age'] = {...flags['max-age'], name: 'max-key-age'}
        delete flags['max-age']
        writeFileSync(join(dir, 'oclif.manifest.json'), JSON.stringify(manifest))
        const lines: string[] = []
        expect(await main(dir, [], {log: (l) => lines.push(l)})).to.equal(1)
        expect(lines.join('\n')).to.match(/BREAKING: keys rotate --max-age: flag removed or renamed/)
        // --update alone does not make it pass: the changelog must say so.
        lines.length = 0
        expect(await main(dir, ['--update'], {log: (l) => lines.push(l)})).to.equal(1)
        expect(lines.join('\n')).to.match(/not in CHANGELOG.md's Unreleased section: keys rotate --max-age/)
      } finally {
        rmSync(dir, {recursive: true, force: true})
      }
    })
  })
})
