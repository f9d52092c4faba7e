/** Helpers shared by the benchmarks. */
import type {RunResult} from '../test/support/cli.js'

export {ROOT} from '../test/support/cli.js'

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

export const fmtMs = (ms: number): string => `${Math.round(ms)} ms`

export {runProcess as run} from '../test/support/cli.js'

export function check(r: RunResult, what: string): void {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
}
