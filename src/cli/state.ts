/**
 * What `psb locks list|clear` and `psb history prune` share: the flags that name a backend
 * (as verify's: without --bucket, the backend Pulumi is logged in to), the profile's AWS
 * context, and the tables they print.
 */
import {Flags} from '@oclif/core'
import {createAwsContext, type AwsContext} from '../lib/aws/client.js'
import {formatDuration} from '../lib/duration.js'
import {checkProfile} from '../lib/files/aws-config.js'
import {validateStackRef} from '../lib/state/layout.js'
import {whoOf, type ClearedLock, type LockInfo} from '../lib/state/locks.js'
import type {PruneResult} from '../lib/state/history.js'
import {verifyOptionsFromFlags} from '../commands/verify.js'
import * as shared from './flags.js'
import {out, status as statusWord, table} from './style.js'

export const stateFlags = {
  profile: Flags.string({description: 'The AWS profile Pulumi uses (default: AWS_PROFILE, else "default"); its own key reads and deletes.', helpValue: '<profile>'}),
  bucket: Flags.string({description: 'The state bucket (default: the bucket of the backend Pulumi is logged in to).', helpValue: '<name>'}),
  prefix: shared.prefix,
  region: shared.region,
  endpoint: shared.endpoint,
}

export const stackFlag = Flags.string({description: 'Only this stack: dev, project/dev or organization/project/dev.', helpValue: '<stack>'})

export interface StateFlags {
  profile?: string
  bucket?: string
  prefix?: string
  region?: string
  endpoint?: string
  stack?: string
}

export interface StateTarget {
  ctx: AwsContext
  bucket: string
  prefix?: string
  profile: string
  region: string
  stack?: string
  principal: string
}

/** The backend and the profile's context; every bad input (exit 2) before any AWS call. */
export function stateTarget(flags: StateFlags, env = process.env): StateTarget {
  const o = verifyOptionsFromFlags({profile: flags.profile, bucket: flags.bucket, prefix: flags.prefix, region: flags.region, endpoint: flags.endpoint}, env)
  const source = flags.profile ? '--profile' : env.AWS_PROFILE ? 'AWS_PROFILE' : 'the default, as no --profile was given'
  checkProfile(o.profile, source, env, 'Pass the profile Pulumi uses with --profile.')
  const stack = flags.stack === undefined ? undefined : validateStackRef(flags.stack)
  const ctx = createAwsContext({region: o.region, endpoint: o.endpoint, profile: o.profile})
  return {ctx, bucket: o.bucket, prefix: o.prefix, profile: o.profile, region: o.region, stack, principal: `profile ${o.profile}`}
}

/** `psb locks clear` for a stack and this backend, for hints. */
export function clearCommand(t: {bucket: string; prefix?: string}, stack?: string): string {
  return `psb locks clear --bucket ${t.bucket}${t.prefix ? ` --prefix ${t.prefix}` : ''}${stack ? ` --stack ${stack}` : ''}`
}

const age = (l: LockInfo) => (l.ageMs === undefined ? '?' : formatDuration(l.ageMs))

export function locksTable(locks: LockInfo[]): string {
  if (locks.length === 0) return '(no locks)'
  return table(['STACK', 'WHO', 'PID', 'WHEN', 'AGE'], locks.map((l) => [l.stack, whoOf(l), String(l.pid ?? '?'), l.when ?? '?', age(l)]))
}

export function clearTable(locks: ClearedLock[]): string {
  if (locks.length === 0) return '(no locks)'
  const word = (s: ClearedLock['status']) => (s === 'refused' ? out.red('refused') : s === 'cleared' ? out.green('cleared') : out.yellow('planned'))
  return table(['STACK', 'WHO', 'PID', 'AGE', 'STATUS', 'WHY'], locks.map((l) => [l.stack, whoOf(l), String(l.pid ?? '?'), age(l), word(l.status), l.why]))
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  let v = n
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`
}

export function pruneTable(r: PruneResult): string {
  if (r.stacks.length === 0) return '(no stack has history)'
  const rows = r.stacks.map((s) => [
    s.stack,
    s.status === 'locked' ? out.yellow('locked') : s.status === 'pruned' ? out.green('pruned') : statusWord(s.status),
    `${s.kept} of ${s.updates}`,
    `${s.history.count} (${formatBytes(s.history.bytes)})`,
    `${s.backups.count} (${formatBytes(s.backups.bytes)})`,
    `${s.remaining.count} (${formatBytes(s.remaining.bytes)})`,
  ])
  return table(['STACK', 'STATUS', 'UPDATES KEPT', 'HISTORY FILES DELETED', 'BACKUPS DELETED', 'REMAINING'], rows)
}
