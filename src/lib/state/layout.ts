/**
 * Where the Pulumi DIY backend keeps things under `<prefix>/.pulumi/` (pkg/backend/diy of
 * Pulumi 3.x), and how psb reads their names:
 *   locks/<stack FQN>/<uuid>.json                 organization/<project>/<stack>, or <stack> (legacy)
 *   history/<project>/<stack>/<stack>-<ns>.{history,checkpoint}.json[.gz|.zst]   (legacy: history/<stack>/)
 *   backups/<project>/<stack>/<stack>.<ns>.json[.gz|.zst]                       (legacy: backups/<stack>/)
 *   stacks/<project>/<stack>.json[.gz|.zst]       the current state: psb never touches it
 */
import {badInput} from '../errors.js'
import {echo} from '../echo.js'
import {prefixBase} from '../bucket/prefix.js'

/** `<prefix>/.pulumi/` (or `.pulumi/`). */
export function stateRoot(prefix: string | undefined): string {
  return `${prefixBase(prefix)}.pulumi/`
}

export const LOCKS = 'locks/'
export const HISTORY = 'history/'
export const BACKUPS = 'backups/'

/** The stack of a lock key: its folder under locks/ (Pulumi's fully qualified name), or undefined when the key is no lock. */
export function lockStackOf(root: string, key: string): string | undefined {
  const rest = key.slice((root + LOCKS).length)
  const m = /^(.+)\/[^/]+\.json$/.exec(rest)
  return key.startsWith(root + LOCKS) && m ? m[1] : undefined
}

/**
 * A stack's short name as history and backups name its folder: `organization/proj/dev` and
 * `proj/dev` are `proj/dev`; a legacy `dev` is `dev`.
 */
export function stackFolder(fqn: string): string {
  const parts = fqn.split('/')
  return parts.length === 3 ? parts.slice(1).join('/') : fqn
}

const STACK_PART = /^[A-Za-z0-9_.-]{1,100}$/

/** `--stack`: `dev`, `proj/dev` or `organization/proj/dev` (exit 2 otherwise, before any call). */
export function validateStackRef(ref: string): string {
  const parts = ref.split('/')
  if (parts.length > 3 || !parts.every((p) => STACK_PART.test(p))) {
    throw badInput(
      `--stack ${echo(ref, {what: 'value', shape: /^[A-Za-z0-9_./-]{1,200}$/})} is not a stack name.`,
      'Give a stack as Pulumi names it: dev, project/dev or organization/project/dev.',
      'StackInvalid',
    )
  }
  return ref
}

/** Whether a stack (its lock FQN or history folder) is the one `--stack` names. */
export function stackMatches(stack: string, ref: string): boolean {
  const folder = stackFolder(stack)
  const want = stackFolder(ref)
  return folder === want || folder.endsWith(`/${want}`)
}

/** One update of a stack's history: its time (from the file name) and its files. */
export interface HistoryName {
  stackName: string
  nanos: bigint
  kind: 'history' | 'checkpoint'
}

const HISTORY_FILE = /^(.+)-(\d{1,20})\.(history|checkpoint)\.json(?:\.gz|\.zst)?$/
const BACKUP_FILE = /^(.+)\.(\d{1,20})\.json(?:\.gz|\.zst)?$/

/** A file name under history/ as Pulumi writes it, or undefined (never touched then). */
export function parseHistoryName(name: string): HistoryName | undefined {
  const m = HISTORY_FILE.exec(name)
  return m ? {stackName: m[1], nanos: BigInt(m[2]), kind: m[3] as 'history' | 'checkpoint'} : undefined
}

/** A file name under backups/ as Pulumi writes it, or undefined (never touched then). */
export function parseBackupName(name: string): {stackName: string; nanos: bigint} | undefined {
  const m = BACKUP_FILE.exec(name)
  return m ? {stackName: m[1], nanos: BigInt(m[2])} : undefined
}

/** Splits `<root><area><folder>/<name>` into folder and name. */
export function splitKey(root: string, area: string, key: string): {folder: string; name: string} | undefined {
  if (!key.startsWith(root + area)) return undefined
  const rest = key.slice((root + area).length)
  const slash = rest.lastIndexOf('/')
  if (slash <= 0) return undefined
  return {folder: rest.slice(0, slash), name: rest.slice(slash + 1)}
}

/** `--stack` names one stack: when it matches stacks of several projects (`dev` in two), bad input (exit 2, before any write). */
export function checkOneStack(ref: string | undefined, stacks: string[]): void {
  const found = [...new Set(stacks.map(stackFolder))].sort()
  if (ref === undefined || found.length <= 1) return
  throw badInput(
    `--stack ${ref} matches ${found.length} stacks: ${found.join(', ')}.`,
    `Name one of them as project/stack, e.g. --stack ${found[0]}.`,
    'StackAmbiguous',
  )
}
