/**
 * Pulumi's stack locks under `<prefix>/.pulumi/locks/`: listing them (stack, who, pid, when,
 * age) and clearing only the provably stale ones. A lock is Pulumi's JSON
 * `{"pid", "username", "hostname", "timestamp"}` (pkg/backend/diy/lock.go), one object per
 * `pulumi up`/`preview`/... under `locks/<stack>/<uuid>.json`.
 *
 * Provably stale: the lock was taken on this host and its pid is not running; or it is older
 * than `olderThanMs`. A lock of this host whose pid runs is live and is never deleted, at any age.
 */
import {hostname as osHostname} from 'node:os'
import type {AwsContext} from '../aws/client.js'
import {awsCall} from '../aws/errors.js'
import {formatDuration} from '../duration.js'
import {checkOneStack, lockStackOf, LOCKS, stackMatches, stateRoot} from './layout.js'
import {listObjects, newCount, readObject, type RequestCount, type Target} from './objects.js'

export interface LockInfo {
  /** The object key. */
  key: string
  /** Pulumi's fully qualified stack name (organization/project/stack, or stack for a legacy backend). */
  stack: string
  user?: string
  host?: string
  pid?: number
  /** When the lock was taken (the lock's timestamp; else the object's LastModified), ISO 8601. */
  when?: string
  ageMs?: number
  /** False when the object is not a lock psb can read (its age is then the object's). */
  readable: boolean
}

export interface LocksOptions {
  bucket: string
  prefix?: string
  /** Only this stack (dev, project/dev or organization/project/dev). */
  stack?: string
  now?: () => Date
  /** Who acts, for errors ("profile pulumi"). */
  principal?: string
}

/** Parses a lock's JSON; undefined fields when it is not Pulumi's shape. */
export function parseLock(text: string | undefined): {user?: string; host?: string; pid?: number; timestamp?: Date} | undefined {
  try {
    const j = JSON.parse(text ?? '') as Record<string, unknown>
    const ts = typeof j.timestamp === 'string' ? new Date(j.timestamp) : undefined
    return {
      user: typeof j.username === 'string' ? j.username : undefined,
      host: typeof j.hostname === 'string' ? j.hostname : undefined,
      pid: Number.isSafeInteger(j.pid) && (j.pid as number) > 0 ? (j.pid as number) : undefined,
      timestamp: ts && !Number.isNaN(ts.getTime()) ? ts : undefined,
    }
  } catch {
    return undefined
  }
}

/** Every lock under the prefix (or of one stack), read and parsed, oldest first. */
export async function listLocks(ctx: AwsContext, opts: LocksOptions, count: RequestCount = newCount()): Promise<LockInfo[]> {
  const t: Target = {s3: await ctx.s3(), bucket: opts.bucket, principal: opts.principal}
  return readLocks(t, opts, count)
}

export async function readLocks(t: Target, opts: LocksOptions, count: RequestCount = newCount()): Promise<LockInfo[]> {
  const root = stateRoot(opts.prefix)
  const now = (opts.now ?? (() => new Date()))().getTime()
  const objects = (await listObjects(t, root + LOCKS, count)).filter((o) => {
    const stack = lockStackOf(root, o.key)
    return stack !== undefined && (opts.stack === undefined || stackMatches(stack, opts.stack))
  })
  const locks = await Promise.all(
    objects.map(async (o): Promise<LockInfo> => {
      const parsed = parseLock(await readObject(t, o.key, count))
      const at = parsed?.timestamp ?? o.lastModified
      return {
        key: o.key,
        stack: lockStackOf(root, o.key)!,
        user: parsed?.user,
        host: parsed?.host,
        pid: parsed?.pid,
        when: at?.toISOString(),
        ageMs: at ? Math.max(0, now - at.getTime()) : undefined,
        readable: parsed !== undefined,
      }
    }),
  )
  return locks.sort((a, b) => (b.ageMs ?? 0) - (a.ageMs ?? 0))
}

/** `user@host` as Pulumi prints it. */
export const whoOf = (l: LockInfo): string => `${l.user ?? '?'}@${l.host ?? '?'}`

/** Whether a process runs on this host (EPERM: it runs, as another user). */
export function pidRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export interface Judge {
  olderThanMs?: number
  hostname?: string
  isRunning?: (pid: number) => boolean
}

export type Verdict = {clear: true; why: string} | {clear: false; live: boolean; why: string}

/** Whether a lock is provably stale, and why (or why not). */
export function judgeLock(lock: LockInfo, j: Judge): Verdict {
  const host = j.hostname ?? osHostname()
  const running = j.isRunning ?? pidRunning
  if (lock.host === host && lock.pid !== undefined) {
    if (running(lock.pid)) return {clear: false, live: true, why: `live: pid ${lock.pid} is running on this host (${host})`}
    return {clear: true, why: `pid ${lock.pid} is not running on this host (${host})`}
  }
  const where = lock.host === undefined ? 'an unknown host' : lock.host === host ? 'this host, without a pid' : `another host (${lock.host})`
  if (j.olderThanMs === undefined) {
    return {clear: false, live: false, why: `taken on ${where}: psb cannot see whether it runs; pass --older-than <duration> to clear locks older than that`}
  }
  const age = lock.ageMs === undefined ? 'unknown' : formatDuration(lock.ageMs)
  if (lock.ageMs !== undefined && lock.ageMs >= j.olderThanMs) return {clear: true, why: `older than --older-than ${formatDuration(j.olderThanMs)} (age ${age})`}
  return {clear: false, live: true, why: `younger than --older-than ${formatDuration(j.olderThanMs)} (age ${age}): it may be live`}
}

export interface ClearOptions extends LocksOptions, Judge {
  dryRun?: boolean
}

export type ClearStatus = 'cleared' | 'planned' | 'refused'

export interface ClearedLock extends LockInfo {
  status: ClearStatus
  why: string
}

export interface ClearResult {
  locks: ClearedLock[]
  cleared: number
  refused: number
  dryRun: boolean
  requests: RequestCount
}

/** Clears the provably stale locks (one DeleteObject each); every other lock is refused and shown. */
export async function clearLocks(ctx: AwsContext, opts: ClearOptions): Promise<ClearResult> {
  const {DeleteObjectCommand} = await import('@aws-sdk/client-s3')
  const count = newCount()
  const t: Target = {s3: await ctx.s3(), bucket: opts.bucket, principal: opts.principal}
  const locks = await readLocks(t, opts, count)
  checkOneStack(opts.stack, locks.map((l) => l.stack))
  const out: ClearedLock[] = []
  for (const lock of locks) {
    const v = judgeLock(lock, opts)
    if (!v.clear) {
      out.push({...lock, status: 'refused', why: v.why})
      continue
    }
    if (!opts.dryRun) {
      await awsCall({action: 's3:DeleteObject', resource: `arn:aws:s3:::${opts.bucket}/${lock.key}`, principal: opts.principal}, () =>
        t.s3.send(new DeleteObjectCommand({Bucket: opts.bucket, Key: lock.key})),
      )
      count.delete++
    }
    out.push({...lock, status: opts.dryRun ? 'planned' : 'cleared', why: v.why})
  }
  return {locks: out, cleared: out.filter((l) => l.status !== 'refused').length, refused: out.filter((l) => l.status === 'refused').length, dryRun: Boolean(opts.dryRun), requests: count}
}
