/**
 * The base of every psb command: output that always goes through the redaction rule,
 * `--json` documents on stdout and nothing else there, and one error renderer
 * (message, hint, exit code; a stack trace only with DEBUG).
 */
import {Command, Errors} from '@oclif/core'
import {createAwsContext, validateEndpoint, type AwsContext} from '../lib/aws.js'
import {requireRegion} from '../lib/aws-config.js'
import {EXIT, PsbError, isPsbError} from '../lib/errors.js'
import {redact, redactValue} from '../lib/redact.js'
import {installSignalHandlers} from './signals.js'
import {err as errStyle} from './style.js'

export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  /** SIGINT / SIGTERM end every command the same careful way (src/cli/signals.ts). */
  override async init(): Promise<void> {
    installSignalHandlers()
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
    const psb = toPsbError(error)
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

/** Any error as a PsbError; oclif's parse errors are bad input (exit 2). */
export function toPsbError(error: unknown): PsbError {
  if (isPsbError(error)) return error
  const e = error as Error & {oclif?: {exit?: number}; code?: string}
  if (e instanceof Errors.CLIError || e?.oclif?.exit !== undefined) {
    const exit = e.oclif?.exit ?? EXIT.USAGE
    return new PsbError(e.message, {
      cause: e,
      code: exit === EXIT.USAGE ? 'BadInput' : 'Failed',
      exitCode: exit === 0 ? 0 : exit === EXIT.FAILED ? EXIT.USAGE : exit,
      hint: 'See the command\'s --help for its flags and examples.',
    })
  }
  return new PsbError(e?.message ?? String(error), {cause: error, code: 'Unexpected', hint: 'This looks like a bug in psb. Run again with DEBUG=psb* for a stack trace and report it.'})
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
