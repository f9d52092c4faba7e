/**
 * The least-privilege identity policy of the IAM user that Pulumi runs as, built from the
 * bucket, an optional key prefix and the bucket's encryption key: one statement per
 * purpose, each with a `Sid` that says why it is there. Plus a comparison of two policies
 * by meaning, so that `user create` rewrites the policy only when it really differs.
 *
 * Pure functions: no AWS call here.
 */
import {echo} from '../echo.js'
import {parseArn} from '../aws/arn.js'
import {emptyPrefix} from '../bucket/prefix.js'
import {badInput} from '../errors.js'

/** A condition block: operator → condition key → value(s). */
export type PolicyCondition = Record<string, Record<string, string | string[]>>

export interface PolicyStatement {
  Sid?: string
  Effect: 'Allow' | 'Deny'
  Action?: string | string[]
  NotAction?: string | string[]
  Resource?: string | string[]
  NotResource?: string | string[]
  Principal?: unknown
  NotPrincipal?: unknown
  Condition?: PolicyCondition
}

export interface PolicyDocument {
  Version?: string
  Id?: string
  Statement: PolicyStatement | PolicyStatement[]
}

/** The name of the inline policy psb puts on the user (constant: psb finds it again by this name). */
export const STATE_POLICY_NAME = 'psb-pulumi-state'

/** The statement ids of the state policy, each saying why the statement exists. */
export const SID = {
  /** s3:ListBucket: Pulumi lists stacks, history and locks. */
  list: 'PulumiStateList',
  /** Get/Put/DeleteObject on the state objects (CopyObject = Get on the source + Put on the target). */
  objects: 'PulumiStateObjects',
  /** The bucket's customer-managed KMS key, to read and write SSE-KMS encrypted state. */
  kms: 'PulumiStateKms',
  /** Read-only access to the bucket settings that `psb verify` checks. */
  verifyBucket: 'VerifyBucketSettings',
  /** Read-only access to the user's own policies, so `psb verify` can warn about broad grants. */
  verifyOwnPermissions: 'VerifyOwnPermissions',
  /** Manage its own access keys, so `psb keys rotate` can run from cron with the profile's own key. */
  rotation: 'SelfServiceKeyRotation',
} as const

export const STATE_OBJECT_ACTIONS = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']
export const KMS_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']
export const VERIFY_BUCKET_ACTIONS = [
  's3:GetBucketVersioning',
  's3:GetEncryptionConfiguration',
  's3:GetBucketPublicAccessBlock',
  's3:GetBucketOwnershipControls',
  's3:GetBucketPolicy',
  's3:GetLifecycleConfiguration',
  's3:GetBucketTagging',
  's3:GetBucketLocation',
]
export const VERIFY_OWN_PERMISSIONS_ACTIONS = ['iam:ListAttachedUserPolicies', 'iam:ListUserPolicies', 'iam:GetUserPolicy']
export const ROTATION_ACTIONS = [
  'iam:GetUser',
  'iam:ListAccessKeys',
  'iam:CreateAccessKey',
  'iam:UpdateAccessKey',
  'iam:DeleteAccessKey',
  'iam:GetAccessKeyLastUsed',
]

export {parseArn, type Arn} from '../aws/arn.js'

/** The ARN of an IAM user: `arn:<partition>:iam::<account>:user<path><name>`. */
export function userArnFor(accountId: string, user: string, path = '/', partition = 'aws'): string {
  return `arn:${partition}:iam::${accountId}:user${path}${user}`
}

export {emptyPrefix} from '../bucket/prefix.js'

/**
 * A key prefix as psb stores it: without leading or trailing slashes; undefined only when
 * no prefix was given (an empty or slash-only prefix is exit 2). Rejects what would be
 * unsafe in a policy (IAM wildcards `*` `?`, policy variables `${...}`) or surprising in a
 * key (empty, `.` or `..` segments). Exit 2.
 */
