/**
 * Locates the real Pulumi CLI builds for the end-to-end tests: per version, the folder
 * holding `pulumi` and `pulumi-language-yaml`. The suite runs every version of
 * PULUMI_VERSIONS (one in 3.113–3.244 and the newest: their S3 URL dialects differ).
 *
 *   1. for the default version (the first), env PSB_PULUMI_DIR (a folder holding pulumi and
 *      pulumi-language-yaml), else
 *   2. `bash scripts/build-pulumi.sh <version>` (builds once from the Go module proxy, cached;
 *      prints the folder).
 *
 * When neither works: under CI (CI=true) the e2e suite FAILS with the build error — it
 * must never pass by silently skipping; locally it is skipped with a loud message.
 */
import {spawnSync} from 'node:child_process'
import {accessSync, constants} from 'node:fs'
import {join} from 'node:path'
import {ROOT} from './cli.js'

export interface PulumiBuild {
  /** The folder holding both binaries. */
  dir: string
  pulumi: string
  languageYaml: string
  /** `pulumi version` output, e.g. `v3.274.1`. */
  version: string
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** Checks a folder; returns the build or a reason why it is not usable. */
export function inspectPulumiDir(dir: string): PulumiBuild | string {
  const pulumi = join(dir, 'pulumi')
  const languageYaml = join(dir, 'pulumi-language-yaml')
  if (!executable(pulumi)) return `${pulumi} is missing or not executable`
  if (!executable(languageYaml)) return `${languageYaml} is missing or not executable`
  const r = spawnSync(pulumi, ['version'], {encoding: 'utf8', env: {...process.env, PULUMI_SKIP_UPDATE_CHECK: 'true'}, timeout: 30000})
  const version = (r.stdout ?? '').trim()
  if (r.status !== 0 || !/^v\d+\.\d+\.\d+/.test(version)) return `\`${pulumi} version\` failed (exit ${r.status}): ${(r.stderr || r.stdout || '').trim()}`
  return {dir, pulumi, languageYaml, version}
}

/** The Pulumi versions the end-to-end suite runs, newest first (scripts/pretest.sh builds the same). */
export const PULUMI_VERSIONS = ['v3.274.1', 'v3.200.0'] as const
export type PulumiVersion = (typeof PULUMI_VERSIONS)[number]

const cached = new Map<string, PulumiBuild | string>()

/** The Pulumi build of a version, or the reason there is none (build error included). Cached per process. */
export function findPulumiBuild(version: PulumiVersion = PULUMI_VERSIONS[0]): PulumiBuild | string {
  const hit = cached.get(version)
  if (hit !== undefined) return hit
  const found = locate(version)
  const checked = typeof found === 'string' || found.version === version ? found : `the build found for ${version} reports ${found.version}`
  cached.set(version, checked)
  return checked
}

function locate(version: PulumiVersion): PulumiBuild | string {
  const fromEnv = version === PULUMI_VERSIONS[0] ? process.env.PSB_PULUMI_DIR : undefined
  if (fromEnv) {
    const b = inspectPulumiDir(fromEnv)
    return typeof b === 'string' ? `PSB_PULUMI_DIR=${fromEnv} is not a usable Pulumi build: ${b}` : b
  }
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'build-pulumi.sh'), version], {cwd: ROOT, encoding: 'utf8', timeout: 30 * 60_000})
  if (r.status !== 0) {
    const tail = (r.stderr || '').trim().split('\n').slice(-30).join('\n')
    return `bash scripts/build-pulumi.sh ${version} failed (exit ${r.status ?? r.signal}):\n${tail || r.error?.message || '(no output)'}`
  }
  const dir = r.stdout.trim().split('\n').at(-1) ?? ''
  const b = inspectPulumiDir(dir)
  return typeof b === 'string' ? `scripts/build-pulumi.sh ${version} printed ${dir}, which is not usable: ${b}` : b
}

export function isCI(env = process.env): boolean {
  return Boolean(env.CI) && env.CI !== 'false' && env.CI !== '0'
}

/**
 * For a describe() of e2e tests: in `before`, finds the build; when there is none, throws
 * under CI (the suite fails with the build error) or skips the suite locally with a loud
 * message on stderr.
 */
export function usePulumiBuild(version: PulumiVersion = PULUMI_VERSIONS[0]): {readonly build: PulumiBuild} {
  let build: PulumiBuild | undefined
  before(function () {
    this.timeout(35 * 60_000)
    const found = findPulumiBuild(version)
    if (typeof found === 'string') {
      if (isCI()) throw new Error(`The real Pulumi CLI is required in CI and could not be found or built:\n${found}`)
      process.stderr.write(
        `\n${'!'.repeat(78)}\n!! SKIPPING the end-to-end tests with the real Pulumi CLI:\n${found
          .split('\n')
          .map((l) => `!!   ${l}`)
          .join('\n')}\n!! (under CI=true this is a failure). Build it with: bash scripts/build-pulumi.sh ${version}\n${'!'.repeat(78)}\n\n`,
      )
      // Skipped only off CI, where Go or the module proxy may be missing: loudly, above.
      this.skip()
    }
    build = found
  })
  return {
    get build() {
      return build!
    },
  }
}
