/**
 * The fleet/ domain: many accounts and regions in one run (issue 17). This file owns the
 * targets: their spelling on the command line and in a targets file, the bucket and profile
 * names their templates give, the shards of a CI matrix, and the accounts of an AWS
 * Organization. Everything here but listOrgAccounts is offline and fails with exit 2
 * before anything starts.
 *
 *   ACCOUNT/REGION [bucket=NAME] [prefix=PATH] [profile=NAME]      (aws://ACCOUNT/REGION too)
 */
import {createHash} from 'node:crypto'
import type {AwsContext} from '../aws/client.js'
import {awsCall} from '../aws/errors.js'
import {validateBucketName} from '../bucket/name.js'
import {validateRegion} from '../files/aws-config.js'
import {validateProfileName} from '../files/credentials.js'
import {normalizePrefix} from '../iam/policy.js'
import {echo} from '../echo.js'
import {badInput, isPsbError, PsbError} from '../errors.js'
import {closestMatch} from '../suggest.js'

/** One target as written: `source` says where (`--target`, `fleet.txt line 3`). */
export interface TargetSpec {
  account: string
  region: string
  bucket?: string
  prefix?: string
  profile?: string
  source: string
}

/** One target with its names resolved. `id` is `ACCOUNT/REGION`. */
export interface Target {
  id: string
  account: string
  region: string
  bucket: string
  prefix?: string
  profile: string
}

export const DEFAULT_BUCKET_TEMPLATE = 'pulumi-state-{account}-{region}'
export const DEFAULT_PROFILE_TEMPLATE = 'pulumi-{account}-{region}'
/** The keys a target may override. */
export const TARGET_KEYS = ['bucket', 'prefix', 'profile'] as const
type TargetKey = (typeof TARGET_KEYS)[number]

const ACCOUNT = /^\d{12}$/
const FORM_HINT = 'Write a target as ACCOUNT/REGION (a 12-digit account id and a region), optionally followed by bucket=NAME prefix=PATH profile=NAME, e.g. 123456789012/eu-west-1 bucket=acme-state.'

/** The same error with where it came from in front of its message. */
function at(source: string, error: unknown): unknown {
  if (!isPsbError(error)) return error
  return new PsbError(`${source}: ${error.message}`, {hint: error.hint, exitCode: error.exitCode, code: error.code, data: error.data})
}

/** Exit 2 unless `account` is a 12-digit AWS account id. */
export function validateAccountId(account: string, source = '--target'): string {
  if (!ACCOUNT.test(account))
    throw badInput(`${source}: the account id ${echo(account, {what: 'account id', shape: /^\d{1,40}$/})} is not 12 digits.`, 'An AWS account id has exactly 12 digits, e.g. 123456789012 (keep its leading zeros).', 'AccountIdInvalid')
  return account
}

function parseOverride(word: string, spec: TargetSpec, source: string): void {
  const eq = word.indexOf('=')
  const key = eq > 0 ? word.slice(0, eq) : ''
  if (!(TARGET_KEYS as readonly string[]).includes(key)) {
    const near = closestMatch(key || word, TARGET_KEYS)
    const shown = key ? `the key ${echo(key, {what: 'key', shape: /^[a-z_-]{1,32}$/})}` : `the word ${echo(word, {what: 'word'})}`
    throw badInput(`${source}: ${shown} is not a target setting${near ? `. Did you mean ${near}=?` : '.'}`, `A target takes only ${TARGET_KEYS.map((k) => `${k}=`).join(', ')} after ACCOUNT/REGION. ${FORM_HINT}`, 'TargetInvalid')
  }
  const value = word.slice(eq + 1)
  if (value === '') throw badInput(`${source}: ${key}= has no value.`, `Give a value (${key}=NAME) or leave the setting out to use the template.`, 'TargetInvalid')
  if (spec[key as TargetKey] !== undefined) throw badInput(`${source}: ${key}= is given twice.`, `Give each of ${TARGET_KEYS.join(', ')} at most once per target.`, 'TargetInvalid')
  try {
    if (key === 'prefix') spec.prefix = normalizePrefix(value)
    else {
      if (key === 'profile') validateProfileName(value)
      spec[key as 'bucket' | 'profile'] = value
    }
  } catch (error) {
    throw at(source, error)
  }
}

