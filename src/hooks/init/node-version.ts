import type {Hook} from '@oclif/core'

export const MIN_NODE_MAJOR = 22

/** Refuses to run on a Node.js older than psb supports, with a one-line message. */
const hook: Hook.Init = async function () {
  const major = Number(process.versions.node.split('.')[0])
  if (major < MIN_NODE_MAJOR) {
    process.stderr.write(
      `Error: psb needs Node.js ${MIN_NODE_MAJOR} or newer, and this is Node.js ${process.versions.node}; install Node.js 22 (for example \`npm install -g node@22\`) and run psb again.\n`,
    )
    process.exit(2)
  }
}

export default hook
