/**
 * The verify/ domain: the table of checks (checks/*.ts, listed in checks/index.ts), their
 * shared context (context.ts), the pure rules (rules.ts) and this runner (entry point:
 * verifyBackend).
 *
 * `psb verify`: proves that a profile + bucket (+ prefix) work as a Pulumi state backend,
 * with the profile's OWN key (the least-privilege user Pulumi runs as), the way Pulumi
 * will use them. Every check ends pass / warn / fail with a one-line hint; nothing here
 * throws for a failed check, and nothing is changed except a short-lived sentinel object
 * under `<prefix>/.pulumi/` (the round trip, written and deleted as Pulumi does).
 *
 * Reads the profile may not be allowed (its own IAM policies, for the "not broader than
 * needed" check) end as "cannot check" (warn), never as a failure; with `admin` set they
 * are made with that context instead.
 *
 * The verify domain: its one entry point is verifyBackend(). The checks are a table
 * (checks/index.ts), one small unit each in the file of its area (checks/*.ts); this file
 * is the runner: it orders the table by `needs`, runs the independent checks at once and
 * collects the results in the table's order. rules.ts holds the pure judging rules.
 */
import {createAwsContext} from '../aws/client.js'
import {bucketArn} from '../bucket/ensure.js'
import {readProfileCredentials} from '../files/credentials.js'
import {messageOf} from '../errors.js'
import {registerSecret} from '../redact.js'
import {silentLogger} from '../types.js'
import {CHECKS} from './checks/index.js'
import type {Check, CheckUnit, VerifyContext, VerifyOptions, VerifyResult} from './context.js'

export * from './rules.js'
export type {Check, CheckStatus, CheckUnit, Verdict, VerifyContext, VerifyOptions, VerifyResult} from './context.js'

/** The exit code of `psb verify` (and `psb init`) when a check failed. */
export const VERIFY_FAILED_EXIT = 3

/** The ids of the checks, in the checklist's order. */
export const CHECK_IDS: readonly string[] = CHECKS.map((c) => c.id)

/**
 * The units in an order where each comes after every unit it needs (the table's order
 * where it allows). Throws on a need that is not in the table, and on a cycle.
 */
export function orderByNeeds<C>(units: readonly CheckUnit<C>[]): CheckUnit<C>[] {
  const byId = new Map(units.map((u) => [u.id, u]))
  if (byId.size !== units.length) throw new Error('verify checks: two checks have the same id')
  const ordered: CheckUnit<C>[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (u: CheckUnit<C>, path: string[]): void => {
    if (state.get(u.id) === 'done') return
    if (state.get(u.id) === 'visiting') throw new Error(`verify checks: a cycle of needs: ${[...path, u.id].join(' → ')}`)
    state.set(u.id, 'visiting')
    for (const n of u.needs) {
      const need = byId.get(n)
      if (!need) throw new Error(`verify checks: ${u.id} needs ${n}, which is not a check`)
      visit(need, [...path, u.id])
    }
    state.set(u.id, 'done')
    ordered.push(u)
  }
  for (const u of units) visit(u, [])
  return ordered
}

/** One unit, once every check it needs is in: it runs only when each of them produced a check that did not fail. */
async function runAfter<C>(u: CheckUnit<C>, needed: Promise<Check | undefined>[], ctx: C, add: (c: Check) => void): Promise<Check | undefined> {
  const got = await Promise.all(needed)
  if (got.some((c) => c === undefined || c.status === 'fail')) return undefined
  const verdict = await u.run(ctx)
  if (!verdict) return undefined
  const check: Check = {id: u.id, title: typeof u.title === 'function' ? u.title(ctx) : u.title, ...verdict}
  add(check)
  return check
}

/**
 * Runs a table of checks: each starts as soon as the checks it needs are done, so the
 * independent ones run concurrently. onCheck sees each check as it completes; the answer
 * keeps the table's order. A check that throws makes the whole run throw.
 */
export async function runChecks<C>(units: readonly CheckUnit<C>[], ctx: C, onCheck?: (c: Check) => void): Promise<Check[]> {
  const running = new Map<string, Promise<Check | undefined>>()
  const add = (c: Check) => onCheck?.(c)
  for (const u of orderByNeeds(units))
    running.set(u.id, runAfter(u, u.needs.map((n) => running.get(n)!), ctx, add))
  const done = await Promise.all(units.map((u) => running.get(u.id)!))
  return done.filter((c): c is Check => c !== undefined)
}

/** The context the checks share: the profile's key (from its credentials file when there) and the options. */
export function verifyContext(opts: VerifyOptions): VerifyContext {
  const env = opts.env ?? process.env
  const logger = opts.logger ?? silentLogger
  let fileCreds: VerifyContext['fileCreds']
  try {
    fileCreds = readProfileCredentials(opts.profile, env)
  } catch (error) {
    logger.warn(`Could not read the credentials file: ${messageOf(error)}`)
  }
  if (fileCreds) registerSecret(fileCreds.secretAccessKey)
  const aws = createAwsContext({region: opts.region, endpoint: opts.endpoint, ...(fileCreds ? {credentials: fileCreds} : {profile: opts.profile})})
  return {
    opts,
    env,
    now: opts.now ?? (() => new Date()),
    maxAgeDays: opts.maxKeyAgeDays ?? 90,
    aws,
    fileCreds,
    who: `profile ${opts.profile}`,
    bucketArn: bucketArn(opts.bucket, opts.region),
    facts: {},
  }
}

export async function verifyBackend(opts: VerifyOptions): Promise<VerifyResult> {
  const ctx = verifyContext(opts)
  const checks = await runChecks(CHECKS, ctx, opts.onCheck)
  for (const c of (await opts.extraChecks?.(ctx.aws)) ?? []) {
    checks.push(c)
    opts.onCheck?.(c)
  }
  const result: VerifyResult = {checks, ok: !checks.some((c) => c.status === 'fail')}
  if (ctx.facts.identity) result.identity = ctx.facts.identity
  if (ctx.facts.url !== undefined) result.url = ctx.facts.url
  return result
}