/** One target, `ACCOUNT/REGION [bucket=… prefix=… profile=…]`; exit 2 on a bad account id, region or key. */
export function parseTarget(spec: string, source = '--target'): TargetSpec {
  const words = spec.trim().split(/\s+/).filter((w) => w !== '')
  if (words.length === 0) throw badInput(`${source}: the target is empty.`, FORM_HINT, 'TargetInvalid')
  const head = words[0]!.replace(/^aws:\/\//, '')
  const slash = head.indexOf('/')
  if (slash < 0 || head.indexOf('/', slash + 1) >= 0)
    throw badInput(`${source}: ${echo(head, {what: 'target', shape: /^[a-z0-9-]{1,40}$/})} is not ACCOUNT/REGION.`, FORM_HINT, 'TargetInvalid')
  const out: TargetSpec = {account: validateAccountId(head.slice(0, slash), source), region: '', source}
  try {
    out.region = validateRegion(head.slice(slash + 1))
  } catch (error) {
    throw at(source, error)
  }
  for (const word of words.slice(1)) parseOverride(word, out, source)
  return out
}

/** Exit 2 when two specs name the same ACCOUNT/REGION (naming both places). */
export function checkDuplicateTargets(specs: readonly TargetSpec[]): void {
  const seen = new Map<string, string>()
  for (const s of specs) {
    const id = `${s.account}/${s.region}`
    const first = seen.get(id)
    if (first !== undefined)
      throw badInput(`${s.source}: the target ${id} is given twice (first at ${first}).`, 'List each ACCOUNT/REGION once; put its bucket=, prefix= and profile= on that one line.', 'TargetDuplicate')
    seen.set(id, s.source)
  }
}

/** The targets of a targets file: one per line; `#` starts a comment; blank lines are skipped; duplicates are exit 2. */
export function parseTargetsFile(text: string, file: string): TargetSpec[] {
  const specs: TargetSpec[] = []
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  for (const [i, raw] of lines.entries()) {
    const line = raw.replace(/#.*$/, '').trim()
    if (line !== '') specs.push(parseTarget(line, `${file} line ${i + 1}`))
  }
  if (specs.length === 0) throw badInput(`${file} lists no target.`, `Write one target per line. ${FORM_HINT}`, 'TargetsEmpty')
  checkDuplicateTargets(specs)
  return specs
}

const PLACEHOLDERS = ['account', 'region'] as const

/** The template with {account} and {region} filled in; exit 2 on any other placeholder. */
export function expandTemplate(template: string, flag: string, t: {account: string; region: string}): string {
  return template.replace(/\{([^{}]*)\}/g, (_, name: string) => {
    if (name === 'account') return t.account
    if (name === 'region') return t.region
    const near = closestMatch(name, PLACEHOLDERS)
    throw badInput(`${flag}: the placeholder ${echo(`{${name}}`, {what: 'placeholder'})} is unknown${near ? `. Did you mean {${near}}?` : '.'}`, `A template may use {account} and {region}, e.g. ${DEFAULT_BUCKET_TEMPLATE}.`, 'TemplateInvalid')
  })
}

function resolveOne(s: TargetSpec, o: {bucketTemplate: string; profileTemplate: string; prefix?: string}): Target {
  const id = `${s.account}/${s.region}`
  const where = s.source === '--target' ? `target ${id}` : `target ${id} (${s.source})`
  try {
    const bucket = s.bucket ?? expandTemplate(o.bucketTemplate, '--bucket-template', s)
    validateBucketName(bucket)
    const profile = s.profile ?? expandTemplate(o.profileTemplate, '--profile-template', s)
    validateProfileName(profile)
    const prefix = s.prefix ?? o.prefix
    return {id, account: s.account, region: s.region, bucket, profile, ...(prefix === undefined ? {} : {prefix})}
  } catch (error) {
    throw at(where, error)
  }
}

/**
 * Every target with its bucket, profile and prefix: overrides first, else the templates.
 * Every name is checked offline before anything starts (exit 2 naming the target); two
 * targets with one bucket (bucket names are global) or one profile are exit 2 too.
 */
export function resolveTargets(specs: TargetSpec[], o: {bucketTemplate?: string; profileTemplate?: string; prefix?: string}): Target[] {
  checkDuplicateTargets(specs)
  const opts = {bucketTemplate: o.bucketTemplate ?? DEFAULT_BUCKET_TEMPLATE, profileTemplate: o.profileTemplate ?? DEFAULT_PROFILE_TEMPLATE, prefix: normalizePrefix(o.prefix)}
  const targets = specs.map((s) => resolveOne(s, opts))
  for (const key of ['bucket', 'profile'] as const) {
    const seen = new Map<string, string>()
    for (const t of targets) {
      const other = seen.get(t[key])
      if (other !== undefined)
        throw badInput(
          `The targets ${other} and ${t.id} would share the ${key} ${t[key]}.`,
          key === 'bucket' ? 'Bucket names are global: put {account} and {region} in --bucket-template, or give each target its own bucket=.' : 'Each target needs its own profile: put {account} and {region} in --profile-template, or give each target its own profile=.',
          key === 'bucket' ? 'TargetBucketShared' : 'TargetProfileShared',
        )
      seen.set(t[key], t.id)
    }
  }
  return targets
}

/** `I/N` with 1 ≤ I ≤ N: this runner's share of the targets; exit 2 otherwise. */
export function parseShard(s: string): {index: number; count: number} {
  const m = /^(\d{1,4})\/(\d{1,4})$/.exec(s.trim())
  const index = m ? Number(m[1]) : NaN
  const count = m ? Number(m[2]) : NaN
  if (!m || index < 1 || count < 1 || index > count)
    throw badInput(`--shard ${echo(s, {what: 'value', shape: /^[\d/ ]{1,20}$/})} is not I/N with 1 ≤ I ≤ N.`, 'Give this runner\'s share as I/N, e.g. --shard 2/4 for the second of four runners (in a CI matrix: --shard ${{ matrix.shard }}/4).', 'ShardInvalid')
  return {index, count}
}

function rankKey(t: Target): string {
  return createHash('sha256').update(`${t.account}/${t.region}`).digest('hex')
}

/**
 * This shard's targets. The targets are ranked by a hash of ACCOUNT/REGION (so the order of
 * the file does not matter) and dealt round-robin: the N shards are disjoint, their union is
 * every target, and their sizes differ by at most one. Every runner of a matrix reads the same
 * list and so computes the same split.
 */
export function shardTargets(targets: Target[], shard: {index: number; count: number}): Target[] {
  const ranked = targets.map((t) => ({t, key: rankKey(t)})).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.t.id < b.t.id ? -1 : 1))
  const mine = new Set(ranked.filter((_, i) => i % shard.count === shard.index - 1).map((r) => r.t))
  return targets.filter((t) => mine.has(t))
}

