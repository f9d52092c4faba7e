/**
 * fleet/assume.ts against moto (IAM enforced): the target context acts in the target account,
 * a role that cannot be assumed fails at once naming it, the credentials are renewed once
 * shortly before they expire; and the rotation session that lets several first keys run at
 * once in one process recovers only the ended runs of its own profile.
 */
import {expect} from 'chai'
import {rmSync} from 'node:fs'
import {CreateAccountCommand, CreateOrganizationCommand, OrganizationsClient} from '@aws-sdk/client-organizations'
import {GetCallerIdentityCommand} from '@aws-sdk/client-sts'
import {useMoto, ACCOUNT_ID} from '../support/moto.js'
import {rejection, thrown} from '../support/errors.js'
import {tempHomeDir} from '../support/keys-fixture.js'
import {createAwsContext} from '../../src/lib/aws/client.js'
import {DEFAULT_ROLE_NAME, assumedRoleProvider, roleArn, sessionName, targetContext, validateRoleName} from '../../src/lib/fleet/assume.js'
import {EXIT} from '../../src/lib/errors.js'
import {Journal} from '../../src/lib/keys/journal.js'
import {makeState, openRotationSession} from '../../src/lib/keys/run.js'
import {recoverForProfile} from '../../src/lib/keys/recovery.js'

describe('fleet/assume: names (offline)', () => {
  it('the role ARN follows the region\'s partition; the session name says psb, the command and the target', () => {
    expect(roleArn('111111111111', 'eu-west-1', DEFAULT_ROLE_NAME)).to.equal('arn:aws:iam::111111111111:role/OrganizationAccountAccessRole')
    expect(roleArn('111111111111', 'cn-north-1', 'R')).to.equal('arn:aws-cn:iam::111111111111:role/R')
    expect(roleArn('111111111111', 'us-gov-west-1', 'R')).to.equal('arn:aws-us-gov:iam::111111111111:role/R')
    expect(sessionName('init', '111111111111', 'eu-west-1')).to.equal('psb-init-111111111111-eu-west-1')
    expect(sessionName('keys rotate', '111111111111', 'ap-southeast-2')).to.equal('psb-keys-rotate-111111111111-ap-southeast-2')
    expect(sessionName('x'.repeat(80), '111111111111', 'eu-west-1')).to.have.length(64)
  })

  it('a role name that is an ARN, a path or too long is exit 2', () => {
    for (const bad of ['arn:aws:iam::111111111111:role/R', 'team/R', '', 'R'.repeat(65), 'a b']) expect(thrown(() => validateRoleName(bad)).exitCode, bad).to.equal(EXIT.USAGE)
    validateRoleName('Deploy+Role=x,y.z@w_-')
  })
})

describe('fleet/assume: targetContext (moto, IAM enforced)', function () {
  this.timeout(60_000)
  const moto = useMoto()
  const admin = () => createAwsContext({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1})
  async function memberAccount(): Promise<string> {
    const org = new OrganizationsClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1})
    await org.send(new CreateOrganizationCommand({FeatureSet: 'ALL'}))
    return (await org.send(new CreateAccountCommand({AccountName: 'm', Email: 'm@example.com'}))).CreateAccountStatus!.AccountId!
  }

  it('acts in the target account, in the target region, as the assumed role with psb\'s session name', async () => {
    const account = await memberAccount()
    const ctx = await targetContext(admin(), {account, region: 'eu-west-1'}, {roleName: DEFAULT_ROLE_NAME})
    expect(ctx.options.region).to.equal('eu-west-1')
    const who = await (await ctx.sts()).send(new GetCallerIdentityCommand({}))
    expect(who.Account).to.equal(account)
    expect(who.Arn).to.equal(`arn:aws:sts::${account}:assumed-role/${DEFAULT_ROLE_NAME}/psb-init-${account}-eu-west-1`)
    expect(account).not.to.equal(ACCOUNT_ID)
  })

  it('a role that does not exist fails at once: AccessDenied naming sts:AssumeRole and the role', async () => {
    const account = await memberAccount()
    const e = await rejection(targetContext(admin(), {account, region: 'us-east-1'}, {roleName: 'NoSuchRole'}))
    expect(e.code).to.equal('AccessDenied')
    expect(e.message).to.contain('sts:AssumeRole').and.contain(`arn:aws:iam::${account}:role/NoSuchRole`)
    const f = await rejection(targetContext(admin(), {account: '999999999999', region: 'us-east-1'}, {roleName: DEFAULT_ROLE_NAME}))
    expect(f.code).to.equal('AccessDenied')
  })

  it('serves the same credentials while they are fresh, and renews them once (for every caller) near their expiry', async () => {
    const account = await memberAccount()
    const arn = roleArn(account, 'us-east-1', DEFAULT_ROLE_NAME)
    const fresh = await assumedRoleProvider(admin(), arn, 'psb-test')
    const a = await fresh()
    expect((await fresh()).accessKeyId).to.equal(a.accessKeyId)
    expect(a.expiration!.getTime()).to.be.greaterThan(Date.now() + 30 * 60_000)
    // Renew when less than 2 hours are left: always, for one-hour credentials.
    const expiring = await assumedRoleProvider(admin(), arn, 'psb-test', {refreshBeforeMs: 2 * 3600_000})
    const [b, c] = await Promise.all([expiring(), expiring()])
    expect(b.accessKeyId).to.equal(c.accessKeyId)
    const d = await expiring()
    expect(d.accessKeyId).not.to.equal(b.accessKeyId)
  })
})

describe('keys: a rotation session shared by concurrent first keys (init over a fleet)', () => {
  let home: ReturnType<typeof tempHomeDir>
  beforeEach(() => {
    home = tempHomeDir()
  })
  afterEach(() => rmSync(home.dir, {recursive: true, force: true}))
  const entry = (id: string, profile: string) => ({id, kind: 'create' as const, user: 'pulumi-eu-west-1', profile, profiles: [profile], step: 'creating' as const, acting: 'admin' as const, startedAt: new Date().toISOString(), createWindow: {from: new Date().toISOString()}})

  it('recovers neither a live run of the session nor an ended run of another profile whose user has the same name', async () => {
    // An ended run of another target: same user name, another account's user.
    const before = new Journal(home.credentialsFile)
    before.record(entry('ended-other', 'pulumi-222222222222-eu-west-1'))
    const session = openRotationSession(home.credentialsFile, 'init')
    try {
      // A live run of this session, for a third target.
      session.journal.record(entry('live-other', 'pulumi-333333333333-eu-west-1'))
      const state = makeState({region: 'eu-west-1', env: home.env, session})
      state.journal = session.journal
      const outcomes = await recoverForProfile(state, 'pulumi-111111111111-eu-west-1', 'pulumi-eu-west-1')
      expect(outcomes).to.deep.equal([])
      expect(session.journal.list().map((e) => e.id)).to.have.members(['ended-other', 'live-other'])
      // Without the session (a single run) the same user name would make both entries its own.
      const single = makeState({region: 'eu-west-1', env: home.env})
      single.journal = session.journal
      await rejection(recoverForProfile(single, 'pulumi-111111111111-eu-west-1', 'pulumi-eu-west-1'))
    } finally {
      session.release()
    }
  })
})
