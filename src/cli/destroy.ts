/**
 * The cli side of `psb destroy`: flags to core options, the refusal off a terminal, the
 * question on one, progress on a terminal, and the plan and summary as tables.
 */
import {badInput} from '../lib/errors.js'
import type {DestroyOptions, DestroyPlan, DestroyResult} from '../lib/destroy/destroy.js'
import type {Progress} from '../lib/destroy/options.js'
import {redact} from '../lib/redact.js'
import {isCI} from './init-inputs.js'
import {err as errStyle, out, status, table} from './style.js'

export interface DestroyFlags {
  bucket: string
  prefix?: string
  'force-stacks': boolean
  'keep-bucket': boolean
  'keep-user': boolean
  'dry-run': boolean
  yes: boolean
}

/** Core options from flags; bad input is exit 2 before any AWS call. */
export function destroyOptionsFromFlags(flags: DestroyFlags, region: string): DestroyOptions {
  return {
    bucket: flags.bucket,
    prefix: flags.prefix,
    region,
    forceStacks: flags['force-stacks'],
    keepBucket: flags['keep-bucket'],
    keepUser: flags['keep-user'],
    dryRun: flags['dry-run'],
  }
}

/** Whether psb may ask on this terminal. */
export function canAsk(json: boolean): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY) && !isCI(process.env) && !json
}

/** Off a terminal (or with --json) a real run needs --yes: exit 2, before any AWS call. */
export function requireYesOffTerminal(flags: DestroyFlags, json: boolean): void {
  if (flags['dry-run'] || flags.yes || canAsk(json)) return
  const why = json ? '--json was given' : isCI(process.env) ? 'CI is set' : 'this is not a terminal'
  throw badInput(
    `psb destroy deletes resources and cannot ask for confirmation (${why}).`,
    'Look at the plan with --dry-run first, then run again with --yes.',
    'ConfirmationRequired',
  )
}

/** Asks on the terminal; anything but yes stops (exit 1, nothing changed). */
export async function confirmPlan(plan: DestroyPlan): Promise<boolean> {
  const {confirm} = await import('@inquirer/prompts')
  const what = plan.prefix === undefined ? `the backend in ${plan.bucket}` : `the prefix ${plan.prefix} of ${plan.bucket}`
  return confirm({message: `Delete everything listed above for ${what}?`, default: false}, {output: process.stderr})
}

/** A progress line on stderr when it is a terminal (rewritten in place). */
export function progressPrinter(): ((p: Progress) => void) | undefined {
  if (!process.stderr.isTTY) return undefined
  return (p) => process.stderr.write(`\r${errStyle.dim(`Deleted ${p.deleted.toLocaleString('en-US')} object versions (${p.requests} requests)`)}`)
}

function rows(changes: {item: string; status: string; detail?: string}[]): string[][] {
  return changes.map((c) => [c.item, status(c.status, out), c.detail ?? ''])
}

/** The plan (also what a terminal shows before asking). */
export function renderPlan(plan: DestroyPlan, say: (line: string) => void): void {
  const where = plan.prefix === undefined ? plan.bucket : `${plan.bucket}/${plan.prefix}/`
  say(`Plan to destroy the backend ${where}, in this order:`)
  say(plan.changes.length === 0 ? '  nothing psb made for it was found.' : table(['ITEM', 'STATUS', 'DETAIL'], rows(plan.changes)))
  if (plan.stacks.length > 0) {
    say(`\nStacks (their state is deleted; their cloud resources are not):`)
    say(table(['STACK', 'LAST UPDATED'], plan.stacks.map((s) => [`${s.prefix ? `${s.prefix}: ` : ''}${s.name}`, s.lastUpdated?.toISOString() ?? 'unknown'])))
  }
  renderLeft(plan.left, say)
  if (plan.kmsKeys.length > 0) say(`\nKMS keys are never deleted at once: each is scheduled for deletion in 30 days (the longest AWS allows), and can be cancelled until then.`)
}

function renderLeft(left: DestroyPlan['left'], say: (line: string) => void): void {
  if (left.length === 0) return
  say('\nFound and left alone:')
  say(table(['ITEM', 'WHY'], left.map((c) => [c.item, c.detail ?? ''])))
}

/** The summary of a run (the --json document is the result itself). */
export function renderResult(r: DestroyResult, say: (line: string) => void): void {
  if (process.stderr.isTTY && r.objects.deleteRequests > 0) process.stderr.write('\n')
  say(r.changes.length === 0 ? 'Nothing to destroy: nothing psb made for this backend is left.' : table(['ITEM', 'STATUS', 'DETAIL'], rows(r.changes)))
  renderLeft(r.left, say)
  if (r.objects.deleted > 0) say(`\n${r.objects.deleted} object versions and delete markers deleted with ${r.objects.listRequests} list and ${r.objects.deleteRequests} delete requests.`)
  for (const k of r.kmsKeys) say(`\nThe KMS key ${k.keyId} is scheduled for deletion${k.deletionDate ? ` on ${k.deletionDate.slice(0, 10)}` : ''} (${k.pendingWindowInDays} days), not deleted: cancel with \`aws kms cancel-key-deletion --key-id ${k.keyId}\`.`)
  for (const w of r.warnings) process.stderr.write(`${errStyle.yellow('warning')}: ${redact(w)}\n`)
}