export function normalizePrefix(prefix: string | undefined): string | undefined {
  if (prefix === undefined) return undefined
  const p = prefix.replace(/^\/+|\/+$/g, '')
  if (p === '') throw emptyPrefix(prefix)
  const hint = 'Use letters, digits, "-", "_" and "." in segments separated by "/", e.g. --prefix team-a or --prefix projects/web.'
  if (p.length > 512) throw badInput(`--prefix is ${p.length} characters long; at most 512 are allowed.`, hint, 'PrefixInvalid')
  const bad = /[^A-Za-z0-9._\-/]/.exec(p)
  if (bad) {
    const ch = JSON.stringify(bad[0])
    throw badInput(`--prefix ${echo(prefix, {what: 'value'})} contains ${ch}, which psb does not accept in a prefix (IAM treats * and ? as wildcards; other characters break URLs or tags).`, hint, 'PrefixInvalid')
  }
  for (const segment of p.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw badInput(`--prefix ${echo(prefix, {what: 'value', shape: /^[a-z0-9./_-]{1,200}$/})} has an empty, "." or ".." segment.`, hint, 'PrefixInvalid')
    }
  }
  return p
}

/** Checks that a bucket name is safe to put in a policy ARN (no wildcards, no slashes). Exit 2. */
export function checkBucketForPolicy(bucket: string): void {
  // Loose on purpose (legacy us-east-1 names allow capitals and "_"); the bucket
  // command applies the full naming rules. What matters here: nothing IAM would read
  // as a wildcard, a variable or a path.
  if (!/^[A-Za-z0-9._-]{1,255}$/.test(bucket)) {
    throw badInput(
      `"${bucket}" is not a bucket name psb can put in a policy: only letters, digits, ".", "-" and "_" are allowed.`,
      'Give the name of the state bucket, e.g. --bucket acme-pulumi-state.',
      'BucketNameInvalid',
    )
  }
}

export interface StatePolicyOptions {
  bucket: string
  prefix?: string
  /**
   * The customer-managed KMS key the bucket encrypts with: a key ARN
   * (`arn:aws:kms:<region>:<account>:key/<id>`) or an alias ARN
   * (`arn:aws:kms:<region>:<account>:alias/<name>`). Undefined: SSE-S3 or the AWS-managed key.
   */
  kmsKeyArn?: string
  /** The user's own ARN (with its path): the only resource of the IAM statements. */
  userArn: string
}

/** The KMS statement: on the key ARN, or (for an alias) on the account's keys that carry that alias. */
function kmsStatement(kmsKeyArn: string): PolicyStatement {
  const arn = parseArn(kmsKeyArn)
  if (!arn || arn.service !== 'kms' || !arn.region || !/^\d{12}$/.test(arn.account) || !/^(key|alias)\/./.test(arn.resource)) {
    throw badInput(`The KMS key ${echo(kmsKeyArn, {what: 'value', shape: /^[a-z0-9:/_-]{1,200}$/})} is not a KMS key or alias ARN.`, 'Give the key as arn:aws:kms:<region>:<account>:key/<key-id> (or an alias ARN).', 'KmsKeyInvalid')
  }
  if (arn.resource.startsWith('alias/')) {
    // IAM grants on an alias ARN do not cover the key's cryptographic operations; the
    // documented way to grant "the key behind this alias" is kms:ResourceAliases.
    return {
      Sid: SID.kms,
      Effect: 'Allow',
      Action: [...KMS_ACTIONS],
      Resource: `arn:${arn.partition}:kms:${arn.region}:${arn.account}:key/*`,
      Condition: {'ForAnyValue:StringEquals': {'kms:ResourceAliases': arn.resource}},
    }
  }
  return {Sid: SID.kms, Effect: 'Allow', Action: [...KMS_ACTIONS], Resource: kmsKeyArn}
}

