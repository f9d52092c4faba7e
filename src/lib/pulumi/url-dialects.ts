/**
 * Which Pulumi versions read which backend URL: the eras of Pulumi's S3 driver, the URL forms
 * psb writes (`--dialect`), and the judgement of any `s3://` URL ("rejected by 3.113–3.244").
 * See docs/login.md, "URL dialects", for the table and where each cell is proven.
 *
 * Eras (from the gocloud.dev release each Pulumi pins):
 *  - before 3.113: SDK v1 only; a profile only through AWS_PROFILE (psb's assumption, not proven).
 *  - 3.113–3.244 (gocloud 0.37): SDK v1 by default, which reads `region`, `endpoint`,
 *    `disableSSL`, `s3ForcePathStyle` and `profile` (gocloud.dev/aws NewSessionFromURLParams),
 *    and rejects any other name; `awssdk=v2` reads only `region`, `endpoint`, `profile`.
 *  - 3.245.x (gocloud 0.46, no translation): SDK v2; reads `use_path_style` (alias
 *    `s3ForcePathStyle`), `disable_https`, ignores `awssdk`, rejects `disableSSL`.
 *  - 3.246 and later: as 3.245, and Pulumi itself translates `disableSSL` (pulumi#23525).
 */
import {compareVersions, parseVersion} from './backend-url.js'

/** The values of `--dialect`. */
export const URL_DIALECTS = ['native', 'portable', 'v1', 'v2', 'current'] as const
export type UrlDialectChoice = (typeof URL_DIALECTS)[number]

/** The concrete spelling of the URL's parameters. */
export type UrlForm = 'legacy' | 'legacy-env-profile' | 'awssdk-v2' | 'new'

export type PulumiEra = 'pre-3.113' | '3.113-3.244' | '3.245' | '3.246+'

export const ERA_LABEL: Record<PulumiEra, string> = {
  'pre-3.113': 'Pulumi before 3.113',
  '3.113-3.244': 'Pulumi 3.113–3.244',
  '3.245': 'Pulumi 3.245.x',
  '3.246+': 'Pulumi 3.246 and later',
}

/** The era of a Pulumi version (`pulumi version` output); undefined version: the newest. */
export function eraOf(version: string | undefined): PulumiEra {
  const v = version === undefined ? undefined : parseVersion(version)
  if (!v) return '3.246+'
  if (compareVersions(v, [3, 246, 0]) >= 0) return '3.246+'
  if (compareVersions(v, [3, 245, 0]) >= 0) return '3.245'
  if (compareVersions(v, [3, 113, 0]) >= 0) return '3.113-3.244'
  return 'pre-3.113'
}

/** The form a `--dialect` choice means for the installed Pulumi's era. */
export function formFor(choice: UrlDialectChoice, era: PulumiEra): UrlForm {
  switch (choice) {
    case 'native':
      if (era === 'pre-3.113') return 'legacy-env-profile'
      return era === '3.113-3.244' ? 'legacy' : 'new'
    case 'portable':
    case 'v1':
      return 'legacy'
    case 'v2':
      return 'awssdk-v2'
    case 'current':
      return 'new'
  }
}

/** What `--dialect` each form answers to, in words (for output). */
export const FORM_LABEL: Record<UrlForm, string> = {
  legacy: 'legacy names with profile (s3ForcePathStyle, disableSSL): every Pulumi from 3.113 on',
  'legacy-env-profile': 'legacy names, profile through AWS_PROFILE: Pulumi before 3.113',
  'awssdk-v2': 'awssdk=v2 (region, endpoint, profile only)',
  new: 'current names (use_path_style, disable_https): Pulumi 3.245 and later',
}

/** Parameters only gocloud 0.46 (Pulumi >= 3.245) knows; 3.113–3.244 stop at "unknown query parameter". */
const NEW_ONLY = ['use_path_style', 'disable_https', 'dualstack', 'fips', 'role', 'anonymous', 'hostname_immutable', 'request_checksum_calculation', 'response_checksum_validation', 'rate_limiter_capacity']
/** What SDK v1 (3.113–3.244 default) reads. */
const V1_NAMES = new Set(['region', 'endpoint', 'disableSSL', 's3ForcePathStyle', 'profile', 'awssdk', 'ssetype', 'kmskeyid'])
/** What `awssdk=v2` on 3.113–3.244 reads. */
const V2_OLD_NAMES = new Set(['region', 'endpoint', 'profile', 'awssdk', 'ssetype', 'kmskeyid'])

export interface Rejection {
  era: PulumiEra
  /** `Pulumi 3.113–3.244 rejects "use_path_style" (unknown query parameter)`. */
  reason: string
}

/**
 * The Pulumi eras from 3.113 on that refuse this URL, and why. Eras before 3.113 are not
 * judged (psb proves nothing there). An unparseable URL: no rejections (other checks fail it).
 */
export function rejectionsOf(url: string): Rejection[] {
  let params: URLSearchParams
  try {
    params = new URL(url).searchParams
  } catch {
    return []
  }
  const names = [...params.keys()]
  const out: Rejection[] = []
  const sdkV2 = params.get('awssdk')?.toLowerCase() === 'v2'
  const oldReads = sdkV2 ? V2_OLD_NAMES : V1_NAMES
  const oldBad = names.filter((n) => !oldReads.has(n))
  if (oldBad.length > 0) {
    const why = sdkV2 && oldBad.some((n) => V1_NAMES.has(n)) ? ' under awssdk=v2 (pulumi#18645)' : ''
    out.push({era: '3.113-3.244', reason: `${ERA_LABEL['3.113-3.244']} rejects ${oldBad.map((n) => `"${n}"`).join(', ')}${why} (unknown query parameter)`})
  }
  if (names.includes('disableSSL')) {
    out.push({era: '3.245', reason: `${ERA_LABEL['3.245']} rejects "disableSSL" (it reads only disable_https; 3.246 translates it again)`})
  }
  const unknownEverywhere = names.filter((n) => !V1_NAMES.has(n) && !NEW_ONLY.includes(n))
  if (unknownEverywhere.length > 0) {
    out.push({era: '3.246+', reason: `${ERA_LABEL['3.246+']} may reject ${unknownEverywhere.map((n) => `"${n}"`).join(', ')}`})
  }
  return out
}

/** One sentence naming the eras that reject a URL; undefined when every era from 3.113 reads it. */
export function describeRejections(url: string): string | undefined {
  const r = rejectionsOf(url)
  return r.length === 0 ? undefined : r.map((x) => x.reason).join('; ')
}
