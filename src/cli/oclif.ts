/**
 * oclif's entry, as psb's bundle holds it (bin/run.js imports dist/cli/oclif.js): psb's
 * commands, hooks and help class share this one bundled copy of @oclif/core, which loads
 * faster than its ~130 separate modules. Plugins (the core ones and a user's) bring their own
 * copy from node_modules, as oclif plugins always may.
 */
export {execute} from '@oclif/core'
