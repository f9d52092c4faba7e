/**
 * A fleet of two accounts on moto (IAM enforcement on): the management account and one made
 * with organizations:CreateAccount, entered by assuming its OrganizationAccountAccessRole.
 * The credentials file holds an admin profile for each (admin-main, admin-other: a session);
 * initTarget runs `psb init` of one ACCOUNT/REGION with its account's admin, writing the
 * fleet's profile pulumi-{account}-{region} for the user pulumi-{region}.
 */
import {expect} from 'chai'
import {readFileSync, writeFileSync} from 'node:fs'
import {OrganizationsClient, CreateOrganizationCommand, CreateAccountCommand} from '@aws-sdk/client-organizations'
import {STSClient, AssumeRoleCommand} from '@aws-sdk/client-sts'
import {ACCOUNT_ID, type Keys} from './moto.js'
import {TempHome, runPsb, type RunResult} from './cli.js'

/** What psb logged to `calls.log` in `home` (PSB_CALL_LOG), '' before the first call. */
export function callLog(home: TempHome): string {
  try {
    return readFileSync(home.path('calls.log'), 'utf8')
  } catch {
    return ''
  }
}

/** An organisation in moto with `n` member accounts (`team-0`…), their ids. */
export async function orgAccounts(endpoint: string, admin: Keys, n: number): Promise<string[]> {
  const org = new OrganizationsClient({region: 'us-east-1', endpoint, credentials: admin, maxAttempts: 1})
  await org.send(new CreateOrganizationCommand({FeatureSet: 'ALL'}))
  const ids: string[] = []
  for (let i = 0; i < n; i++) ids.push((await org.send(new CreateAccountCommand({AccountName: `team-${i}`, Email: `team-${i}@example.com`}))).CreateAccountStatus!.AccountId!)
  return ids
}

export const ok = (r: RunResult, code = 0) => expect(r.code, `exit ${r.code}\n${r.stdout}\n${r.stderr}`).to.equal(code)

export class FleetHome {
  private constructor(
    readonly moto: {endpoint: string; admin: Keys},
    readonly home: TempHome,
    readonly other: string,
    readonly otherAdmin: Keys & {sessionToken: string},
  ) {}

  static async create(moto: {endpoint: string; admin: Keys}): Promise<FleetHome> {
    const home = new TempHome()
    const org = new OrganizationsClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1})
    await org.send(new CreateOrganizationCommand({FeatureSet: 'ALL'}))
    const other = (await org.send(new CreateAccountCommand({AccountName: 'workload', Email: 'workload@example.com'}))).CreateAccountStatus!.AccountId!
    const sts = new STSClient({region: 'us-east-1', endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1})
    const c = (await sts.send(new AssumeRoleCommand({RoleArn: `arn:aws:iam::${other}:role/OrganizationAccountAccessRole`, RoleSessionName: 'psb-test-setup'}))).Credentials!
    const otherAdmin = {accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken!}
    writeFileSync(
      home.credentialsFile,
      `[admin-main]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n\n` +
        `[admin-other]\naws_access_key_id = ${otherAdmin.accessKeyId}\naws_secret_access_key = ${otherAdmin.secretAccessKey}\naws_session_token = ${otherAdmin.sessionToken}\n`,
      {mode: 0o600},
    )
    return new FleetHome(moto, home, other, otherAdmin)
  }

  env(extra: Record<string, string> = {}): Record<string, string> {
    return {PSB_KEY_PROPAGATION_POLL_MS: '20', PSB_CALL_LOG: this.home.path('calls.log'), ...extra}
  }

  calls(): string {
    return callLog(this.home)
  }

  resetCalls(): void {
    writeFileSync(this.home.path('calls.log'), '')
  }

  /** `psb init` of one target with its account's admin: bucket, user pulumi-{region}, key in pulumi-{account}-{region}. */
  async initTarget(account: string, region: string): Promise<void> {
    const admin = account === ACCOUNT_ID ? 'admin-main' : 'admin-other'
    const args = ['init', '--bucket', `pulumi-state-${account}-${region}`, '--region', region, '--endpoint', this.moto.endpoint, '--admin-profile', admin]
    ok(await runPsb([...args, '--user', `pulumi-${region}`, '--profile', `pulumi-${account}-${region}`, '--no-login', '--no-verify', '--yes'], this.home, {env: this.env()}))
  }

  /** The credentials file without the admin profiles. */
  dropAdmins(): void {
    const text = readFileSync(this.home.credentialsFile, 'utf8')
    writeFileSync(this.home.credentialsFile, text.replace(/\[admin-main\][^[]*/, '').replace(/\[admin-other\][^[]*/, ''), {mode: 0o600})
    expect(readFileSync(this.home.credentialsFile, 'utf8')).not.to.contain('admin')
  }

  cleanup(): void {
    this.home.cleanup()
  }
}
