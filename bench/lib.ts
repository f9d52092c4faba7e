/** Helpers shared by the benchmarks. */
import {spawn} from 'node:child_process'
import {dirname, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

export const fmtMs = (ms: number): string => `${Math.round(ms)} ms`

export interface Ran {
  status: number | null
  stdout: string
  stderr: string
}

/** Runs a process without blocking the event loop (so servers run in this process keep serving). */
export function run(cmd: string, args: string[], opts: {env: Record<string, string>; cwd: string}): Promise<Ran> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (status) => resolvePromise({status, stdout, stderr}))
  })
}

export function check(r: Ran, what: string): void {
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`)
}
