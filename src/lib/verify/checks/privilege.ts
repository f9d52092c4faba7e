/**
 * Least privilege: the user (or the role a profile assumes) is not broader than it needs to
 * be (no AdministratorAccess, no "*" action). Its own policies are read with the admin context when given, else with
 * the profile (psb's policy lets it read them); further reads are best effort.
 */
import type {IAMClient} from '@aws-sdk/client-iam'
import {isAccessDenied} from '../../aws/errors.js'
import {allowsEverything, isAdministratorAccess, parsePolicy} from '../rules.js'
import {notOnThisStore, unexpected, type CheckUnit, type Identity, type Verdict, type VerifyContext} from '../context.js'

const iamSdk = () => import('@aws-sdk/client-iam')

interface Scan {
  client: IAMClient
  /** The user's name, or the role's (kind role). */
  UserName: string
  kind: 'user' | 'role'
  /** What makes the user broad, one phrase each. */
  broad: string[]
  /** What could not be read (best-effort reads). */
  unchecked: string[]
  /** The read under way, named when it is denied. */
  step: string
}

/** The user's attached and inline policies; answers its customer-managed ones. Throws when a read fails. */
async function ownPolicies(s: Scan): Promise<{PolicyArn?: string; PolicyName?: string}[]> {
  const iam = await iamSdk()
  const {client, UserName} = s
  const RoleName = UserName
  const role = s.kind === 'role'
  s.step = role ? 'iam:ListAttachedRolePolicies' : 'iam:ListAttachedUserPolicies'
  const attached = (role ? await client.send(new iam.ListAttachedRolePoliciesCommand({RoleName})) : await client.send(new iam.ListAttachedUserPoliciesCommand({UserName}))).AttachedPolicies ?? []
  for (const p of attached) if (isAdministratorAccess(p.PolicyArn ?? '')) s.broad.push(`${p.PolicyName} (${p.PolicyArn})`)
  s.step = role ? 'iam:ListRolePolicies' : 'iam:ListUserPolicies'
  const inline = (role ? await client.send(new iam.ListRolePoliciesCommand({RoleName})) : await client.send(new iam.ListUserPoliciesCommand({UserName}))).PolicyNames ?? []
  for (const name of inline) {
    s.step = role ? 'iam:GetRolePolicy' : 'iam:GetUserPolicy'
    const doc = role ? await client.send(new iam.GetRolePolicyCommand({RoleName, PolicyName: name})) : await client.send(new iam.GetUserPolicyCommand({UserName, PolicyName: name}))
    if (allowsEverything(parsePolicy(doc.PolicyDocument))) s.broad.push(`inline policy ${name} allows "*"`)
  }
  return attached.filter((p) => !/^arn:aws[a-z-]*:iam::aws:/.test(p.PolicyArn ?? ''))
}

/** The documents of customer-managed policies and the groups' policies: best effort. */
async function furtherPolicies(s: Scan, customer: {PolicyArn?: string; PolicyName?: string}[]): Promise<void> {
  const iam = await iamSdk()
  try {
    for (const p of customer) {
      const pol = await s.client.send(new iam.GetPolicyCommand({PolicyArn: p.PolicyArn}))
      const ver = await s.client.send(new iam.GetPolicyVersionCommand({PolicyArn: p.PolicyArn, VersionId: pol.Policy?.DefaultVersionId}))
      if (allowsEverything(parsePolicy(ver.PolicyVersion?.Document))) s.broad.push(`${p.PolicyName} allows "*"`)
    }
  } catch {
    s.unchecked.push('customer-managed policy documents')
  }
  if (s.kind === 'role') return
  try {
    const groups = (await s.client.send(new iam.ListGroupsForUserCommand({UserName: s.UserName}))).Groups ?? []
    for (const g of groups) {
      const ga = (await s.client.send(new iam.ListAttachedGroupPoliciesCommand({GroupName: g.GroupName}))).AttachedPolicies ?? []
      for (const p of ga) if (isAdministratorAccess(p.PolicyArn ?? '')) s.broad.push(`${p.PolicyName} through group ${g.GroupName}`)
    }
  } catch {
    s.unchecked.push('group memberships')
  }
}

/** A failed read of the user's own policies: "cannot check" (warn), never a failure. */
function unreadable(v: VerifyContext, s: Scan, id: Identity, error: unknown): Verdict {
  if (!isAccessDenied(error)) return {status: 'warn', ...unexpected(v, error, s.step, id.arn)}
  const admin = v.opts.admin !== undefined
  return {
    status: 'warn',
    detail: `cannot check: ${s.step} is denied to ${admin ? 'the admin profile' : v.who} (a least-privilege user may not read its own policies).`,
    hint: admin ? undefined : `Allow ${s.step} on ${id.arn} (\`psb user create\` grants it), or pass --admin-profile <profile>.`,
  }
}

export const leastPrivilegeCheck: CheckUnit = {
  id: 'least-privilege',
  title: (v) => `The ${v.facts.identity?.role ? 'role' : 'user'} is not broader than it needs to be`,
  needs: ['credentials'],
  async run(v) {
    const id = v.facts.identity!
    if (v.facts.noIam) return notOnThisStore(v, "reading the user's policies (iam:ListAttachedUserPolicies)")
    const name = id.user ?? id.role
    if (!name) return {status: 'warn', detail: `cannot check: ${id.arn} is not an IAM user or an assumed role.`}
    const s: Scan = {client: await (v.opts.admin ?? v.aws).iam(), UserName: name, kind: id.user ? 'user' : 'role', broad: [], unchecked: [], step: ''}
    let customer: {PolicyArn?: string; PolicyName?: string}[]
    try {
      customer = await ownPolicies(s)
    } catch (error) {
      return unreadable(v, s, id, error)
    }
    await furtherPolicies(s, customer)
    const notRead = s.unchecked.length > 0 ? ` (not readable with this key: ${s.unchecked.join(', ')})` : ''
    if (s.broad.length === 0) return {status: 'pass', detail: `no AdministratorAccess and no "*" action${notRead}`}
    return {
      status: 'warn',
      detail: `${s.kind} ${s.UserName} has ${s.broad.join('; ')}: Pulumi, and anyone holding ${s.kind === 'role' ? 'its credentials' : 'this key'}, can do anything in account ${id.account}${notRead}.`,
      hint: `Attach only what your Pulumi programs deploy (\`psb ${s.kind} create --attach-policy <arn>\`) and detach the account-wide policy.`,
    }
  },
}
