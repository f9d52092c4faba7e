/**
 * The grant of a secrets key to the principals that run Pulumi: each user or role gets the
 * inline policy psb-pulumi-secrets with kms:Encrypt, kms:Decrypt and kms:GenerateDataKey on
 * the key's ARN (and on the keys it already covered). Written only when it differs by meaning.
 * A separate policy, so that `psb user create` (which owns psb-pulumi-state) never drops it.
 */
import type {AwsContext} from '../aws/client.js'
import {awsCall} from '../aws/errors.js'
import type {Change} from '../types.js'
import {mergeGrantPolicy, SECRETS_POLICY_NAME} from './names.js'
import type {ResolvedPrincipal} from './read.js'

export async function grantPrincipals(ctx: AwsContext, principals: ResolvedPrincipal[], keyArn: string | undefined, o: {dryRun?: boolean; changes: Change[]}): Promise<void> {
  for (const p of principals) {
    const item = `${p.kind} ${p.name}: policy ${SECRETS_POLICY_NAME}`
    if (!keyArn) {
      o.changes.push({item, status: 'planned', detail: 'kms:Encrypt, kms:Decrypt, kms:GenerateDataKey on the new key'})
      continue
    }
    const {policy, changed} = mergeGrantPolicy(p.policy, keyArn)
    if (!changed) {
      o.changes.push({item, status: 'unchanged'})
      continue
    }
    const status = o.dryRun ? 'planned' : p.policy ? 'updated' : 'created'
    if (!o.dryRun) await putPolicy(ctx, p, JSON.stringify(policy))
    o.changes.push({item, status, detail: `kms:Encrypt, kms:Decrypt, kms:GenerateDataKey on ${keyArn}`})
  }
}

async function putPolicy(ctx: AwsContext, p: ResolvedPrincipal, PolicyDocument: string): Promise<void> {
  const sdk = await import('@aws-sdk/client-iam')
  const iam = await ctx.iam()
  const PolicyName = SECRETS_POLICY_NAME
  if (p.kind === 'user') {
    await awsCall({action: 'iam:PutUserPolicy', resource: p.arn}, () => iam.send(new sdk.PutUserPolicyCommand({UserName: p.name, PolicyName, PolicyDocument})))
  } else {
    await awsCall({action: 'iam:PutRolePolicy', resource: p.arn}, () => iam.send(new sdk.PutRolePolicyCommand({RoleName: p.name, PolicyName, PolicyDocument})))
  }
}
