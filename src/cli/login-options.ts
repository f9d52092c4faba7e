/** `psb login`'s flags as core options (reused by `psb init`). */
import {requireRegion, type Env} from '../lib/files/aws-config.js'
import {badInput} from '../lib/errors.js'
import type {LoginOptions} from '../lib/pulumi/login.js'
import type {UrlDialectChoice} from '../lib/pulumi/url-dialects.js'

export interface LoginFlags {
  bucket?: string
  prefix?: string
  region?: string
  profile?: string
  endpoint?: string
  project?: string
  dialect?: string
  'dry-run'?: boolean
}

/** The core options of `psb login` from its parsed flags (reused by `psb init`). Bad input: exit 2. */
export function loginOptionsFromFlags(flags: LoginFlags, env: Env = process.env): LoginOptions {
  if (!flags.bucket) throw badInput('--bucket is required.', 'Pass the state bucket, e.g. --bucket acme-pulumi-state.', 'BucketMissing')
  return {
    bucket: flags.bucket,
    prefix: flags.prefix,
    region: requireRegion(flags.region, flags.profile, env),
    profile: flags.profile,
    endpoint: flags.endpoint,
    project: flags.project,
    dialect: flags.dialect as UrlDialectChoice | undefined,
    dryRun: flags['dry-run'] ?? false,
    env,
  }
}
