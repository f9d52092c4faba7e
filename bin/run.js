#!/usr/bin/env node
// Entry point of the installed CLI. The Node >= 22 check is the `init` hook
// (src/hooks/init/node-version.ts), which runs before any command.
// DEBUG stack traces name the src/ files: the bundle's source maps (dist/**/*.js.map) are read
// only then, since reading them costs start-up time.
if (process.env.DEBUG) process.setSourceMapsEnabled(true)
try {
  // Cache V8's compiled code of the bundle between runs (Node 22.1+), in psb's cache folder
  // (PSB_CACHE_DIR, else $XDG_CACHE_HOME/psb, ~/Library/Caches/psb, %LOCALAPPDATA%\psb or
  // ~/.cache/psb), which outlives the runs (the OS's temporary folder may not). NODE_COMPILE_CACHE,
  // when set, wins (Node has then enabled it already); NODE_DISABLE_COMPILE_CACHE turns it off.
  const {enableCompileCache} = await import('node:module')
  const {homedir} = await import('node:os')
  const {join} = await import('node:path')
  const env = process.env
  const home = () => homedir()
  const base = env.XDG_CACHE_HOME || (process.platform === 'darwin' ? join(home(), 'Library', 'Caches') : process.platform === 'win32' ? env.LOCALAPPDATA || join(home(), 'AppData', 'Local') : join(home(), '.cache'))
  enableCompileCache?.(join(env.PSB_CACHE_DIR || join(base, 'psb'), 'compile-cache'))
} catch {}
// oclif's own engines warning loads all of semver (about 120 modules) on every start, and
// the node-version init hook already refuses old Node.js with a clearer one-line message.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
// `psb plugins …` runs npm in psb's data directory; an inherited npm_config_global (or
// prefix/location) would send the plugins to the global npm prefix instead.
if (process.argv[2] === 'plugins') {
  for (const k of Object.keys(process.env)) if (/^npm_config_(global|prefix|location)$/i.test(k)) delete process.env[k]
  // A local tarball or folder (./plugin.tgz, ../my-plugin, /abs/path) is installed as such,
  // not read as a GitHub "owner/repo".
  if (process.argv[3] === 'install') {
    const {existsSync} = await import('node:fs')
    const {resolve} = await import('node:path')
    for (let i = 4; i < process.argv.length; i++) {
      const a = process.argv[i]
      if (/^(\.{1,2}[\\/]|\/|[a-z]:\\)/i.test(a) && existsSync(a)) process.argv[i] = `file:${resolve(a)}`
    }
  }
}
// `psb … | head` closes the pipe early: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0)
    throw error
  })
}
// oclif as bundled with psb's commands (scripts/bundle.mjs), not its ~130 modules one by one;
// psb's own commands skip oclif's reading of the core plugins when no plugin is installed
// (src/cli/oclif.ts).
const {run} = await import('../dist/cli/oclif.js')
await run(import.meta.url)
