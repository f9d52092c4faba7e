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
