/**
 * Preloaded (NODE_OPTIONS=--import) into Stryker and its workers by scripts/mutation.sh.
 * @stryker-mutator/mocha-runner 10.0.0 requires mocha's CLI helpers by their old names
 * (`mocha/lib/cli/run-helpers`, `options`, `collect-files`); mocha 12 ships them as `.cjs`.
 * This resolves those three requests to the `.cjs` files and changes nothing else.
 */
import Module from 'node:module'

const original = Module._resolveFilename
const MOCHA_CLI = /[\\/]mocha[\\/]lib[\\/]cli[\\/](run-helpers|options|collect-files)$/

Module._resolveFilename = function (request, ...rest) {
  try {
    return original.call(this, request, ...rest)
  } catch (error) {
    if (error?.code === 'MODULE_NOT_FOUND' && MOCHA_CLI.test(request)) return original.call(this, `${request}.cjs`, ...rest)
    throw error
  }
}
