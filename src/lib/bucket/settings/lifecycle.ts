/**
 * Lifecycle: noncurrent versions expire after --noncurrent-days (default 90), incomplete
 * multipart uploads are aborted after 7 days, delete markers with no versions left are
 * removed (every Pulumi lock leaves one). Rules psb did not write are kept; a
 * whole-bucket rule of someone else that already does the job counts as present.
 */
import type {LifecycleRule, TransitionDefaultMinimumObjectSize} from '@aws-sdk/client-s3'
import {plural} from '../../echo.js'
import type {ChangeStatus} from '../../types.js'
import {refusedBefore} from '../store-memory.js'
import {HISTORY_ITEM, planHistoryExpiry, type HistoryWant} from './history-expiry.js'
import {partialApply, withoutRefused, writeRulesPerRule} from './lifecycle-degrade.js'
import {ITEMS, row, type BucketSetting, type SettingPlan} from './setting.js'

export const NONCURRENT_RULE_ID = 'psb-noncurrent-expiry'
export const MULTIPART_RULE_ID = 'psb-abort-incomplete-multipart'
export const DELETE_MARKER_RULE_ID = 'psb-expired-delete-markers'
export const DEFAULT_NONCURRENT_DAYS = 90
export const MULTIPART_DAYS = 7

/** The Change item of each of psb's rules (a store may refuse one rule: lifecycle-degrade.ts). */
const RULE_ITEMS: Record<string, string> = {
  [NONCURRENT_RULE_ID]: ITEMS.noncurrent,
  [MULTIPART_RULE_ID]: ITEMS.multipart,
  [DELETE_MARKER_RULE_ID]: ITEMS.deleteMarkers,
}

/** psb's --history-days rules carry the prefix in their id (history-expiry.ts historyRuleId). */
const isHistoryRule = (ruleId: string) => /^psb-(history|backups)-expiry(:|$)/.test(ruleId)

const itemOf = (ruleId: string) => RULE_ITEMS[ruleId] ?? (isHistoryRule(ruleId) ? HISTORY_ITEM : `lifecycle-rule ${ruleId}`)

export function appliesToWholeBucket(rule: LifecycleRule): boolean {
  if (rule.Status !== 'Enabled') return false
  const f = rule.Filter as Record<string, unknown> | undefined
  if (f === undefined) return rule.Prefix === undefined || rule.Prefix === ''
  const set = Object.entries(f).filter(([, v]) => v !== undefined)
  return set.length === 0 || (set.length === 1 && set[0][0] === 'Prefix' && set[0][1] === '')
}

type Outcome = {status: ChangeStatus; detail: string}

export interface LifecyclePlan {
  rules: LifecycleRule[]
  changed: boolean
  noncurrent: Outcome
  multipart: Outcome
  deleteMarkers: Outcome
  notes: string[]
}

/** One of psb's two rules, planned against the rules as they stand. */
interface RulePlan {
  rules: LifecycleRule[]
  changed: boolean
  outcome: Outcome
  notes?: string[]
}

const dayWord = (n: number) => (n === 1 ? '1 day' : `${n} days`)
const ruleName = (r: LifecycleRule) => JSON.stringify(r.ID ?? '(no id)')

