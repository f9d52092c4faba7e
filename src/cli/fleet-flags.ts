/**
 * The flags of `psb init` over many targets (docs/fleet.md), and the offline checks of how
 * they combine with init's own flags: exit 2 before any AWS call.
 */
import {Flags} from '@oclif/core'
import {badInput} from '../lib/errors.js'
import {DEFAULT_ROLE_NAME, validateRoleName} from '../lib/fleet/assume.js'
import {DEFAULT_BUCKET_TEMPLATE, DEFAULT_PROFILE_TEMPLATE, parseShard} from '../lib/fleet/targets.js'
import type {FleetSelection} from '../lib/fleet/select.js'

export const DEFAULT_CONCURRENCY = 8

export const fleetFlagDefs = {
  target: Flags.string({
    description: 'Set up this target: ACCOUNT/REGION, optionally followed by bucket=NAME prefix=PATH profile=NAME (repeatable). Acts in the account through --assume-role-name.',
    helpValue: '<ACCOUNT/REGION>',
    multiple: true,
    multipleNonGreedy: true,
  }),
  targets: Flags.string({description: 'Set up every target of this file: one ACCOUNT/REGION [bucket=… prefix=… profile=…] per line, # comments.', helpValue: '<file>'}),
  'org-accounts': Flags.boolean({description: 'Set up every ACTIVE account of the AWS Organization (organizations:ListAccounts), in --region.', default: false}),
  ou: Flags.string({description: 'With --org-accounts: only the accounts under this OU (or root) id and its child OUs (repeatable).', helpValue: '<ou-id>', multiple: true, multipleNonGreedy: true}),
  exclude: Flags.string({description: 'With --org-accounts: leave out this account id (repeatable).', helpValue: '<account>', multiple: true, multipleNonGreedy: true}),
  'bucket-template': Flags.string({description: `Bucket name of each target, with {account} and {region} (default ${DEFAULT_BUCKET_TEMPLATE}).`, helpValue: '<template>'}),
  'profile-template': Flags.string({description: `Profile of each target, with {account} and {region} (default ${DEFAULT_PROFILE_TEMPLATE}).`, helpValue: '<template>'}),
  'assume-role-name': Flags.string({description: `The role psb assumes in each target account (default ${DEFAULT_ROLE_NAME}).`, helpValue: '<name>'}),
  concurrency: Flags.integer({description: `How many targets run at once (default ${DEFAULT_CONCURRENCY}).`, helpValue: '<n>', min: 1, max: 64}),
  shard: Flags.string({description: 'Only this runner\'s share of the targets, I of N (stable: by account and region), e.g. --shard 2/4 in a CI matrix of 4 jobs.', helpValue: '<I/N>'}),
}

export interface FleetFlags {
  target?: string[]
  targets?: string
  'org-accounts': boolean
  ou?: string[]
  exclude?: string[]
  'bucket-template'?: string
  'profile-template'?: string
  'assume-role-name'?: string
  concurrency?: number
  shard?: string
}

/** True when the flags name targets: the run is a fleet run. */
export function isFleet(flags: FleetFlags): boolean {
  return (flags.target?.length ?? 0) > 0 || flags.targets !== undefined || flags['org-accounts']
}

/** init's flags that name one target's resources, or that the fleet does not support yet: refused with fleet flags. */
const SINGLE_ONLY: Record<string, string> = {
  bucket: 'use --bucket-template, or bucket= on a target',
  profile: 'use --profile-template, or profile= on a target',
  'kms-key': 'a KMS key belongs to one account',
  'account-id': 'each target names its account',
  secrets: 'not supported with fleet flags yet',
  keyless: 'not supported with fleet flags yet',
  'access-key-id': 'each target gets its own key',
  'secret-stdin': 'each target gets its own key',
  'secret-env': 'each target gets its own key',
}

/** The fleet flags, checked offline against each other and against init's single-target flags (exit 2). */
export function fleetSelection(flags: FleetFlags & Record<string, unknown>, o: {prefix?: string; region?: string}): FleetSelection {
  for (const [name, why] of Object.entries(SINGLE_ONLY)) {
    const v = flags[name]
    if (v !== undefined && v !== false && !(name === 'secrets' && v === 'passphrase')) throw badInput(`--${name} cannot be combined with --target, --targets or --org-accounts: ${why}.`, 'See docs/fleet.md for what a fleet run sets up.', 'FleetFlagConflict')
  }
  if (flags.iam === false) throw badInput('--no-iam cannot be combined with --target, --targets or --org-accounts: a fleet acts through AWS IAM roles.', 'See docs/fleet.md for what a fleet run sets up.', 'FleetFlagConflict')
  if (!flags['org-accounts'] && ((flags.ou?.length ?? 0) > 0 || (flags.exclude?.length ?? 0) > 0)) throw badInput('--ou and --exclude filter --org-accounts, which is not given.', 'Add --org-accounts, or list the targets with --target / --targets.', 'FleetFlagConflict')
  validateRoleName(flags['assume-role-name'] ?? DEFAULT_ROLE_NAME)
  return {
    target: flags.target ?? [],
    targetsFile: flags.targets,
    orgAccounts: flags['org-accounts'],
    ou: flags.ou ?? [],
    exclude: flags.exclude ?? [],
    orgRegion: o.region,
    bucketTemplate: flags['bucket-template'],
    profileTemplate: flags['profile-template'],
    prefix: o.prefix,
    shard: flags.shard === undefined ? undefined : parseShard(flags.shard),
  }
}

/** Fleet-only flags given without any target: exit 2 (they would be ignored). */
export function checkNoFleetFlags(flags: FleetFlags): void {
  const given = (['ou', 'exclude', 'bucket-template', 'profile-template', 'assume-role-name', 'concurrency', 'shard'] as const).filter((n) => flags[n] !== undefined && !(Array.isArray(flags[n]) && flags[n].length === 0))
  if (given.length > 0) throw badInput(`--${given[0]} applies to a run over several targets, and none is given.`, 'Add --target ACCOUNT/REGION (repeatable), --targets FILE or --org-accounts.', 'FleetFlagConflict')
}
