/**
 * History retention: `psb history prune`. Per stack, keeps the newest `keep` updates and those
 * newer than `keepDays` in `.pulumi/history/`, deletes the other updates' files (their
 * `.history.json` and `.checkpoint.json`) and the `.pulumi/backups/` copies older than the
 * oldest update kept. Never touches `.pulumi/stacks/` (the current state), never deletes the
 * newest update or the newest checkpoint or backup, never acts on a locked stack, and never
 * deletes a file whose name it does not recognise as Pulumi's.
 *
 * Deletes go oldest first, so a run stopped at any point (SIGKILL included) leaves a state the
 * same plan is made from again: a re-run deletes the rest.
 */
import type {AwsContext} from '../aws/client.js'
import {DAY_MS} from '../duration.js'
import {interruptible, throwIfInterrupted} from '../interrupt.js'
import type {Logger} from '../types.js'
import {BACKUPS, checkOneStack, HISTORY, parseBackupName, parseHistoryName, splitKey, stackFolder, stackMatches, stateRoot} from './layout.js'
import {readLocks, whoOf, type LockInfo} from './locks.js'
import {deleteObjects, listObjects, newCount, type RequestCount, type StoredObject, type Target} from './objects.js'

export interface PruneOptions {
  bucket: string
  prefix?: string
  stack?: string
  /** Keep the newest this many updates (at least the newest one is always kept). */
  keep?: number
  /** Keep the updates newer than this many days. */
  keepDays?: number
  dryRun?: boolean
  now?: () => Date
  /** DeleteObjects batches in flight (default 4). */
  parallel?: number
  principal?: string
  logger?: Logger
}

export interface Tally {
  count: number
  bytes: number
}

export interface StackPrune {
  /** The stack's folder under history/: project/stack, or stack (legacy). */
  stack: string
  status: 'pruned' | 'planned' | 'unchanged' | 'locked'
  /** Updates found, and kept. */
  updates: number
  kept: number
  history: Tally
  backups: Tally
  /** What stays in history/ and backups/ after the run. */
  remaining: Tally
  /** The lock that stopped a locked stack. */
  lock?: LockInfo
  /** Keys DeleteObjects did not delete (with the reason). */
  failed?: {key: string; code?: string}[]
}

export interface PruneResult {
  root: string
  stacks: StackPrune[]
  deleted: Tally
  dryRun: boolean
  requests: RequestCount
}

interface Update {
  nanos: bigint
  files: StoredObject[]
  checkpoint: boolean
}

interface StackPlan {
  folder: string
  updates: Update[]
  keptUpdates: number
  history: StoredObject[]
  backups: StoredObject[]
  remaining: Tally
}

const tally = (objects: StoredObject[]): Tally => ({count: objects.length, bytes: objects.reduce((n, o) => n + o.size, 0)})
const lastPart = (folder: string) => folder.slice(folder.lastIndexOf('/') + 1)

/** Files of history/ (or backups/) by stack folder; names psb does not recognise are left out (never deleted). */
function byFolder(root: string, area: string, objects: StoredObject[]): Map<string, {o: StoredObject; nanos: bigint; kind?: string}[]> {
  const out = new Map<string, {o: StoredObject; nanos: bigint; kind?: string}[]>()
  for (const o of objects) {
    const at = splitKey(root, area, o.key)
    if (!at) continue
    const parsed = area === HISTORY ? parseHistoryName(at.name) : parseBackupName(at.name)
    if (!parsed || parsed.stackName !== lastPart(at.folder)) continue
    const list = out.get(at.folder) ?? []
    list.push({o, nanos: parsed.nanos, kind: 'kind' in parsed ? (parsed.kind as string) : undefined})
    out.set(at.folder, list)
  }
  return out
}

/** Which updates of one stack are kept: newest `keep`, those newer than `keepDays`, always the newest and the newest checkpoint. */
export function keptUpdates(updates: {nanos: bigint; checkpoint: boolean}[], keep: number | undefined, keepDays: number | undefined, nowMs: number): Set<bigint> {
  const sorted = [...updates].sort((a, b) => (a.nanos < b.nanos ? 1 : a.nanos > b.nanos ? -1 : 0))
  const kept = new Set<bigint>()
  const sinceNanos = keepDays === undefined ? undefined : BigInt(Math.max(0, nowMs - keepDays * DAY_MS)) * 1_000_000n
  sorted.forEach((u, i) => {
    if (i < Math.max(1, keep ?? 0) || (sinceNanos !== undefined && u.nanos >= sinceNanos)) kept.add(u.nanos)
  })
  const newestCheckpoint = sorted.find((u) => u.checkpoint)
  if (newestCheckpoint) kept.add(newestCheckpoint.nanos)
  return kept
}

