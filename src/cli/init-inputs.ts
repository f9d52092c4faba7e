/**
 * The inputs of `psb init`, settled before the first AWS write: every flag checked (exit 2,
 * nothing changed), the region and bucket asked for on a terminal, then the plan of the steps.
 */
import {createAwsContext, validateEndpoint, type AwsContext} from '../lib/aws/client.js'
import {bucketNameProblem, sanitizeBucketName} from '../lib/bucket/name.js'
import type {BucketOptions} from '../lib/bucket/ensure.js'
import {parseDuration} from '../lib/duration.js'
import {resolveRegion, validateRegion, type Env} from '../lib/files/aws-config.js'
import {validateProfileName} from '../lib/files/credentials.js'
import {echo} from '../lib/echo.js'
import {badInput, isPsbError, messageOf} from '../lib/errors.js'
import {normalizePrefix} from '../lib/iam/policy.js'
import {callerAccount, type UserOptions} from '../lib/iam/user.js'
import {buildBackendUrl} from '../lib/pulumi/backend-url.js'
import {defaultAlias, providerUrl} from '../lib/kms/names.js'
import {validateSecretsKeyOptions, type SecretsKeyOptions} from '../lib/kms/key.js'
import {loginOptionsFromFlags} from './login-options.js'
import {proofOptionsFromFlags} from './keys.js'
import type {InitPlan} from './tasks.js'
import {userOptionsFromFlags, type UserFlags} from './user-create.js'

/** The profile's name; without --profile it is the user name, and a problem says so. */
export function validateInitProfile(profile: string, fromUser: boolean): void {
  try {
    validateProfileName(profile)
  } catch (error) {
    if (!fromUser || !isPsbError(error)) throw error
    throw badInput(
      `The profile Pulumi gets defaults to the user name (--user ${echo(profile, {what: 'value'})}), which cannot be a profile name: ${error.message.replace(/^The profile name (".*?"|\(.*?\)) /, 'it ')}`,
      'Keep this --user and choose the profile with --profile, e.g. --profile pulumi.',
      'ProfileNameInvalid',
    )
  }
}

export function isCI(env: Env): boolean {
  return Boolean(env.CI) && env.CI !== 'false' && env.CI !== '0'
}

export async function ask(message: string, def: string, validate: (v: string) => true | string): Promise<string> {
  const {input} = await import('@inquirer/prompts')
  const v = await input({message, default: def, validate: (x: string) => validate(x.trim())})
  return v.trim()
}

/** The parsed flags of `psb init` that its inputs read. */
export interface InitFlags extends UserFlags {
  bucket?: string
  prefix?: string
  user: string
  profile?: string
  region?: string
  endpoint?: string
  'admin-profile'?: string
  'dry-run': boolean
  wait: string
  confirmations?: string
  interval?: string
  login: boolean
  verify: boolean
  yes: boolean
  /** 'kms': a KMS key for Pulumi's secrets (awskms://); 'passphrase' or undefined: none. */
  secrets?: string
}

/** What the command supplies: the mode, and the flag readers of the bucket and verify commands. */
export interface InitDeps {
  env: Env
  json: boolean
  note: (message: string) => void
  bucketOptions: (bucket: string, region: string) => BucketOptions
  verifyOptions: (o: {profile: string; bucket: string; prefix?: string; region: string; endpoint?: string; pulumi: boolean}) => InitPlan['verify']
}

export interface InitInputs {
  plan: InitPlan
  admin: AwsContext
  userOpts: UserOptions
  bucket: string
  region: string
  prefix?: string
  user: string
  profile: string
  endpoint?: string
}

