/**
 * The ARN of a role named with --role, read with iam:GetRole (`psb ci github` without
 * --role-arn). A missing role is bad input (exit 2), found before anything is written.
 */
import type {AwsContext} from '../aws/client.js'
import {awsCode, translateAwsError} from '../aws/errors.js'
import {badInput} from '../errors.js'

export async function lookupRoleArn(aws: AwsContext, role: string): Promise<string> {
  const {GetRoleCommand} = await import('@aws-sdk/client-iam')
  const iam = await aws.iam()
  try {
    const arn = (await iam.send(new GetRoleCommand({RoleName: role}))).Role?.Arn
    if (arn) return arn
  } catch (error) {
    if (awsCode(error) !== 'NoSuchEntity') throw translateAwsError(error, {action: 'iam:GetRole', resource: role})
  }
  throw badInput(`--role ${role}: there is no IAM role of that name in this account.`, 'Create it first (psb role create --trust github:OWNER/REPO), or pass its ARN with --role-arn.', 'RoleNotFound')
}
