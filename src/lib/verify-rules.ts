/**
 * The pure rules of `psb verify`: how a bucket policy, an IAM policy and a backend URL are
 * judged — by meaning, never by spelling. No AWS call here.
 */

/** `team-a/` for `/team-a/`, '' for none. */
export function prefixBase(prefix: string | undefined): string {
  const p = (prefix ?? '').replace(/^\/+|\/+$/g, '')
  return p ? `${p}/` : ''
}

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

export interface Statement {
  Sid?: string
  Effect?: string
  Principal?: unknown
  Action?: string | string[]
  NotAction?: string | string[]
  Resource?: string | string[]
  Condition?: Record<string, Record<string, unknown>>
}

/** Parses a policy document, URL-encoded or not (IAM returns them URL-encoded). */
export function parsePolicy(raw: string | undefined): {Statement: Statement[]} | undefined {
  if (!raw) return undefined
  for (const text of [raw, safeDecode(raw)]) {
    try {
      const doc = JSON.parse(text) as {Statement?: Statement | Statement[]}
      return {Statement: asArray(doc.Statement)}
    } catch {}
  }
  return undefined
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

function principalIsEveryone(p: unknown): boolean {
  if (p === '*') return true
  if (p && typeof p === 'object') return asArray((p as {AWS?: string | string[]}).AWS).includes('*')
  return false
}

/**
 * True when a bucket policy denies every S3 action without TLS on the bucket and its
 * objects — compared by meaning: any Sid, string or boolean `false`, any key case,
 * `s3:*` or `*`, resources as a string or a list (or one wildcard covering both).
 */
export function hasTlsOnlyStatement(policy: {Statement: Statement[]}, bucket: string): boolean {
  const bucketArn = `arn:aws:s3:::${bucket}`
  for (const s of policy.Statement) {
    if (s.Effect !== 'Deny' || !principalIsEveryone(s.Principal)) continue
    const actions = asArray(s.Action).map((a) => a.toLowerCase())
    if (!actions.includes('s3:*') && !actions.includes('*')) continue
    const resources = asArray(s.Resource)
    const coversBucket = resources.includes(bucketArn) || resources.includes('*')
    const coversObjects = resources.includes(`${bucketArn}/*`) || resources.includes('*')
    if (!coversBucket || !coversObjects) continue
    for (const [op, entries] of Object.entries(s.Condition ?? {})) {
      if (op.toLowerCase() !== 'bool') continue
      for (const [key, value] of Object.entries(entries ?? {})) {
        if (key.toLowerCase() !== 'aws:securetransport') continue
        if (asArray(value as unknown).some((v) => String(v).toLowerCase() === 'false')) return true
      }
    }
  }
  return false
}

/** True when a policy allows the action `*` (full control). */
export function allowsEverything(policy: {Statement: Statement[]} | undefined): boolean {
  if (!policy) return false
  return policy.Statement.some((s) => s.Effect === 'Allow' && asArray(s.Action).includes('*'))
}

/** The bucket, prefix and parameters of an `s3://` URL, for comparing URLs by meaning. */
export function parseBackendUrl(url: string): {bucket: string; prefix: string; params: Map<string, string>} | undefined {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return undefined
  }
  if (u.protocol !== 's3:') return undefined
  const params = new Map<string, string>()
  for (const [k, v] of u.searchParams) params.set(k === 's3ForcePathStyle' ? 'use_path_style' : k === 'disableSSL' ? 'disable_https' : k, v)
  return {bucket: u.hostname, prefix: decodeURIComponent(u.pathname).replace(/^\/+|\/+$/g, ''), params}
}

/** 'same' | 'params' (same bucket and prefix, other parameters) | 'other'. */
export function compareBackendUrls(a: string, b: string): 'same' | 'params' | 'other' {
  if (a === b) return 'same'
  const pa = parseBackendUrl(a)
  const pb = parseBackendUrl(b)
  if (!pa || !pb || pa.bucket !== pb.bucket || pa.prefix !== pb.prefix) return 'other'
  const keys = new Set([...pa.params.keys(), ...pb.params.keys()])
  for (const k of keys) {
    const va = (pa.params.get(k) ?? '').toLowerCase()
    const vb = (pb.params.get(k) ?? '').toLowerCase()
    if (va !== vb) return 'params'
  }
  return 'same'
}

/** The IAM user name of a caller ARN (`arn:aws:iam::1:user/path/name`), or undefined. */
export function userNameOfArn(arn: string): string | undefined {
  const m = /^arn:[^:]+:iam::\d+:user\/(.+)$/.exec(arn)
  return m ? m[1].split('/').at(-1) : undefined
}
