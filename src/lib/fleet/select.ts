/**
 * Which targets a fleet run works on, settled before the first write: the `--target` specs
 * and the `--targets` file (offline, exit 2), the accounts of the AWS Organization
 * (`--org-accounts`, read calls only), their buckets and profiles (targets.ts), this
 * runner's shard (`--shard I/N`), and the checks that keep targets apart: one profile and
 * one IAM user per target, none of them the administrator's profile.
 */
import {readFileSync} from 'node:fs'
import type {AwsContext} from '../aws/client.js'
import {echo} from '../echo.js'
import {badInput, messageOf} from '../errors.js'
import {validateUserName} from '../iam/user.js'
import {listOrgAccounts, parseTarget, parseTargetsFile, resolveTargets, shardTargets, validateAccountId, validateOuIds, type Target, type TargetSpec} from './targets.js'

export interface FleetSelection {
  /** `--target ACCOUNT/REGION [bucket=… prefix=… profile=…]`, repeatable. */
  target: string[]
  /** `--targets FILE`. */
  targetsFile?: string
  /** `--org-accounts`, with `--ou` and `--exclude`, in `orgRegion` (the --region). */
  orgAccounts: boolean
  ou: string[]
  exclude: string[]
  orgRegion?: string
  bucketTemplate?: string
  profileTemplate?: string
  prefix?: string
  shard?: {index: number; count: number}
}

/** Every target given on the command line and in the file (offline; exit 2 naming the bad line). */
export function offlineSpecs(sel: FleetSelection): TargetSpec[] {
  const specs = sel.target.map((t) => parseTarget(t, '--target'))
  if (sel.targetsFile !== undefined) {
    let text: string
    try {
      text = readFileSync(sel.targetsFile, 'utf8')
    } catch (error) {
      throw badInput(`--targets ${echo(sel.targetsFile, {what: 'file name'})} cannot be read: ${messageOf(error)}`, 'Give a file with one target per line: ACCOUNT/REGION [bucket=… prefix=… profile=…].', 'TargetsFileUnreadable')
    }
    specs.push(...parseTargetsFile(text, sel.targetsFile))
  }
  validateOuIds(sel.ou)
  for (const id of sel.exclude) validateAccountId(id, '--exclude')
  return specs
}

/** The IAM user of a target: the --user name and the target's region (one user per bucket, so two regions of one account never share one). */
export function fleetUser(base: string, t: Pick<Target, 'region'>): string {
  return `${base}-${t.region}`
}

/**
 * The targets: the given specs plus the Organization's ACTIVE accounts (in `orgRegion`),
 * resolved (every bucket name checked) and cut to this runner's shard. Read calls only.
 */
export async function selectTargets(admin: AwsContext, sel: FleetSelection, specs: TargetSpec[]): Promise<{all: Target[]; targets: Target[]}> {
  const all = [...specs]
  if (sel.orgAccounts) {
    if (!sel.orgRegion) throw badInput('--org-accounts needs the region to set up in each account.', 'Pass --region (e.g. --region eu-west-1); give other regions with --target ACCOUNT/REGION.', 'RegionMissing')
    const given = new Set(specs.map((s) => `${s.account}/${s.region}`))
    for (const account of await listOrgAccounts(admin, {ou: sel.ou, exclude: sel.exclude})) {
      if (!given.has(`${account}/${sel.orgRegion}`)) all.push({account, region: sel.orgRegion, source: 'organizations:ListAccounts'})
    }
  }
  if (all.length === 0) throw badInput('No targets: nothing to set up.', 'Give --target ACCOUNT/REGION, --targets FILE or --org-accounts (whose --ou / --exclude left no account).', 'NoTargets')
  const resolved = resolveTargets(all, {bucketTemplate: sel.bucketTemplate, profileTemplate: sel.profileTemplate, prefix: sel.prefix})
  return {all: resolved, targets: sel.shard ? shardTargets(resolved, sel.shard) : resolved}
}

/** Every target's IAM user name valid, and no target's profile the one psb acts with as administrator (exit 2). */
export function checkFleetTargets(targets: Target[], o: {user: string; adminProfile?: string}): void {
  for (const t of targets) {
    validateUserName(fleetUser(o.user, t))
    if (o.adminProfile && t.profile === o.adminProfile) {
      throw badInput(`Target ${t.id} would write profile ${t.profile}, the profile psb acts with as administrator (--admin-profile).`, 'Choose another --profile-template (or profile= in the targets file).', 'ProfileConflict')
    }
  }
}