/** Every input of `psb init`, checked (exit 2 before any write), asked for when missing and allowed, and the plan. */
export async function initInputs(flags: InitFlags, d: InitDeps): Promise<InitInputs> {
  const {env} = d
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !isCI(env) && !flags.yes && !d.json
  const noPrompt = interactive ? '' : ` (psb does not ask: ${d.json ? '--json' : flags.yes ? '--yes' : isCI(env) ? 'CI is set' : 'not a terminal'})`
  const adminProfile = flags['admin-profile']
  const dryRun = flags['dry-run']
  const {endpoint, user, profile, prefix, waitMs, proof} = offlineChecks(flags)
  // Validate the bucket- and user-flags now, with a stand-in name when the bucket is still to be asked.
  const probeBucket = flags.bucket ?? 'pulumi-state-probe'
  let region = resolveRegion(flags.region, adminProfile, env)
  userOptionsFromFlags({...flags, bucket: probeBucket, prefix})
  d.bucketOptions(probeBucket, region ?? 'us-east-1')
  if (!region) region = await askRegion(interactive, noPrompt)
  const admin = createAwsContext({region, endpoint, profile: adminProfile})
  const bucket = flags.bucket || (await askBucket(admin, region, interactive, noPrompt, d.note))

  const bucketOpts = d.bucketOptions(bucket, region)
  const userOpts = userOptionsFromFlags({...flags, bucket, prefix})
  const loginOpts = flags.login ? loginOptionsFromFlags({bucket, prefix, region, profile, endpoint, 'dry-run': dryRun}, env) : undefined
  // The URL's inputs are checked now (exit 2), not after the bucket is made.
  buildBackendUrl({bucket, prefix, region, profile, endpoint})
  const secrets = flags.secrets === 'kms' ? {bucket, prefix, region, dryRun} : undefined
  if (secrets) validateSecretsKeyOptions(secrets)
  const plan: InitPlan = {
    admin,
    bucket: bucketOpts,
    user: userOpts,
    key: {user, profile, region, endpoint, bucket, prefix, dryRun, waitMs, ...proof, env},
    secrets,
    login: loginOpts,
    verify: flags.verify && !dryRun ? withSecrets(d.verifyOptions({profile, bucket, prefix, region, endpoint, pulumi: flags.login}), secrets) : undefined,
    dryRun,
    env,
  }
  return {plan, admin, userOpts, bucket, region, prefix, user, profile, endpoint}
}

/** Verify checks the secrets key init makes (its round trip, state and rotation). */
export function withSecrets(opts: InitPlan['verify'], secrets: SecretsKeyOptions | undefined): InitPlan['verify'] {
  return opts && secrets ? {...opts, secretsProvider: providerUrl(defaultAlias(secrets.bucket, secrets.prefix), secrets.region)} : opts
}

/** Everything that can be checked without AWS, first (exit 2, nothing changed). */
function offlineChecks(flags: InitFlags): {endpoint?: string; user: string; profile: string; prefix?: string; waitMs: number; proof: {successes?: number; pollMs?: number}} {
  const adminProfile = flags['admin-profile']
  const endpoint = validateEndpoint(flags.endpoint)
  const user = flags.user
  const profile = flags.profile ?? user
  validateInitProfile(profile, flags.profile === undefined)
  if (adminProfile && adminProfile === profile) {
    throw badInput(
      `--profile ${profile} is also the profile psb acts with as administrator (--admin-profile): its key would be replaced by the Pulumi user's.`,
      'Give Pulumi its own profile (e.g. --profile pulumi), or act as administrator with another profile.',
      'ProfileConflict',
    )
  }
  const prefix = normalizePrefix(flags.prefix)
  const waitMs = parseDuration(flags.wait, {flag: '--wait', bareUnit: 's'})
  return {endpoint, user, profile, prefix, waitMs, proof: proofOptionsFromFlags(flags, waitMs)}
}

async function askRegion(interactive: boolean, noPrompt: string): Promise<string> {
  if (!interactive) {
    throw badInput(`No AWS region is set${noPrompt}.`, 'Pass --region (e.g. --region us-east-1), or set AWS_REGION, or a region in your AWS config file.', 'RegionMissing')
  }
  return ask('AWS region for the state bucket', 'us-east-1', (v) => {
    try {
      validateRegion(v)
      return true
    } catch (error) {
      return messageOf(error)
    }
  })
}

async function askBucket(admin: AwsContext, region: string, interactive: boolean, noPrompt: string, note: (m: string) => void): Promise<string> {
  if (!interactive) throw badInput(`--bucket is missing${noPrompt}.`, 'Pass --bucket <name>, e.g. --bucket pulumi-state-<account>-<region>.', 'BucketMissing')
  let suggestion = `pulumi-state-${region}`
  try {
    suggestion = sanitizeBucketName(`pulumi-state-${(await callerAccount(admin)).accountId}-${region}`)
  } catch (error) {
    note(`Could not read the account id for a suggested bucket name: ${messageOf(error)}`)
  }
  return ask('Name of the S3 bucket for Pulumi state', suggestion, (v) => {
    const p = bucketNameProblem(v)
    return p ? `A bucket name ${p.rule.rule} (${p.detail}).` : true
  })
}
