/**
 * The policy of a store user on an S3-compatible store without AWS IAM (`psb init --no-iam`):
 * the S3 statements of psb's state policy (buildStatePolicy), in the AWS grammar that MinIO
 * and Ceph RGW evaluate for their own users, for the store's tools to attach. The IAM
 * statements (self-service rotation, reading its own policies) have no meaning there.
 */
import {buildStatePolicy, type PolicyDocument, type PolicyStatement} from './policy.js'

const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v])

export function storeUserPolicy(bucket: string, prefix?: string): PolicyDocument {
  const doc = buildStatePolicy({bucket, prefix, userArn: 'arn:aws:iam::ACCOUNT_ID:user/store-user'})
  return {...doc, Statement: (asList(doc.Statement) as PolicyStatement[]).filter((s) => asList(s.Action).every((a) => String(a).startsWith('s3:')))}
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