function planStack(folder: string, hist: {o: StoredObject; nanos: bigint; kind?: string}[], backs: {o: StoredObject; nanos: bigint}[], opts: PruneOptions, nowMs: number): StackPlan {
  const updates = new Map<bigint, Update>()
  for (const h of hist) {
    const u = updates.get(h.nanos) ?? {nanos: h.nanos, files: [], checkpoint: false}
    u.files.push(h.o)
    u.checkpoint ||= h.kind === 'checkpoint'
    updates.set(h.nanos, u)
  }
  const kept = keptUpdates([...updates.values()], opts.keep, opts.keepDays, nowMs)
  const oldestKept = [...kept].reduce((a, b) => (b < a ? b : a), [...kept][0] ?? 0n)
  const gone = [...updates.values()].filter((u) => !kept.has(u.nanos))
  const newestBackup = backs.reduce<bigint | undefined>((a, b) => (a === undefined || b.nanos > a ? b.nanos : a), undefined)
  // A backup is the copy of an update's checkpoint, written just after it: older than the oldest update kept, it belongs to a pruned one.
  const goneBackups = kept.size === 0 ? [] : backs.filter((b) => b.nanos < oldestKept && b.nanos !== newestBackup)
  const byAge = <T extends {nanos: bigint}>(a: T, b: T) => (a.nanos < b.nanos ? -1 : a.nanos > b.nanos ? 1 : 0)
  const history = gone.sort(byAge).flatMap((u) => u.files)
  const backups = goneBackups.sort(byAge).map((b) => b.o)
  const all = [...hist.map((h) => h.o), ...backs.map((b) => b.o)]
  const deleted = new Set([...history, ...backups].map((o) => o.key))
  return {folder, updates: [...updates.values()], keptUpdates: kept.size, history, backups, remaining: tally(all.filter((o) => !deleted.has(o.key)))}
}

/** Lists history, backups and locks once, and plans every stack. */
async function planPrune(t: Target, opts: PruneOptions, count: RequestCount): Promise<{root: string; plans: StackPlan[]; locks: LockInfo[]}> {
  const root = stateRoot(opts.prefix)
  const nowMs = (opts.now ?? (() => new Date()))().getTime()
  const [historyObjs, backupObjs, locks] = await Promise.all([
    listObjects(t, root + HISTORY, count),
    listObjects(t, root + BACKUPS, count),
    readLocks(t, {bucket: opts.bucket, prefix: opts.prefix, now: opts.now}, count),
  ])
  const hist = byFolder(root, HISTORY, historyObjs)
  const backs = byFolder(root, BACKUPS, backupObjs)
  const folders = [...hist.keys()].filter((f) => opts.stack === undefined || stackMatches(f, opts.stack)).sort()
  checkOneStack(opts.stack, folders)
  return {root, plans: folders.map((f) => planStack(f, hist.get(f)!, backs.get(f) ?? [], opts, nowMs)), locks}
}

/** Prunes every stack's history (or one stack's) as PruneOptions says; see the module comment. SIGINT/SIGTERM stop it between batches. */
export function pruneHistory(ctx: AwsContext, opts: PruneOptions): Promise<PruneResult> {
  return interruptible(() => runPrune(ctx, opts))
}

async function runPrune(ctx: AwsContext, opts: PruneOptions): Promise<PruneResult> {
  const count = newCount()
  const t: Target = {s3: await ctx.s3(), bucket: opts.bucket, principal: opts.principal}
  const {root, plans, locks} = await planPrune(t, opts, count)
  const stacks: StackPrune[] = []
  const deleted: Tally = {count: 0, bytes: 0}
  for (const p of plans) {
    const base = {stack: p.folder, updates: p.updates.length, kept: p.keptUpdates, history: tally(p.history), backups: tally(p.backups), remaining: p.remaining}
    const lock = locks.find((l) => stackFolder(l.stack) === p.folder)
    if (lock) {
      opts.logger?.warn(`Stack ${p.folder} is locked by ${whoOf(lock)} (pid ${lock.pid ?? '?'}, since ${lock.when ?? '?'}): its history is left as it is. See psb locks list.`)
      stacks.push({...base, status: 'locked', lock})
      continue
    }
    const keys = [...p.history, ...p.backups].map((o) => o.key)
    if (keys.length === 0 || opts.dryRun) {
      stacks.push({...base, status: keys.length === 0 ? 'unchanged' : 'planned'})
      continue
    }
    stacks.push(await pruneStack(t, p, base, opts, count, deleted))
  }
  return {root, stacks, deleted, dryRun: Boolean(opts.dryRun), requests: count}
}

async function pruneStack(t: Target, p: StackPlan, base: Omit<StackPrune, 'status'>, opts: PruneOptions, count: RequestCount, deleted: Tally): Promise<StackPrune> {
  // Oldest first across history and backups, so a stopped run leaves the newest of both.
  const sizes = new Map([...p.history, ...p.backups].map((o) => [o.key, o.size]))
  const order = [...p.history, ...p.backups].sort((a, b) => nanosOf(a.key) - nanosOf(b.key)).map((o) => o.key)
  const r = await deleteObjects(t, order, {
    parallel: opts.parallel,
    count,
    beforeBatch: () => throwIfInterrupted(`history of ${p.folder} partly pruned; run psb history prune again to finish.`),
    onBatch: (done, total) => opts.logger?.info(`${p.folder}: deleted ${done} of ${total} files`),
  })
  for (const k of r.deleted) {
    deleted.count++
    deleted.bytes += sizes.get(k) ?? 0
  }
  return {...base, status: 'pruned', ...(r.failed.length > 0 ? {failed: r.failed.map(({key, code}) => ({key, code}))} : {})}
}

/** The time in a history or backup file name, in ms (for ordering). */
function nanosOf(key: string): number {
  const name = key.slice(key.lastIndexOf('/') + 1)
  const n = parseHistoryName(name)?.nanos ?? parseBackupName(name)?.nanos ?? 0n
  return Number(n / 1_000_000n)
}
