/**
 * Finding and running the Pulumi CLI: `PULUMI_BIN` overrides the PATH lookup; every run has
 * PULUMI_SKIP_UPDATE_CHECK=true (no network call, no "new version" banner) and its output
 * captured, never inherited.
 */
import {spawn} from 'node:child_process'
import {accessSync, constants, readFileSync, statSync} from 'node:fs'
import {homedir, tmpdir, userInfo} from 'node:os'
import {delimiter, isAbsolute, join, resolve} from 'node:path'
import type {Env} from '../files/aws-config.js'
import {PsbError, badInput} from '../errors.js'
import {parseVersion} from './backend-url.js'

export const INSTALL_HINT = 'Install the Pulumi CLI (https://www.pulumi.com/docs/install/: `curl -fsSL https://get.pulumi.com | sh` or `brew install pulumi/tap/pulumi`) and make sure `pulumi` is on PATH (or set PULUMI_BIN to its path).'

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * The pulumi executable: `PULUMI_BIN` when set (must be an executable file, else bad input),
 * else the first `pulumi` on PATH. Undefined when there is none.
 */
export function findPulumi(env: Env = process.env): string | undefined {
  if (env.PULUMI_BIN) {
    const p = resolve(env.PULUMI_BIN)
    if (!isExecutableFile(p)) {
      throw badInput(`PULUMI_BIN is "${env.PULUMI_BIN}", which is not an executable file.`, 'Point PULUMI_BIN at the pulumi executable, or unset it to use the one on PATH.', 'PulumiBinInvalid')
    }
    return p
  }
  const names = process.platform === 'win32' ? (env.PATHEXT || '.EXE;.CMD;.BAT').split(';').map((e) => 'pulumi' + e.toLowerCase()) : ['pulumi']
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue
    for (const name of names) {
      const candidate = join(dir, name)
      if (isExecutableFile(candidate)) return candidate
    }
  }
  return undefined
}

/** Where the official installer puts Pulumi, when it is there but not on PATH. */
export function pulumiOffPath(env: Env = process.env): string | undefined {
  const candidate = join(env.HOME || homedir(), '.pulumi', 'bin', 'pulumi')
  return isExecutableFile(candidate) ? candidate : undefined
}

export interface PulumiRun {
  /** Exit code; null when killed. */
  code: number | null
  stdout: string
  stderr: string
  /** The command as a human would type it (for messages). */
  command: string
}

export interface RunPulumiOptions {
  env?: Env
  cwd?: string
  /** Kill after this long; default PSB_PULUMI_TIMEOUT_MS or 120 s. */
  timeoutMs?: number
  /** The executable; default findPulumi(env). */
  bin?: string
}

/** The environment every pulumi run gets. */
export function pulumiEnv(env: Env = process.env, extra: Env = {}): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries({...env, ...extra})) if (v !== undefined) out[k] = v
  out.PULUMI_SKIP_UPDATE_CHECK = 'true'
  return out
}

export function notFoundError(url?: string, env: Env = process.env): PsbError {
  const off = pulumiOffPath(env)
  const where = off ? ` It is installed at ${off}, but that folder is not on PATH: add it (export PATH="$HOME/.pulumi/bin:$PATH").` : ''
  const then = url ? ` Then run \`psb login\` again, or log in yourself with: pulumi login '${url}'` : ''
  return new PsbError(`The Pulumi CLI was not found on PATH.${where}`, {
    code: 'PulumiNotFound',
    hint: `${INSTALL_HINT}${then}`,
    data: url ? {url} : undefined,
  })
}

/** Runs pulumi with `args`, capturing its output. Throws PulumiNotFound when there is no pulumi. */
export async function runPulumi(args: string[], opts: RunPulumiOptions = {}): Promise<PulumiRun> {
  const env = opts.env ?? process.env
  const bin = opts.bin ?? findPulumi(env)
  if (!bin) throw notFoundError(undefined, env)
  const timeoutMs = opts.timeoutMs ?? (Number(env.PSB_PULUMI_TIMEOUT_MS) || 120_000)
  const command = ['pulumi', ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, args, {env: pulumiEnv(env), cwd: opts.cwd ?? tmpdir(), stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      if (error.code === 'ENOENT') reject(notFoundError(undefined, env))
      else reject(new PsbError(`Could not run ${bin}: ${error.message}`, {code: 'PulumiFailed', cause: error, hint: 'Check that PULUMI_BIN or the pulumi on PATH is a working Pulumi CLI.'}))
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      if (timedOut) stderr += `\n(psb stopped it after ${Math.round(timeoutMs / 1000)} s)`
      resolvePromise({code, stdout, stderr, command})
    })
  })
}

