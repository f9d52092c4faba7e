/** Helpers shared by the benchmarks. */
import {spawnSync} from 'node:child_process'
import {join} from 'node:path'
import type {RunResult} from '../test/support/cli.js'
import {ROOT} from '../test/support/cli.js'

export {ROOT}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

export const fmtMs = (ms: number): string => `${Math.round(ms)} ms`

export {runProcess as run} from '../test/support/cli.js'

export function check(r: RunResult, what: string): void {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
}

/**
 * The Terragrunt binary to compare with: `given` (--terragrunt), else TG_BIN, else
 * bench/build-terragrunt.sh's cached build (or its build from TG_SNAPSHOT); undefined without one.
 */
export function findTerragrunt(given = process.env.TG_BIN): string | undefined {
  if (given) return given
  const r = spawnSync('bash', [join(ROOT, 'bench', 'build-terragrunt.sh')], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']})
  return r.status === 0 ? r.stdout.trim() : undefined
}

/** The Terragrunt config the issue names: S3 backend on moto, path-style, encrypted, S3's own lock file. */
export function terragruntHcl(bucket: string, endpoint: string, region: string): string {
  return `remote_state {
  backend = "s3"
  config = {
    bucket                      = "${bucket}"
    key                         = "bench/terraform.tfstate"
    region                      = "${region}"
    profile                     = "bench"
    endpoints                   = { s3 = "${endpoint}" }
    force_path_style            = true
    skip_credentials_validation = true
    skip_metadata_api_check     = true
    encrypt                     = true
    use_lockfile                = true
  }
}
`
}

/**
 * The environment psb and Terragrunt run in, side by side: HOME and the AWS files in `work`
 * (profile `bench`), STS at moto, no update checks, no colour.
 */
export function sideBySideEnv(work: string, endpoint: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: work,
    LANG: process.env.LANG ?? 'C.UTF-8',
    AWS_CONFIG_FILE: join(work, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(work, 'credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_STS: endpoint,
    NO_UPDATE_NOTIFIER: '1',
    PSB_NO_UPDATE_CHECK: '1',
    TG_NO_COLOR: 'true',
  }
}
