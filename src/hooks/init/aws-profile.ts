import type {Hook} from '@oclif/core'
import {listProfiles} from '../../lib/aws-config.js'
import {badInput, isPsbError} from '../../lib/errors.js'

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

function distance(a: string, b: string): number {
  const d = Array.from({length: a.length + 1}, (_, i) => [i, ...Array(b.length).fill(0)] as number[])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
  return d[a.length][b.length]
}

/**
 * Checks that the profile psb would act with exists, before any AWS call: a missing or
 * misspelled `--admin-profile` or `AWS_PROFILE` becomes a clear error (exit 2) that lists
 * the profiles that do exist and suggests the closest one.
 */
export function checkProfile(profile: string, source: string, env = process.env): void {
  const names = listProfiles(env)
  if (names.includes(profile)) return
  const closest = names
    .map((n) => ({n, d: distance(n.toLowerCase(), profile.toLowerCase())}))
    .filter((x) => x.d <= Math.max(2, Math.floor(profile.length / 3)))
    .sort((a, b) => a.d - b.d)[0]?.n
  const list = names.length > 0 ? names.join(', ') : '(none: the credentials and config files have no profiles)'
  throw badInput(
    `The AWS profile "${profile}" (from ${source}) does not exist.${closest ? ` Did you mean "${closest}"?` : ''} Profiles found: ${list}.`,
    `Use one of the profiles above, or create it with \`aws configure --profile ${profile}\`.`,
    'ProfileNotFound',
  )
}

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
