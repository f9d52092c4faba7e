/**
 * The --json contract (docs/contracts.md): every `--json` document a test gets from the built
 * CLI is validated against its command's schema in schemas/ (ajv). runPsb (cli.ts) and
 * spawnPsb (keys-fixture.ts) pass their output through checkJsonOutput; an invalid document
 * fails the test. The counts are printed when the run ends (test/setup.ts).
 */
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Ajv, type ValidateFunction} from 'ajv'

export const SCHEMA_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas')

let validators: Map<string, ValidateFunction> | undefined
/** Per process, not per module instance: mocha loads test/setup.ts (which prints them) apart from the test files. */
const COUNTS = Symbol.for('psb.json-contract.counts')
const holder = globalThis as typeof globalThis & {[COUNTS]?: Map<string, number>}
const counts = (holder[COUNTS] ??= new Map<string, number>())

/** One ajv validator per schemas/<name>.schema.json (compiled once per test process). */
export function schemaValidators(dir = SCHEMA_DIR): Map<string, ValidateFunction> {
  if (dir === SCHEMA_DIR && validators) return validators
  const ajv = new Ajv({allErrors: true, strict: true, allowUnionTypes: true})
  const map = new Map<string, ValidateFunction>()
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.schema.json')).sort()) {
    map.set(file.replace(/\.schema\.json$/, ''), ajv.compile(JSON.parse(readFileSync(join(dir, file), 'utf8'))))
  }
  if (dir === SCHEMA_DIR) validators = map
  return map
}

/** The schema name of a command line: its leading words joined with '-' (`keys schedule status` → keys-schedule-status). */
export function schemaNameOf(args: readonly string[], names: Iterable<string> = schemaValidators().keys()): string | undefined {
  const known = new Set(names)
  const words: string[] = []
  for (const a of args) {
    if (a.startsWith('-')) break
    words.push(a)
  }
  for (let n = words.length; n > 0; n--) {
    const name = words.slice(0, n).join('-')
    if (known.has(name)) return name
  }
  return undefined
}

/** Validates one document against a named schema; throws with ajv's errors when it does not match. */
export function validateDocument(name: string, doc: unknown): void {
  const validate = schemaValidators().get(name)
  if (!validate) throw new Error(`json contract: no schema schemas/${name}.schema.json`)
  if (!validate(doc)) {
    const why = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`).join('; ')
    throw new Error(`json contract: the --json document does not match schemas/${name}.schema.json: ${why}\n${JSON.stringify(doc, null, 2)}`)
  }
  counts.set(name, (counts.get(name) ?? 0) + 1)
}

/**
 * When `args` ask for --json, stdout is one document that must match the command's schema.
 * Not checked: help and version output, an unknown command, and a run killed by a signal (no document promised).
 */
export function checkJsonOutput(args: readonly string[], result: {stdout: string; signal: NodeJS.Signals | null; code: number | null}): void {
  if (!args.includes('--json') || args.some((a) => ['--help', '-h', '--version', '-v'].includes(a))) return
  if (result.signal !== null || result.code === 130 || result.code === 143) return
  // A command line naming no command (a misspelled one): no document is promised. That every
  // real command has a schema is checked by test/unit/contracts.test.ts.
  const name = schemaNameOf(args)
  if (!name) return
  let doc: unknown
  try {
    doc = JSON.parse(result.stdout)
  } catch {
    throw new Error(`json contract: \`psb ${name.replace(/-/g, ' ')} --json\` (exit ${result.code}) printed no single JSON document on stdout:\n${result.stdout.slice(0, 2000)}`)
  }
  validateDocument(name, doc)
}

/** "json schemas: N documents validated against M schemas", or undefined when none was. */
export function contractSummary(): string | undefined {
  const total = [...counts.values()].reduce((a, b) => a + b, 0)
  if (total === 0) return undefined
  const per = [...counts.entries()].sort().map(([n, c]) => `${n} ${c}`).join(', ')
  return `json schemas: ${total} document${total === 1 ? '' : 's'} validated against ${counts.size} schema${counts.size === 1 ? '' : 's'} (${per})`
}
