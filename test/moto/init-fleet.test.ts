/**
 * `psb init` over many targets (issue 17), the built CLI against moto with IAM enforced. The
 * target accounts are made with Organizations' CreateAccount, which gives each its
 * OrganizationAccountAccessRole (an administrator, trusting the management account: the
 * launcher's fixes 9 and 10); AssumeRole into such an account acts in its own isolated S3 and IAM.
 */
import {expect} from 'chai'
import {readFileSync, writeFileSync} from 'node:fs'
import {CreateOrganizationalUnitCommand, ListRootsCommand, MoveAccountCommand, OrganizationsClient} from '@aws-sdk/client-organizations'
import {GetBucketLocationCommand, ListObjectsV2Command, S3Client} from '@aws-sdk/client-s3'
import {AssumeRoleCommand, GetCallerIdentityCommand, STSClient} from '@aws-sdk/client-sts'
import {DecryptCommand, DescribeKeyCommand, EncryptCommand, KMSClient} from '@aws-sdk/client-kms'
import {useMoto, ACCOUNT_ID} from '../support/moto.js'
import {TempHome, runPsb, type RunResult} from '../support/cli.js'
import {VERIFY_SENTINEL_CALLS, mutatingCalls} from '../support/calls.js'
import {callLog, orgAccounts} from '../support/fleet-fixture.js'

interface Row {
  account: string
  region: string
  bucket: string
  profile: string
  user: string
  status: 'ok' | 'failed'
  changed: boolean
  ms: number
  changes: {item: string; status: string}[]
  error?: {code: string; message: string; step?: string}
}

const REGIONS = ['us-east-1', 'eu-west-1']

