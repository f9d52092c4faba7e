/**
 * The rule for echoing a value psb rejects (a stray argument, a malformed flag value):
 * it is shown only when it cannot be a secret — it is short (at most 16 characters), or it
 * has the shape of the thing expected (a region, an ARN, …) — and otherwise described
 * ("an argument of 40 characters"), never echoed. A pasted secret access key, session token
 * or password thus never reaches the screen, a log or a --json document through an error.
 *
 * Every message that quotes a rejected value builds it with `echo()`.
 */
import {registerSecret} from './redact.js'

/** Longest value shown whatever its shape. */
export const MAX_ECHO_LENGTH = 16

export interface EchoOptions {
  /** What the value is, for its description: "argument", "name". Default: "value". */
  what?: string
  /** The shape of what was expected (anchored): a value of this shape is shown at any length. */
  shape?: RegExp
}

/** A name-like value (`pulumi-team-a-prod`): lowercase words of at most 10 characters joined by - _ . — unlike any key or token. */
export const NAME_SHAPE = /^(?=.{1,64}$)[a-z0-9]{1,10}(?:[-_.][a-z0-9]{1,10})*$/

/**
 * Something shaped like a credential (an AWS secret access key, a session token): 24 or more
 * characters of base64 with upper- and lowercase letters and a digit, "/" or "+". Names
 * (bucket, user, profile) are not: they have no such mix, or a "-", "_" or "." in them.
 */
export function looksLikeSecret(value: string): boolean {
  return /^[A-Za-z0-9/+=]{24,}$/.test(value) && /[A-Z]/.test(value) && /[a-z]/.test(value) && /[\d/+]/.test(value)
}

/** Whether a rejected value may be shown: short, or of the expected shape, and never secret-shaped or with control characters. */
export function mayEcho(value: string, shape?: RegExp): boolean {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value) || looksLikeSecret(value)) return false
  return value.length <= MAX_ECHO_LENGTH || (shape !== undefined && shape.test(value))
}

/** `1 character`, `40 characters`. */
export function plural(n: number, word: string, words = `${word}s`): string {
  return `${n} ${n === 1 ? word : words}`
}

/** `an argument of 40 characters`. */
export function describeValue(value: string, what = 'value'): string {
  return `${/^[aeiou]/i.test(what) ? 'an' : 'a'} ${what} of ${plural([...value].length, 'character')}`
}

/** The rejected value quoted (`"us-west-99"`) when it may be shown, else its description in parentheses (`(a value of 40 characters)`). */
export function echo(value: string, opts: EchoOptions = {}): string {
  return mayEcho(value, opts.shape) ? JSON.stringify(value) : `(${describeValue(value, opts.what)})`
}

const FLAG_NAME = /^--?[a-z][a-z0-9-]*$/

/** The values of a command line: every word, and the value of each `--flag=value`. */
function argvValues(argv: readonly string[]): string[] {
  const out: string[] = []
  for (const a of argv) {
    const eq = a.indexOf('=')
    if (eq > 0 && FLAG_NAME.test(a.slice(0, eq))) out.push(a.slice(eq + 1))
    else out.push(a)
  }
  return out
}

/**
 * Replaces, in a message about rejected input (e.g. one of oclif's parse errors, which quote
 * the raw command line), every word of argv that may not be echoed by its description.
 */
export function scrubArgv(text: string, argv: readonly string[]): string {
  const words = argvValues(argv)
    .filter((w) => w.length > 0 && !mayEcho(w, FLAG_NAME))
    .sort((a, b) => b.length - a.length)
  let out = text
  for (const w of words) {
    const what = w.startsWith('-') ? 'flag' : 'argument'
    if (out.includes(w)) out = out.split(w).join(describeValue(w, what))
  }
  return out
}

/**
 * The safety net of the rule: a secret-shaped word of the command line is registered with the
 * redaction rule, so that no output path can print it, even one that forgot `echo()`.
 */
export function registerArgvSecrets(argv: readonly string[]): void {
  for (const w of argvValues(argv)) if (looksLikeSecret(w)) registerSecret(w)
}