const OU_ID = /^(ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})$/

/** Exit 2 unless every id is an OU id (`ou-…`) or a root id (`r-…`). */
export function validateOuIds(ids: readonly string[]): void {
  for (const id of ids)
    if (!OU_ID.test(id)) throw badInput(`--ou ${echo(id, {what: 'value', shape: /^[a-z0-9-]{1,80}$/})} is not an organizational unit id.`, 'Give an OU id such as ou-ab12-cd34ef56, or a root id such as r-ab12 (aws organizations list-roots / list-organizational-units-for-parent).', 'OuIdInvalid')
}

type Account = {Id?: string; Status?: string; State?: string}

function isActive(a: Account): boolean {
  return (a.State ?? a.Status) === 'ACTIVE'
}

/** The accounts directly in an OU or root and, recursively, in its child OUs. */
async function accountsUnder(aws: AwsContext, parent: string): Promise<Account[]> {
  const org = await aws.organizations()
  const {ListAccountsForParentCommand, ListOrganizationalUnitsForParentCommand} = await import('@aws-sdk/client-organizations')
  const out: Account[] = []
  let token: string | undefined
  do {
    const r = await awsCall({action: 'organizations:ListAccountsForParent', resource: parent}, () => org.send(new ListAccountsForParentCommand({ParentId: parent, NextToken: token})))
    out.push(...(r.Accounts ?? []))
    token = r.NextToken
  } while (token)
  do {
    const r = await awsCall({action: 'organizations:ListOrganizationalUnitsForParent', resource: parent}, () => org.send(new ListOrganizationalUnitsForParentCommand({ParentId: parent, NextToken: token})))
    for (const ou of r.OrganizationalUnits ?? []) if (ou.Id) out.push(...(await accountsUnder(aws, ou.Id)))
    token = r.NextToken
  } while (token)
  return out
}

async function allAccounts(aws: AwsContext): Promise<Account[]> {
  const org = await aws.organizations()
  const {ListAccountsCommand} = await import('@aws-sdk/client-organizations')
  const out: Account[] = []
  let token: string | undefined
  do {
    const r = await awsCall({action: 'organizations:ListAccounts'}, () => org.send(new ListAccountsCommand({NextToken: token})))
    out.push(...(r.Accounts ?? []))
    token = r.NextToken
  } while (token)
  return out
}

/**
 * The ACTIVE accounts of the AWS Organization (read calls only), sorted: every account
 * (organizations:ListAccounts), or those under the given OUs and their child OUs; less
 * `exclude`. Suspended and closed accounts are left out.
 */
export async function listOrgAccounts(aws: AwsContext, o: {ou?: string[]; exclude?: string[]}): Promise<string[]> {
  validateOuIds(o.ou ?? [])
  for (const id of o.exclude ?? []) validateAccountId(id, '--exclude')
  const accounts: Account[] = []
  if (o.ou && o.ou.length > 0) for (const ou of o.ou) accounts.push(...(await accountsUnder(aws, ou)))
  else accounts.push(...(await allAccounts(aws)))
  const excluded = new Set(o.exclude ?? [])
  const ids = accounts.filter(isActive).map((a) => a.Id ?? '').filter((id) => id !== '' && !excluded.has(id))
  return [...new Set(ids)].sort()
}
