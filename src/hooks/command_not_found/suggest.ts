import {toConfiguredId, type Hook} from '@oclif/core'
import {badInput} from '../../lib/errors.js'
import {echo} from '../../lib/echo.js'
import {closestMatch} from '../../lib/suggest.js'

/**
 * A misspelled command: bad input (exit 2, on a terminal or not), with the closest command
 * as "Did you mean". Replaces @oclif/plugin-not-found, which exits 127 and suggests only on
 * a terminal, through a prompt.
 */
const hook: Hook.CommandNotFound = async function (opts) {
  const ids = opts.config.commands.filter((c) => !c.hidden).map((c) => toConfiguredId(c.id, opts.config))
  const given = toConfiguredId(opts.id, opts.config)
  const closest = closestMatch(given, ids) ?? closestMatch(given.split(' ')[0], ids.map((id) => id.split(' ')[0]))
  const error = badInput(
    `${echo(given, {what: 'command', shape: /^[a-z0-9 -]{1,40}$/})} is not a psb command.${closest ? ` Did you mean "psb ${closest}"?` : ''}`,
    `Run \`${opts.config.bin} --help\` for the list of commands.`,
    'CommandNotFound',
  )
  // Imported only here: base-command pulls in chalk and more.
  const {errorDocument, renderError, writeJson} = await import('../../cli/base-command.js')
  if ((opts.argv ?? []).includes('--json')) writeJson(errorDocument(error))
  process.stderr.write(renderError(error))
  process.exit(error.exitCode)
}

export default hook
