/**
 * oclif's entry, as psb's bundle holds it (bin/run.js imports dist/cli/oclif.js): psb's
 * commands, hooks and help class share this one bundled copy of @oclif/core, which loads
 * faster than its ~130 separate modules. Plugins (the core ones and a user's) bring their own
 * copy from node_modules, as oclif plugins always may.
 *
 * The fast path (issue 12): oclif's Config.load reads every core plugin (help, autocomplete,
 * plugins: each one's package.json and manifest, matched with minimatch) on every run, though
 * none of them has a hook that psb's own commands fire. When the command is one of psb's own,
 * no help or version is asked for, and no plugin is installed or linked, psb hands oclif its
 * root plugin alone; everything else (help, `psb plugins …`, a plugin's command, a typo) takes
 * oclif's full load, unchanged.
 */
import {readFileSync} from 'node:fs'
import {homedir, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {execute, Plugin, type Interfaces} from '@oclif/core'

export {execute} from '@oclif/core'

/** Arguments that ask oclif for help or the version (package.json: additionalHelpFlags -h). */
const FULL_LOAD_ARGS = new Set(['--help', '-h', '--version'])

type Env = Record<string, string | undefined>

/** oclif's data directory of psb (Config.dataDir), where `psb plugins` records what it installed. */
export function oclifDataDir(env: Env = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.PSB_DATA_DIR) return env.PSB_DATA_DIR
  const windows = platform === 'win32'
  const windowsHome = (env.HOMEDRIVE && env.HOMEPATH && join(env.HOMEDRIVE, env.HOMEPATH)) || env.USERPROFILE
  const home = env.HOME || (windows && windowsHome) || homedir() || tmpdir()
  const base = env.XDG_DATA_HOME || (windows && env.LOCALAPPDATA) || join(home, '.local/share')
  return join(base, 'psb')
}

/** True when the data directory records a user-installed or linked plugin (or cannot be read). */
export function hasUserPlugins(dataDir: string): boolean {
  let text: string
  try {
    text = readFileSync(join(dataDir, 'package.json'), 'utf8')
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT'
  }
  try {
    const plugins = (JSON.parse(text) as {oclif?: {plugins?: unknown[]}}).oclif?.plugins
    return !Array.isArray(plugins) || plugins.length > 0
  } catch {
    return true
  }
}

/** The command id that argv names among `ids` (psb's topic separator is a space), if any. */
export function ownCommandId(argv: string[], ids: ReadonlySet<string>): string | undefined {
  const words: string[] = []
  for (const a of argv) {
    if (a.startsWith('-')) break
    words.push(a)
  }
  for (let n = words.length; n > 0; n--) {
    const id = words.slice(0, n).join(':')
    if (ids.has(id)) return id
  }
  return undefined
}

/**
 * The load options for oclif: the root plugin alone when the fast path applies (see above),
 * else the root folder (oclif's full load).
 */
export async function loadOptions(root: string, argv: string[], env: Env = process.env): Promise<string | Interfaces.Options> {
  if (argv.some((a) => FULL_LOAD_ARGS.has(a)) || hasUserPlugins(oclifDataDir(env))) return root
  const plugin = new Plugin({root, isRoot: true})
  await plugin.load()
  const ids = new Set(plugin.commands.flatMap((c) => [c.id, ...(c.aliases ?? [])]))
  if (!ownCommandId(argv, ids)) return root
  return {root, plugins: new Map([[plugin.name, plugin]])}
}

/** bin/run.js: run psb (`binUrl` is bin/run.js's import.meta.url). */
export async function run(binUrl: string, argv: string[] = process.argv.slice(2)): Promise<unknown> {
  const root = join(dirname(fileURLToPath(binUrl)), '..')
  return execute({args: argv, loadOptions: await loadOptions(root, argv)})
}
