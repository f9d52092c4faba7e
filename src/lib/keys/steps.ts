/**
 * The rotation as the journal's state machine. A journal entry moves through the states of
 * journal.ts (JournalStep); TRANSITIONS is the one table of the moves allowed, used by the
 * forward run (rotate.ts, first-key.ts), the rollback and crash recovery (recovery.ts) alike:
 * every step change goes through `advance`, which refuses a move the table does not list.
 *
 *   creating → created → writing → written → verified → deactivating → deactivated → deleting
 *        └──────────┴─────────┴─────────┴→ rolling-back  (a failure before the new key is proven)
 *
 * One function per state: `createStep` (creating → created), `writeStep` (writing → written),
 * `proveStep` (→ verified), `retireStep` (deactivating → deactivated → deleting) and
 * `rollBackStep` (→ rolling-back). Each also passes the test-only kill points (checkpoint).
 */
import {type AwsContext, type StaticCredentials} from '../aws/client.js'
import {throwIfInterrupted} from '../interrupt.js'
import {newEntryId, type Journal, type JournalEntry, type JournalStep} from './journal.js'
import {maskKeyId, redact} from '../redact.js'
import {createKeyJournaled, deactivateKey, deleteKey, type IamKey} from './iam-calls.js'
import {proveKeyWorks, type ProveOptions, type ProveResult} from './prove.js'
import {ROLLBACK_KILL_STEP, checkpoint, type Actor, type RunState} from './run.js'

/** A state before the new key is proven: what a failure (or recovery) may roll back from. */
const UNPROVEN: JournalStep[] = ['creating', 'created', 'writing', 'written']

/** The journal's transition table: state → the states it may move to. */
export const TRANSITIONS: Readonly<Record<JournalStep, readonly JournalStep[]>> = {
  creating: ['created', 'rolling-back'],
  created: ['writing', 'verified', 'rolling-back'],
  writing: ['written', 'verified', 'rolling-back'],
  written: ['verified', 'rolling-back'],
  verified: ['deactivating'],
  deactivating: ['deactivated'],
  deactivated: ['deleting'],
  deleting: [],
  'rolling-back': ['rolling-back'],
}

/** True when the new key of an entry in this state was proven to work (the old key may be Inactive or gone). */
export function isProven(step: JournalStep): boolean {
  return !UNPROVEN.includes(step) && step !== 'rolling-back'
}

/** Moves an entry to `step` (with more fields), as the transition table allows; anything else is a defect. */
export function advance(journal: Journal, entry: JournalEntry, step: JournalStep, fields: Partial<JournalEntry> = {}): JournalEntry {
  const current = journal.list().find((e) => e.id === entry.id)?.step ?? entry.step
  if (!TRANSITIONS[current].includes(step)) throw new Error(`rotation journal: no transition from ${current} to ${step}`)
  return journal.update(entry.id, {...fields, step})
}

/** What the journal records about a new run before CreateAccessKey. */
export type NewEntry = Pick<JournalEntry, 'kind' | 'user' | 'profile' | 'profiles' | 'oldKeyId' | 'keepOld' | 'acting'> & {keys: IamKey[]}

/** creating → created: journal the request window, create the key, journal its id. */
export async function createStep(
  state: RunState,
  actor: Actor,
  e: NewEntry,
  opts: {arn?: string; say?: string} = {},
): Promise<{entry: JournalEntry; fresh: StaticCredentials & {created?: Date}}> {
  const journal = state.journal!
  const {keys, ...fields} = e
  const entry = journal.record({
    id: newEntryId(),
    ...fields,
    step: 'creating',
    startedAt: new Date().toISOString(),
    createWindow: {from: new Date().toISOString()},
    keysBefore: keys.map((k) => k.id),
  })
  checkpoint('journaled')
  if (opts.say) state.logger.info(opts.say)
  const fresh = await createKeyJournaled(state, actor, e.user, entry, opts.arn)
  checkpoint('key-created')
  const created = advance(journal, entry, 'created', {newKeyId: fresh.accessKeyId})
  checkpoint('key-journaled')
  return {entry: created, fresh}
}

/** writing → written: `write` puts the new key into the file; `accept` judges the write (may throw) and names the fields to journal. */
export async function writeStep<T>(state: RunState, entry: JournalEntry, write: () => Promise<T>, accept: (w: T) => Partial<JournalEntry>): Promise<T> {
  throwIfInterrupted(`the new key ${maskKeyId(entry.newKeyId)} was not written yet.`)
  advance(state.journal!, entry, 'writing')
  const w = await write()
  checkpoint('file-written')
  const fields = accept(w)
  advance(state.journal!, entry, 'written', fields)
  checkpoint('write-journaled')
  return w
}

/** → verified: the new key works (proveKeyWorks); its wait counts as propagation time. */
export async function proveStep(state: RunState, entry: JournalEntry, ctx: AwsContext, opts: ProveOptions): Promise<ProveResult> {
  const proof = await proveKeyWorks(ctx, opts, state.logger)
  state.waited += proof.waitedMs
  advance(state.journal!, entry, 'verified')
  checkpoint('verified')
  return proof
}

/** → rolling-back, with the error that stops the run; the caller then undoes what the run made. */
export function rollBackStep(state: RunState, entry: JournalEntry, message: string): void {
  advance(state.journal!, entry, 'rolling-back', {lastError: redact(message)})
  checkpoint(ROLLBACK_KILL_STEP)
}

/**
 * deactivating → deactivated (→ deleting): the old key is deactivated, then deleted unless
 * `keepOld`. `done` hears each part as it is done (for the result).
 */
export async function retireStep(
  state: RunState,
  entry: JournalEntry,
  o: {cleaner: Actor; user: string; old: IamKey; arn?: string; keepOld?: boolean},
  done: (what: 'inactive' | 'deleted') => void,
): Promise<void> {
  const journal = state.journal!
  advance(journal, entry, 'deactivating')
  if (o.old.status === 'Active') await deactivateKey(state, o.cleaner, o.user, o.old.id, o.arn)
  checkpoint('old-deactivated')
  advance(journal, entry, 'deactivated')
  done('inactive')
  if (o.keepOld) return
  advance(journal, entry, 'deleting')
  await deleteKey(state, o.cleaner, o.user, o.old.id, o.arn)
  checkpoint('old-deleted')
  done('deleted')
}
