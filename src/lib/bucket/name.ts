/**
 * S3 general purpose bucket naming rules, checked before any AWS call so that a bad
 * name fails fast (exit 2) with a message that names the rule it breaks.
 *
 * Source: the S3 user guide, "General purpose bucket naming rules".
 */
import {echo, mayEcho, plural} from '../echo.js'
import {badInput} from '../errors.js'

/** A naming rule: a stable id (for tests and --json) and the rule in words. */
export interface BucketNameRule {
  id: string
  rule: string
}

export const BUCKET_NAME_RULES = {
  length: {id: 'length', rule: 'must be 3 to 63 characters long'},
  uppercase: {id: 'uppercase', rule: 'must not contain uppercase letters'},
  characters: {id: 'characters', rule: 'may contain only lowercase letters, digits, dots (.) and hyphens (-)'},
  startEnd: {id: 'start-end', rule: 'must begin and end with a lowercase letter or a digit'},
  adjacentDots: {id: 'adjacent-dots', rule: 'must not contain two adjacent dots (..)'},
  ipAddress: {id: 'ip-address', rule: 'must not be formatted as an IP address (e.g. 192.168.5.4)'},
  prefix: {id: 'reserved-prefix', rule: 'must not start with the reserved prefixes xn--, sthree- or amzn-s3-demo-'},
  suffix: {id: 'reserved-suffix', rule: 'must not end with the reserved suffixes -s3alias, --ol-s3, .mrap, --x-s3 or --table-s3'},
} as const satisfies Record<string, BucketNameRule>

const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-']
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3']

/** The first rule `name` breaks, with a detail for the message; undefined when the name is valid. */
export function bucketNameProblem(name: string): {rule: BucketNameRule; detail: string} | undefined {
  const R = BUCKET_NAME_RULES
  if (name.length < 3 || name.length > 63) return {rule: R.length, detail: `it has ${plural(name.length, 'character')}`}
  const upper = /[A-Z]/.exec(name)
  if (upper) return {rule: R.uppercase, detail: `"${upper[0]}" at position ${upper.index + 1}`}
  const bad = /[^a-z0-9.-]/.exec(name)
  if (bad) return {rule: R.characters, detail: `${JSON.stringify(bad[0])} at position ${bad.index + 1}`}
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) {
    const which = !/^[a-z0-9]/.test(name) ? `it begins with "${name[0]}"` : `it ends with "${name[name.length - 1]}"`
    return {rule: R.startEnd, detail: which}
  }
  if (name.includes('..')) return {rule: R.adjacentDots, detail: `".." at position ${name.indexOf('..') + 1}`}
  if (/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)) return {rule: R.ipAddress, detail: 'it looks like an IPv4 address'}
  const prefix = RESERVED_PREFIXES.find((p) => name.startsWith(p))
  if (prefix) return {rule: R.prefix, detail: `it starts with "${prefix}"`}
  const suffix = RESERVED_SUFFIXES.find((s) => name.endsWith(s))
  if (suffix) return {rule: R.suffix, detail: `it ends with "${suffix}"`}
  return undefined
}

/** A name psb would suggest: lowercase, the allowed characters only, within the rules. */
export function sanitizeBucketName(name: string): string {
  let s = name
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
  for (const p of RESERVED_PREFIXES) if (s.startsWith(p)) s = s.slice(p.length)
  for (const x of RESERVED_SUFFIXES) if (s.endsWith(x)) s = s.slice(0, -x.length)
  return s.slice(0, 63).replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
}

/** Throws a bad-input error (exit 2) naming the rule broken; returns when the name is valid. */
export function validateBucketName(name: string): void {
  const problem = bucketNameProblem(name)
  if (!problem) return
  // A name-like value is shown with a corrected form; anything else (a pasted secret) neither: the fix would echo it.
  const shown = mayEcho(name, /^[A-Za-z0-9._ -]{1,80}$/)
  const fixed = sanitizeBucketName(name)
  const suggestion = shown && fixed !== name && !bucketNameProblem(fixed) ? ` For example: --bucket ${fixed}` : ''
  throw badInput(
    `Bucket name ${shown ? JSON.stringify(name) : echo(name)} is not valid: a bucket name ${problem.rule.rule} (${problem.detail}).`,
    `Choose a name that follows the S3 naming rules: 3-63 characters, lowercase letters, digits, dots and hyphens, beginning and ending with a letter or digit.${suggestion}`,
    'BucketNameInvalid',
  )
}
