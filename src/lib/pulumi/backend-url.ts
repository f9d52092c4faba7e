/**
 * The Pulumi backend URL of an S3 bucket: `s3://<bucket>[/<prefix>]?<params>`, spelled for the
 * Pulumi versions that will read it (`--dialect`; see url-dialects.ts and docs/login.md).
 *
 *  - `native` (psb login): the installed Pulumi's own names: 3.245 and later `use_path_style`
 *    / `disable_https`; 3.113–3.244 SDK v1's names with `profile` (SDK v1 reads `profile`
 *    there: measured on 3.200.0, gocloud 0.37 NewSessionFromURLParams), so no AWS_PROFILE is
 *    needed; before 3.113 a profile goes through AWS_PROFILE.
 *  - `portable` (--print, --project): one form every Pulumi from 3.113 reads: SDK v1's names
 *    with `profile` (3.246+ translates them; 3.245.x refuses only `disableSSL`).
 *  - `v1` = SDK v1's names, `v2` = `awssdk=v2`, `current` = the newest names.
 * Without a known version (Pulumi not installed), the newest era is assumed.
 */
import {describeValue, echo} from '../echo.js'
import {badInput} from '../errors.js'
import {emptyPrefix} from '../bucket/prefix.js'
import {validateEndpoint} from '../aws/client.js'
import {eraOf, formFor, rejectionsOf, type PulumiEra, type UrlDialectChoice, type UrlForm} from './url-dialects.js'

export interface BackendUrlOptions {
  bucket: string
  prefix?: string
  region: string
  profile?: string
  endpoint?: string
  /** `pulumi version` output or a plain version (`v3.274.1`, `3.200.0`); undefined: the newest dialect. */
  pulumiVersion?: string
  /** Which Pulumi versions the URL is for (`--dialect`); default `native`: the installed one. */
  dialect?: UrlDialectChoice
}

/**
 * The era of the S3 driver: `v2`: Pulumi >= 3.245. `v1-or-v2`: 3.113–3.244 (v1 default,
 * `awssdk=v2` opt-in). `v1`: before 3.113. (url-dialects.ts splits 3.245.x from 3.246+.)
 */
export type UrlDialect = 'v2' | 'v1-or-v2' | 'v1'

export interface BackendUrlPlan {
  url: string
  /** The `--dialect` asked for. */
  dialect: UrlDialectChoice
  /** The spelling that choice means for the installed Pulumi (url-dialects.ts). */
  form: UrlForm
  /** The installed Pulumi's era (the newest when unknown). */
  era: PulumiEra
  /** Which Pulumi versions from 3.113 on refuse the URL, and why (empty: all read it). */
  rejectedBy: string[]
  /** The AWS SDK the URL selects inside Pulumi. */
  sdk: 'v1' | 'v2'
  /**
   * Environment Pulumi needs besides the URL: set when the profile cannot be expressed in the
   * URL for this Pulumi version (then every `pulumi` command needs `AWS_PROFILE`).
   */
  env: Record<string, string>
  warnings: string[]
}

/** First Pulumi version whose S3 backend is on gocloud 0.46 (SDK v2 only, strict parameters). */
export const STRICT_V2_SINCE = [3, 245, 0] as const
/** First Pulumi version that knows `awssdk=v2`. */
export const AWSSDK_V2_SINCE = [3, 113, 0] as const

/** `[major, minor, patch]` of a version string such as `v3.274.1`, `3.200.0-alpha.1+dirty`. */
export function parseVersion(version: string): [number, number, number] | undefined {
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(version)
  if (!m) return undefined
  return [Number(m[1]), Number(m[2]), Number(m[3])]
}

export function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1
  return 0
}

export function dialectFor(pulumiVersion: string | undefined): UrlDialect {
  const v = pulumiVersion === undefined ? undefined : parseVersion(pulumiVersion)
  if (!v) return 'v2'
  if (compareVersions(v, STRICT_V2_SINCE) >= 0) return 'v2'
  if (compareVersions(v, AWSSDK_V2_SINCE) >= 0) return 'v1-or-v2'
  return 'v1'
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/

/** The bucket is the host of the URL: only what S3 allows in a bucket name fits there. */
function checkBucket(bucket: string): void {
  if (!BUCKET.test(bucket) || bucket.includes('..')) {
    throw badInput(
      `"${bucket}" is not a valid S3 bucket name for a Pulumi backend URL.`,
      'Bucket names are 3 to 63 characters of lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit.',
      'BucketNameInvalid',
    )
  }
}

/**
 * A prefix as Pulumi will see it: no leading or trailing `/`, no empty, `.` or `..` segments,
 * no control characters. Undefined only when no prefix was given: a prefix that normalises
 * to nothing (`''`, `/`, an unset `$TEAM`) is bad input, never "the whole bucket".
 */
export function normalizePrefix(prefix: string | undefined): string | undefined {
  if (prefix === undefined) return undefined
  const p = prefix.replace(/^\/+/, '').replace(/\/+$/, '')
  if (p === '') throw emptyPrefix(prefix)
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(p)) {
    throw badInput(`The prefix (${describeValue(prefix, 'value')}) contains a control character.`, 'Use letters, digits and - _ . / in prefixes.', 'PrefixInvalid')
  }
  const segments = p.split('/')
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw badInput(`The prefix ${echo(prefix, {what: 'value', shape: /^[a-z0-9./_-]{1,200}$/})} has an empty, "." or ".." segment.`, 'Give a prefix such as team-a or projects/team-a.', 'PrefixInvalid')
  }
  if (p.length > 512) throw badInput('The prefix is longer than 512 characters.', 'Use a shorter prefix.', 'PrefixInvalid')
  return p
}

