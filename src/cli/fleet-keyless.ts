/**
 * `psb init --keyless` over many targets (docs/fleet.md, "Keyless fleets"): in each target
 * account, through the assumed role, the same IAM role as a single `psb init --keyless`
 * (ensureRole: the same policy, tags and never-weaken rules), named --role and the region
 * (`pulumi-state-eu-west-1`: one role per bucket), trusting the administrator's own principal
 * (its identity in the management account, asked once a run: the preflight's
 * sts:GetCallerIdentity) and every --trust. Each target's profile is a role profile in the
 * AWS config file (role_arn + source_profile = the admin profile, or credential_source =
 * Environment), proven once written (src/cli/init-keyless.ts profileStep).
 */
import type {AwsContext} from '../lib/aws/client.js'
import type {Env} from '../lib/files/aws-config.js'
import type {Target} from '../lib/fleet/targets.js'
import {DEFAULT_ROLE, validateRoleName, validateRoleOptions, type RoleOptions} from '../lib/iam/role.js'
import {parseTrusts, trustKey} from '../lib/iam/trust.js'
import {checkProfileKeyless, sourceIdentity, sourceOf, type KeylessSource} from '../lib/init/keyless.js'
import {refuseMisplaced, roleFlagOptions, type KeylessFlags, type KeylessPlan} from './init-keyless.js'

/** What every target's keyless plan shares. */
export interface FleetKeyless {
  /** --role: each target's role is this name and the target's region. */
  roleBase: string
  role: Omit<RoleOptions, 'role' | 'bucket' | 'prefix'>
  sourceProfile?: string
  /** The source of every role profile (set by keylessTargets: it depends on the profiles). */
  source?: KeylessSource
  github: KeylessPlan['github']
  /** How long a new role's profile may take to work (--wait). */
  waitMs: number
}

/** The IAM role of a target: the --role name and the target's region (one role per bucket, as the users of a key-based fleet). */
export function fleetRole(base: string, t: Pick<Target, 'region'>): string {
  return `${base}-${t.region}`
}

/** The keyless flags of a fleet run, checked offline (exit 2); undefined without --keyless. */
export function fleetKeylessFlags(flags: KeylessFlags, o: {dryRun: boolean; waitMs: number}): FleetKeyless | undefined {
  refuseMisplaced(flags)
  if (!flags.keyless) return undefined
  const trust = parseTrusts(flags.trust ?? [])
  const role: FleetKeyless['role'] = roleFlagOptions(flags, trust, o.dryRun)
  const roleBase = flags.role ?? DEFAULT_ROLE
  validateRoleOptions({...role, role: roleBase, bucket: 'pulumi-state-probe'})
  return {roleBase, role, sourceProfile: flags['source-profile'], github: trust.filter((e): e is KeylessPlan['github'][number] => e.kind === 'github'), waitMs: o.waitMs}
}

/**
 * Every target's role name valid, its profile free of a key (a key would win over role_arn)
 * and not the source profile; the source settled. Local reads only (exit 2).
 */
export function keylessTargets(k: FleetKeyless, targets: Target[], o: {adminProfile?: string; env: Env}): void {
  for (const t of targets) {
    validateRoleName(fleetRole(k.roleBase, t))
    k.source = sourceOf({sourceProfile: k.sourceProfile, adminProfile: o.adminProfile, profile: t.profile, env: o.env})
    checkProfileKeyless(t.profile, o.env)
  }
}

/** The principal that assumes the roles from this machine is trusted by each (read calls only; the admin's identity is the preflight's). */
export async function trustSource(k: FleetKeyless, admin: AwsContext): Promise<void> {
  const source = k.source ?? {}
  const self = parseTrusts([`aws:${await sourceIdentity(admin, source)}`])[0]!
  if (!k.role.trust.some((e) => trustKey(e) === trustKey(self))) k.role.trust = [...k.role.trust, self]
}

/** A target's keyless plan: its role in its account, trusting the source, its role profile proven once written. */
export function keylessTargetPlan(k: FleetKeyless, t: Target): KeylessPlan {
  return {
    role: {...k.role, role: fleetRole(k.roleBase, t), bucket: t.bucket, prefix: t.prefix, expectAccountId: t.account},
    source: k.source!,
    profile: t.profile,
    github: k.github,
    prove: {waitMs: k.waitMs},
  }
}
