/** The core options of `psb verify` from its flags (also used by init and the state commands). */
import {validateEndpoint} from '../lib/aws/client.js'
import {requireRegion} from '../lib/files/aws-config.js'
import {parseBackendUrl} from '../lib/pulumi/backend-url.js'
import {parseDays} from '../lib/duration.js'
import {badInput} from '../lib/errors.js'
import {validateBucketName} from '../lib/bucket/name.js'
import {normalizePrefix} from '../lib/iam/policy.js'
import {validateProviderUrl} from '../lib/kms/names.js'
import {currentPulumiLogin} from '../lib/pulumi/cli.js'
import type {VerifyOptions} from '../lib/verify/run.js'

export interface VerifyFlags {
  profile?: string
  bucket?: string
  prefix?: string
  region?: string
  endpoint?: string
  'max-key-age'?: string | number
  'secrets-provider'?: string
  pulumi?: boolean
}

/**
 * The core options of verify from its flags. Without --bucket, the backend Pulumi is
 * logged in to (PULUMI_BACKEND_URL, else credentials.json's current) supplies bucket,
 * prefix, region, profile and endpoint. Throws bad input (exit 2) before any AWS call.
 */
export function verifyOptionsFromFlags(flags: VerifyFlags, env = process.env): VerifyOptions {
  let {bucket, prefix, region, endpoint, profile} = flags
  if (!bucket) {
    const current = env.PULUMI_BACKEND_URL || currentPulumiLogin(env)
    const parsed = current ? parseBackendUrl(current) : undefined
    if (!parsed)
      throw badInput(
        current ? `Pulumi's backend (${current}) is not an s3:// URL, and no --bucket was given.` : 'No --bucket given, and Pulumi is not logged in to an s3:// backend.',
        'Pass --bucket <name> (and --region, --profile).',
        'BucketMissing',
      )
    bucket = parsed.bucket
    prefix ??= parsed.prefix || undefined
    region ??= parsed.params.get('region')
    profile ??= parsed.params.get('profile')
    if (!endpoint && parsed.params.get('endpoint')) {
      const e = parsed.params.get('endpoint')!
      endpoint = /^https?:\/\//.test(e) ? e : `${parsed.params.get('disable_https') === 'true' ? 'http' : 'https'}://${e}`
    }
  }
  profile ||= env.AWS_PROFILE || 'default'
  validateBucketName(bucket)
  return {
    profile,
    bucket,
    prefix: normalizePrefix(prefix),
    region: requireRegion(region, profile, env),
    endpoint: validateEndpoint(endpoint),
    secretsProvider: flags['secrets-provider'] === undefined ? undefined : validateProviderUrl(flags['secrets-provider']),
    maxKeyAgeDays: flags['max-key-age'] === undefined ? undefined : parseDays(flags['max-key-age'], {flag: '--max-key-age', min: 1}),
    pulumi: flags.pulumi,
    env,
  }
}