function encodePath(prefix: string): string {
  return prefix
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/')
}

function query(params: Array<[string, string]>): string {
  return params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')
}

/** The profile name, checked: undefined when none; bad input (exit 2) when it cannot be an AWS profile name. */
function checkProfile(given: string | undefined): string | undefined {
  const profile = given === '' ? undefined : given
  if (profile !== undefined && (profile.trim() !== profile || /[\r\n[\]]/.test(profile))) {
    throw badInput(`The profile ${echo(profile, {what: 'name'})} is not a usable AWS profile name.`, 'Profile names have no brackets, newlines or leading/trailing spaces.', 'ProfileNameInvalid')
  }
  return profile
}

interface FormInput {
  form: UrlForm
  region: string
  endpoint: string | undefined
  profile: string | undefined
  pulumiVersion: string | undefined
}

interface FormParams {
  sdk: 'v1' | 'v2'
  params: Array<[string, string]>
  env: Record<string, string>
  warnings: string[]
}

/** The query parameters (and, before 3.113, the AWS_PROFILE fallback) of one URL form. */
function formParams(d: FormInput): FormParams {
  const {region, endpoint, profile} = d
  const http = endpoint !== undefined && endpoint.toLowerCase().startsWith('http://')
  const params: Array<[string, string]> = []
  const env: Record<string, string> = {}
  const warnings: string[] = []
  if (d.form === 'awssdk-v2') {
    params.push(['awssdk', 'v2'], ['region', region])
    if (profile) params.push(['profile', profile])
    if (endpoint) {
      params.push(['endpoint', endpoint])
      warnings.push('With awssdk=v2, Pulumi 3.113–3.244 cannot be asked for path-style addressing (pulumi#18645), which most custom endpoints (emulators, MinIO) need; --dialect portable can.')
    }
    return {sdk: 'v2', params, env, warnings}
  }
  const newNames = d.form === 'new'
  params.push(['region', region])
  if (profile && d.form !== 'legacy-env-profile') params.push(['profile', profile])
  if (endpoint) {
    params.push(['endpoint', endpoint], [newNames ? 'use_path_style' : 's3ForcePathStyle', 'true'])
    if (http) params.push([newNames ? 'disable_https' : 'disableSSL', 'true'])
  }
  if (profile && d.form === 'legacy-env-profile') {
    env.AWS_PROFILE = profile
    warnings.push(
      `Pulumi ${d.pulumiVersion} is older than 3.113: the profile "${profile}" cannot be part of the backend URL, so Pulumi reads it from AWS_PROFILE. ` +
        `Run Pulumi with AWS_PROFILE=${profile} set (psb sets it for the login), or upgrade Pulumi.`,
    )
  }
  return {sdk: newNames ? 'v2' : 'v1', params, env, warnings}
}

/** The URL and what else Pulumi needs, for the given Pulumi version and dialect. Bad input: exit 2. */
export function planBackendUrl(opts: BackendUrlOptions): BackendUrlPlan {
  checkBucket(opts.bucket)
  const prefix = normalizePrefix(opts.prefix)
  if (!opts.region) throw badInput('No AWS region for the backend URL.', 'Pass --region (e.g. --region us-east-1).', 'RegionMissing')
  const endpoint = validateEndpoint(opts.endpoint)
  const profile = checkProfile(opts.profile)
  const dialect = opts.dialect ?? 'native'
  const era = eraOf(opts.pulumiVersion)
  const form = formFor(dialect, era)
  const {sdk, params, env, warnings} = formParams({form, region: opts.region, endpoint, profile, pulumiVersion: opts.pulumiVersion})
  const url = `s3://${opts.bucket}${prefix ? '/' + encodePath(prefix) : ''}?${query(params)}`
  return {url, dialect, form, era, sdk, env, warnings, rejectedBy: rejectionsOf(url).map((r) => r.reason)}
}

/** The backend URL for the given Pulumi version (the newest dialect when none is given). */
export function buildBackendUrl(opts: BackendUrlOptions): string {
  return planBackendUrl(opts).url
}

/**
 * The bucket, prefix and parameters of an `s3://` URL, for comparing URLs by meaning: the
 * SDK v1 spellings (`s3ForcePathStyle`, `disableSSL`) read as their v2 names.
 */
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

/** `s` quoted for a POSIX shell (single quotes). */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s
  return `'${s.replace(/'/g, `'\\''`)}'`
}
