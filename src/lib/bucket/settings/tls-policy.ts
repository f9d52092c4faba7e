/**
 * The TLS-only bucket policy: a statement that denies every S3 action without TLS, merged
 * into any existing policy. An equivalent statement of someone else counts (by meaning).
 */
import {PsbError} from '../../errors.js'
import {ITEMS, row, type BucketSetting, type SettingPlan} from './setting.js'

export const TLS_SID = 'psb-DenyInsecureTransport'

type PolicyValue = string | string[] | undefined

export interface PolicyStatement {
  Sid?: string
  Effect?: string
  Principal?: unknown
  NotPrincipal?: unknown
  Action?: PolicyValue
  NotAction?: PolicyValue
  Resource?: PolicyValue
  NotResource?: PolicyValue
  Condition?: Record<string, Record<string, unknown>>
  [k: string]: unknown
}

export interface BucketPolicyDocument {
  Version?: string
  Id?: string
  Statement: PolicyStatement[] | PolicyStatement
  [k: string]: unknown
}

export function tlsOnlyStatement(arn: string): PolicyStatement {
  return {
    Sid: TLS_SID,
    Effect: 'Deny',
    Principal: '*',
    Action: 's3:*',
    Resource: [arn, `${arn}/*`],
    Condition: {Bool: {'aws:SecureTransport': 'false'}},
  }
}

const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v])

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\/]/g, '\\$&')))
    .join('')
  return new RegExp(`^${body}$`, 'i')
}

function principalIsEveryone(p: unknown): boolean {
  if (p === '*') return true
  if (p && typeof p === 'object' && !Array.isArray(p)) {
    const aws = (p as Record<string, unknown>).AWS
    return list(aws).includes('*')
  }
  return false
}

function actionsCoverAll(actions: unknown): boolean {
  return list(actions).some((a) => typeof a === 'string' && (a === '*' || a.toLowerCase() === 's3:*'))
}

function isInsecureTransportCondition(cond: unknown): boolean {
  if (!cond || typeof cond !== 'object') return false
  const ops = Object.entries(cond as Record<string, unknown>)
  if (ops.length !== 1) return false
  const [op, body] = ops[0]
  if (!['bool', 'boolifexists'].includes(op.toLowerCase()) || !body || typeof body !== 'object') return false
  const keys = Object.entries(body as Record<string, unknown>)
  if (keys.length !== 1) return false
  const [key, value] = keys[0]
  if (key.toLowerCase() !== 'aws:securetransport') return false
  const values = list(value)
  return values.length > 0 && values.every((v) => v === false || (typeof v === 'string' && v.toLowerCase() === 'false'))
}

/** The resources of `statements` that qualify as TLS-only denies cover both the bucket and all its objects. */
function resourcesCover(resources: string[], arn: string): boolean {
  const patterns = resources.map((r) => ({r, re: globToRegExp(r)}))
  const bucketCovered = patterns.some(({re}) => re.test(arn))
  const objectsCovered = patterns.some(({r, re}) => r.endsWith('*') && re.test(`${arn}/*`) && re.test(`${arn}/.pulumi/stacks/p/dev.json`))
  return bucketCovered && objectsCovered
}

function qualifiesAsTlsDeny(s: PolicyStatement): boolean {
  return (
    s.Effect === 'Deny' &&
    s.NotPrincipal === undefined &&
    s.NotAction === undefined &&
    s.NotResource === undefined &&
    principalIsEveryone(s.Principal) &&
    actionsCoverAll(s.Action) &&
    isInsecureTransportCondition(s.Condition)
  )
}

/**
 * True when the statements deny every S3 action to everyone on the bucket and its objects
 * whenever TLS is not used — by meaning: any Sid, principal `*` or `{"AWS": "*"}`, actions
 * `s3:*` or `*`, resources (possibly across several such statements, wildcards allowed)
 * covering both ARNs, and exactly the condition aws:SecureTransport = false.
 */
export function hasTlsOnlyStatement(statements: PolicyStatement[], arn: string): boolean {
  const resources = statements.filter(qualifiesAsTlsDeny).flatMap((s) => list(s.Resource).filter((r): r is string => typeof r === 'string'))
  return resourcesCover(resources, arn)
}

export interface PolicyPlan {
  status: 'unchanged' | 'created' | 'updated'
  detail: string
  document?: BucketPolicyDocument
}

/** Merges the TLS-only statement into an existing policy (JSON text or undefined). */
export function planTlsPolicy(existing: string | undefined, arn: string): PolicyPlan {
  if (existing === undefined || existing.trim() === '') {
    return {status: 'created', detail: `${TLS_SID}: deny s3:* without TLS`, document: {Version: '2012-10-17', Statement: [tlsOnlyStatement(arn)]}}
  }
  let doc: BucketPolicyDocument
  try {
    doc = JSON.parse(existing) as BucketPolicyDocument
  } catch (error) {
    throw new PsbError(`The bucket policy of ${arn} is not valid JSON, so psb cannot merge its statement into it.`, {
      cause: error,
      code: 'BucketPolicyInvalid',
      hint: 'Inspect it with `aws s3api get-bucket-policy --bucket <name>` and fix it, then run again.',
    })
  }
  const statements = list(doc.Statement) as PolicyStatement[]
  if (hasTlsOnlyStatement(statements, arn)) {
    const own = statements.some((s) => s.Sid === TLS_SID)
    return {status: 'unchanged', detail: own ? `${TLS_SID} present` : 'an equivalent TLS-only statement is present'}
  }
  const others = statements.filter((s) => s.Sid !== TLS_SID)
  const replaced = others.length !== statements.length
  const document: BucketPolicyDocument = {...doc, Version: doc.Version ?? '2012-10-17', Statement: [...others, tlsOnlyStatement(arn)]}
  const kept = others.length === 1 ? '1 other statement' : `${others.length} other statements`
  return replaced
    ? {status: 'updated', detail: `restored ${TLS_SID}; kept ${kept}`, document}
    : {status: 'created', detail: `added ${TLS_SID} to the existing policy; kept ${kept}`, document}
}

export function planPolicySetting(current: string | undefined, arn: string): SettingPlan<string> {
  const plan = planTlsPolicy(current, arn)
  const changes = [{item: ITEMS.policy, status: plan.status, detail: plan.detail}]
  return plan.document ? {changes, change: JSON.stringify(plan.document)} : {changes}
}

export const tlsPolicy: BucketSetting<string, string> = {
  id: ITEMS.policy,
  items: [ITEMS.policy],
  optional: (custom) => custom,
  action: 's3:PutBucketPolicy',
  read: async (io) => (await io.read('s3:GetBucketPolicy', 'NoSuchBucketPolicy', () => io.s3.send(new io.S.GetBucketPolicyCommand({Bucket: io.bucket}))))?.Policy,
  plan: (current, want) => planPolicySetting(current, want.arn),
  apply: (io, Policy) => io.s3.send(new io.S.PutBucketPolicyCommand({Bucket: io.bucket, Policy})),
}

export const tlsPolicyRow = row(tlsPolicy)
