/**
 * `psb stack secrets`: puts a stack on a KMS secrets provider (`awskms://…`) by running
 * Pulumi for the user. A stack that does not exist is created with the provider
 * (`pulumi stack init --secrets-provider`); an existing stack on another provider is moved
 * (`pulumi stack change-secrets-provider`: Pulumi decrypts every secret with the old provider
 * and encrypts it with the new one); a stack already on that provider is left alone.
 *
 * The stack's provider is read from its settings file (Pulumi.<stack>.yaml: `secretsprovider`,
 * `encryptedkey`, `encryptionsalt`), which Pulumi writes; psb writes no file itself.
 */
import {existsSync, readFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {parseDocument} from 'yaml'
import {echo} from '../echo.js'
import {badInput, PsbError} from '../errors.js'
import type {Env} from '../files/aws-config.js'
import {kmsEndpointEnv, parseProviderUrl} from '../kms/names.js'
import type {Change} from '../types.js'
import {pulumiFailed, runPulumi, type PulumiRun} from './cli.js'
import {findProjectFile} from './project.js'

export interface StackSecretsOptions {
  /** The project folder (holding Pulumi.yaml). */
  project: string
  stack: string
  /** awskms://… */
  providerUrl: string
  /** The AWS profile Pulumi's KMS client uses (AWS_PROFILE); default: the environment's. */
  profile?: string
  /** A custom endpoint for KMS (AWS_ENDPOINT_URL_KMS). */
  endpoint?: string
  dryRun?: boolean
  env?: Env
}

export interface StackSecretsResult {
  project: string
  stack: string
  providerUrl: string
  /** What psb did (or would do, in a dry run). */
  action: 'created' | 'changed' | 'unchanged'
  /** The provider before: 'passphrase', 'default' (Pulumi Cloud), an awskms:// URL, or none for a new stack. */
  previous?: string
  /** The Pulumi commands run (or that would run). */
  commands: string[]
  /** What Pulumi printed. */
  pulumiOutput: string
  changes: Change[]
  dryRun: boolean
}

const STACK = /^(?:[A-Za-z0-9_.-]+\/){0,2}[A-Za-z0-9_.-]{1,100}$/

/** Every bad-input check, before Pulumi runs (exit 2). Answers the project folder. */
export function validateStackSecrets(opts: StackSecretsOptions): string {
  const dir = resolve(opts.project)
  if (!findProjectFile(dir)) throw badInput(`${dir} holds no Pulumi.yaml.`, 'Pass the folder of the Pulumi project with --project <dir>.', 'ProjectNotFound')
  if (!STACK.test(opts.stack)) throw badInput(`--stack ${echo(opts.stack, {what: 'value'})} is not a stack name.`, 'Stack names use letters, digits, "-", "_" and "." (optionally org/project/stack).', 'StackNameInvalid')
  parseProviderUrl(opts.providerUrl)
  return dir
}

/** The stack's current provider, from Pulumi.<stack>.yaml; undefined when the file says nothing. */
export function stackProvider(dir: string, stack: string): string | undefined {
  const name = stack.split('/').at(-1)!
  for (const file of [`Pulumi.${name}.yaml`, `Pulumi.${name}.yml`].map((f) => join(dir, f))) {
    if (!existsSync(file)) continue
    const doc = parseDocument(readFileSync(file, 'utf8')).toJS() as Record<string, unknown> | null
    if (!doc) return undefined
    if (typeof doc.secretsprovider === 'string') return doc.secretsprovider
    if (typeof doc.encryptionsalt === 'string') return 'passphrase'
    return undefined
  }
  return undefined
}

function pulumiEnvFor(opts: StackSecretsOptions): Env {
  const env: Env = {...(opts.env ?? process.env)}
  if (opts.profile) env.AWS_PROFILE = opts.profile
  const kms = kmsEndpointEnv(opts.endpoint)
  if (kms) env.AWS_ENDPOINT_URL_KMS = kms.slice(kms.indexOf('=') + 1)
  return env
}

async function stackExists(dir: string, stack: string, env: Env): Promise<boolean> {
  const run = await runPulumi(['stack', 'ls', '--json'], {cwd: dir, env})
  if (run.code !== 0) throw pulumiFailed(run, 'Could not list the stacks of the project', 'Check that Pulumi is logged in to the backend (psb login, or PULUMI_BACKEND_URL) and that the profile can read it.')
  const stacks = JSON.parse(run.stdout || '[]') as {name?: string}[]
  return stacks.some((s) => s.name === stack || s.name?.endsWith(`/${stack}`))
}

/** Creates the stack with the provider, moves it to the provider, or leaves it. */
export async function setStackSecrets(opts: StackSecretsOptions): Promise<StackSecretsResult> {
  const dir = validateStackSecrets(opts)
  const env = pulumiEnvFor(opts)
  const base = {project: dir, stack: opts.stack, providerUrl: opts.providerUrl, dryRun: Boolean(opts.dryRun)}
  const exists = await stackExists(dir, opts.stack, env)
  const previous = exists ? (stackProvider(dir, opts.stack) ?? 'default') : undefined
  if (previous === opts.providerUrl) {
    return {...base, action: 'unchanged', previous, commands: [], pulumiOutput: '', changes: [{item: `stack ${opts.stack}`, status: 'unchanged', detail: `secrets provider ${opts.providerUrl}`}]}
  }
  const args = exists ? ['stack', 'change-secrets-provider', opts.providerUrl, '--stack', opts.stack] : ['stack', 'init', opts.stack, '--secrets-provider', opts.providerUrl, '--non-interactive']
  const command = `pulumi ${args.join(' ')}`
  if (previous === 'passphrase' && !env.PULUMI_CONFIG_PASSPHRASE && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
    throw badInput(
      `Stack ${opts.stack} encrypts its secrets with a passphrase: Pulumi needs it once more to re-encrypt them with ${opts.providerUrl}.`,
      'Set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) for this one run; afterwards the stack needs no passphrase.',
      'PassphraseMissing',
    )
  }
  const detail = exists ? `secrets provider ${previous} → ${opts.providerUrl} (Pulumi re-encrypts every secret)` : `created with secrets provider ${opts.providerUrl}`
  const action = exists ? 'changed' : 'created'
  if (opts.dryRun) return {...base, action, previous, commands: [command], pulumiOutput: '', changes: [{item: `stack ${opts.stack}`, status: 'planned', detail}]}
  const run: PulumiRun = await runPulumi(args, {cwd: dir, env})
  if (run.code !== 0) throw pulumiFailed(run, exists ? `Pulumi could not move stack ${opts.stack} to ${opts.providerUrl}` : `Pulumi could not create stack ${opts.stack}`, kmsHint(run, opts))
  const now = stackProvider(dir, opts.stack)
  if (now !== opts.providerUrl) throw new PsbError(`Pulumi exited 0, but Pulumi.${opts.stack.split('/').at(-1)}.yaml names ${now ?? 'no'} secrets provider.`, {code: 'StackSecretsUnconfirmed', hint: `Run \`${command}\` yourself in ${dir} and check its output.`})
  return {...base, action, previous, commands: [command], pulumiOutput: (run.stdout + run.stderr).trim(), changes: [{item: `stack ${opts.stack}`, status: exists ? 'updated' : 'created', detail}]}
}

function kmsHint(run: PulumiRun, opts: StackSecretsOptions): string {
  const text = run.stderr + run.stdout
  if (/AccessDenied|not authorized/i.test(text)) return `KMS refused the profile${opts.profile ? ` ${opts.profile}` : ''}: grant it the key with \`psb kms create ... --for-user <its user>\`, or pass the --profile that was granted.`
  if (/NotFoundException|not found/i.test(text)) return `Check the key in ${opts.providerUrl} exists in that region (psb kms create).`
  if (/passphrase/i.test(text)) return 'Set PULUMI_CONFIG_PASSPHRASE to the stack\'s current passphrase for this one run.'
  return 'See Pulumi\'s message above.'
}
