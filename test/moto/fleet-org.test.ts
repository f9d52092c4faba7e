/**
 * listOrgAccounts against moto's AWS Organizations (IAM enforcement on): every ACTIVE account,
 * or those under OUs (child OUs included), less --exclude; a closed (SUSPENDED) account is left out.
 */
import {expect} from 'chai'
import {
  OrganizationsClient,
  CreateOrganizationCommand,
  CreateAccountCommand,
  ListRootsCommand,
  CreateOrganizationalUnitCommand,
  MoveAccountCommand,
  CloseAccountCommand,
} from '@aws-sdk/client-organizations'
import {IAMClient, CreateUserCommand, CreateAccessKeyCommand, PutUserPolicyCommand} from '@aws-sdk/client-iam'
import {useMoto, ACCOUNT_ID, type Keys} from '../support/moto.js'
import {rejection} from '../support/errors.js'
import {createAwsContext} from '../../src/lib/aws/client.js'
import {listOrgAccounts} from '../../src/lib/fleet/targets.js'
import {EXIT} from '../../src/lib/errors.js'

describe('listOrgAccounts (moto Organizations, IAM enforcement on)', function () {
  this.timeout(60000)
  const moto = useMoto()
  const org = () => new OrganizationsClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1})
  const ctx = (k: Keys = moto.admin) => createAwsContext({region: 'us-east-1', endpoint: moto.endpoint, credentials: k, maxAttempts: 1})

  async function account(name: string): Promise<string> {
    const r = await org().send(new CreateAccountCommand({AccountName: name, Email: `${name}@example.com`}))
    return r.CreateAccountStatus!.AccountId!
  }

  /** root ─ a, b; ou "prod" ─ c, d(closed); ou "prod/eu" (child of prod) ─ e; ou "dev" ─ f. */
  async function tree() {
    await org().send(new CreateOrganizationCommand({FeatureSet: 'ALL'}))
    const root = (await org().send(new ListRootsCommand({}))).Roots![0]!.Id!
    const ou = async (name: string, parent: string) => (await org().send(new CreateOrganizationalUnitCommand({Name: name, ParentId: parent}))).OrganizationalUnit!.Id!
    const prod = await ou('prod', root)
    const eu = await ou('eu', prod)
    const dev = await ou('dev', root)
    const ids: Record<string, string> = {}
    for (const n of ['a', 'b', 'c', 'd', 'e', 'f']) ids[n] = await account(`acct-${n}`)
    const move = (id: string, to: string) => org().send(new MoveAccountCommand({AccountId: id, SourceParentId: root, DestinationParentId: to}))
    await move(ids.c!, prod)
    await move(ids.d!, prod)
    await move(ids.e!, eu)
    await move(ids.f!, dev)
    await org().send(new CloseAccountCommand({AccountId: ids.d!}))
    return {root, prod, eu, dev, ids}
  }

  it('lists every ACTIVE account (the management account too), sorted, without the closed one', async () => {
    const {ids} = await tree()
    const all = await listOrgAccounts(ctx(), {})
    const expected = [ACCOUNT_ID, ids.a!, ids.b!, ids.c!, ids.e!, ids.f!].sort()
    expect(all).to.deep.equal(expected)
    expect(all).not.to.include(ids.d)
  })

  it('--ou: the accounts under the OUs, child OUs included; --exclude drops accounts', async () => {
    const {prod, dev, eu, ids} = await tree()
    expect(await listOrgAccounts(ctx(), {ou: [prod]})).to.deep.equal([ids.c!, ids.e!].sort())
    expect(await listOrgAccounts(ctx(), {ou: [eu, dev]})).to.deep.equal([ids.e!, ids.f!].sort())
    expect(await listOrgAccounts(ctx(), {ou: [prod, eu]})).to.deep.equal([ids.c!, ids.e!].sort())
    expect(await listOrgAccounts(ctx(), {ou: [prod], exclude: [ids.e!]})).to.deep.equal([ids.c!])
    expect(await listOrgAccounts(ctx(), {exclude: [ACCOUNT_ID, ids.a!]})).to.deep.equal([ids.b!, ids.c!, ids.e!, ids.f!].sort())
  })

  it('a bad --exclude or --ou id is exit 2 before any call', async () => {
    const e = await rejection(listOrgAccounts(createAwsContext({region: 'us-east-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1, credentials: moto.admin}), {exclude: ['1234']}))
    expect(e.exitCode).to.equal(EXIT.USAGE)
    expect(e.message).to.contain('--exclude')
    const f = await rejection(listOrgAccounts(ctx(), {ou: ['prod']}))
    expect(f.exitCode).to.equal(EXIT.USAGE)
  })

  it('a caller not allowed organizations:ListAccounts gets an error naming the action', async () => {
    await tree()
    const iam = new IAMClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1})
    await iam.send(new CreateUserCommand({UserName: 'no-org'}))
    await iam.send(new PutUserPolicyCommand({UserName: 'no-org', PolicyName: 's3', PolicyDocument: JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*'}]})}))
    const k = (await iam.send(new CreateAccessKeyCommand({UserName: 'no-org'}))).AccessKey!
    const e = await rejection(listOrgAccounts(ctx({accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey!}), {}))
    expect(e.message).to.contain('organizations:ListAccounts')
    expect(e.exitCode).to.equal(EXIT.FAILED)
  })
})
