import type {Hook} from '@oclif/core'
import {checkProfile} from '../../lib/files/aws-config.js'
import {isPsbError} from '../../lib/errors.js'

/** The value of `--admin-profile` in argv (either `--admin-profile X` or `--admin-profile=X`). */
export function adminProfileArg(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--') break
    if (a === '--admin-profile') return argv[i + 1]
    if (a.startsWith('--admin-profile=')) return a.slice('--admin-profile='.length)
  }
  return undefined
}

/** The profile check, kept here under its old name for the hook's callers. */
export {checkProfile}

const hook: Hook.Init = async function (opts) {
  if (!opts.id) return
  const cmd = opts.config.findCommand(opts.id)
  // Only commands that call AWS with an admin identity take --admin-profile.
  if (!cmd?.flags?.['admin-profile']) return
  const argv = opts.argv ?? []
  if (argv.includes('--help') || argv.includes('-h')) return
  try {
    const flag = adminProfileArg(argv)
    if (flag !== undefined && flag !== '') {
      checkProfile(flag, '--admin-profile')
      return
    }
    const env = process.env.AWS_PROFILE
    // Environment keys take precedence over AWS_PROFILE in the credential chain.
    if (env && !process.env.AWS_ACCESS_KEY_ID) checkProfile(env, 'AWS_PROFILE')
  } catch (error) {
    if (!isPsbError(error)) throw error
    // Imported only here: base-command pulls in chalk and more, which --help/--version never need.
    const {errorDocument, renderError, writeJson} = await import('../../cli/base-command.js')
    if (argv.includes('--json')) writeJson(errorDocument(error))
    process.stderr.write(renderError(error))
    process.exit(error.exitCode)
  }
}

export default hook
