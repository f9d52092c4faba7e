/**
 * Acting inside a target account of a fleet: an AwsContext whose credentials come from
 * sts:AssumeRole, called with the administrator's credentials, on
 * `arn:<partition>:iam::<account>:role/<name>` (default OrganizationAccountAccessRole, the
 * role AWS Organizations makes in every account it creates). The session name says psb, the
 * command and the target (`psb-init-111111111111-eu-west-1`), so CloudTrail in the target
 * account shows who acted and why.
 *
 * The role is assumed once when the context is made (so a target whose role cannot be
 * assumed fails at once, before any write), and again shortly before the credentials expire:
 * one provider shared by every client of the context (S3 per region, IAM, STS, KMS).
 */
import {createAwsContext, type AwsContext, type CredentialProvider, type StaticCredentials} from '../aws/client.js'
import {awsCall} from '../aws/errors.js'
import {partitionOf} from '../bucket/options.js'
import {echo} from '../echo.js'
import {PsbError, badInput, isPsbError} from '../errors.js'
import {registerSecret} from '../redact.js'

export const DEFAULT_ROLE_NAME = 'OrganizationAccountAccessRole'

/** Asked for one hour; renewed when less than REFRESH_BEFORE_MS is left. */
export const SESSION_SECONDS = 3600
export const REFRESH_BEFORE_MS = 5 * 60_000

/** An IAM role name (the last part of its ARN; a path is not part of the name). */
export function validateRoleName(name: string): void {
  if (!/^[\w+=,.@-]{1,64}$/.test(name)) {
    throw badInput(
      `--assume-role-name ${echo(name, {what: 'role name', shape: /^[\w+=,.@/-]{1,128}$/})} is not an IAM role name: 1 to 64 letters, digits and + = , . @ _ -.`,
      `Give the role's name only (not its ARN or path), e.g. --assume-role-name ${DEFAULT_ROLE_NAME}.`,
      'RoleNameInvalid',
    )
  }
}

export function roleArn(account: string, region: string, roleName: string): string {
  return `arn:${partitionOf(region)}:iam::${account}:role/${roleName}`
}

/** `psb-<command>-<account>-<region>`, cut to the 64 characters STS allows. */
export function sessionName(command: string, account: string, region: string): string {
  return `psb-${command.replace(/[^\w+=,.@-]+/g, '-')}-${account}-${region}`.slice(0, 64)
}

export interface TargetContextOptions {
  /** The role to assume in the target account (default OrganizationAccountAccessRole). */
  roleName: string
  /** The psb command, for the session name (default "init"). */
  command?: string
}

type Expiring = StaticCredentials & {expiration?: Date}

/** AssumeRole denied: the role is missing, or does not trust the administrator, or the administrator may not assume it. */
function roleDenied(error: PsbError, arn: string): PsbError {
  const name = arn.split('/').at(-1)
  return new PsbError(error.message, {
    code: error.code,
    cause: error,
    data: error.data,
    hint: `The role ${name} must exist in account ${arn.split(':')[4]}, trust the administrator's account in its trust policy, and the administrator must be allowed sts:AssumeRole on it. Accounts that AWS Organizations created have ${DEFAULT_ROLE_NAME}; for others, name their role with --assume-role-name (or leave the account out).`,
  })
}

/**
 * The credentials of `roleArn`, assumed with `admin`'s credentials: fetched at once (so a role
 * that cannot be assumed fails here), then served until less than `refreshBeforeMs` of their
 * life is left, when one AssumeRole renews them for every caller at once.
 */
export async function assumedRoleProvider(admin: AwsContext, arn: string, session: string, o: {refreshBeforeMs?: number} = {}): Promise<CredentialProvider> {
  const refreshBefore = o.refreshBeforeMs ?? REFRESH_BEFORE_MS
  const assume = async (): Promise<Expiring> => {
    const [sts, {AssumeRoleCommand}] = await Promise.all([admin.sts(), import('@aws-sdk/client-sts')])
    const r = await awsCall({action: 'sts:AssumeRole', resource: arn}, () => sts.send(new AssumeRoleCommand({RoleArn: arn, RoleSessionName: session, DurationSeconds: SESSION_SECONDS}))).catch((error: unknown) => {
      throw isPsbError(error) && error.code === 'AccessDenied' ? roleDenied(error, arn) : error
    })
    const c = r.Credentials
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new PsbError(`sts:AssumeRole on ${arn} answered without credentials.`, {code: 'AssumeRoleEmpty', hint: 'Check the endpoint: AWS answers AssumeRole with credentials.'})
    registerSecret(c.SecretAccessKey)
    registerSecret(c.SessionToken)
    return {accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration}
  }
  let current = await assume()
  let renewing: Promise<Expiring> | undefined
  return async () => {
    if (!current.expiration || current.expiration.getTime() - Date.now() > refreshBefore) return current
    renewing ??= assume()
      .then((c) => (current = c))
      .finally(() => (renewing = undefined))
    return renewing
  }
}

/**
 * An AwsContext acting in `t.account`, in `t.region`, through the role `o.roleName` assumed
 * with `admin`'s credentials (same endpoint, same retries). Throws the translated
 * AssumeRole error (AccessDenied names the role ARN) when the role cannot be assumed.
 */
export async function targetContext(admin: AwsContext, t: {account: string; region: string}, o: TargetContextOptions): Promise<AwsContext> {
  validateRoleName(o.roleName)
  const arn = roleArn(t.account, t.region, o.roleName)
  const provider = await assumedRoleProvider(admin, arn, sessionName(o.command ?? 'init', t.account, t.region))
  return createAwsContext({region: t.region, endpoint: admin.options.endpoint, maxAttempts: admin.options.maxAttempts, credentialProvider: provider})
}
