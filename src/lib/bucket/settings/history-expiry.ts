/**
 * `--history-days D` (off by default): lifecycle rules that expire the objects of
 * `<prefix>/.pulumi/history/` and `<prefix>/.pulumi/backups/` D days after they were written.
 * One unit of the lifecycle setting (lifecycle.ts merges it). Never weaker than what it finds:
 * other rules stay as they are; a rule of someone else that already expires the folder as soon
 * or sooner counts as present; without the flag psb's rules are kept; 0 removes psb's rules.
 * The current state (`.pulumi/stacks/`) is never under these rules.
 */
import {createHash} from 'node:crypto'
import type {LifecycleRule} from '@aws-sdk/client-s3'
import {prefixBase} from '../prefix.js'
import type {Change} from '../../types.js'

export const HISTORY_ITEM = 'lifecycle-history-expiry'
export const HISTORY_FOLDERS = ['history', 'backups'] as const

export interface HistoryWant {
  /** Days after which history and backups expire; undefined: keep psb's rules as they are; 0: remove them. */
  days?: number
  /** The state prefix (the rules cover `<prefix>/.pulumi/history/` and `.../backups/`). */
  prefix?: string
}

/** psb's rule id for a folder under a prefix (a long prefix is hashed: ids are at most 255 characters). */
export function historyRuleId(folder: string, prefix: string | undefined): string {
  const base = `psb-${folder}-expiry`
  const p = prefixBase(prefix).slice(0, -1)
  if (!p) return base
  const id = `${base}:${p}`
  return id.length <= 255 ? id : `${base}:${createHash('sha256').update(p).digest('hex').slice(0, 16)}`
}

const filterPrefix = (r: LifecycleRule): string | undefined => {
  const f = r.Filter as {Prefix?: string; And?: unknown; Tag?: unknown; ObjectSizeGreaterThan?: unknown; ObjectSizeLessThan?: unknown} | undefined
  if (f === undefined) return r.Prefix ?? ''
  if (f.And !== undefined || f.Tag !== undefined || f.ObjectSizeGreaterThan !== undefined || f.ObjectSizeLessThan !== undefined) return undefined
  return f.Prefix ?? ''
}

/** Another enabled rule that expires every current object of `folderPrefix` within `days`. */
function coveringRule(rules: LifecycleRule[], folderPrefix: string, days: number, ownIds: string[]): LifecycleRule | undefined {
  return rules.find((r) => {
    if (ownIds.includes(r.ID ?? '') || r.Status !== 'Enabled') return false
    const p = filterPrefix(r)
    const d = r.Expiration?.Days
    return p !== undefined && folderPrefix.startsWith(p) && d !== undefined && d <= days
  })
}

const dayWord = (n: number) => (n === 1 ? '1 day' : `${n} days`)

/** Plans psb's history/backups rules against the rules as they stand (after psb's other rules). */
export function planHistoryExpiry(rules: LifecycleRule[], want: HistoryWant = {}): {rules: LifecycleRule[]; changed: boolean; changes: Change[]; notes: string[]} {
  const root = `${prefixBase(want.prefix)}.pulumi/`
  const ids = HISTORY_FOLDERS.map((f) => historyRuleId(f, want.prefix))
  const ours = rules.filter((r) => ids.includes(r.ID ?? ''))
  if (want.days === undefined) {
    if (ours.length === 0) return {rules, changed: false, changes: [], notes: []}
    const days = ours.map((r) => r.Expiration?.Days).filter((d) => d !== undefined)
    return {rules, changed: false, changes: [{item: HISTORY_ITEM, status: 'unchanged', detail: `kept: ${root}history/ and backups/ expire after ${dayWord(days[0] ?? 0)} (pass --history-days to change it)`}], notes: []}
  }
  if (want.days === 0) {
    if (ours.length === 0) return {rules, changed: false, changes: [{item: HISTORY_ITEM, status: 'skipped', detail: 'off (--history-days 0): history is kept'}], notes: []}
    return {rules: rules.filter((r) => !ours.includes(r)), changed: true, changes: [{item: HISTORY_ITEM, status: 'updated', detail: `removed ${ours.map((r) => r.ID).join(', ')} (--history-days 0)`}], notes: []}
  }
  let next = [...rules]
  const notes: string[] = []
  const did: string[] = []
  const kept = new Set<string>()
  for (const [i, folder] of HISTORY_FOLDERS.entries()) {
    const folderPrefix = `${root}${folder}/`
    const fresh: LifecycleRule = {ID: ids[i], Status: 'Enabled', Filter: {Prefix: folderPrefix}, Expiration: {Days: want.days}}
    const mine = next.find((r) => r.ID === ids[i])
    if (mine && mine.Status === 'Enabled' && mine.Expiration?.Days === want.days && filterPrefix(mine) === folderPrefix) continue
    const theirs = mine ? undefined : coveringRule(next, folderPrefix, want.days, ids)
    if (theirs) {
      notes.push(`Lifecycle rule ${JSON.stringify(theirs.ID ?? '(no id)')} already expires ${folderPrefix} after ${dayWord(theirs.Expiration!.Days!)}; psb leaves it and adds no rule of its own.`)
      kept.add(`${JSON.stringify(theirs.ID ?? '(no id)')} (${dayWord(theirs.Expiration!.Days!)})`)
      continue
    }
    next = mine ? next.map((r) => (r === mine ? fresh : r)) : [...next, fresh]
    did.push(mine ? `${folder}/ (was ${dayWord(mine.Expiration?.Days ?? 0)})` : `${folder}/`)
  }
  const detail = `${root}history/ and backups/ expire after ${dayWord(want.days)}`
  const byTheirs = kept.size > 0 ? `; kept existing rule ${[...kept].join(', ')}, which expires it sooner` : ''
  if (did.length === 0) return {rules, changed: false, changes: [{item: HISTORY_ITEM, status: 'unchanged', detail: kept.size > 0 ? `kept existing rule ${[...kept].join(', ')}: it expires ${root}history/ and backups/ within ${dayWord(want.days)}` : detail}], notes}
  return {rules: next, changed: true, changes: [{item: HISTORY_ITEM, status: ours.length > 0 ? 'updated' : 'created', detail: `${detail} (${did.join(', ')})${byTheirs}`}], notes}
}
