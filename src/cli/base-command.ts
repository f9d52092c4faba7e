/**
 * The base of every psb command: output that always goes through the redaction rule,
 * `--json` documents on stdout and nothing else there, and one error renderer
 * (message, hint, exit code; a stack trace only with DEBUG).
 */
import {Command, Errors} from '@oclif/core'
import {createAwsContext, validateEndpoint, type AwsContext} from '../lib/aws/client.js'
import {requireRegion} from '../lib/files/aws-config.js'
import {describeValue, echo, mayEcho, registerArgvSecrets, scrubArgv} from '../lib/echo.js'
import {EXIT, PsbError, isPsbError} from '../lib/errors.js'
import {redact, redactValue} from '../lib/redact.js'
import {closestMatch} from '../lib/suggest.js'
import {installSignalHandlers} from './signals.js'
import {ensureTerminalWidth, err as errStyle} from './style.js'

export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  /** SIGINT / SIGTERM end every command the same careful way (src/cli/signals.ts). */
  override async init(): Promise<void> {
    installSignalHandlers()
    // Before oclif parses (and may quote) anything: no secret-shaped word of argv is ever printed.
    registerArgvSecrets(this.argv)
    ensureTerminalWidth()
    await super.init()
  }

  /** Human output: stdout normally, stderr when --json owns stdout. */
  protected say(text = ''): void {
    const line = redact(text) + '\n'
    if (this.jsonEnabled()) process.stderr.write(line)
    else process.stdout.write(line)
  }

  /** A warning on stderr. */
  protected note(text: string): void {
    process.stderr.write(`${errStyle.yellow('warning')}: ${redact(text)}\n`)
  }

  override logJson(json: unknown): void {
    writeJson(json)
  }

  override log(message = '', ...args: unknown[]): void {
    this.say([message, ...args.map(String)].join(' '))
  }

  override logToStderr(message = '', ...args: unknown[]): void {
    process.stderr.write(redact([message, ...args.map(String)].join(' ')) + '\n')
  }

  /** Builds the AWS context of a command with the shared AWS flags. */
  protected awsContext(flags: {region?: string; endpoint?: string; 'admin-profile'?: string}, opts: {profile?: string} = {}): AwsContext {
    const profile = opts.profile ?? flags['admin-profile']
    const endpoint = validateEndpoint(flags.endpoint)
    const region = requireRegion(flags.region, profile)
    return createAwsContext({region, endpoint, profile})
  }

  protected override async catch(error: Error & {oclif?: {exit?: number}; exitCode?: number}): Promise<void> {
    const psb = toPsbError(error, {argv: this.argv, flags: Object.keys(this.ctor.flags ?? {})})
    process.exitCode = psb.exitCode
    if (this.jsonEnabled()) writeJson(errorDocument(psb))
    process.stderr.write(renderError(psb))
  }
}

/** The one JSON document on stdout, through the redaction rule. */
export function writeJson(json: unknown): void {
  process.stdout.write(JSON.stringify(redactValue(json), null, 2) + '\n')
}

/** The --json document of a failure. */
export function errorDocument(error: PsbError): {error: Record<string, unknown>} {
  return {error: {code: error.code, message: error.message, hint: error.hint, exitCode: error.exitCode, ...(error.data ? {data: error.data} : {})}}
}

const SEE_HELP = "See the command's --help for its flags and examples."

/**
 * Any error as a PsbError; oclif's parse errors are bad input (exit 2). Their messages quote
 * the raw command line: every word of `argv` that may not be echoed (lib/echo.ts) is described
 * instead, a misspelled flag gets the closest of `flags`, and "see --help" is said once.
 */
export function toPsbError(error: unknown, ctx: {argv?: readonly string[]; flags?: readonly string[]} = {}): PsbError {
  if (isPsbError(error)) return error
  const e = error as Error & {oclif?: {exit?: number}; code?: string; flags?: string[]; args?: string[]}
  if (e instanceof Errors.CLIError || e?.oclif?.exit !== undefined) {
    const argv = ctx.argv ?? process.argv.slice(2)
    const exit = e.oclif?.exit ?? EXIT.USAGE
    // The cause's own message and stack (printed with DEBUG) must not quote the value either.
    e.message = scrubArgv(e.message.replace(/\n?See more help with --help\s*$/, ''), argv)
    if (e.stack) Object.defineProperty(e, 'stack', {value: scrubArgv(e.stack, argv), configurable: true, writable: true})
    return new PsbError(parseErrorMessage(e, ctx.flags ?? []), {
      cause: e,
      code: exit === EXIT.USAGE ? 'BadInput' : 'Failed',
      exitCode: exit === 0 ? 0 : exit === EXIT.FAILED ? EXIT.USAGE : exit,
      hint: SEE_HELP,
    })
  }
  return new PsbError(e?.message ?? String(error), {cause: error, code: 'Unexpected', hint: 'This looks like a bug in psb. Run again with DEBUG=psb* for a stack trace and report it.'})
}

/** oclif's message, rebuilt where oclif quotes what it rejected: each value through echo(), a "Did you mean" for a flag. */
function parseErrorMessage(e: Error & {flags?: string[]; args?: string[]}, flags: readonly string[]): string {
  if (Array.isArray(e.args) && e.args.length > 0 && /^Unexpected arguments?: /.test(e.message)) {
    const shown = e.args.map((a) => (mayEcho(String(a)) ? JSON.stringify(a) : describeValue(String(a), 'argument')))
    return `Unexpected argument${shown.length === 1 ? '' : 's'}: ${shown.join(', ')}. psb takes no arguments here, only flags.`
  }
  if (Array.isArray(e.flags) && /^Nonexistent flags?: /.test(e.message)) {
    const names = flags.map((f) => `--${f}`)
    return e.flags
      .map((raw) => {
        const name = raw.split('=')[0]
        const closest = closestMatch(name, names)
        return `Nonexistent flag: ${echo(name, {what: 'flag', shape: /^--?[a-z][a-z0-9-]*$/})}.${closest ? ` Did you mean ${closest}?` : ''}`
      })
      .join(' ')
  }
  return e.message
}

export function renderError(error: PsbError): string {
  let text = `${errStyle.red('Error')}: ${error.message}\n`
  if (error.hint) text += `${errStyle.dim('Hint')}: ${error.hint}\n`
  if (process.env.DEBUG) {
    text += `${error.stack ?? ''}\n`
    let cause = error.cause as Error | undefined
    while (cause) {
      text += `Caused by: ${cause.stack ?? String(cause)}\n`
      cause = (cause as {cause?: Error}).cause
    }
  }
  return redact(text)
}