/** Noncurrent-version expiry: `noncurrentDays` undefined keeps the days of psb's own rule. */
function planNoncurrent(rules: LifecycleRule[], noncurrentDays: number | undefined): RulePlan {
  const want = noncurrentDays ?? DEFAULT_NONCURRENT_DAYS
  const fresh: LifecycleRule = {ID: NONCURRENT_RULE_ID, Status: 'Enabled', Filter: {Prefix: ''}, NoncurrentVersionExpiration: {NoncurrentDays: want}}
  const ours = rules.find((r) => r.ID === NONCURRENT_RULE_ID)
  const theirs = rules.find((r) => r.ID !== NONCURRENT_RULE_ID && appliesToWholeBucket(r) && r.NoncurrentVersionExpiration?.NoncurrentDays !== undefined)
  const oursDays = ours?.NoncurrentVersionExpiration?.NoncurrentDays
  if (want === 0) {
    if (!ours) return {rules, changed: false, outcome: {status: 'skipped', detail: 'off (--noncurrent-days 0): noncurrent versions are kept forever'}}
    return {rules: rules.filter((r) => r !== ours), changed: true, outcome: {status: 'updated', detail: `removed ${NONCURRENT_RULE_ID} (--noncurrent-days 0)`}}
  }
  if (ours && appliesToWholeBucket(ours) && oursDays !== undefined && (oursDays === want || noncurrentDays === undefined)) {
    const detail = oursDays === want ? `noncurrent versions expire after ${dayWord(want)}` : `kept ${dayWord(oursDays)} set earlier (pass --noncurrent-days to change it)`
    return {rules, changed: false, outcome: {status: 'unchanged', detail}}
  }
  if (ours) {
    const was = oursDays !== undefined && oursDays !== want ? ` (was ${dayWord(oursDays)})` : ''
    return {rules: rules.map((r) => (r === ours ? fresh : r)), changed: true, outcome: {status: 'updated', detail: `noncurrent versions expire after ${dayWord(want)}${was}`}}
  }
  if (theirs) {
    const days = theirs.NoncurrentVersionExpiration!.NoncurrentDays!
    const notes =
      days === want ? [] : [`Lifecycle rule ${ruleName(theirs)} already expires noncurrent versions after ${dayWord(days)}; psb leaves it as is instead of adding its own ${dayWord(want)} rule.`]
    return {rules, changed: false, outcome: {status: 'unchanged', detail: `kept existing rule ${ruleName(theirs)} (${dayWord(days)})`}, notes}
  }
  const kept = rules.length === 0 ? '' : `; kept ${plural(rules.length, 'existing rule')}`
  return {rules: [...rules, fresh], changed: true, outcome: {status: 'created', detail: `noncurrent versions expire after ${dayWord(want)}${kept}`}}
}

/** Abort of incomplete multipart uploads: any whole-bucket abort rule does the job. */
function planMultipart(rules: LifecycleRule[]): RulePlan {
  const fresh: LifecycleRule = {ID: MULTIPART_RULE_ID, Status: 'Enabled', Filter: {Prefix: ''}, AbortIncompleteMultipartUpload: {DaysAfterInitiation: MULTIPART_DAYS}}
  const anyAbort = rules.find((r) => appliesToWholeBucket(r) && r.AbortIncompleteMultipartUpload?.DaysAfterInitiation !== undefined)
  const ours = rules.find((r) => r.ID === MULTIPART_RULE_ID)
  if (anyAbort) {
    const days = anyAbort.AbortIncompleteMultipartUpload!.DaysAfterInitiation!
    const detail = anyAbort.ID === MULTIPART_RULE_ID ? `incomplete uploads aborted after ${dayWord(days)}` : `kept existing rule ${ruleName(anyAbort)} (${dayWord(days)})`
    return {rules, changed: false, outcome: {status: 'unchanged', detail}}
  }
  if (ours) {
    return {rules: rules.map((r) => (r === ours ? fresh : r)), changed: true, outcome: {status: 'updated', detail: `incomplete uploads aborted after ${dayWord(MULTIPART_DAYS)} (rule re-enabled)`}}
  }
  return {rules: [...rules, fresh], changed: true, outcome: {status: 'created', detail: `incomplete uploads aborted after ${dayWord(MULTIPART_DAYS)}`}}
}

/** A whole-bucket, enabled rule that removes expired delete markers. */
export function removesExpiredDeleteMarkers(rule: LifecycleRule): boolean {
  return appliesToWholeBucket(rule) && rule.Expiration?.ExpiredObjectDeleteMarker === true
}

/**
 * Expired delete markers (no versions left under them) are removed: a rule of their own,
 * so no existing rule is changed; any whole-bucket rule that already does it counts.
 */
function planDeleteMarkers(rules: LifecycleRule[]): RulePlan {
  const fresh: LifecycleRule = {ID: DELETE_MARKER_RULE_ID, Status: 'Enabled', Filter: {Prefix: ''}, Expiration: {ExpiredObjectDeleteMarker: true}}
  const doing = rules.find((r) => removesExpiredDeleteMarkers(r))
  if (doing) {
    const detail = doing.ID === DELETE_MARKER_RULE_ID ? 'expired delete markers are removed' : `kept existing rule ${ruleName(doing)}`
    return {rules, changed: false, outcome: {status: 'unchanged', detail}}
  }
  const ours = rules.find((r) => r.ID === DELETE_MARKER_RULE_ID)
  if (ours) return {rules: rules.map((r) => (r === ours ? fresh : r)), changed: true, outcome: {status: 'updated', detail: 'expired delete markers are removed (rule re-enabled)'}}
  return {rules: [...rules, fresh], changed: true, outcome: {status: 'created', detail: 'expired delete markers are removed'}}
}

