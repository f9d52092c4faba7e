/** `psb stack secrets`: its flags into core options (the provider URL from the flags or Pulumi's login), and its output. */
import {validateEndpoint} from '../lib/aws/client.js'
import {badInput} from '../lib/errors.js'
import {checkProfile, requireRegion} from '../lib/files/aws-config.js'
import {normalizePrefix} from '../lib/iam/policy.js'
import {defaultAlias, providerUrl, validateProviderUrl} from '../lib/kms/names.js'
import {parseBackendUrl} from '../lib/pulumi/backend-url.js'
import {currentPulumiLogin} from '../lib/pulumi/cli.js'
import type {StackSecretsOptions, StackSecretsResult} from '../lib/pulumi/stack-secrets.js'

export interface StackSecretsFlags {
  project: string
  stack: string
  'secrets-provider'?: string
  bucket?: string
  prefix?: string
  region?: string
  profile?: string
  endpoint?: string
  'dry-run'?: boolean
}

/**
 * The options from the flags: --secrets-provider as given, else psb's key for --bucket
 * (+ --prefix) in --region, else for the backend Pulumi is logged in to (its bucket, prefix,
 * region, profile and endpoint). Exit 2 before Pulumi runs.
 */
export function stackSecretsOptionsFromFlags(flags: StackSecretsFlags, env = process.env): StackSecretsOptions {
  let {bucket, prefix, region, profile, endpoint} = flags
  if (!flags['secrets-provider'] && !bucket) {
    const current = env.PULUMI_BACKEND_URL || currentPulumiLogin(env)
    const parsed = current ? parseBackendUrl(current) : undefined
    if (!parsed) throw badInput('No --secrets-provider or --bucket given, and Pulumi is not logged in to an s3:// backend.', 'Pass --secrets-provider "awskms://alias/<name>?region=<region>" (what psb kms create printed), or --bucket (and --prefix, --region).', 'SecretsProviderMissing')
    bucket = parsed.bucket
    prefix ??= parsed.prefix || undefined
    region ??= parsed.params.get('region')
    profile ??= parsed.params.get('profile')
    const e = parsed.params.get('endpoint')
    if (!endpoint && e) endpoint = /^https?:\/\//.test(e) ? e : `${parsed.params.get('disable_https') === 'true' ? 'http' : 'https'}://${e}`
  }
  // A missing profile is bad input (exit 2), before Pulumi runs.
  if (profile) checkProfile(profile, flags.profile ? '--profile' : 'the backend URL Pulumi is logged in to', env, 'Pass --profile with the profile granted the key (psb kms create --for-user <its user>).')
  const url = flags['secrets-provider'] ? validateProviderUrl(flags['secrets-provider']) : providerUrl(defaultAlias(bucket!, normalizePrefix(prefix)), requireRegion(region, profile, env))
  return {project: flags.project, stack: flags.stack, providerUrl: url, profile, endpoint: validateEndpoint(endpoint), dryRun: Boolean(flags['dry-run']), env}
}

export function renderStackSecrets(r: StackSecretsResult, say: (line?: string) => void): void {
  if (r.pulumiOutput) say(r.pulumiOutput.replace(/^/gm, '  pulumi: '))
  const what = {
    created: `${r.dryRun ? 'Would create' : 'Created'} stack ${r.stack} with secrets provider ${r.providerUrl}.`,
    changed: `${r.dryRun ? 'Would move' : 'Moved'} stack ${r.stack} from ${r.previous} to ${r.providerUrl}${r.dryRun ? '' : ': Pulumi re-encrypted its secrets'}.`,
    unchanged: `Stack ${r.stack} already uses ${r.providerUrl}; nothing changed.`,
  }[r.action]
  say(what)
  if (r.dryRun && r.commands.length) say(`Dry run: psb would run:\n${r.commands.map((c) => `  ${c}`).join('\n')}`)
  if (!r.dryRun && r.action !== 'unchanged') say('The stack needs no PULUMI_CONFIG_PASSPHRASE from now on; whoever runs it needs kms:Encrypt/Decrypt on the key (psb kms create --for-user/--for-role).')
}
