/**
 * Where the AWS shared files are, which profiles exist, and which region applies —
 * following the AWS conventions (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, AWS_PROFILE,
 * AWS_REGION / AWS_DEFAULT_REGION).
 */
import {readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join, resolve} from 'node:path'
import {PsbError, badInput, messageOf} from './errors.js'
import {parseIni, sdkConfigData, sdkParse} from './ini.js'

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
    throw badInput(`"${region}" is not an AWS region name.`, 'Use a region such as us-east-1, eu-west-2 or ap-southeast-1.', 'RegionInvalid')
  }
  return region
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
