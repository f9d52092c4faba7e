/**
 * Where the AWS shared files are, which profiles exist, and which region applies —
 * following the AWS conventions (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, AWS_PROFILE,
 * AWS_REGION / AWS_DEFAULT_REGION).
 */
import {readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join, resolve} from 'node:path'
import {badInput} from './errors.js'
import {configSectionProfile, configSectionName, parseIni, sectionEntries, sectionNames} from './ini.js'

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

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/** Every profile named in the credentials or config file, sorted. */
export function listProfiles(env: Env = process.env): string[] {
  const names = new Set<string>()
  const cred = readIfExists(credentialsFilePath(env))
  if (cred !== undefined) for (const n of sectionNames(parseIni(cred, credentialsFilePath(env)))) names.add(n)
  const conf = readIfExists(configFilePath(env))
  if (conf !== undefined) {
    for (const n of sectionNames(parseIni(conf, configFilePath(env)))) {
      const p = configSectionProfile(n)
      if (p) names.add(p)
    }
  }
  return [...names].sort()
}

export function profileExists(profile: string, env: Env = process.env): boolean {
  return listProfiles(env).includes(profile)
}

/** The region set for a profile in the config file (or the credentials file), if any. */
export function profileRegion(profile: string, env: Env = process.env): string | undefined {
  const conf = readIfExists(configFilePath(env))
  if (conf !== undefined) {
    const r = sectionEntries(parseIni(conf, configFilePath(env)), configSectionName(profile))?.region
    if (r) return r
  }
  const cred = readIfExists(credentialsFilePath(env))
  if (cred !== undefined) return sectionEntries(parseIni(cred, credentialsFilePath(env)), profile)?.region || undefined
  return undefined
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