/**
 * Merges psb's lifecycle rules into the existing ones: rules psb did not write are
 * kept as they are; a whole-bucket rule of someone else that already does the job counts
 * as present (even with other days: psb does not fight it, and says so).
 */
export function planLifecycle(existing: LifecycleRule[] | undefined, noncurrentDays: number | undefined): LifecyclePlan {
  const noncurrent = planNoncurrent([...(existing ?? [])], noncurrentDays)
  const multipart = planMultipart(noncurrent.rules)
  const markers = planDeleteMarkers(multipart.rules)
  return {
    rules: markers.rules,
    changed: noncurrent.changed || multipart.changed || markers.changed,
    noncurrent: noncurrent.outcome,
    multipart: multipart.outcome,
    deleteMarkers: markers.outcome,
    notes: noncurrent.notes ?? [],
  }
}

export interface LifecycleNow {
  rules?: LifecycleRule[]
  minSize?: TransitionDefaultMinimumObjectSize
  /** The rule ids this store refused before (an --endpoint store's bucket tag). */
  refused?: string[]
}

/** The rules to write (none: the configuration is deleted), keeping the bucket's minimum object size. */
export interface LifecycleWrite {
  rules: LifecycleRule[]
  minSize?: TransitionDefaultMinimumObjectSize
  /** The rules as read: the per-rule degradation keeps them. */
  current: LifecycleRule[]
}

export function planLifecycleSetting(current: LifecycleNow | undefined, noncurrentDays: number | undefined, history?: HistoryWant): SettingPlan<LifecycleWrite> {
  const plan = planLifecycle(current?.rules, noncurrentDays)
  // --history-days: its own unit (history-expiry.ts), planned on top of psb's other rules.
  const hist = planHistoryExpiry(plan.rules, history)
  const changes = [
    {item: ITEMS.noncurrent, ...plan.noncurrent},
    {item: ITEMS.multipart, ...plan.multipart},
    {item: ITEMS.deleteMarkers, ...plan.deleteMarkers},
    ...hist.changes,
  ]
  const info = [...plan.notes, ...hist.notes]
  const now = current?.rules ?? []
  const refused = current?.refused ?? []
  const kept = withoutRefused(now, hist.rules, refused, itemOf)
  const out = changes.map((c) => kept.skipped.find((s) => s.item === c.item) ?? c)
  const changed = kept.rules.length !== now.length || kept.rules.some((r, i) => r !== now[i])
  return changed ? {changes: out, info, change: {rules: kept.rules, minSize: current?.minSize, current: now}} : {changes: out, info}
}

export const lifecycle: BucketSetting<LifecycleNow, LifecycleWrite> = {
  id: 'lifecycle',
  items: [ITEMS.noncurrent, ITEMS.multipart, ITEMS.deleteMarkers],
  optional: () => true,
  action: 's3:PutLifecycleConfiguration',
  async read(io) {
    const out = await io.read('s3:GetLifecycleConfiguration', 'NoSuchLifecycleConfiguration', () => io.s3.send(new io.S.GetBucketLifecycleConfigurationCommand({Bucket: io.bucket})))
    const refused = await refusedBefore(io)
    if (!out && refused.length === 0) return undefined
    return {rules: out?.Rules, minSize: out?.TransitionDefaultMinimumObjectSize as TransitionDefaultMinimumObjectSize | undefined, refused}
  },
  plan: (current, want) => planLifecycleSetting(current, want.noncurrentDays, {days: want.historyDays, prefix: want.statePrefix}),
  async apply(io, {rules, minSize, current}) {
    const write = (next: LifecycleRule[]) =>
      next.length === 0
        ? io.s3.send(new io.S.DeleteBucketLifecycleCommand({Bucket: io.bucket}))
        : io.s3.send(new io.S.PutBucketLifecycleConfigurationCommand({Bucket: io.bucket, LifecycleConfiguration: {Rules: next}, ...(minSize ? {TransitionDefaultMinimumObjectSize: minSize} : {})}))
    const now = await writeRulesPerRule({bucket: io.bucket, custom: Boolean(io.customEndpoint), current, rules, write})
    return now.length === 0 ? undefined : partialApply(now, itemOf)
  },
}


export const lifecycleRow = row(lifecycle)