/**
 * The state policy: one statement per purpose, each with a Sid that says why.
 *   PulumiStateList         s3:ListBucket on the bucket (only under the prefix, when given)
 *   PulumiStateObjects      s3:Get/Put/DeleteObject on bucket/<prefix>/* (or bucket/*)
 *   PulumiStateKms          kms:Decrypt/Encrypt/GenerateDataKey on the customer key (SSE-KMS only)
 *   VerifyBucketSettings    read-only bucket settings that `psb verify` checks
 *   VerifyOwnPermissions    read-only view of the user's own policies (for `psb verify`)
 *   SelfServiceKeyRotation  the user's own access keys, on its own ARN only
 */
export function buildStatePolicy(opts: StatePolicyOptions): PolicyDocument {
  checkBucketForPolicy(opts.bucket)
  const user = parseArn(opts.userArn)
  if (!user || user.service !== 'iam' || !/^(\d{12}|ACCOUNT_ID)$/.test(user.account) || !user.resource.startsWith('user/')) {
    throw badInput(`"${opts.userArn}" is not an IAM user ARN.`, 'An IAM user ARN looks like arn:aws:iam::123456789012:user/pulumi.', 'UserArnInvalid')
  }
  const statements = stateStatements({...opts, partition: user.partition})
  statements.push(
    {Sid: SID.verifyOwnPermissions, Effect: 'Allow', Action: [...VERIFY_OWN_PERMISSIONS_ACTIONS], Resource: opts.userArn},
    {Sid: SID.rotation, Effect: 'Allow', Action: [...ROTATION_ACTIONS], Resource: opts.userArn},
  )
  return {Version: '2012-10-17', Statement: statements}
}

/**
 * The statements on the bucket (and its key) that the user's and the role's policies share:
 * PulumiStateList, PulumiStateObjects, PulumiStateKms (SSE-KMS only), VerifyBucketSettings.
 */
export function stateStatements(opts: {bucket: string; prefix?: string; kmsKeyArn?: string; partition: string}): PolicyStatement[] {
  const prefix = normalizePrefix(opts.prefix)
  const bucketArn = `arn:${opts.partition}:s3:::${opts.bucket}`
  const list: PolicyStatement = {Sid: SID.list, Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArn}
  if (prefix) list.Condition = {StringLike: {'s3:prefix': [`${prefix}/*`, prefix]}}
  const statements: PolicyStatement[] = [
    list,
    {Sid: SID.objects, Effect: 'Allow', Action: [...STATE_OBJECT_ACTIONS], Resource: prefix ? `${bucketArn}/${prefix}/*` : `${bucketArn}/*`},
  ]
  if (opts.kmsKeyArn) statements.push(kmsStatement(opts.kmsKeyArn))
  statements.push({Sid: SID.verifyBucket, Effect: 'Allow', Action: [...VERIFY_BUCKET_ACTIONS], Resource: bucketArn})
  return statements
}

/** A policy document from IAM's answer (URL-encoded JSON) or from plain JSON. */
export function parsePolicyDocument(text: string): PolicyDocument {
  const trimmed = text.trim()
  const json = trimmed.startsWith('{') ? trimmed : decodeURIComponent(trimmed)
  return JSON.parse(json) as PolicyDocument
}

const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v])

function sortedStrings(v: unknown, lower = false): string[] {
  const items = asList(v).map((x) => (lower ? String(x).toLowerCase() : String(x)))
  return [...new Set(items)].sort()
}

function canonicalPrincipal(p: unknown): unknown {
  if (p === undefined) return undefined
  if (typeof p === 'string') return p
  const out: Record<string, string[]> = {}
  for (const k of Object.keys(p as Record<string, unknown>).sort()) out[k] = sortedStrings((p as Record<string, unknown>)[k])
  return out
}

function canonicalCondition(c: unknown): unknown {
  if (!c || typeof c !== 'object') return undefined
  const out: Record<string, Record<string, string[]>> = {}
  for (const op of Object.keys(c).sort()) {
    const block = (c as Record<string, Record<string, unknown>>)[op] ?? {}
    const keys: Record<string, string[]> = {}
    // Condition keys are case-insensitive; their values are not.
    for (const k of Object.keys(block).sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()))) keys[k.toLowerCase()] = sortedStrings(block[k])
    out[op] = keys
  }
  return Object.keys(out).length > 0 ? out : undefined
}

