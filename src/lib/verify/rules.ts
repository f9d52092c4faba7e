/**
 * The pure rules of `psb verify`: how a bucket policy, a lifecycle configuration, an IAM
 * policy and a backend URL are judged — by meaning, never by spelling. No AWS call here.
 * Bucket settings are judged by the same rules `psb bucket create` applies (bucket.ts), so
 * verify fails exactly what `psb bucket create` would fix; backend URLs by backend-url.ts.
 */
import type {LifecycleRule} from '@aws-sdk/client-s3'
import {appliesToWholeBucket, bucketArn, hasTlsOnlyStatement as tlsDenyCovers, type PolicyStatement} from '../bucket/ensure.js'
import {parsePolicyDocument} from '../iam/policy.js'

export {roleNameOfArn, userNameOfArn} from '../aws/arn.js'
export {prefixBase} from '../bucket/prefix.js'

export {compareBackendUrls, parseBackendUrl} from '../pulumi/backend-url.js'


/** The region of a GetBucketLocation answer. */
export function regionOfLocation(constraint: string | undefined | null): string {
  if (!constraint) return 'us-east-1'
  if (constraint === 'EU') return 'eu-west-1'
  return constraint
}

/** True for the AWS-managed AdministratorAccess policy. */
export function isAdministratorAccess(arn: string | undefined): boolean {
  return /^arn:aws[a-z-]*:iam::aws:policy\/AdministratorAccess$/.test(arn ?? '')
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v])

/** Parses a policy document, URL-encoded or not (IAM returns them URL-encoded); undefined when it is not one. */
export function parsePolicy(raw: string | undefined): {Statement: PolicyStatement[]} | undefined {
  if (!raw) return undefined
  try {
    return {Statement: asArray(parsePolicyDocument(raw).Statement) as PolicyStatement[]}
  } catch {
    return undefined
  }
}

/**
 * True when a bucket policy denies every S3 action without TLS on the bucket and its
 * objects: bucket.ts's rule (any Sid, string or boolean `false`, any key case, `s3:*` or
 * `*`, resources as a string, a list or wildcards; nothing that narrows the deny).
 */
export function hasTlsOnlyStatement(policy: {Statement: PolicyStatement[]}, bucket: string, region = 'us-east-1'): boolean {
  return tlsDenyCovers(policy.Statement, bucketArn(bucket, region))
}

/**
 * The days after which an enabled whole-bucket rule expires noncurrent versions (the rule
 * `psb bucket create` counts as present), or undefined when no rule does.
 */
export function noncurrentExpiryDays(rules: LifecycleRule[] | undefined): number | undefined {
  return (rules ?? []).find((r) => appliesToWholeBucket(r) && r.NoncurrentVersionExpiration?.NoncurrentDays !== undefined)?.NoncurrentVersionExpiration?.NoncurrentDays
}

/** True when a policy allows the action `*` (full control). */
export function allowsEverything(policy: {Statement: PolicyStatement[]} | undefined): boolean {
  if (!policy) return false
  return policy.Statement.some((s) => s.Effect === 'Allow' && asArray(s.Action).includes('*'))
}

