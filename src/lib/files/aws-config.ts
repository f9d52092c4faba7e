/**
 * Where the AWS shared files are, which profiles exist, and which region applies —
 * following the AWS conventions (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, AWS_PROFILE,
 * AWS_REGION / AWS_DEFAULT_REGION).
 */
import {readFileSync} from 'node:fs'
import {partition} from '@aws-sdk/core/client'
import {homedir} from 'node:os'
import {join, resolve} from 'node:path'
import {echo, mayEcho, NAME_SHAPE} from '../echo.js'
import {PsbError, badInput, messageOf} from '../errors.js'
import {parseIni, sdkConfigData, sdkParse} from './ini.js'
import {closestMatch} from '../suggest.js'

export type Env = Record<string, string | undefined>

function home(env: Env): string {
  return env.HOME || env.USERPROFILE || homedir()
}

function expandHome(p: string, env: Env): string {
  if (p === '~') return home(env)
  if (p.startsWith('~/')) return join(home(env), p.slice(2))
  return resolve(p)
}

export function credentialsFilePath(env: Env = process.env): string {
  return expandHome(env.AWS_SHARED_CREDENTIALS_FILE || join(home(env), '.aws', 'credentials'), env)
}

export function configFilePath(env: Env = process.env): string {
  return expandHome(env.AWS_CONFIG_FILE || join(home(env), '.aws', 'config'), env)
}

/**
 * The text of an AWS shared file; undefined when it does not exist. Any other failure
 * (permissions, a folder in its place) is a PsbError (exit 1) naming the file.
 */
export function readSharedFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new PsbError(`Cannot read ${path}: ${messageOf(error)}`, {
      cause: error,
      code: 'FileReadFailed',
      hint: `Check that ${path} is a regular file you can read (ls -l ${path}).`,
      data: {path},
    })
  }
}

/** Profile name → setting → value. */
export type Profiles = Record<string, Record<string, string>>

/** The credentials file's profiles as the AWS SDK reads them. */
function credentialsProfiles(env: Env): Profiles {
  const path = credentialsFilePath(env)
  const text = readSharedFile(path)
  return text === undefined ? {} : sdkParse(parseIni(text, path))
}

/** The config file's profiles as the AWS SDK reads them (`[profile default]` replacing `[default]`). */
function configProfiles(env: Env): Profiles {
  const path = configFilePath(env)
  const text = readSharedFile(path)
  const out: Profiles = {}
  if (text === undefined) return out
  // sdkConfigData keeps [sso-session x] and [services x] under their prefix: not profiles.
  for (const [name, values] of Object.entries(sdkConfigData(sdkParse(parseIni(text, path))))) if (!/^(sso-session|services)\./.test(name)) out[name] = values
  return out
}

/** The settings with lower-case names (a later one wins), as botocore and the AWS CLI read them. */
function lowerKeys(values: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(values)) out[k.toLowerCase()] = v
  return out
}

/**
 * Every profile as the AWS tools see it: config-file settings, overridden key by key by the
 * credentials file. Setting names are read whatever their case (`AWS_ACCESS_KEY_ID` is
 * `aws_access_key_id`), as botocore, the AWS CLI and psb's editor do.
 */
export function readProfiles(env: Env = process.env): Profiles {
  const out: Profiles = {}
  for (const [name, values] of Object.entries(configProfiles(env))) out[name] = lowerKeys(values)
  for (const [name, values] of Object.entries(credentialsProfiles(env))) out[name] = {...out[name], ...lowerKeys(values)}
  return out
}

/**
 * The role a profile assumes (its `role_arn`, with `source_profile` or `credential_source`),
 * or undefined. The AWS SDK and CLI assume a role even when the credentials file also holds a
 * key for that profile, so such a profile has no key of its own.
 */
export function profileRoleArn(profile: string, env: Env = process.env): string | undefined {
  return readProfiles(env)[profile]?.role_arn || undefined
}

