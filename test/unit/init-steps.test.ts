import {expect} from 'chai'
import {initTasks, type InitPlan} from '../../src/cli/tasks.js'
import {renderLogin} from '../../src/cli/login-render.js'
import type {LoginResult} from '../../src/lib/pulumi/login.js'

const plan = (over: Partial<InitPlan> = {}) =>
  ({
    bucket: {bucket: 'acme-state', region: 'eu-west-1'},
    user: {user: 'pulumi', bucket: 'acme-state'},
    key: {user: 'pulumi', profile: 'team-a'},
    login: {bucket: 'acme-state'},
    verify: {},
    dryRun: false,
    env: {},
    ...over,
  }) as unknown as InitPlan

const skipOf = (t: {skip?: unknown}) => (typeof t.skip === 'function' ? (t.skip as () => unknown)() : t.skip)

describe('init steps: one description per step, rendered by listr2', () => {
  it('lists the steps in order with their titles', () => {
    const tasks = initTasks(plan())
    expect(tasks.map((t) => t.title)).to.deep.equal([
      'Bucket and IAM user (concurrently)',
      'IAM user policy: grant the bucket\'s KMS key',
      'KMS key for Pulumi secrets',
      'Access key of pulumi in profile team-a',
      'Pulumi login',
      'Verify (with the profile\'s own key)',
      'Retire user',
    ])
    expect(tasks.slice(2).map((t) => skipOf(t))).to.deep.equal(['skipped (passphrase: no --secrets kms)', undefined, false, false, 'skipped (no --retire-user)'])
  })

  it('--keyless: a role instead of the user, a role profile instead of the key, verify as the role, the retirement last', () => {
    const keyless = {role: {role: 'pulumi-state'}, profile: 'pulumi-state', source: {sourceProfile: 'admin'}, github: [], retire: {user: 'pulumi', deleteUser: false}}
    const tasks = initTasks(plan({keyless, key: {user: 'pulumi', profile: 'pulumi-state'}} as unknown as Partial<InitPlan>))
    expect(tasks.map((t) => t.title)).to.deep.equal([
      'Bucket and IAM role (concurrently)',
      'IAM user policy: grant the bucket\'s KMS key',
      'KMS key for Pulumi secrets',
      'Role profile pulumi-state (no key)',
      'Pulumi login',
      'Verify (as the role)',
      'Retire user pulumi',
    ])
    expect(skipOf(tasks[6])).to.equal(false)
  })

  it('runs the secrets key step with --secrets kms (its plan), after the user and before the key', () => {
    const tasks = initTasks(plan({secrets: {bucket: 'acme-state', region: 'eu-west-1'}}))
    expect(tasks[2].title).to.equal('KMS key for Pulumi secrets')
    expect(skipOf(tasks[2])).to.equal(false)
  })

  it('skips login with --no-login and verify in a dry run or with --no-verify', () => {
    expect(skipOf(initTasks(plan({login: undefined}))[4])).to.equal('skipped (--no-login)')
    expect(skipOf(initTasks(plan({dryRun: true}))[5])).to.equal('skipped (dry run: verify writes a sentinel object)')
    expect(skipOf(initTasks(plan({verify: undefined}))[5])).to.equal('skipped (--no-verify)')
  })
})

describe('login rendering', () => {
  const result = (over: Partial<LoginResult> = {}): LoginResult => ({
    url: 's3://acme-state?region=eu-west-1',
    pulumiVersion: '3.250.0',
    dialect: 'native',
    form: 'new',
    rejectedBy: [],
    changes: [{item: 'pulumi login', status: 'planned', detail: 's3://acme-state?region=eu-west-1'}],
    warnings: [],
    env: {},
    commands: ['pulumi login s3://acme-state', 'pulumi whoami -v'],
    ...over,
  })

  it('a dry run lists the commands it would run and says nothing changed', () => {
    const lines: string[] = []
    renderLogin(result(), true, (l) => lines.push(l))
    expect(lines[1]).to.equal('Pulumi:      v3.250.0 (URL for Pulumi 3.245 or newer, --dialect native)')
    expect(lines.slice(-3)).to.deep.equal(['would run: pulumi login s3://acme-state', 'would run: pulumi whoami -v', 'Dry run: nothing was changed.'])
  })

  it('names the environment every pulumi command needs', () => {
    const lines: string[] = []
    renderLogin(result({whoami: 'me', env: {AWS_PROFILE: 'team-a'}, form: 'legacy-env-profile'}), false, (l) => lines.push(l))
    expect(lines[1]).to.contain('Pulumi older than 3.113')
    expect(lines.at(-2)).to.match(/^Logged in: Pulumi now uses s3:\/\/acme-state\?region=eu-west-1 as me/)
    expect(lines.at(-1)).to.equal('Every pulumi command needs: AWS_PROFILE=team-a')
  })
})
