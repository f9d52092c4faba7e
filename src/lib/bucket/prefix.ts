/**
 * Prefix rules shared by every domain that places state under a prefix of the bucket (the
 * user's policy, the backend URL, key rotation's probe, verify).
 */
import {badInput, type PsbError} from '../errors.js'

/** `team-a/` for `/team-a/`, '' for none. */
export function prefixBase(prefix: string | undefined): string {
  const p = (prefix ?? '').replace(/^\/+|\/+$/g, '')
  return p ? `${p}/` : ''
}

/**
 * The error for a prefix that normalises to nothing (`''`, `/`, `//`, `--prefix "$TEAM"` with
 * TEAM unset): it would grant the whole bucket, so it is bad input, never "no prefix".
 */
export function emptyPrefix(prefix: string): PsbError {
  const what = prefix === '' ? 'is empty' : `is only slashes ("${prefix}")`
  return badInput(
    `--prefix ${what}; a prefix that normalises to nothing would mean the whole bucket.`,
    'Give a prefix such as --prefix team-a (check that the variable you passed is set), or leave out --prefix for the whole bucket.',
    'PrefixInvalid',
  )
}