/** Every profile of the credentials and config files that has a setting, sorted. */
export function listProfiles(env: Env = process.env): string[] {
  return Object.keys(readProfiles(env)).sort()
}

/** The region set for a profile: in the config file, else in the credentials file (as the SDK looks it up). */
function profileRegion(profile: string, env: Env): string | undefined {
  const region = (values?: Record<string, string>) => (values ? lowerKeys(values).region : undefined)
  return region(configProfiles(env)[profile]) || region(credentialsProfiles(env)[profile]) || undefined
}

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}$/

export function validateRegion(region: string): string {
  if (!REGION.test(region)) {
    throw badInput(`The region ${echo(region, {what: 'value', shape: /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/})} is not an AWS region name.`, 'Use a region such as us-east-1, eu-west-2 or ap-southeast-1.', 'RegionInvalid')
  }
  if (!isKnownRegion(region)) {
    // Shaped like a region (so it can be echoed), but no partition of the AWS SDK lists it.
    const near = sameStemRegions(region)
    throw badInput(
      `"${region}" is not an AWS region${near.length > 0 ? `. Did you mean ${near.join(' or ')}?` : '.'}`,
      'Use a region AWS lists, e.g. us-east-1, eu-west-2 or ap-southeast-1 (`aws account list-regions` shows yours). A region newer than this psb needs a newer psb.',
      'RegionUnknown',
    )
  }
  return region
}

/**
 * True when a partition of the installed AWS SDK (aws, aws-cn, aws-us-gov, ...) lists the
 * region. The bundle takes the SDK's partition table alone (scripts/bundle.mjs), not the rest
 * of @aws-sdk/core/client.
 */
export function isKnownRegion(region: string): boolean {
  // `partition()` answers a listed region with its description, any other name with none.
  return (partition(region) as {description?: string}).description !== undefined
}

/** The known regions that differ from `region` only in their number (us-west-99 → us-west-1, us-west-2). */
function sameStemRegions(region: string): string[] {
  const stem = region.replace(/\d+$/, '')
  return Array.from({length: 20}, (_, i) => `${stem}${i + 1}`).filter((r) => isKnownRegion(r))
}

/**
 * The region to use: the flag, else AWS_REGION / AWS_DEFAULT_REGION, else the profile's
 * region in the config file. Undefined when none is set.
 */
export function resolveRegion(flag: string | undefined, profile: string | undefined, env: Env = process.env): string | undefined {
  const r = flag || env.AWS_REGION || env.AWS_DEFAULT_REGION || profileRegion(profile || env.AWS_PROFILE || 'default', env)
  return r ? validateRegion(r) : undefined
}

export function requireRegion(flag: string | undefined, profile: string | undefined, env: Env = process.env): string {
  const r = resolveRegion(flag, profile, env)
  if (!r) {
    throw badInput('No AWS region is set.', 'Pass --region (e.g. --region us-east-1), or set AWS_REGION, or a region in the profile of your AWS config file.', 'RegionMissing')
  }
  return r
}

/**
 * Checks that a profile exists in the credentials or config file, before any AWS call: a
 * missing or misspelled profile is bad input (exit 2) that lists the profiles that do exist
 * and suggests the closest one. `source` says where the name came from (`--profile`).
 */
export function checkProfile(profile: string, source: string, env: Env = process.env, hint?: string): void {
  const names = listProfiles(env)
  if (names.includes(profile)) return
  const closest = closestMatch(profile, names)
  const list = names.length > 0 ? names.join(', ') : '(none: the credentials and config files have no profiles)'
  const shown = mayEcho(profile, NAME_SHAPE)
  throw badInput(
    `The AWS profile ${echo(profile, {what: 'name', shape: NAME_SHAPE})} (from ${source}) does not exist.${closest ? ` Did you mean "${closest}"?` : ''} Profiles found: ${list}.`,
    hint ?? `Use one of the profiles above${shown ? `, or create it with \`aws configure --profile ${profile}\`` : ''}.`,
    'ProfileNotFound',
  )
}
