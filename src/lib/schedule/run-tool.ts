/** Runs a scheduler's own tool (crontab, systemctl, launchctl) without a shell. */
import {spawnSync} from 'node:child_process'
import type {Env} from '../files/aws-config.js'

export interface ToolResult {
  ok: boolean
  status: number | null
  stdout: Buffer
  stderr: string
  /** Set when the tool is not installed. */
  missing: boolean
}

export function runTool(cmd: string, args: string[], opts: {input?: Buffer | string; env?: Env} = {}): ToolResult {
  const r = spawnSync(cmd, args, {input: opts.input, env: opts.env as NodeJS.ProcessEnv | undefined, timeout: 30_000, stdio: ['pipe', 'pipe', 'pipe']})
  const missing = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
  return {ok: r.status === 0, status: r.status, stdout: r.stdout ?? Buffer.alloc(0), stderr: (r.stderr ?? Buffer.alloc(0)).toString('utf8').trim() || (r.error ? String(r.error.message) : ''), missing}
}
