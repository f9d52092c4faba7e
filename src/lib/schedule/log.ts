/**
 * The log of a profile's scheduled runs: the job's output, and one record line per run
 * (time, exit code, outcome) that `psb keys schedule status` reads. Its size is bounded:
 * past LOG_MAX_BYTES the log becomes `<log>.1` (the previous `.1` is dropped) before the
 * record is appended, so the two files together stay under twice that.
 */
import {appendFileSync, existsSync, readFileSync, renameSync, statSync} from 'node:fs'
import {dirname} from 'node:path'
import {ensureDir, fileError, withFileLock} from '../files/atomic.js'
import {envNumber} from '../files/lock.js'
import type {Env} from '../files/aws-config.js'
import {redact} from '../redact.js'

const RECORD_TAG = '{"psbScheduledRun":'
export const LOG_MAX_BYTES = 256 * 1024

export interface RunRecord {
  time: string
  exitCode: number
  /** rotated, not-due, created, failed, or several joined by commas. */
  outcome: string
  message?: string
}

/** Appends one run's record, rotating the log first when it is over its bound. Under the log's lock. */
export async function appendRunRecord(path: string, record: RunRecord, env: Env = process.env): Promise<void> {
  const max = envNumber(env, 'PSB_SCHEDULE_LOG_MAX_BYTES', LOG_MAX_BYTES)
  ensureDir(dirname(path))
  await withFileLock(path, () => {
    try {
      if (existsSync(path) && statSync(path).size > max) renameSync(path, `${path}.1`)
      const line = redact(`${RECORD_TAG}1,${JSON.stringify(record).slice(1)}`) + '\n'
      appendFileSync(path, line, {mode: 0o600})
    } catch (error) {
      throw fileError('append to', path, error)
    }
  })
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
