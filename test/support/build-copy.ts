/**
 * Builds psb the way it ships (the bundled dist/ plus oclif.manifest.json) in a temporary copy
 * of the repository, so that the work tree never gets a manifest or a half-built dist/.
 * Used by the packaging test and the start-up benchmark.
 */
import {spawnSync} from 'node:child_process'
import {cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {ROOT} from './cli.js'


export interface BuiltCopy {
  /** The copy's root: bin/run.js, dist/, oclif.manifest.json, node_modules (a link to the repo's). */
  dir: string
  /** Output of the bundler (esbuild does not type-check: files being written elsewhere do not stop it). */
  tscOutput: string
  cleanup(): void
}

const ENTRIES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'tsconfig.check.json', 'bin', 'src', 'scripts/bundle.mjs', 'README.md']

export function buildCopy(opts: {root?: string; parent?: string} = {}): BuiltCopy {
  const root = opts.root ?? ROOT
  const parent = opts.parent ?? mkdtempSync(join(tmpdir(), 'psb-build-'))
  const dir = join(parent, 'repo')
  mkdirSync(dir, {recursive: true})
  for (const entry of ENTRIES) if (existsSync(join(root, entry))) cpSync(join(root, entry), join(dir, entry), {recursive: true})
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir')
  const env = {...process.env, NO_UPDATE_NOTIFIER: '1'}
  // The bundle of `npm run build` (scripts/bundle.mjs: esbuild, no type check; CI's typecheck does that).
  const bundle = spawnSync(process.execPath, [join(dir, 'scripts', 'bundle.mjs'), dir], {cwd: dir, env, encoding: 'utf8'})
  const tscOutput = `${bundle.stdout}${bundle.stderr}`
  if (bundle.status !== 0 || !existsSync(join(dir, 'dist', 'commands'))) throw new Error(`the bundler wrote no dist/commands:\n${tscOutput}`)
  // The path argument is explicit: without it `oclif manifest` reads its argument from a
  // piped stdin when there is one.
  const manifest = spawnSync(process.execPath, [join(root, 'node_modules', 'oclif', 'bin', 'run.js'), 'manifest', '.'], {cwd: dir, env, encoding: 'utf8'})
  if (manifest.status !== 0 || !existsSync(join(dir, 'oclif.manifest.json'))) {
    throw new Error(`oclif manifest failed (${manifest.status}):\n${manifest.stdout}${manifest.stderr}`)
  }
  return {
    dir,
    tscOutput,
    cleanup: () => rmSync(opts.parent ? dir : parent, {recursive: true, force: true}),
  }
}
