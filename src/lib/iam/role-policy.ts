/**
 * The inline policy of the role Pulumi runs as (`psb role create`): the state policy that
 * `user create` builds (policy.ts), minus the self-rotation statement (a role has no keys), and
 * with its verify statement on the role's own policies instead of a user's.
 *
 * Pure functions: no AWS call here.
 */
import {parseArn} from '../aws/arn.js'
import {badInput} from '../errors.js'
import {SID, checkBucketForPolicy, stateStatements, type PolicyDocument} from './policy.js'

/** What `psb verify` reads about the role it runs as: its trust and tags, and its policies. */
export const VERIFY_OWN_ROLE_ACTIONS = ['iam:GetRole', 'iam:ListRoleTags', 'iam:ListAttachedRolePolicies', 'iam:ListRolePolicies', 'iam:GetRolePolicy']

/** The ARN of an IAM role: `arn:<partition>:iam::<account>:role<path><name>`. */
export function roleArnOf(accountId: string, role: string, path = '/', partition = 'aws'): string {
  return `arn:${partition}:iam::${accountId}:role${path}${role}`
}

export interface RolePolicyOptions {
  bucket: string
  prefix?: string
  kmsKeyArn?: string
  /** The role's own ARN (with its path): the only resource of the verify statement. */
  roleArn: string
}

/**
 * The role's state policy, one statement per purpose (Sids as in the user's policy):
 *   PulumiStateList, PulumiStateObjects, PulumiStateKms (SSE-KMS only), VerifyBucketSettings,
 *   VerifyOwnPermissions (the role's own trust, tags and policies). No SelfServiceKeyRotation.
 */
export function buildRoleStatePolicy(opts: RolePolicyOptions): PolicyDocument {
  checkBucketForPolicy(opts.bucket)
  const role = parseArn(opts.roleArn)
  if (!role || role.service !== 'iam' || !/^(\d{12}|ACCOUNT_ID)$/.test(role.account) || !role.resource.startsWith('role/')) {
    throw badInput(`"${opts.roleArn}" is not an IAM role ARN.`, 'An IAM role ARN looks like arn:aws:iam::123456789012:role/pulumi-state.', 'RoleArnInvalid')
  }
  const statements = stateStatements({...opts, partition: role.partition})
  statements.push({Sid: SID.verifyOwnPermissions, Effect: 'Allow', Action: [...VERIFY_OWN_ROLE_ACTIONS], Resource: opts.roleArn})
  return {Version: '2012-10-17', Statement: statements}
}