function canonicalStatement(s: PolicyStatement): string {
  // The Sid is a label, not part of the meaning; actions are case-insensitive.
  const c: Record<string, unknown> = {Effect: s.Effect}
  if (s.Action !== undefined) c.Action = sortedStrings(s.Action, true)
  if (s.NotAction !== undefined) c.NotAction = sortedStrings(s.NotAction, true)
  if (s.Resource !== undefined) c.Resource = sortedStrings(s.Resource)
  if (s.NotResource !== undefined) c.NotResource = sortedStrings(s.NotResource)
  if (s.Principal !== undefined) c.Principal = canonicalPrincipal(s.Principal)
  if (s.NotPrincipal !== undefined) c.NotPrincipal = canonicalPrincipal(s.NotPrincipal)
  const cond = canonicalCondition(s.Condition)
  if (cond !== undefined) c.Condition = cond
  return JSON.stringify(c)
}

/** A canonical form of a policy: same string ⇔ same meaning (for the forms psb cares about). */
export function canonicalPolicy(doc: PolicyDocument): string {
  // A policy without Version is read by IAM as 2008-10-17 (no policy variables).
  const version = doc.Version ?? '2008-10-17'
  const statements = [...new Set(asList(doc.Statement).map((s) => canonicalStatement(s as PolicyStatement)))].sort()
  return JSON.stringify({Version: version, Statement: statements})
}

/**
 * True when two policies mean the same: statement, action and resource order, a string
 * vs a one-element array, duplicates, action case, condition-key case and Sids do not
 * matter; a different Version (a missing one is 2008-10-17) does.
 */
export function policiesEquivalent(a: PolicyDocument | string, b: PolicyDocument | string): boolean {
  const da = typeof a === 'string' ? parsePolicyDocument(a) : a
  const db = typeof b === 'string' ? parsePolicyDocument(b) : b
  return canonicalPolicy(da) === canonicalPolicy(db)
}

export interface StatementSummary {
  sid: string
  effect: string
  actions: string[]
  resources: string[]
  condition?: string
}

/** One line per statement, for a human-readable summary of a policy. */
export function summarizePolicy(doc: PolicyDocument): StatementSummary[] {
  return asList(doc.Statement).map((raw, i) => {
    const s = raw as PolicyStatement
    const summary: StatementSummary = {
      sid: s.Sid ?? `#${i + 1}`,
      effect: s.Effect,
      actions: asList(s.Action ?? s.NotAction).map(String),
      resources: asList(s.Resource ?? s.NotResource).map(String),
    }
    if (s.Condition) {
      summary.condition = Object.entries(s.Condition)
        .flatMap(([op, block]) => Object.entries(block).map(([k, v]) => `${op} ${k} ${asList(v).join(' | ')}`))
        .join('; ')
    }
    return summary
  })
}

/**
 * A warning for a managed policy that grants (nearly) the whole account; undefined for
 * any other ARN.
 */
export function broadPolicyWarning(arn: string, accountId?: string): string | undefined {
  const m = /^arn:aws[a-z-]*:iam::aws:policy\/(AdministratorAccess|PowerUserAccess)$/.exec(arn)
  if (!m) return undefined
  const account = accountId ? `account ${accountId}` : 'account'
  if (m[1] === 'AdministratorAccess') {
    return `${arn} grants the whole ${account}: every action on every resource, IAM included. Pulumi — and anyone who gets this user's access key — can do anything there. Prefer a policy limited to what your Pulumi programs deploy.`
  }
  return `${arn} grants almost the whole ${account}: every action except most of IAM and Organizations. Prefer a policy limited to what your Pulumi programs deploy.`
}
