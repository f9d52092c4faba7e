/** Types shared across the core. */

export type ChangeStatus = 'created' | 'updated' | 'unchanged' | 'skipped' | 'planned' | 'deleted'

/** One line of a plan or a report: a setting or resource and what happened to it. */
export interface Change {
  item: string
  status: ChangeStatus
  detail?: string
}

/** How the core reports progress and warnings: the CLI layer decides how to show them. */
export interface Logger {
  warn(message: string): void
  info(message: string): void
}

export const silentLogger: Logger = {
  warn() {},
  info() {},
}

/** Collects warnings (and ignores info), for results that carry them. */
export function collectingLogger(into: string[], next: Logger = silentLogger): Logger {
  return {
    warn(message) {
      into.push(message)
      next.warn(message)
    },
    info(message) {
      next.info(message)
    },
  }
}

const partialChanges = new WeakMap<object, Change[]>()

/**
 * Runs a core step that lists its changes into `changes` as it makes them; when it fails,
 * the changes made so far stay attached to the error (see changesOf), so that the CLI can
 * list every change made, the failed step's own included, before the error.
 */
export async function withPartialChanges<T>(run: (changes: Change[]) => Promise<T>): Promise<T> {
  const changes: Change[] = []
  try {
    return await run(changes)
  } catch (error) {
    if (error && typeof error === 'object' && !partialChanges.has(error)) partialChanges.set(error, [...changes])
    throw error
  }
}

/** The changes a failed core step had made before it threw (empty when none, or unknown). */
export function changesOf(error: unknown): Change[] {
  return (error && typeof error === 'object' ? partialChanges.get(error) : undefined) ?? []
}
