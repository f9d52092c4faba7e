/**
 * The policy of a store user on an S3-compatible store without AWS IAM (`psb init --no-iam`):
 * the S3 statements of psb's state policy (buildStatePolicy), in the AWS grammar that MinIO
 * and Ceph RGW evaluate for their own users, for the store's tools to attach. The IAM
 * statements (self-service rotation, reading its own policies) have no meaning there.
 */
import {buildStatePolicy, type PolicyDocument, type PolicyStatement} from './policy.js'

const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v])

/**
 * Actions of the public-access block and object ownership: no store in docs/s3-compatible.md
 * implements them, and MinIO refuses a policy that names an action it does not know.
 */
const NOT_ON_STORES = new Set(['s3:GetBucketPublicAccessBlock', 's3:GetBucketOwnershipControls'])

export function storeUserPolicy(bucket: string, prefix?: string): PolicyDocument {
  const doc = buildStatePolicy({bucket, prefix, userArn: 'arn:aws:iam::ACCOUNT_ID:user/store-user'})
  const s3Only = (asList(doc.Statement) as PolicyStatement[]).filter((s) => asList(s.Action).every((a) => String(a).startsWith('s3:')))
  return {...doc, Statement: s3Only.map((s) => (Array.isArray(s.Action) ? {...s, Action: s.Action.filter((a) => !NOT_ON_STORES.has(a))} : s))}
}

/** The steps the store's own tools must do, as MinIO `mc` commands (docs/s3-compatible.md has them for other stores). */
export function storeToolSteps(bucket: string, user = 'pulumi'): string[] {
  const policy = `psb-${bucket}`
  return [
    `the user:       mc admin user add <alias> ${user} <its-secret>`,
    `its policy:     mc admin policy create <alias> ${policy} ${policy}.json   (the JSON below)`,
    `                mc admin policy attach <alias> ${policy} --user ${user}`,
    `its key:        mc admin accesskey create <alias> ${user}   (or use the user's own name and secret as the key)`,
  ]
}
