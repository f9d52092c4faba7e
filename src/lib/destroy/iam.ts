/**
 * The IAM side of `psb destroy`: finding the users and roles psb made for a backend (tag
 * managed-by=psb and psb-bucket=<bucket>, and psb-prefix=<prefix> with --prefix), and taking
 * them down: access keys, inline policies, attachments, then the user or role; a GitHub OIDC
 * provider only when it is psb's and no role that stays trusts it. Every step tolerates
 * "already gone", so a re-run after a kill finishes the job.
 */
import type {AwsContext} from '../aws/client.js'
import {awsCall, isNotFound} from '../aws/errors.js'
import {BUCKET_TAG, PREFIX_TAG} from '../aws/tags.js'
import {MANAGED_BY_KEY, MANAGED_BY_VALUE} from '../bucket/settings/tags.js'
import type {Change} from '../types.js'
import type {Principal} from './options.js'

type Tags = {Key?: string; Value?: string}[] | undefined
const iamSdk = () => import('@aws-sdk/client-iam')

function tagMap(tags: Tags): Record<string, string> {
  const out: Record<string, string> = {}
  for (const t of tags ?? []) if (t.Key) out[t.Key] = t.Value ?? ''
  return out
}

/** Runs `fn`; "not found" (already gone) is `undefined`. */
export async function unlessGone<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn()
  } catch (error) {
    if (isNotFound(error) || isNotFound((error as {cause?: unknown}).cause)) return undefined
    throw error
  }
}

/** Every page of an IAM list call with Marker / IsTruncated. */
async function allPages<T>(call: (marker?: string) => Promise<{Marker?: string; IsTruncated?: boolean; items: T[]}>): Promise<T[]> {
  const out: T[] = []
  let marker: string | undefined
  do {
    const page = await call(marker)
    out.push(...page.items)
    marker = page.IsTruncated ? page.Marker : undefined
  } while (marker)
  return out
}

export interface Candidate {
  kind: 'user' | 'role'
  name: string
  arn: string
  trustPolicy?: string
}

/** Every user and role of the account (service roles excluded), with roles' trust policies. */
export async function listCandidates(ctx: AwsContext): Promise<Candidate[]> {
  const iam = await ctx.iam()
  const {ListUsersCommand, ListRolesCommand} = await iamSdk()
  const users = await allPages(async (Marker) => {
    const r = await awsCall({action: 'iam:ListUsers'}, () => iam.send(new ListUsersCommand({Marker})))
    return {...r, items: (r.Users ?? []).map((u): Candidate => ({kind: 'user', name: u.UserName!, arn: u.Arn!}))}
  })
  const roles = await allPages(async (Marker) => {
    const r = await awsCall({action: 'iam:ListRoles'}, () => iam.send(new ListRolesCommand({Marker})))
    const items = (r.Roles ?? []).filter((x) => !(x.Path ?? '').startsWith('/aws-service-role/'))
    return {...r, items: items.map((x): Candidate => ({kind: 'role', name: x.RoleName!, arn: x.Arn!, trustPolicy: x.AssumeRolePolicyDocument}))}
  })
  return [...users, ...roles]
}

/** The tags of a user or role; undefined when it went meanwhile. */
export async function principalTags(ctx: AwsContext, c: Candidate): Promise<Record<string, string> | undefined> {
  const iam = await ctx.iam()
  const {ListUserTagsCommand, ListRoleTagsCommand} = await iamSdk()
  const r = await unlessGone(() =>
    c.kind === 'user'
      ? awsCall({action: 'iam:ListUserTags', resource: c.arn}, () => iam.send(new ListUserTagsCommand({UserName: c.name})))
      : awsCall({action: 'iam:ListRoleTags', resource: c.arn}, () => iam.send(new ListRoleTagsCommand({RoleName: c.name}))),
  )
  return r ? tagMap(r.Tags) : undefined
}

/** Whether the tags mark it as psb's for this bucket (and prefix); else why it is left. */
export function ownership(tags: Record<string, string>, bucket: string, prefix: string | undefined): {ours: boolean; why?: string} {
  if (tags[BUCKET_TAG] !== bucket) return {ours: false}
  if (tags[MANAGED_BY_KEY] !== MANAGED_BY_VALUE) return {ours: false, why: `tagged ${BUCKET_TAG}=${bucket} but not ${MANAGED_BY_KEY}=${MANAGED_BY_VALUE}: psb did not make it`}
  if (prefix === undefined) return {ours: true}
  const its = tags[PREFIX_TAG]
  if (its === prefix) return {ours: true}
  return {ours: false, why: its ? `belongs to the prefix ${its}` : 'has access to the whole bucket, not only this prefix'}
}

/** The OIDC providers a trust policy names (Principal.Federated). */
export function trustedProviders(trustPolicy: string | undefined): string[] {
  if (!trustPolicy) return []
  let doc: {Statement?: {Principal?: {Federated?: string | string[]}}[] | {Principal?: {Federated?: string | string[]}}}
  try {
    doc = JSON.parse(decodeURIComponent(trustPolicy))
  } catch {
    return []
  }
  const statements = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : []
  const out = new Set<string>()
  for (const s of statements) for (const f of [s.Principal?.Federated ?? []].flat()) if (f.includes(':oidc-provider/')) out.add(f)
  return [...out]
}

