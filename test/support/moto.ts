/**
 * A moto fixture: one moto_server per test process (started by our launcher, see
 * moto_launcher.py for the differences from stock moto), on a free loopback port,
 * with IAM enforcement on. After each reset an admin user with an inline `*` policy and
 * an access key is bootstrapped in the free (unauthenticated) calls; every later call
 * must be signed by a key that moto knows and is allowed by its policies.
 *
 *   const moto = useMoto()          // in a describe(): starts it, resets before each test
 *   moto.endpoint, moto.admin       // admin.accessKeyId / secretAccessKey
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {closeSync, mkdtempSync, openSync, readFileSync, rmSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {IAMClient, CreateUserCommand, PutUserPolicyCommand, CreateAccessKeyCommand} from '@aws-sdk/client-iam'

const here = dirname(fileURLToPath(import.meta.url))
export const LAUNCHER = join(here, 'moto_launcher.py')

/** Calls the bootstrap makes before enforcement starts. */
export const FREE_CALLS = 3
export const ACCOUNT_ID = '123456789012'
export const ADMIN_USER = 'psb-test-admin'

export interface Keys {
  accessKeyId: string
  secretAccessKey: string
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

export class MotoServer {
  proc?: ChildProcess
  port = 0
  admin!: Keys
  /** moto's own output (stdout and stderr). */
  logFile = ''

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    if (this.proc) return
    this.port = await freePort()
    this.logFile = join(mkdtempSync(join(tmpdir(), 'psb-moto-')), 'moto.log')
    const logFd = openSync(this.logFile, 'a')
    const python = process.env.PSB_PYTHON || 'python3'
    this.proc = spawn(python, [LAUNCHER, '-H', '127.0.0.1', '-p', String(this.port)], {
      env: {
        ...process.env,
        INITIAL_NO_AUTH_ACTION_COUNT: String(FREE_CALLS),
        MOTO_IAM_LOAD_MANAGED_POLICIES: 'true',
        // moto must not think it runs in a test of its own
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
      } as NodeJS.ProcessEnv,
      // A file, not a pipe: a pipe is only drained while this process's event loop runs,
      // so a caller blocked in spawnSync would stall moto once the pipe filled.
      stdio: ['ignore', logFd, logFd],
    })
    closeSync(logFd)
    const deadline = Date.now() + 30000
    for (;;) {
      if (this.proc.exitCode !== null) throw new Error(`moto_server exited (${this.proc.exitCode}):\n${this.output()}`)
      try {
        const r = await fetch(`${this.endpoint}/moto-api/`)
        if (r.ok) break
      } catch {}
      if (Date.now() > deadline) throw new Error(`moto_server did not start within 30 s:\n${this.output()}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    await this.reset()
  }

  /**
   * Clears all state and bootstraps a fresh admin user and key in the free calls. A request
   * that reaches moto between the reset and the bootstrap (a straggler of the previous test,
   * e.g. a subprocess's last retry) uses up one of the free calls, and the bootstrap's own
   * call is then refused as InvalidClientTokenId (seen once in CI): the reset is then made
   * again, up to 3 times.
   */
  async reset(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.resetOnce()
        return
      } catch (error) {
        const name = (error as {name?: string}).name
        if (attempt >= 3 || (name !== 'InvalidClientTokenId' && name !== 'AccessDenied')) throw error
        await new Promise((r) => setTimeout(r, 250))
      }
    }
  }

  private async resetOnce(): Promise<void> {
    const r = await fetch(`${this.endpoint}/moto-api/reset`, {method: 'POST'})
    if (!r.ok) throw new Error(`moto reset failed: ${r.status}`)
    const iam = new IAMClient({
      region: 'us-east-1',
      endpoint: this.endpoint,
      credentials: {accessKeyId: 'AKIABOOTSTRAPBOOTSTR', secretAccessKey: 'bootstrap'},
      maxAttempts: 1,
    })
    try {
      await iam.send(new CreateUserCommand({UserName: ADMIN_USER}))
      await iam.send(
        new PutUserPolicyCommand({
          UserName: ADMIN_USER,
          PolicyName: 'admin',
          PolicyDocument: JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Action: '*', Resource: '*'}]}),
        }),
      )
      const key = await iam.send(new CreateAccessKeyCommand({UserName: ADMIN_USER}))
      this.admin = {accessKeyId: key.AccessKey!.AccessKeyId!, secretAccessKey: key.AccessKey!.SecretAccessKey!}
    } finally {
      iam.destroy()
    }
  }

  /** Recent server output, for failing tests. */
  output(): string {
    try {
      return readFileSync(this.logFile, 'utf8').slice(-20000)
    } catch {
      return ''
    }
  }

  async stop(): Promise<void> {
    const p = this.proc
    if (!p) return
    this.proc = undefined
    if (p.exitCode === null) {
      await new Promise<void>((resolve) => {
        p.once('exit', () => resolve())
        p.kill('SIGTERM')
        setTimeout(() => p.kill('SIGKILL'), 3000).unref()
      })
    }
    if (this.logFile && !process.env.PSB_KEEP_MOTO_LOG) rmSync(dirname(this.logFile), {recursive: true, force: true})
  }
}

let shared: MotoServer | undefined

/** The process-wide moto server (started on first use, stopped when mocha ends). */
export async function sharedMoto(): Promise<MotoServer> {
  if (!shared) {
    shared = new MotoServer()
    await shared.start()
  }
  return shared
}

export async function stopSharedMoto(): Promise<void> {
  await shared?.stop()
  shared = undefined
}

/**
 * In a describe(): starts the shared server before the suite and resets it (with a fresh
 * admin) before each test. Returns a handle whose fields are valid inside tests.
 */
export function useMoto(): {readonly server: MotoServer; readonly endpoint: string; readonly admin: Keys} {
  let server: MotoServer | undefined
  before(async function () {
    this.timeout(60000)
    server = await sharedMoto()
  })
  beforeEach(async () => {
    await server!.reset()
  })
  return {
    get server() {
      return server!
    },
    get endpoint() {
      return server!.endpoint
    },
    get admin() {
      return server!.admin
    },
  }
}
