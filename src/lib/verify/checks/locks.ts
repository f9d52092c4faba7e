/**
 * Pulumi's stack locks: a lock older than an hour is most likely left by a crashed or killed
 * run, and blocks every update of its stack. Warn only (it may be a long update).
 * Contract (id, detail naming the stack and the age, hint naming `psb locks clear`) is
 * asserted by the e2e suite.
 */
import {formatDuration} from '../../duration.js'
import {readLocks, whoOf} from '../../state/locks.js'
import type {CheckUnit} from '../context.js'
import {unexpected} from '../context.js'

export const STALE_LOCK_MS = 60 * 60 * 1000

export const pulumiLocksCheck: CheckUnit = {
  id: 'pulumi-locks',
  title: 'No stack lock older than an hour',
  needs: ['bucket'],
  async run(v) {
    let locks
    try {
      locks = await readLocks({s3: await v.aws.s3(), bucket: v.opts.bucket, principal: v.who}, {bucket: v.opts.bucket, prefix: v.opts.prefix, now: v.now})
    } catch (error) {
      return {status: 'warn', ...unexpected(v, error, 's3:ListBucket')}
    }
    const old = locks.filter((l) => (l.ageMs ?? 0) > STALE_LOCK_MS)
    if (old.length === 0) return {status: 'pass', detail: locks.length === 0 ? 'no locks' : `${locks.length} lock(s), each younger than an hour (an update is running)`}
    const names = old.map((l) => `${l.stack} (${formatDuration(l.ageMs ?? 0)} old, by ${whoOf(l)}, pid ${l.pid ?? '?'})`)
    const stackFlag = old.length === 1 ? ` --stack ${old[0].stack}` : ''
    const prefixFlag = v.opts.prefix ? ` --prefix ${v.opts.prefix}` : ''
    return {
      status: 'warn',
      detail: `${old.length} lock(s) older than an hour: ${names.join('; ')}`,
      hint: `If no update is running, clear it: psb locks clear --bucket ${v.opts.bucket}${prefixFlag}${stackFlag} --older-than 1h (see psb locks list).`,
    }
  },
}
