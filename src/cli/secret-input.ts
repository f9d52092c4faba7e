/**
 * Reading the secret access key for `psb creds write`: never from argv (a secret there is
 * refused, and anything on argv that looks like one is registered for redaction), only from
 * stdin (a hidden prompt on a terminal) or an environment variable.
 */
import {echo} from '../lib/echo.js'
import {badInput} from '../lib/errors.js'
import {registerSecret} from '../lib/redact.js'

/** Flags that take a value (so the word after them is not a stray argument). */
const VALUE_FLAGS = new Set(['--profile', '--access-key-id', '--region', '--secret-env'])
/** Flags people try for the secret, which psb refuses: a secret on the command line shows in `ps`. */
const SECRET_ARG_FLAGS = ['--secret', '--secret-access-key', '--aws-secret-access-key', '--secret-key', '--aws-secret-key']
const LOOKS_LIKE_SECRET = /^[A-Za-z0-9/+=]{30,128}$/

/**
 * Refuses a secret given on the command line, and registers anything on argv that looks like
 * a secret so that no error message (e.g. "Unexpected argument: …") can print it.
 */
export function guardArgv(argv: string[]): void {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const name = a.split('=')[0]
    if (SECRET_ARG_FLAGS.includes(name)) {
      const value = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1]
      registerSecret(value)
      throw badInput(
        `psb never takes the secret access key as a command-line argument (${name}): other users can read it with \`ps\`, and it stays in your shell history.`,
        'Pipe it in with --secret-stdin (e.g. `pbpaste | psb creds write … --secret-stdin`), or put it in AWS_SECRET_ACCESS_KEY (or the variable named by --secret-env).',
        'SecretOnCommandLine',
      )
    }
    if (a.startsWith('-')) {
      if (VALUE_FLAGS.has(a)) i++
      continue
    }
    if (LOOKS_LIKE_SECRET.test(a) && !/^[A-Z0-9]+$/.test(a)) registerSecret(a)
  }
}

/** Removes one trailing line break (what `echo` or a here-string adds). */
function trimOneNewline(text: string): string {
  return text.replace(/\r?\n$/, '')
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  return Buffer.concat(chunks).toString('utf8')
}

export interface SecretSource {
  'secret-stdin'?: boolean
  'secret-env'?: string
}

/** The secret from stdin or the environment (never argv), registered for redaction at once. */
export async function readSecret(flags: SecretSource, env: Record<string, string | undefined> = process.env): Promise<string> {
  let secret: string
  if (flags['secret-stdin']) {
    if (process.stdin.isTTY) {
      const {password} = await import('@inquirer/prompts')
      secret = await password({message: 'Secret access key', mask: '*'}, {output: process.stderr})
    } else secret = trimOneNewline(await readStdin())
    registerSecret(secret)
    if (secret === '') throw badInput('--secret-stdin was given but stdin was empty.', 'Pipe the secret access key into psb, e.g. `psb creds write … --secret-stdin < secret.txt`.', 'SecretMissing')
    return secret
  }
  const name = flags['secret-env'] ?? 'AWS_SECRET_ACCESS_KEY'
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw badInput(`--secret-env ${echo(name, {what: 'value', shape: /^[A-Z][A-Z0-9_]{0,63}$/})} is not an environment variable name.`, 'Give the name of the variable, e.g. --secret-env PULUMI_AWS_SECRET.', 'SecretEnvInvalid')
  }
  secret = env[name] ?? ''
  registerSecret(secret)
  if (secret === '') {
    throw badInput(
      `No secret access key: ${name} is not set${flags['secret-env'] ? '' : ' and --secret-stdin was not given'}.`,
      `Pipe the secret in with --secret-stdin, or export ${name} first (psb never takes the secret as an argument: it would show in \`ps\`).`,
      'SecretMissing',
    )
  }
  return secret
}
