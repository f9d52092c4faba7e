/**
 * The read calls of the kms/ domain: the key behind an alias, its tags, rotation and key
 * policy, and the principals (users, roles) with their psb-pulumi-secrets policy. Nothing
 * here changes anything; ensureSecretsKey (key.ts) makes every read before its first write.
 */
import type {KeyMetadata} from '@aws-sdk/client-kms'
import type {AwsContext} from '../aws/client.js'
import {awsCall, awsCode, translateAwsError} from '../aws/errors.js'
import {badInput} from '../errors.js'
import {parsePolicyDocument, type PolicyDocument} from '../iam/policy.js'
import {SECRETS_POLICY_NAME} from './names.js'

const kmsSdk = () => import('@aws-sdk/client-kms')
const iamSdk = () => import('@aws-sdk/client-iam')

export interface ExistingKey {
  meta: KeyMetadata
  keyArn: string
  tags: Record<string, string>
  rotation: boolean
  policy?: PolicyDocument
  /** The raw policy text, to tell "no change" from "unreadable". */
  policyText?: string
}

/** The key id an alias points at, or undefined when there is no such alias in the region. */
export async function aliasTarget(ctx: AwsContext, region: string, alias: string): Promise<string | undefined> {
  const {ListAliasesCommand} = await kmsSdk()
  const kms = await ctx.kms(region)
  let Marker: string | undefined
  do {
    const page = await awsCall({action: 'kms:ListAliases', resource: alias}, () => kms.send(new ListAliasesCommand({Marker, Limit: 100})))
    const hit = page.Aliases?.find((a) => a.AliasName === alias)
    if (hit) return hit.TargetKeyId ?? ''
    Marker = page.Truncated ? page.NextMarker : undefined
  } while (Marker)
  return undefined
}

/** Everything psb looks at on an existing key. */
export async function readKey(ctx: AwsContext, region: string, keyId: string): Promise<ExistingKey> {
  const sdk = await kmsSdk()
  const kms = await ctx.kms(region)
  const meta = (await awsCall({action: 'kms:DescribeKey', resource: keyId}, () => kms.send(new sdk.DescribeKeyCommand({KeyId: keyId})))).KeyMetadata!
  const keyArn = meta.Arn ?? keyId
  const at = {resource: keyArn}
  const tags: Record<string, string> = {}
  let Marker: string | undefined
  do {
    const page = await awsCall({action: 'kms:ListResourceTags', ...at}, () => kms.send(new sdk.ListResourceTagsCommand({KeyId: keyArn, Marker})))
    for (const t of page.Tags ?? []) if (t.TagKey) tags[t.TagKey] = t.TagValue ?? ''
    Marker = page.Truncated ? page.NextMarker : undefined
  } while (Marker)
  const rotation = Boolean((await awsCall({action: 'kms:GetKeyRotationStatus', ...at}, () => kms.send(new sdk.GetKeyRotationStatusCommand({KeyId: keyArn})))).KeyRotationEnabled)
  const policyText = (await awsCall({action: 'kms:GetKeyPolicy', ...at}, () => kms.send(new sdk.GetKeyPolicyCommand({KeyId: keyArn, PolicyName: 'default'})))).Policy
  let policy: PolicyDocument | undefined
  try {
    policy = policyText ? parsePolicyDocument(policyText) : undefined
  } catch {
    policy = undefined
  }
  return {meta, keyArn, tags, rotation, policy, policyText}
}

export interface Principal {
  kind: 'user' | 'role'
  name: string
  /** Known (e.g. from the user step of init) or read with GetUser / GetRole. */
  arn?: string
}

export interface ResolvedPrincipal {
  kind: 'user' | 'role'
  name: string
  arn: string
  /** The principal's psb-pulumi-secrets policy, when it has one. */
  policy?: PolicyDocument
  /** False when the principal does not exist yet (a dry run of init before its user step). */
  exists: boolean
}

/** The principal's ARN and its psb-pulumi-secrets policy. A missing principal is bad input (exit 2), unless its ARN was given. */
export async function resolvePrincipal(ctx: AwsContext, p: Principal): Promise<ResolvedPrincipal> {
  const sdk = await iamSdk()
  const iam = await ctx.iam()
  const flag = p.kind === 'user' ? '--for-user' : '--for-role'
  let arn = p.arn
  try {
    const got =
      p.kind === 'user'
        ? (await iam.send(new sdk.GetUserCommand({UserName: p.name}))).User?.Arn
        : (await iam.send(new sdk.GetRoleCommand({RoleName: p.name}))).Role?.Arn
    arn = got ?? arn
  } catch (error) {
    if (awsCode(error) !== 'NoSuchEntity') throw translateAwsError(error, {action: p.kind === 'user' ? 'iam:GetUser' : 'iam:GetRole', resource: p.name})
    if (!arn) throw badInput(`${flag} ${p.name}: there is no IAM ${p.kind} of that name in this account.`, `Create it first (psb user create for a user), or check the name in ${flag}.`, 'PrincipalNotFound')
    return {kind: p.kind, name: p.name, arn, exists: false}
  }
  return {kind: p.kind, name: p.name, arn: arn!, policy: await inlinePolicy(ctx, p), exists: true}
}

async function inlinePolicy(ctx: AwsContext, p: Principal): Promise<PolicyDocument | undefined> {
  const sdk = await iamSdk()
  const iam = await ctx.iam()
  const action = p.kind === 'user' ? 'iam:GetUserPolicy' : 'iam:GetRolePolicy'
  try {
    const doc = await awsCall({action, resource: p.name}, async () =>
      p.kind === 'user'
        ? (await iam.send(new sdk.GetUserPolicyCommand({UserName: p.name, PolicyName: SECRETS_POLICY_NAME}))).PolicyDocument
        : (await iam.send(new sdk.GetRolePolicyCommand({RoleName: p.name, PolicyName: SECRETS_POLICY_NAME}))).PolicyDocument,
    )
    return doc ? parsePolicyDocument(doc) : undefined
  } catch (error) {
    if ((error as {code?: string}).code === 'NoSuchEntity' || awsCode((error as {cause?: unknown}).cause) === 'NoSuchEntity') return undefined
    throw error
  }
}