/** A PsbError for a failed pulumi run, carrying its stderr. */
export function pulumiFailed(run: PulumiRun, what: string, hint: string): PsbError {
  const detail = (run.stderr.trim() || run.stdout.trim() || '(no output)').split('\n').slice(-20).join('\n')
  return new PsbError(`${what}: \`${run.command}\` exited with ${run.code ?? 'a signal'}:\n${detail}`, {
    code: 'PulumiFailed',
    hint,
    data: {command: run.command, exitCode: run.code, stderr: run.stderr.trim()},
  })
}

/** The version in `pulumi version` output (`v3.274.1`), without the `v`. */
export function parsePulumiVersion(output: string): string | undefined {
  for (const line of output.split('\n')) {
    const m = /^\s*v?(\d+\.\d+\.\d+[^\s]*)\s*$/.exec(line)
    if (m && parseVersion(m[1])) return m[1]
  }
  return undefined
}

/** The installed Pulumi version (`3.274.1`); undefined when pulumi is not on PATH. */
export async function pulumiVersion(opts: {env?: Env} = {}): Promise<string | undefined> {
  const env = opts.env ?? process.env
  const bin = findPulumi(env)
  if (!bin) return undefined
  const run = await runPulumi(['version'], {env, bin, timeoutMs: Number(env.PSB_PULUMI_TIMEOUT_MS) || 30_000})
  if (run.code !== 0) throw pulumiFailed(run, 'Could not read the Pulumi version', 'Check that the pulumi on PATH (or PULUMI_BIN) works: run `pulumi version`.')
  const version = parsePulumiVersion(run.stdout)
  if (!version) {
    throw new PsbError(`\`pulumi version\` printed no version: ${JSON.stringify(run.stdout.trim().slice(0, 200))}`, {
      code: 'PulumiFailed',
      hint: 'Check that the pulumi on PATH (or PULUMI_BIN) is the Pulumi CLI.',
    })
  }
  return version
}

export interface Whoami {
  user?: string
  backendUrl?: string
  organizations?: string[]
}

/** Parses `pulumi whoami -v`: `User: ...`, `Organizations: a, b`, `Backend URL: ...`. */
export function parseWhoami(output: string): Whoami {
  const out: Whoami = {}
  for (const line of output.split('\n')) {
    const m = /^\s*([A-Za-z ]+?):\s?(.*?)\s*$/.exec(line)
    if (!m) continue
    const [, key, value] = m
    if (key === 'User') out.user = value
    else if (key === 'Backend URL') out.backendUrl = value
    else if (key === 'Organizations') out.organizations = value ? value.split(',').map((s) => s.trim()).filter(Boolean) : []
  }
  return out
}

/**
 * The home directory of the account as the password database has it — where Pulumi looks
 * (Go's user.Current().HomeDir), which is not $HOME when HOME is set to something else.
 */
export function accountHome(): string {
  try {
    return userInfo().homedir || homedir()
  } catch {
    return homedir()
  }
}

/** Pulumi's home: PULUMI_HOME, else `.pulumi` in the account's home directory (not $HOME). */
export function pulumiHomeDir(env: Env = process.env): string {
  return env.PULUMI_HOME || join(accountHome(), '.pulumi')
}

/**
 * Pulumi's credentials.json (where `pulumi login` records the backend): in
 * PULUMI_CREDENTIALS_PATH, else in Pulumi's home (pulumiHomeDir).
 */
export function pulumiCredentialsFile(env: Env = process.env): string {
  return join(env.PULUMI_CREDENTIALS_PATH || pulumiHomeDir(env), 'credentials.json')
}

/** When HOME differs from the account's home and Pulumi's home is not set: where Pulumi really keeps its login. */
export function pulumiHomeNote(env: Env = process.env): string | undefined {
  if (env.PULUMI_HOME || env.PULUMI_CREDENTIALS_PATH || !env.HOME) return undefined
  const account = accountHome()
  if (resolve(env.HOME) === resolve(account)) return undefined
  return `HOME is ${env.HOME}, but Pulumi keeps its login in ${pulumiCredentialsFile(env)}: Pulumi uses the account's home directory (${account}, from the password database), not $HOME. Set PULUMI_HOME to keep it elsewhere (and set it for every later pulumi command too).`
}

/** The backend Pulumi is logged in to (`current` in credentials.json), if any. */
export function currentPulumiLogin(env: Env = process.env): string | undefined {
  try {
    const parsed = JSON.parse(readFileSync(pulumiCredentialsFile(env), 'utf8')) as {current?: unknown}
    return typeof parsed.current === 'string' && parsed.current !== '' ? parsed.current : undefined
  } catch {
    return undefined
  }
}