describe('psb init over many targets (subprocess, moto, IAM enforced)', function () {
  this.timeout(240_000)
  const moto = useMoto()
  let home: TempHome
  const ADMIN_SECTION = () => `# the administrator, by hand\n[admin]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n`

  beforeEach(() => {
    home = new TempHome('psb-fleet-')
    writeFileSync(home.credentialsFile, ADMIN_SECTION(), {mode: 0o600})
  })
  afterEach(() => home.cleanup())

  const org = () => new OrganizationsClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1})
  const accounts = (n: number) => orgAccounts(moto.endpoint, moto.admin, n)
  const targetsOf = (ids: string[]) => ids.flatMap((a) => REGIONS.map((r) => `${a}/${r}`))
  const calls = () => callLog(home)
  const psb = (args: string[]): Promise<RunResult> =>
    runPsb(['init', ...args, '--endpoint', moto.endpoint, '--admin-profile', 'admin', '--region', 'us-east-1', '--json'], home, {env: {PSB_KEY_PROPAGATION_POLL_MS: '20', PSB_CALL_LOG: home.path('calls.log')}})
  const rows = (r: RunResult): Row[] => (JSON.parse(r.stdout) as {targets: Row[]}).targets
  const fleet = (targets: string[], extra: string[] = []) => psb([...targets.flatMap((t) => ['--target', t]), ...extra])
  const exit = (r: RunResult, code: number) => expect(r.code, `exit ${r.code}\n${r.stdout}\n${r.stderr}`).to.equal(code)
  const profileKeys = (): Record<string, {accessKeyId: string; secretAccessKey: string}> => {
    const out: Record<string, {accessKeyId: string; secretAccessKey: string}> = {}
    for (const m of readFileSync(home.credentialsFile, 'utf8').matchAll(/^\[([^\]]+)\]\naws_access_key_id = (\S+)\naws_secret_access_key = (\S+)$/gm)) {
      expect(out[m[1]!], `profile ${m[1]} twice`).to.equal(undefined)
      out[m[1]!] = {accessKeyId: m[2]!, secretAccessKey: m[3]!}
    }
    return out
  }

  it('3 accounts × 2 regions: each bucket in its account and region, each profile its own working key, no user reaches another account\'s bucket', async () => {
    const ids = await accounts(3)
    const r = await fleet(targetsOf(ids), ['--concurrency', '6'])
    exit(r, 0)
    const got = rows(r)
    expect(got.map((t) => `${t.account}/${t.region}`)).to.have.members(targetsOf(ids))
    expect(got.every((t) => t.status === 'ok' && t.changed)).to.equal(true)
    const keys = profileKeys()
    // Every profile written by six concurrent runs is there, and the hand-written admin section too.
    expect(Object.keys(keys)).to.have.members(['admin', ...got.map((t) => t.profile)])
    expect(readFileSync(home.credentialsFile, 'utf8').startsWith(ADMIN_SECTION())).to.equal(true)
    expect(new Set(got.map((t) => keys[t.profile]!.accessKeyId)).size).to.equal(6)
    for (const t of got) {
      const creds = keys[t.profile]!
      const who = await new STSClient({region: t.region, endpoint: moto.endpoint, credentials: creds}).send(new GetCallerIdentityCommand({}))
      expect(who.Account, t.profile).to.equal(t.account)
      expect(who.Arn).to.match(new RegExp(`:user/${t.user}$`))
      const s3 = new S3Client({region: t.region, endpoint: moto.endpoint, forcePathStyle: true, credentials: creds, maxAttempts: 1})
      const loc = await s3.send(new GetBucketLocationCommand({Bucket: t.bucket}))
      expect(loc.LocationConstraint || 'us-east-1').to.equal(t.region)
      await s3.send(new ListObjectsV2Command({Bucket: t.bucket, Prefix: '.pulumi/'}))
      for (const other of got.filter((o) => o.account !== t.account)) {
        const denied = await s3.send(new ListObjectsV2Command({Bucket: other.bucket, Prefix: '.pulumi/'})).then(
          () => undefined,
          (e: {name?: string}) => e.name,
        )
        expect(denied, `${t.profile} must not reach ${other.bucket}`).to.be.oneOf(['AccessDenied', 'NoSuchBucket'])
      }
    }
    // Each profile's region is in the config file.
    const config = readFileSync(home.configFile, 'utf8')
    for (const t of got) expect(config).to.contain(`[profile ${t.profile}]\nregion = ${t.region}`)
    // No read made twice in a target: the admin's identity once a run (the preflight), the
    // session's from AssumeRole's answer; per target one GetCallerIdentity for the new key's
    // proof and one for verify, one GetUser (the scope check's, reused by the user step), one
    // lifecycle read by the bucket step and one shared by verify's two lifecycle checks.
    const count = (op: string) => calls().split('\n').filter((l) => l === op).length
    expect(count('sts GetCallerIdentity')).to.equal(1 + 2 * 6)
    expect(count('sts AssumeRole')).to.equal(6)
    expect(count('iam GetUser')).to.equal(6)
    expect(count('s3 GetBucketLifecycleConfiguration')).to.equal(2 * 6)
  })

  it('a target whose role cannot be assumed fails alone: the other 5 finish, exit 1', async () => {
    const ids = await accounts(3)
    const good = targetsOf(ids).slice(0, 5)
    const r = await fleet([...good, '999999999999/us-east-1'])
    exit(r, 1)
    const got = rows(r)
    const bad = got.find((t) => t.account === '999999999999')!
    expect(bad.status).to.equal('failed')
    expect(bad.error!.code).to.equal('AccessDenied')
    expect(bad.error!.message).to.contain('sts:AssumeRole').and.contain('arn:aws:iam::999999999999:role/OrganizationAccountAccessRole')
    expect(bad.changes).to.deep.equal([])
    expect(got.filter((t) => t.status === 'ok').map((t) => `${t.account}/${t.region}`)).to.have.members(good)
    expect(Object.keys(profileKeys())).to.have.members(['admin', ...got.filter((t) => t.status === 'ok').map((t) => t.profile)])
  })

  it('--shard 1/2 and 2/2: disjoint, their union is every target; a re-run of all makes 0 writes', async () => {
    const ids = await accounts(3)
    const all = targetsOf(ids)
    const r1 = await fleet(all, ['--shard', '1/2'])
    exit(r1, 0)
    const r2 = await fleet(all, ['--shard', '2/2'])
    exit(r2, 0)
    const a = rows(r1).map((t) => `${t.account}/${t.region}`)
    const b = rows(r2).map((t) => `${t.account}/${t.region}`)
    expect(a.filter((x) => b.includes(x))).to.deep.equal([])
    expect([...a, ...b]).to.have.members(all)
    expect(a.length).to.be.greaterThan(0)
    expect(b.length).to.be.greaterThan(0)
    const before = readFileSync(home.credentialsFile, 'utf8')
    writeFileSync(home.path('calls.log'), '')
    const again = await fleet(all)
    exit(again, 0)
    expect(rows(again).every((t) => t.status === 'ok' && !t.changed)).to.equal(true)
    // Only verify's own sentinel object, once per target.
    const sentinels = all.flatMap(() => VERIFY_SENTINEL_CALLS)
    expect(mutatingCalls(calls()).sort()).to.deep.equal(sentinels.sort())
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(before)
  })

  it('--secrets kms: each target its own KMS key in its own account, usable by its own profile only; the provider in each row; a re-run makes 0 writes', async () => {
    const ids = await accounts(2)
    const targets = ids.map((a) => `${a}/eu-west-1`)
    const r = await fleet(targets, ['--secrets', 'kms'])
    exit(r, 0)
    const got = rows(r) as (Row & {kms: {providerUrl: string; keyArn: string | null} | null})[]
    const keys = profileKeys()
    for (const t of got) {
      expect(t.kms!.providerUrl).to.equal(`awskms://alias/pulumi-${t.bucket}?region=eu-west-1`)
      expect(t.kms!.keyArn).to.contain(`:kms:eu-west-1:${t.account}:key/`)
      expect(t.changes.map((c) => `${c.status} ${c.item}`)).to.include(`created key alias/pulumi-${t.bucket}`)
      // The key is in the target's account (read through its OrganizationAccountAccessRole).
      const c = (await new STSClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin}).send(new AssumeRoleCommand({RoleArn: `arn:aws:iam::${t.account}:role/OrganizationAccountAccessRole`, RoleSessionName: 't'}))).Credentials!
      const inAccount = new KMSClient({region: 'eu-west-1', endpoint: moto.endpoint, credentials: {accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken!}})
      expect((await inAccount.send(new DescribeKeyCommand({KeyId: `alias/pulumi-${t.bucket}`}))).KeyMetadata!.Arn).to.contain(`:kms:eu-west-1:${t.account}:key/`)
      // The target's own profile encrypts and decrypts with it; the other target's profile cannot.
      const own = new KMSClient({region: 'eu-west-1', endpoint: moto.endpoint, credentials: keys[t.profile]!, maxAttempts: 1})
      const blob = (await own.send(new EncryptCommand({KeyId: `alias/pulumi-${t.bucket}`, Plaintext: Buffer.from('s')}))).CiphertextBlob!
      expect(Buffer.from((await own.send(new DecryptCommand({CiphertextBlob: blob}))).Plaintext!).toString()).to.equal('s')
      const other = got.find((o) => o.account !== t.account)!
      const stranger = new KMSClient({region: 'eu-west-1', endpoint: moto.endpoint, credentials: keys[other.profile]!, maxAttempts: 1})
      const denied = await stranger.send(new DecryptCommand({CiphertextBlob: blob})).then(() => 'allowed', (e: {name?: string}) => e.name)
      expect(denied).not.to.equal('allowed')
    }
    writeFileSync(home.path('calls.log'), '')
    const again = await fleet(targets, ['--secrets', 'kms'])
    exit(again, 0)
    expect(rows(again).every((t) => t.status === 'ok' && !t.changed)).to.equal(true)
    expect(mutatingCalls(calls()).sort()).to.deep.equal(targets.flatMap(() => VERIFY_SENTINEL_CALLS).sort())
  })

  it('--dry-run lists every target\'s plan and makes no call that changes anything', async () => {
    const ids = await accounts(2)
    const r = await fleet(targetsOf(ids), ['--dry-run'])
    exit(r, 0)
    const got = rows(r)
    expect(got).to.have.length(4)
    for (const t of got) {
      expect(t.status).to.equal('ok')
      expect(t.changes.filter((c) => c.status === 'planned').map((c) => c.item)).to.include.members(['bucket', `user ${t.user}`, 'access key'])
    }
    expect(mutatingCalls(calls())).to.deep.equal([])
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(ADMIN_SECTION())
  })

  it('without --json: the plan of each target, one summary row per target, the failure with its hint', async () => {
    const [a] = await accounts(1)
    const r = await runPsb(['init', '--target', `${a}/us-east-1`, '--target', `${a}/eu-west-1`, '--target', '999999999999/us-east-1', '--dry-run', '--endpoint', moto.endpoint, '--admin-profile', 'admin', '--region', 'us-east-1'], home, {env: {PSB_CALL_LOG: home.path('calls.log')}})
    exit(r, 1)
    expect(r.stdout).to.match(/^psb init \(dry run: nothing will be changed\): 3 targets, 8 at once, through role OrganizationAccountAccessRole$/m)
    expect(r.stdout).to.contain(`${a}/eu-west-1:\n  planned   bucket`)
    expect(r.stdout).to.match(/^ACCOUNT\s+REGION\s+BUCKET\s+PROFILE\s+STATUS\s+TIME$/m)
    expect(r.stdout).to.match(new RegExp(`^${a}\\s+eu-west-1\\s+pulumi-state-${a}-eu-west-1\\s+pulumi-${a}-eu-west-1\\s+planned\\s+\\d+\\.\\d s$`, 'm'))
    expect(r.stdout).to.match(/^999999999999\s+us-east-1\s+.*failed/m)
    expect(r.stdout).to.contain('999999999999/us-east-1 failed: AWS denied sts:AssumeRole on arn:aws:iam::999999999999:role/OrganizationAccountAccessRole')
    expect(r.stdout).to.contain('Hint: The role OrganizationAccountAccessRole must exist in account 999999999999, trust the administrator')
    expect(r.stdout).to.contain('Dry run: nothing was changed.')
    expect(r.stdout + r.stderr).not.to.contain(moto.admin.secretAccessKey)
    expect(mutatingCalls(calls())).to.deep.equal([])
  })

  it('--org-accounts with --ou and --exclude picks the accounts (dry run)', async () => {
    const ids = await accounts(3)
    const root = (await org().send(new ListRootsCommand({}))).Roots![0]!.Id!
    const ou = (await org().send(new CreateOrganizationalUnitCommand({Name: 'prod', ParentId: root}))).OrganizationalUnit!.Id!
    await org().send(new MoveAccountCommand({AccountId: ids[2]!, SourceParentId: root, DestinationParentId: ou}))
    const inOu = await psb(['--org-accounts', '--ou', ou, '--dry-run'])
    exit(inOu, 0)
    expect(rows(inOu).map((t) => `${t.account}/${t.region}`)).to.deep.equal([`${ids[2]}/us-east-1`])
    const excluded = await psb(['--org-accounts', '--exclude', ACCOUNT_ID, '--exclude', ids[0]!, '--dry-run'])
    exit(excluded, 0)
    expect(rows(excluded).map((t) => t.account)).to.have.members([ids[1]!, ids[2]!])
  })
})
