/**
 * The CLI and moto subprocess tests run the built CLI (dist/, through bin/run.js), which only
 * `npm test`'s pretest rebuilds. `npx mocha <file>` right after editing src/ would test stale
 * code; test/setup.ts calls ensureFreshDist() before such a run: when a source is newer than
 * the last build (oclif.manifest.json is the last thing `npm run build` writes), it runs the
 * build once, and fails the run with the build's output when the build fails.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {ROOT} from './cli.js'

/** What the build reads: a change to any of them makes dist/ stale. */
const BUILD_INPUTS = ['src', 'package.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/bundle.mjs', 'bin/run.js']
/** Written last by `npm run build` (after the bundle): its mtime is the build's stamp. */
export const BUILD_STAMP = join(ROOT, 'oclif.manifest.json')

function newestMtimeMs(path: string): number {
  const st = statSync(path)
  if (!st.isDirectory()) return st.mtimeMs
  let newest = st.mtimeMs
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtimeMs(join(path, name)))
  return newest
}

/** Why dist/ is stale, or undefined when it is up to date. */
export function staleReason(root = ROOT): string | undefined {
  const stamp = join(root, 'oclif.manifest.json')
  if (!existsSync(join(root, 'dist', 'bundle.json')) || !existsSync(stamp)) return 'dist/ is not built (or not bundled)'
  const built = statSync(stamp).mtimeMs
  for (const input of BUILD_INPUTS) {
    const p = join(root, input)
    if (existsSync(p) && newestMtimeMs(p) > built) return `${input} changed after the last build`
  }
  return undefined
}

/** True when a test file runs the built CLI (bin/run.js) in a subprocess. */
export function runsBuiltCli(file: string): boolean {
  try {
    return /\b(runPsb|RUN_JS)\b/.test(readFileSync(file, 'utf8'))
  } catch {
    return false
  }
}

let checked = false

/** Rebuilds dist/ once per test process when it is stale; throws when the build fails. */
export function ensureFreshDist(log: (m: string) => void = (m) => process.stderr.write(`${m}\n`)): void {
  if (checked) return
  checked = true
  const why = staleReason()
  if (!why) return
  log(`test setup: ${why}; running \`npm run build\` so the subprocess tests run the current code.`)
  const r = spawnSync('npm', ['run', 'build'], {cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
  if (r.status !== 0 || staleReason()) {
    throw new Error(`dist/ is stale (${why}) and \`npm run build\` failed (exit ${r.status}); the CLI tests would run old code. Fix the build:\n${r.stdout}${r.stderr}`)
  }
}
