/**
 * Lifecycle: noncurrent versions expire after --noncurrent-days (default 90), incomplete
 * multipart uploads are aborted after 7 days. Rules psb did not write are kept; a
 * whole-bucket rule of someone else that already does the job counts as present.
 */
import type {LifecycleRule, TransitionDefaultMinimumObjectSize} from '@aws-sdk/client-s3'
import {plural} from '../../echo.js'
import type {ChangeStatus} from '../../types.js'
import {planHistoryExpiry, type HistoryWant} from './history-expiry.js'
import {ITEMS, row, type BucketSetting, type SettingPlan} from './setting.js'

export const NONCURRENT_RULE_ID = 'psb-noncurrent-expiry'
export const MULTIPART_RULE_ID = 'psb-abort-incomplete-multipart'
export const DEFAULT_NONCURRENT_DAYS = 90
export const MULTIPART_DAYS = 7

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

/**
 * Merges psb's two lifecycle rules into the existing ones: rules psb did not write are
 * kept as they are; a whole-bucket rule of someone else that already does the job counts
 * as present (even with other days: psb does not fight it, and says so).
 */
export function planLifecycle(existing: LifecycleRule[] | undefined, noncurrentDays: number | undefined): LifecyclePlan {
  const noncurrent = planNoncurrent([...(existing ?? [])], noncurrentDays)
  const multipart = planMultipart(noncurrent.rules)
  return {
    rules: multipart.rules,
    changed: noncurrent.changed || multipart.changed,
    noncurrent: noncurrent.outcome,
    multipart: multipart.outcome,
    notes: noncurrent.notes ?? [],
  }
}

export interface LifecycleNow {
  rules?: LifecycleRule[]
  minSize?: TransitionDefaultMinimumObjectSize
}

/** The rules to write (none: the configuration is deleted), keeping the bucket's minimum object size. */
export interface LifecycleWrite {
  rules: LifecycleRule[]
  minSize?: TransitionDefaultMinimumObjectSize
}

export function planLifecycleSetting(current: LifecycleNow | undefined, noncurrentDays: number | undefined, history?: HistoryWant): SettingPlan<LifecycleWrite> {
  const plan = planLifecycle(current?.rules, noncurrentDays)
  // --history-days: its own unit (history-expiry.ts), planned on top of psb's other rules.
  const hist = planHistoryExpiry(plan.rules, history)
  const changes = [
    {item: ITEMS.noncurrent, ...plan.noncurrent},
    {item: ITEMS.multipart, ...plan.multipart},
    ...hist.changes,
  ]
  const info = [...plan.notes, ...hist.notes]
  return plan.changed || hist.changed ? {changes, info, change: {rules: hist.rules, minSize: current?.minSize}} : {changes, info}
}

export const lifecycle: BucketSetting<LifecycleNow, LifecycleWrite> = {
  id: 'lifecycle',
  items: [ITEMS.noncurrent, ITEMS.multipart],
  optional: () => true,
  action: 's3:PutLifecycleConfiguration',
  async read(io) {
    const out = await io.read('s3:GetLifecycleConfiguration', 'NoSuchLifecycleConfiguration', () => io.s3.send(new io.S.GetBucketLifecycleConfigurationCommand({Bucket: io.bucket})))
    return out && {rules: out.Rules, minSize: out.TransitionDefaultMinimumObjectSize as TransitionDefaultMinimumObjectSize | undefined}
  },
  plan: (current, want) => planLifecycleSetting(current, want.noncurrentDays, {days: want.historyDays, prefix: want.statePrefix}),
  apply: (io, {rules, minSize}) =>
    rules.length === 0
      ? io.s3.send(new io.S.DeleteBucketLifecycleCommand({Bucket: io.bucket}))
      : io.s3.send(new io.S.PutBucketLifecycleConfigurationCommand({Bucket: io.bucket, LifecycleConfiguration: {Rules: rules}, ...(minSize ? {TransitionDefaultMinimumObjectSize: minSize} : {})})),
}

export const lifecycleRow = row(lifecycle)
