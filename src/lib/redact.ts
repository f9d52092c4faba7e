/**
 * The one redaction rule: a secret access key never reaches stdout, stderr, logs,
 * JSON or an error. Every output path of the CLI goes through `redact()`.
 *
 * Two layers:
 *  1. every secret psb handles is registered with `registerSecret()` the moment it is
 *     read or created, and any occurrence of it is replaced, wherever it appears;
 *  2. as a safety net, anything shaped like an AWS secret (40 chars of base64 next to a
 *     secret-ish name, or a session token) is replaced too.
 * Access key ids are not secret but are shown masked: `AKIA…WXYZ`.
 */

const secrets = new Set<string>()

export const REDACTED = '****'

export function registerSecret(secret: string | undefined): void {
  if (secret && secret.length >= 8) secrets.add(secret)
}

/** For tests. */
export function clearRegisteredSecrets(): void {
  secrets.clear()
}

const ACCESS_KEY_ID = /\b((?:AKIA|ASIA|AIDA|AROA|AGPA|ANPA|ANVA|APKA|ABIA|ACCA)[A-Z0-9]{12,124})\b/g
// aws_secret_access_key = xxx, "SecretAccessKey":"xxx", AWS_SECRET_ACCESS_KEY=xxx, secretAccessKey: 'xxx'
const SECRET_ASSIGNMENT = /((?:aws_secret_access_key|secret_?access_?key|aws_session_token|session_?token)["']?\s*[:=]\s*["']?)([A-Za-z0-9/+=]{16,})/gi

export function maskKeyId(id: string | undefined): string {
  if (!id) return ''
  if (id.length <= 8) return '…'
  return `${id.slice(0, 4)}…${id.slice(-4)}`
}

export function redact(text: string): string {
  let out = text
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join(REDACTED)
  }
  out = out.replace(SECRET_ASSIGNMENT, (_m, name: string) => `${name}${REDACTED}`)
  out = out.replace(ACCESS_KEY_ID, (id: string) => maskKeyId(id))
  return out
}

/** Deep-redacts a JSON-able value (strings inside objects and arrays). */
export function redactValue<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T
  if (Array.isArray(value)) return value.map((v) => redactValue(v)) as T
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (/secret|session_?token/i.test(k) && typeof v === 'string') out[k] = REDACTED
      else out[k] = redactValue(v)
    }
    return out as T
  }
  return value
}
