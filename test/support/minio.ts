/**
 * A MinIO fixture: psb's second real S3 implementation beside moto. The server is built
 * once from the Go module proxy, pinned (scripts/build-minio.sh, cached in
 * ~/.cache/psb/minio-<version>/), and started per test process on a free loopback port
 * with a temporary data folder; stopped (and the folder removed) when the suite ends.
 * MinIO has no AWS IAM or STS API: its users and keys are made with its own tools, so the
 * tests use its root key as the admin key and as the store key of `init --no-iam`.
 *
 *   const minio = useMinio()       // in a describe(): starts it (or skips / fails, like usePulumiBuild)
 *   minio.server.endpoint, minio.server.root   // root.accessKeyId / secretAccessKey
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {accessSync, closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {ROOT} from './cli.js'
import {freePort, type Keys} from './moto.js'
import {isCI} from './pulumi.js'

export const MINIO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c'

/** The MinIO binary, or the reason there is none (built once, cached). */
export function findMinio(): string | {reason: string} {
  const fromEnv = process.env.PSB_MINIO_BIN
  const candidates = fromEnv ? [fromEnv] : []
  if (!fromEnv) {
    const r = spawnSync('bash', [join(ROOT, 'scripts', 'build-minio.sh')], {cwd: ROOT, encoding: 'utf8', timeout: 30 * 60_000})
    if (r.status !== 0) return {reason: `bash scripts/build-minio.sh failed (exit ${r.status ?? r.signal}):\n${(r.stderr || '').trim().split('\n').slice(-20).join('\n')}`}
    candidates.push(join(r.stdout.trim().split('\n').at(-1) ?? '', 'minio'))
  }
  try {
    accessSync(candidates[0], constants.X_OK)
    return candidates[0]
  } catch {
    return {reason: `${candidates[0]} is missing or not executable`}
  }
}

export class MinioServer {
  proc?: ChildProcess
  port = 0
  dataDir = ''
  logFile = ''
  readonly root: Keys = {accessKeyId: 'psbminioadmin', secretAccessKey: 'psb-minio-root-secret-0123456789'}

  constructor(readonly binary: string) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    if (this.proc) return
    this.port = await freePort()
    this.dataDir = mkdtempSync(join(tmpdir(), 'psb-minio-'))
    this.logFile = join(this.dataDir, 'minio.log')
    const logFd = openSync(this.logFile, 'a')
    this.proc = spawn(this.binary, ['server', '--quiet', '--address', `127.0.0.1:${this.port}`, '--console-address', `127.0.0.1:${await freePort()}`, join(this.dataDir, 'data')], {
      env: {
        PATH: process.env.PATH,
        HOME: this.dataDir,
        MINIO_ROOT_USER: this.root.accessKeyId,
        MINIO_ROOT_PASSWORD: this.root.secretAccessKey,
        MINIO_BROWSER: 'off',
        MINIO_UPDATE: 'off',
        MINIO_CI_CD: '1',
      },
      stdio: ['ignore', logFd, logFd],
    })
    closeSync(logFd)
    const deadline = Date.now() + 60_000
    for (;;) {
      if (this.proc.exitCode !== null) throw new Error(`minio exited (${this.proc.exitCode}):\n${this.output()}`)
      try {
        const r = await fetch(`${this.endpoint}/minio/health/ready`)
        if (r.ok) break
      } catch {}
      if (Date.now() > deadline) throw new Error(`minio did not start within 60 s:\n${this.output()}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  output(): string {
    try {
      return readFileSync(this.logFile, 'utf8').slice(-20000)
    } catch {
      return ''
    }
  }

  async stop(): Promise<void> {
    const p = this.proc
    this.proc = undefined
    if (p && p.exitCode === null) {
      await new Promise<void>((resolve) => {
        p.once('exit', () => resolve())
        p.kill('SIGTERM')
        setTimeout(() => p.kill('SIGKILL'), 5000).unref()
      })
    }
    if (this.dataDir) rmSync(this.dataDir, {recursive: true, force: true})
  }
}

/**
 * For a describe() of MinIO tests: starts a server in `before` and stops it in `after`.
 * When MinIO cannot be built: under CI the suite fails with the build error; locally it is
 * skipped with a loud message (Go or the module proxy may be missing).
 */
export function useMinio(): {readonly server: MinioServer} {
  let server: MinioServer | undefined
  before(async function () {
    this.timeout(35 * 60_000)
    const found = findMinio()
    if (typeof found !== 'string') {
      if (isCI()) throw new Error(`MinIO is required in CI and could not be found or built:\n${found.reason}`)
      process.stderr.write(`\n!! SKIPPING the MinIO tests: ${found.reason}\n!! (under CI=true this is a failure). Build it with: bash scripts/build-minio.sh\n\n`)
      this.skip()
    }
    server = new MinioServer(found as string)
    await server.start()
  })
  after(async () => {
    await server?.stop()
  })
  return {
    get server() {
      return server!
    },
  }
}
