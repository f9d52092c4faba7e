/**
 * ARNs: splitting one into its parts, and the IAM user name of a caller ARN. Shared ground of
 * every domain that meets an ARN (bucket policies, IAM users, key rotation, verify).
 */

export interface Arn {
  partition: string
  service: string
  region: string
  account: string
  resource: string
}

/** Splits an ARN into its parts; undefined when it is not one. */
export function parseArn(arn: string): Arn | undefined {
  // ACCOUNT_ID: the placeholder of a policy printed for review without credentials (iam/user.ts).
  const m = /^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|aws|ACCOUNT_ID)?:(.+)$/.exec(arn)
  if (!m) return undefined
  return {partition: m[1], service: m[2], region: m[3], account: m[4] ?? '', resource: m[5]}
}

/** The IAM user name of a caller ARN (`arn:aws:iam::1:user/path/name`), or undefined. */
export function userNameOfArn(arn: string): string | undefined {
  const a = parseArn(arn)
  return a?.service === 'iam' && a.resource.startsWith('user/') ? a.resource.split('/').at(-1) : undefined
}

/** The role name of an assumed-role session ARN (`arn:aws:sts::1:assumed-role/name/session`), or undefined. */
export function roleNameOfArn(arn: string): string | undefined {
  const a = parseArn(arn)
  return a?.service === 'sts' && a.resource.startsWith('assumed-role/') ? a.resource.split('/')[1] || undefined : undefined
}
