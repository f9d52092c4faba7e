/**
 * The IAM reads (and the GitHub OIDC provider's writes) of `psb role create` (role.ts): the
 * role with its tags, trust, inline state policy and attachments, and the account's
 * token.actions.githubusercontent.com provider.
 */
import type {Role} from '@aws-sdk/client-iam'
import type {AwsContext} from '../aws/client.js'
import {awsCall, isNotFound, translateAwsError} from '../aws/errors.js'
import {MANAGED_BY_KEY, MANAGED_BY_VALUE} from '../bucket/settings/tags.js'
import {STATE_POLICY_NAME, parsePolicyDocument, type PolicyDocument} from './policy.js'
import {GITHUB_AUDIENCE, GITHUB_OIDC_HOST} from './trust.js'

export interface ExistingRole {
  role: Role
  tags: Record<string, string>
  trust: PolicyDocument | undefined
}

const sdk = () => import('@aws-sdk/client-iam')

function tagMap(list: {Key?: string; Value?: string}[] | undefined): Record<string, string> {
  const tags: Record<string, string> = {}
  for (const t of list ?? []) if (t.Key) tags[t.Key] = t.Value ?? ''
  return tags
}

function parseOr(text: string | undefined): PolicyDocument | undefined {
  if (!text) return undefined
  try {
    return parsePolicyDocument(text)
  } catch {
    return {Statement: []}
  }
}

/** The role with its tags and trust policy; undefined when there is none. */
export async function getRole(ctx: AwsContext, name: string, arnGuess: string, principal: string): Promise<ExistingRole | undefined> {
  const {GetRoleCommand, ListRoleTagsCommand} = await sdk()
  const iam = await ctx.iam()
  let role: Role
  try {
    role = (await iam.send(new GetRoleCommand({RoleName: name}))).Role!
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw translateAwsError(error, {action: 'iam:GetRole', resource: arnGuess, principal})
  }
  let tagList = role.Tags
  if (tagList === undefined) {
    const t = await awsCall({action: 'iam:ListRoleTags', resource: role.Arn, principal}, () => iam.send(new ListRoleTagsCommand({RoleName: name})))
    tagList = t.Tags
  }
  return {role, tags: tagMap(tagList), trust: parseOr(role.AssumeRolePolicyDocument)}
}

/** The role's inline state policy (psb-pulumi-state), undefined when it has none. */
export async function getRoleStatePolicy(ctx: AwsContext, name: string, arn: string, principal: string): Promise<PolicyDocument | undefined> {
  const {GetRolePolicyCommand} = await sdk()
  const iam = await ctx.iam()
  try {
    return parseOr((await iam.send(new GetRolePolicyCommand({RoleName: name, PolicyName: STATE_POLICY_NAME}))).PolicyDocument)
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw translateAwsError(error, {action: 'iam:GetRolePolicy', resource: arn, principal})
  }
}

/** Every managed policy attached to the role. */
export async function listAttachedRolePolicies(ctx: AwsContext, name: string, arn: string, principal: string): Promise<string[]> {
  const {ListAttachedRolePoliciesCommand} = await sdk()
  const iam = await ctx.iam()
  const out: string[] = []
  let marker: string | undefined
  do {
    const r = await awsCall({action: 'iam:ListAttachedRolePolicies', resource: arn, principal}, () => iam.send(new ListAttachedRolePoliciesCommand({RoleName: name, Marker: marker})))
    for (const p of r.AttachedPolicies ?? []) if (p.PolicyArn) out.push(p.PolicyArn)
    marker = r.IsTruncated ? r.Marker : undefined
  } while (marker)
  return out
}

export interface GithubProvider {
  arn: string
  /** The provider's audiences (client ids). */
  audiences: string[]
  /** Tagged managed-by=psb. */
  ours: boolean
}

/** The account's GitHub Actions OIDC provider, when it has one (read calls only). */
export async function findGithubProvider(ctx: AwsContext, principal: string): Promise<GithubProvider | undefined> {
  const {ListOpenIDConnectProvidersCommand, GetOpenIDConnectProviderCommand} = await sdk()
  const iam = await ctx.iam()
  const list = await awsCall({action: 'iam:ListOpenIDConnectProviders', principal}, () => iam.send(new ListOpenIDConnectProvidersCommand({})))
  const arn = (list.OpenIDConnectProviderList ?? []).map((p) => p.Arn ?? '').find((a) => a.endsWith(`:oidc-provider/${GITHUB_OIDC_HOST}`))
  if (!arn) return undefined
  const p = await awsCall({action: 'iam:GetOpenIDConnectProvider', resource: arn, principal}, () => iam.send(new GetOpenIDConnectProviderCommand({OpenIDConnectProviderArn: arn})))
  return {arn, audiences: p.ClientIDList ?? [], ours: tagMap(p.Tags)[MANAGED_BY_KEY] === MANAGED_BY_VALUE}
}

/**
 * GitHub's published thumbprints. AWS no longer needs them for GitHub (it trusts GitHub's
 * certificate authority), but CreateOpenIDConnectProvider still takes the list on some partitions.
 */
export const GITHUB_THUMBPRINTS = ['6938fd4d98bab03faadb97b34396831e3780aea1', '1c58a3a8518e8759bf075b76b750d4f2df264fcd']

/** Creates the GitHub provider (audience sts.amazonaws.com, tag managed-by=psb); its ARN. */
export async function createGithubProvider(ctx: AwsContext, principal: string): Promise<string> {
  const {CreateOpenIDConnectProviderCommand} = await sdk()
  const iam = await ctx.iam()
  const r = await awsCall({action: 'iam:CreateOpenIDConnectProvider', principal}, () =>
    iam.send(
      new CreateOpenIDConnectProviderCommand({
        Url: `https://${GITHUB_OIDC_HOST}`,
        ClientIDList: [GITHUB_AUDIENCE],
        ThumbprintList: GITHUB_THUMBPRINTS,
        Tags: [{Key: MANAGED_BY_KEY, Value: MANAGED_BY_VALUE}],
      }),
    ),
  )
  return r.OpenIDConnectProviderArn!
}

/** Adds the sts.amazonaws.com audience to an existing provider that lacks it. */
export async function addGithubAudience(ctx: AwsContext, arn: string, principal: string): Promise<void> {
  const {AddClientIDToOpenIDConnectProviderCommand} = await sdk()
  const iam = await ctx.iam()
  await awsCall({action: 'iam:AddClientIDToOpenIDConnectProvider', resource: arn, principal}, () =>
    iam.send(new AddClientIDToOpenIDConnectProviderCommand({OpenIDConnectProviderArn: arn, ClientID: GITHUB_AUDIENCE})),
  )
}
