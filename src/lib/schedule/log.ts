/**
 * The log of a profile's scheduled runs: the job's output, and one record line per run
 * (time, exit code, result) that `psb keys schedule status` reads. Its size is bounded:
 * past LOG_MAX_BYTES the log becomes `<log>.1` (the previous `.1` is dropped) before the
 * record is appended, so the two files together stay under about twice that (a log that
 * grew far past it is cut to its last LOG_MAX_BYTES as it moves).
 */
import {appendFileSync, closeSync, existsSync, openSync, readFileSync, readSync, renameSync, statSync, unlinkSync} from 'node:fs'
import {dirname} from 'node:path'
import {ensureDir, fileError, withFileLock, writeFileAtomic} from '../files/atomic.js'
import {envNumber} from '../files/lock.js'
import type {Env} from '../files/aws-config.js'
import {redact} from '../redact.js'

const RECORD_TAG = '{"psbScheduledRun":'
export const LOG_MAX_BYTES = 256 * 1024

export interface RunRecord {
  time: string
  exitCode: number
  /** rotated, not-due, created, failed, or several joined by commas. */
  result: string
  message?: string
}

/** Appends one run's record, rotating the log first when it is over its bound. Under the log's lock. */
export async function appendRunRecord(path: string, record: RunRecord, env: Env = process.env): Promise<void> {
  const max = envNumber(env, 'PSB_SCHEDULE_LOG_MAX_BYTES', LOG_MAX_BYTES)
  ensureDir(dirname(path))
  await withFileLock(path, () => {
    try {
      if (existsSync(path) && statSync(path).size > max) rotate(path, max, env)
      const line = redact(`${RECORD_TAG}1,${JSON.stringify(record).slice(1)}`) + '\n'
      appendFileSync(path, line, {mode: 0o600})
    } catch (error) {
      throw fileError('append to', path, error)
    }
  })
}

/**
 * The log becomes `<log>.1`. One that grew far past the bound (written by something else)
 * keeps only its last `max` bytes there, so the two files stay bounded whatever happened.
 */
function rotate(path: string, max: number, env: Env): void {
  const size = statSync(path).size
  if (size <= 2 * max) {
    renameSync(path, `${path}.1`)
    return
  }
  const fd = openSync(path, 'r')
  try {
    const tail = Buffer.alloc(max)
    readSync(fd, tail, 0, max, size - max)
    writeFileAtomic(`${path}.1`, tail, {mode: 0o600, env})
  } finally {
    closeSync(fd)
  }
  unlinkSync(path)
}

/** The last run's record, from the log (or its previous part). */
export function lastRun(path: string): RunRecord | undefined {
  for (const file of [path, `${path}.1`]) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      continue
    }
    const lines = text.split('\n')
    for (let i = lines.length - 1; i >= 0; i--) {
      if (!lines[i].startsWith(RECORD_TAG)) continue
      try {
        const {psbScheduledRun: _, ...record} = JSON.parse(lines[i]) as RunRecord & {psbScheduledRun: number}
        return record
      } catch {}
    }
  }
  return undefined
}
