/**
 * Runs the built CLI (`bin/run.js`) as a real subprocess, with a temporary HOME and
 * temporary AWS files, and returns its real exit code and output.
 */
import {spawn} from 'node:child_process'
import {mkdtempSync, mkdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {checkJsonOutput} from './json-contract.js'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const RUN_JS = join(ROOT, 'bin', 'run.js')

export interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface RunOptions {
  /** Environment on top of a clean base (PATH, HOME, no AWS_* or PULUMI_* from the parent). */
  env?: Record<string, string | undefined>
  input?: string
  cwd?: string
  timeoutMs?: number
}

/** A clean environment: the parent's PATH and locale, nothing AWS- or Pulumi-related. */
export function baseEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue
    if (/^(AWS_|PULUMI_|PSB_|DEBUG$|NO_COLOR$|FORCE_COLOR$|CI$)/.test(k)) continue
    env[k] = v
  }
  env.HOME = home
  env.NO_UPDATE_NOTIFIER = '1'
  // psb's update notice: off in tests (test/cli/plugins.test.ts proves it then calls nothing).
  env.PSB_NO_UPDATE_CHECK = '1'
  // Without credentials the SDK's chain would try the EC2 instance metadata service, a
  // link-local address: tests reach loopback only.
  env.AWS_EC2_METADATA_DISABLED = 'true'
  // psb keeps V8's compile cache under HOME (bin/run.js); every test has a new HOME, so the
  // tests share one cache instead of compiling the bundle afresh in every process.
  env.NODE_COMPILE_CACHE ??= join(tmpdir(), 'psb-test-compile-cache')
  return env
}

export class TempHome {
  readonly dir: string
  constructor(prefix = 'psb-test-') {
    this.dir = mkdtempSync(join(tmpdir(), prefix))
    mkdirSync(join(this.dir, '.aws'), {recursive: true, mode: 0o700})
  }
  get credentialsFile(): string {
    return join(this.dir, '.aws', 'credentials')
  }
  get configFile(): string {
    return join(this.dir, '.aws', 'config')
  }
  path(...parts: string[]): string {
    return join(this.dir, ...parts)
  }
  cleanup(): void {
    rmSync(this.dir, {recursive: true, force: true})
  }
}

export function runPsb(args: string[], home: TempHome | string, opts: RunOptions = {}): Promise<RunResult> {
  const homeDir = typeof home === 'string' ? home : home.dir
  const env: Record<string, string> = baseEnv(homeDir)
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  // Every --json document a test sees is checked against its schema (json-contract.ts).
  return runNode([RUN_JS, ...args], {...opts, env, cwd: opts.cwd ?? homeDir}).then((r) => {
    checkJsonOutput(args, r)
    return r
  })
}

export function runNode(args: string[], opts: RunOptions & {env: Record<string, string>}): Promise<RunResult> {
  return runProcess(process.execPath, args, opts)
}

/** Runs a process without blocking the event loop (servers in this process keep serving). */
export function runProcess(command: string, args: string[], opts: RunOptions & {env: Record<string, string>}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolvePromise({code, signal, stdout, stderr})
    })
    child.stdin.end(opts.input ?? '')
  })
}
