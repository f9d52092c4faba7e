/**
 * Per-rule degradation of the lifecycle configuration on S3-compatible stores. S3 takes
 * the whole configuration in one call, so a store that rejects one rule (MinIO: an
 * AbortIncompleteMultipartUpload rule) rejects them all. An answer like InvalidArgument is
 * not proof that a feature is missing: psb finds out which of the rules it adds the store
 * refuses, by writing the rules the store already holds plus one new rule at a time, keeps
 * the ones it accepts, and reports exactly which rule was refused and why. A rejection that
 * no single rule explains stays an error. Generic over the list of rules: a new psb rule is
 * degraded the same way (its Change item comes from the caller's `itemOf`).
 *
 * What a store refused is remembered in the bucket tag `psb-unsupported` (../store-memory.ts),
 * so that a second run makes no write: the rule is reported as skipped without trying again.
 */
import type {LifecycleRule} from '@aws-sdk/client-s3'
import {awsCode} from '../../aws/errors.js'
import {messageOf, PsbError} from '../../errors.js'
import {redact} from '../../redact.js'
import type {Change} from '../../types.js'
import {isUnsupported} from '../calls.js'
import {refusedDetail, UNSUPPORTED_TAG} from '../store-memory.js'
import type {PartialApply} from './setting.js'

/** A rule the store refused: its id, the store's code and its reason. */
export interface Refusal {
  id: string
  code: string
  reason: string
}

/** True when the store's answer rejects the configuration (not a fault of the call itself). */
export function isRuleRejection(error: unknown): boolean {
  return isUnsupported(error, true)
}

function refusal(rule: LifecycleRule, error: unknown): Refusal {
  const code = awsCode(error) ?? 'Error'
  return {id: rule.ID ?? '(no id)', code, reason: redact(messageOf(error)).slice(0, 200)}
}

/**
 * Writes `rules` (by `write`, which deletes the configuration when given none). When the
 * store rejects them, writes what it holds (`current`) plus each new rule alone, in order,
 * and answers the rules it refused; a refused new version of a rule keeps the old one.
 * Nothing refused alone: an error (LifecycleRejected, never skipped as "not supported").
 */
export interface PerRuleWrite {
  bucket: string
  /** An --endpoint store (on AWS a rejection is always an error). */
  custom: boolean
  current: LifecycleRule[]
  rules: LifecycleRule[]
  write: (rules: LifecycleRule[]) => Promise<unknown>
}

export async function writeRulesPerRule({bucket, custom, current, rules, write}: PerRuleWrite): Promise<Refusal[]> {
  try {
    await write(rules)
    return []
  } catch (error) {
    if (!custom || !isRuleRejection(error)) throw error
    const fresh = rules.filter((r) => !current.includes(r))
    let kept = rules.filter((r) => current.includes(r))
    let written = kept.length === current.length
    const refused: Refusal[] = []
    for (const rule of fresh) {
      try {
        await write([...kept, rule])
        kept = [...kept, rule]
        written = true
      } catch (error_) {
        if (!isRuleRejection(error_)) throw error_
        refused.push(refusal(rule, error_))
        const old = current.find((r) => r.ID !== undefined && r.ID === rule.ID)
        if (old) kept = [...kept, old]
      }
    }
    if (refused.length === 0) throw notPerRule(bucket, error)
    if (!written) await write(kept)
    return refused
  }
}

/** The Change items and warnings of the refused rules, and their ids to remember. */
export function partialApply(refused: Refusal[], itemOf: (ruleId: string) => string): PartialApply {
  return {
    skipped: refused.map((r): Change => ({item: itemOf(r.id), status: 'skipped', detail: `rule ${r.id} refused by this store (${r.code}: ${r.reason})`})),
    warn: refused.map(
      (r) =>
        `The S3 endpoint refused lifecycle rule ${r.id} (${r.code}: ${r.reason}); psb applied the other rules and skipped this one (remembered in bucket tag ${UNSUPPORTED_TAG}). Check whether the store offers an equivalent.`,
    ),
    remember: refused.map((r) => r.id),
  }
}

/**
 * A plan on a store that refused some of psb's rules before: those rules, when they would
 * be added, are left out and reported as skipped (no write is tried again).
 */
export function withoutRefused(current: LifecycleRule[], rules: LifecycleRule[], before: string[], itemOf: (ruleId: string) => string): {rules: LifecycleRule[]; skipped: Change[]} {
  const skip = rules.filter((r) => !current.includes(r) && r.ID !== undefined && before.includes(r.ID))
  return {
    rules: rules.filter((r) => !skip.includes(r)),
    skipped: skip.map((r) => ({item: itemOf(r.ID!), status: 'skipped', detail: refusedDetail(`rule ${r.ID}`)})),
  }
}

/**
 * A rejection psb could not pin on one rule, as an error. The store's answer is in the
 * message, not the cause: a cause's code (InvalidArgument) would read as "not supported".
 */
export function notPerRule(bucket: string, cause: unknown): PsbError {
  const why = `${awsCode(cause) ?? 'Error'}: ${redact(messageOf(cause)).slice(0, 200)}`
  return new PsbError(`The S3 endpoint rejected the lifecycle configuration of ${bucket} (${why}), though it accepts each rule psb adds on its own.`, {
    code: 'LifecycleRejected',
    hint: 'Check the lifecycle rules already on the bucket (aws s3api get-bucket-lifecycle-configuration) for one the store no longer accepts, then run psb again.',
  })
}
