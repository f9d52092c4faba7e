/**
 * Stopping on SIGINT / SIGTERM at a safe point. The CLI (src/cli/signals.ts) catches the
 * signal and calls `requestInterrupt`; the core never touches process signals itself. An
 * operation that can stop cleanly runs inside `interruptible()`: it checks
 * `throwIfInterrupted()` between its steps and waits with `sleepUnlessInterrupted()`, so the
 * signal turns into an `Interrupted` PsbError (exit 130 / 143) where the operation can still
 * undo or record what it did. The CLI exits at once only when no such operation is running.
 */
import {PsbError} from './errors.js'

export type StopSignal = 'SIGINT' | 'SIGTERM'

/** The conventional exit codes: 128 + the signal's number. */
export const SIGNAL_EXIT: Record<StopSignal, number> = {SIGINT: 130, SIGTERM: 143}

let received: StopSignal | undefined
let controller = new AbortController()
let active = 0

/**
 * Asks the running operation to stop. Returns true when an interruptible operation is running
 * (it stops at its next safe point and reports), false when there is none to wait for.
 */
export function requestInterrupt(signal: StopSignal): boolean {
  received ??= signal
  controller.abort()
  return active > 0
}

/** The signal received, if any. */
export function interruptReceived(): StopSignal | undefined {
  return received
}

/** The error an interrupted operation throws: `state` says what is done and what to run next. */
export function interruptedError(state: string): PsbError {
  const signal = received ?? 'SIGINT'
  return new PsbError(`Interrupted (${signal}): ${state}`, {
    code: 'Interrupted',
    exitCode: SIGNAL_EXIT[signal],
    hint: 'Run the same command again when you want it done: it starts from what is there now, and finishes or undoes anything left in progress.',
  })
}

export function isInterrupted(error: unknown): boolean {
  return error instanceof PsbError && error.code === 'Interrupted'
}

/** Throws the Interrupted error when a signal was received. */
export function throwIfInterrupted(state: string): void {
  if (received) throw interruptedError(state)
}

/** Sleeps `ms`; rejects with the Interrupted error as soon as a signal comes. */
export function sleepUnlessInterrupted(ms: number, state = 'stopped while waiting.'): Promise<void> {
  if (received) return Promise.reject(interruptedError(state))
  const signal = controller.signal
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer)
      reject(interruptedError(state))
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, {once: true})
  })
}

/** Runs `fn` as an operation that stops cleanly on a signal (see requestInterrupt). */
export async function interruptible<T>(fn: () => Promise<T>): Promise<T> {
  active++
  try {
    return await fn()
  } finally {
    active--
  }
}

/** For tests: forget a received signal. */
export function resetInterrupt(): void {
  received = undefined
  controller = new AbortController()
}