/** What a user or role holds: keys (users), inline and attached policies. */
export async function describePrincipal(ctx: AwsContext, c: Candidate, prefix: string | undefined): Promise<Principal> {
  const iam = await ctx.iam()
  const sdk = await iamSdk()
  const on = {resource: c.arn}
  const isUser = c.kind === 'user'
  const [keys, inline, attached] = await Promise.all([
    isUser ? awsCall({action: 'iam:ListAccessKeys', ...on}, () => iam.send(new sdk.ListAccessKeysCommand({UserName: c.name}))) : undefined,
    isUser
      ? awsCall({action: 'iam:ListUserPolicies', ...on}, () => iam.send(new sdk.ListUserPoliciesCommand({UserName: c.name})))
      : awsCall({action: 'iam:ListRolePolicies', ...on}, () => iam.send(new sdk.ListRolePoliciesCommand({RoleName: c.name}))),
    isUser
      ? awsCall({action: 'iam:ListAttachedUserPolicies', ...on}, () => iam.send(new sdk.ListAttachedUserPoliciesCommand({UserName: c.name})))
      : awsCall({action: 'iam:ListAttachedRolePolicies', ...on}, () => iam.send(new sdk.ListAttachedRolePoliciesCommand({RoleName: c.name}))),
  ])
  return {
    kind: c.kind,
    name: c.name,
    arn: c.arn,
    ...(prefix === undefined ? {} : {prefix}),
    keys: (keys?.AccessKeyMetadata ?? []).map((k) => k.AccessKeyId!),
    inlinePolicies: inline.PolicyNames ?? [],
    attachedPolicies: (attached.AttachedPolicies ?? []).map((p) => p.PolicyArn!),
    trusts: trustedProviders(c.trustPolicy),
  }
}

/** Whether an OIDC provider carries managed-by=psb. */
export async function providerIsPsbs(ctx: AwsContext, arn: string): Promise<boolean> {
  const iam = await ctx.iam()
  const {ListOpenIDConnectProviderTagsCommand} = await iamSdk()
  const r = await unlessGone(() => awsCall({action: 'iam:ListOpenIDConnectProviderTags', resource: arn}, () => iam.send(new ListOpenIDConnectProviderTagsCommand({OpenIDConnectProviderArn: arn}))))
  return r !== undefined && tagMap(r.Tags)[MANAGED_BY_KEY] === MANAGED_BY_VALUE
}

/** Deletes one access key in IAM (gone already is fine). */
export async function deleteAccessKey(ctx: AwsContext, user: Principal, keyId: string): Promise<boolean> {
  const iam = await ctx.iam()
  const {DeleteAccessKeyCommand} = await iamSdk()
  const r = await unlessGone(() => awsCall({action: 'iam:DeleteAccessKey', resource: user.arn}, () => iam.send(new DeleteAccessKeyCommand({UserName: user.name, AccessKeyId: keyId}))))
  return r !== undefined
}

/** The inline policies, the attachments, then the user or role itself. */
export async function deletePrincipal(ctx: AwsContext, p: Principal, changes: Change[]): Promise<void> {
  const iam = await ctx.iam()
  const sdk = await iamSdk()
  const on = {resource: p.arn}
  const user = p.kind === 'user'
  for (const name of p.inlinePolicies) {
    await unlessGone(() =>
      user
        ? awsCall({action: 'iam:DeleteUserPolicy', ...on}, () => iam.send(new sdk.DeleteUserPolicyCommand({UserName: p.name, PolicyName: name})))
        : awsCall({action: 'iam:DeleteRolePolicy', ...on}, () => iam.send(new sdk.DeleteRolePolicyCommand({RoleName: p.name, PolicyName: name}))),
    )
    changes.push({item: `${p.kind} ${p.name}: inline policy ${name}`, status: 'deleted'})
  }
  for (const arn of p.attachedPolicies) {
    await unlessGone(() =>
      user
        ? awsCall({action: 'iam:DetachUserPolicy', ...on}, () => iam.send(new sdk.DetachUserPolicyCommand({UserName: p.name, PolicyArn: arn})))
        : awsCall({action: 'iam:DetachRolePolicy', ...on}, () => iam.send(new sdk.DetachRolePolicyCommand({RoleName: p.name, PolicyArn: arn}))),
    )
    changes.push({item: `${p.kind} ${p.name}: attached policy ${arn}`, status: 'deleted', detail: 'detached (the policy itself stays)'})
  }
  await unlessGone(() =>
    user
      ? awsCall({action: 'iam:DeleteUser', ...on}, () => iam.send(new sdk.DeleteUserCommand({UserName: p.name})))
      : awsCall({action: 'iam:DeleteRole', ...on}, () => iam.send(new sdk.DeleteRoleCommand({RoleName: p.name}))),
  )
  changes.push({item: `${p.kind} ${p.name}`, status: 'deleted', detail: p.arn})
}

/** Deletes an OIDC provider (gone already is fine). */
export async function deleteProvider(ctx: AwsContext, arn: string): Promise<void> {
  const iam = await ctx.iam()
  const {DeleteOpenIDConnectProviderCommand} = await iamSdk()
  await unlessGone(() => awsCall({action: 'iam:DeleteOpenIDConnectProvider', resource: arn}, () => iam.send(new DeleteOpenIDConnectProviderCommand({OpenIDConnectProviderArn: arn}))))
}
