/**
 * SIGINT (Ctrl-C) and SIGTERM, for every command, installed once by BaseCommand.
 *
 * While an operation that can stop cleanly runs (a key rotation: see src/lib/interrupt.ts),
 * the signal asks it to stop at its next safe point: it undoes or records the step in
 * progress, releases its lock, and its error says in one line what state things are in and
 * what to run next; the process then exits 130 (SIGINT) or 143 (SIGTERM). Otherwise psb
 * stops at once with that exit code and one line: every file psb writes is replaced
 * atomically, so none is half-written, and a second run of the same command finishes the rest.
 * A second signal stops at once.
 */
import {SIGNAL_EXIT, requestInterrupt, type StopSignal} from '../lib/interrupt.js'

let installed = false

export function installSignalHandlers(): void {
  if (installed) return
  installed = true
  let stopping = false
  const onSignal = (signal: StopSignal) => {
    const code = SIGNAL_EXIT[signal]
    if (stopping) {
      process.stderr.write(`\npsb: ${signal} again: stopping now. Run the same command again: it finishes or undoes what was in progress.\n`)
      process.exit(code)
    }
    stopping = true
    if (requestInterrupt(signal)) {
      process.stderr.write(`\npsb: ${signal}: stopping after undoing the step in progress (${signal} again stops at once)…\n`)
      return
    }
    process.stderr.write(
      `\npsb: interrupted (${signal}). No file is half-written (psb replaces files atomically); run the same command again to finish: a second run changes only what is still missing.\n`,
    )
    process.exit(code)
  }
  process.on('SIGINT', () => onSignal('SIGINT'))
  process.on('SIGTERM', () => onSignal('SIGTERM'))
}
