/**
 * The one error type of psb. Every failure that reaches the user is a PsbError:
 * a message (what failed and why), a hint (what to do), and an exit code.
 *
 * Exit codes scripts can trust:
 *   0  success
 *   1  an operation failed (AWS, Pulumi, the file system)
 *   2  bad input, detected before any write (before any AWS call, or by a preflight that
 *      makes read calls only: src/lib/iam/preflight.ts); nothing was changed
 *   Further codes are per command and documented in its help (e.g. `keys rotate`).
 */
export const EXIT = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
} as const

export interface PsbErrorOptions {
  /** What to do about it. */
  hint?: string
  /** Process exit code; default 1. */
  exitCode?: number
  /** A stable machine-readable code, e.g. `BucketNameInvalid`. */
  code?: string
  cause?: unknown
  /** Extra data for --json output. Never put secrets here. */
  data?: Record<string, unknown>
}

export class PsbError extends Error {
  readonly hint?: string
  readonly exitCode: number
  readonly code: string
  readonly data?: Record<string, unknown>

  constructor(message: string, options: PsbErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'PsbError'
    this.hint = options.hint
    this.exitCode = options.exitCode ?? EXIT.FAILED
    this.code = options.code ?? (this.exitCode === EXIT.USAGE ? 'BadInput' : 'Failed')
    this.data = options.data
  }
}

/** Bad input: exit 2, raised before any AWS call. */
export function badInput(message: string, hint?: string, code = 'BadInput'): PsbError {
  return new PsbError(message, {code, exitCode: EXIT.USAGE, hint})
}

export function isPsbError(error: unknown): error is PsbError {
  return error instanceof PsbError
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}
