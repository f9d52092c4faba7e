/**
 * `psb keys rotate --all-psb-profiles`: rotates every profile psb made, e.g. the
 * pulumi-{account}-{region} profiles of a fleet. The profiles are found by the one rule of
 * `psb keys schedule install --all-psb-profiles` (schedule/profiles.ts: each profile's own
 * key, STS then iam:GetUser, tag managed-by=psb; read calls only), then rotated by
 * rotateKeys, where one failed profile never stops the others. Profiles are rotated in the
 * region each one names (its AWS config), so each new key is proven against its own bucket.
 */
import {resolveRegion} from '../files/aws-config.js'
import {rotateKeys, type RotateManyOptions, type RotateResult} from '../keys/rotate.js'
import {psbProfiles} from '../schedule/profiles.js'
import {interruptReceived} from '../interrupt.js'
import {silentLogger} from '../types.js'

export interface RotateAllOptions extends Omit<RotateManyOptions, 'profiles'> {
  /** The --region flag: when given, every profile is rotated in it. */
  regionFlag?: string
}

/** The profiles grouped by the region they are rotated in (the flag, else AWS_REGION, else the profile's own, as the SDK; else opts.region), in order. */
export function byRegion(profiles: string[], o: {regionFlag?: string; region: string; env: NodeJS.ProcessEnv}): Map<string, string[]> {
  const groups = new Map<string, string[]>()
  for (const p of profiles) {
    let region = o.region
    try {
      region = resolveRegion(o.regionFlag, p, o.env) ?? o.region
    } catch {
      // A profile whose region is not valid: the run's region (the rotation reports any failure).
    }
    groups.set(region, [...(groups.get(region) ?? []), p])
  }
  return groups
}

export interface RotateSummary {
  profiles: number
  rotated: number
  created: number
  notDue: number
  planned: number
  failed: number
}

/** How many profiles ended each way. */
export function rotateSummary(results: readonly RotateResult[]): RotateSummary {
  const n = (r: RotateResult['result']) => results.filter((x) => x.result === r).length
  return {profiles: results.length, rotated: n('rotated'), created: n('created'), notDue: n('not-due'), planned: n('planned'), failed: n('failed')}
}

/** Rotates every profile whose key belongs to a user psb manages; exit 2 (NoPsbProfiles) when there is none. */
export async function rotateAllPsbProfiles(o: RotateAllOptions): Promise<RotateResult[]> {
  const env = o.env ?? process.env
  const logger = o.logger ?? silentLogger
  const profiles = await psbProfiles({region: o.region, endpoint: o.endpoint, env, logger, nothing: 'rotated'})
  const results: RotateResult[] = []
  for (const [region, group] of byRegion(profiles, {regionFlag: o.regionFlag, region: o.region, env})) {
    // A signal ends the run: the profiles not begun yet are not touched (as within rotateKeys).
    if (interruptReceived()) break
    results.push(...(await rotateKeys({...o, region, profiles: group})))
  }
  const order = new Map(profiles.map((p, i) => [p, i]))
  return results.sort((a, b) => (order.get(a.profile) ?? 0) - (order.get(b.profile) ?? 0))
}
