/**
 * The tag policy: which tags the company requires on a Pulumi state bucket, and how a
 * bucket's tags compare with it. Pure functions, no AWS call.
 *
 * The policy is PSB_REQUIRED_TAGS, a comma-separated list of `key=value` (the tag must
 * have this value) or `key` (the tag must exist, any value), e.g.
 * `PSB_REQUIRED_TAGS="cost-center=42,owner"`. Unset or empty: no policy, no check.
 */
export type Tags = Record<string, string>

/** A required tag: its key and the value it must have (undefined: any value). */
export interface Required {
  key: string
  value?: string
}

export function parsePolicy(text: string | undefined): Required[] {
  const out: Required[] = []
  for (const part of (text ?? '').split(',')) {
    const item = part.trim()
    if (!item) continue
    const eq = item.indexOf('=')
    if (eq === 0) throw new Error(`PSB_REQUIRED_TAGS: "${item}" has no key (write key=value or key).`)
    out.push(eq < 0 ? {key: item} : {key: item.slice(0, eq).trim(), value: item.slice(eq + 1).trim()})
  }
  return out
}

export interface Verdict {
  /** Required keys the bucket does not have. */
  missing: string[]
  /** Required key=value pairs whose key has another value on the bucket. */
  wrong: string[]
}

export function judge(tags: Tags, policy: Required[]): Verdict {
  const missing = policy.filter((r) => !(r.key in tags)).map((r) => r.key)
  const wrong = policy.filter((r) => r.key in tags && r.value !== undefined && tags[r.key] !== r.value).map((r) => `${r.key}=${r.value}`)
  return {missing, wrong}
}

export interface TagPlan {
  /** The tags to add (required key=value pairs the bucket lacks). */
  add: Tags
  /** What cannot be applied: a required key without a value, or a key that has another value (never overwritten). */
  warn: string[]
}

/**
 * What the bucket setting adds. Never weaker: it only adds missing tags, never removes a
 * tag, never changes a value someone set (that is reported, for a person to decide).
 */
export function planTags(tags: Tags, policy: Required[]): TagPlan {
  const add: Tags = {}
  const warn: string[] = []
  for (const r of policy) {
    if (r.key in tags) {
      if (r.value !== undefined && tags[r.key] !== r.value) warn.push(`tag ${r.key} is "${tags[r.key]}", the policy wants "${r.value}"; left as it is.`)
    } else if (r.value === undefined) warn.push(`tag ${r.key} is required but the policy gives no value to set; add it by hand (--tag ${r.key}=…).`)
    else add[r.key] = r.value
  }
  return {add, warn}
}

/** The bucket's tags after adding `add` (existing tags kept). */
export function merged(tags: Tags, add: Tags): Tags {
  return {...add, ...tags}
}
