#!/usr/bin/env node
// Entry point of the installed CLI. The Node >= 22 check is the `init` hook
// (src/hooks/init/node-version.ts), which runs before any command.
try {
  // Cache compiled code between runs (Node 22.1+), for start-up time.
  const {enableCompileCache} = await import('node:module')
  enableCompileCache?.()
} catch {}
// oclif's own engines warning loads all of semver (about 120 modules) on every start, and
// the node-version init hook already refuses old Node.js with a clearer one-line message.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
// `psb … | head` closes the pipe early: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0)
    throw error
  })
}
const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
