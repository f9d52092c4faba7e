/**
 * The scripted interface of psb is a contract (docs/contracts.md). CI runs this script after
 * `npm run measures`; it fails when
 *  1. command-snapshot.json is not what the built commands are (oclif.manifest.json): a flag,
 *     alias, default, env var or char changed and the snapshot was not updated with it;
 *  2. the snapshot breaks the one of the last release (schemas/.baseline/command-snapshot.json):
 *     a command, flag or alias removed or renamed, a default, char, env var or type changed, a
 *     flag became required, an option value dropped; unless CHANGELOG.md's "Unreleased"
 *     section names each such flag (`--name`) or command;
 *  3. a --json schema in schemas/ breaks the one of the last release (schemas/.baseline/):
 *     a property or definition removed, a property newly required or no longer required, a
 *     type or enum narrowed, a keyword added that constrains more; unless package.json's major
 *     version is above the baseline's. New optional properties, types, enum values are fine.
 *
 *   node --import tsx scripts/contracts.ts             check (CI)
 *   node --import tsx scripts/contracts.ts --update    rewrite command-snapshot.json, then check
 *   node --import tsx scripts/contracts.ts --release   make the current schemas and snapshot the baseline
 */
import {copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

export interface Finding {
  breaking: boolean
  where: string
  what: string
  /** For a snapshot break: the word CHANGELOG.md's Unreleased section must contain. */
  mention?: string
}

type Json = null | boolean | number | string | Json[] | {[k: string]: Json}
type Obj = {[k: string]: Json}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)
const types = (s: Obj): string[] | undefined => (s.type === undefined ? undefined : ([] as Json[]).concat(s.type).map(String))
/** Keywords that only document. */
const DOC_KEYWORDS = new Set(['title', 'description', '$schema', '$comment', 'examples'])
/** Keywords compared structurally below; every other one (minimum, pattern, ...) is compared as a whole. */
const WALKED = new Set(['type', 'enum', 'properties', 'required', 'additionalProperties', 'items', 'anyOf', 'oneOf', 'allOf', 'definitions', '$defs'])

/** What changed from schema `a` (the baseline) to schema `b`, each change breaking or not. */
export function compareSchemas(a: Json, b: Json, where = '#'): Finding[] {
  const out: Finding[] = []
  const add = (breaking: boolean, what: string, at = where) => out.push({breaking, where: at, what})
  if (!isObj(a) || !isObj(b)) {
    if (!same(a, b)) add(!(a === false || b === true), `changed from ${JSON.stringify(a)} to ${JSON.stringify(b)}`)
    return out
  }
  const ta = types(a)
  const tb = types(b)
  if (ta && tb) {
    const lost = ta.filter((t) => !tb.includes(t) && !(t === 'integer' && tb.includes('number')))
    if (lost.length) add(true, `type narrowed: no longer ${lost.join(', ')}`)
    const gained = tb.filter((t) => !ta.includes(t))
    if (gained.length) add(false, `type widened: also ${gained.join(', ')}`)
  } else if (!ta && tb) add(true, `type narrowed to ${tb.join(', ')}`)
  else if (ta && !tb) add(false, 'type no longer constrained')
  compareEnum(a, b, add)
  compareProperties(a, b, where, out)
  for (const key of ['definitions', '$defs']) compareNamed(a[key], b[key], `${where}/${key}`, 'definition', out)
  for (const key of ['items', 'additionalProperties']) {
    if (a[key] === undefined && b[key] !== undefined) add(b[key] !== true && !(isObj(b[key]) && Object.keys(b[key] as Obj).length === 0), `${key} now constrained`)
    else if (a[key] !== undefined && b[key] === undefined) add(false, `${key} no longer constrained`)
    else if (a[key] !== undefined) out.push(...compareSchemas(a[key], b[key], `${where}/${key}`))
  }
  for (const key of ['anyOf', 'oneOf', 'allOf']) compareBranches(a[key], b[key], `${where}/${key}`, key, out)
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (DOC_KEYWORDS.has(key) || WALKED.has(key) || same(a[key], b[key])) continue
    if (a[key] === undefined) add(true, `new constraint ${key}: ${JSON.stringify(b[key])}`)
    else if (b[key] === undefined) add(false, `constraint ${key} removed`)
    else add(true, `${key} changed from ${JSON.stringify(a[key])} to ${JSON.stringify(b[key])}`)
  }
  return out
}

function compareEnum(a: Obj, b: Obj, add: (breaking: boolean, what: string) => void): void {
  const ea = Array.isArray(a.enum) ? a.enum : undefined
  const eb = Array.isArray(b.enum) ? b.enum : undefined
  if (ea && eb) {
    const lost = ea.filter((v) => !eb.some((w) => same(v, w)))
    if (lost.length) add(true, `enum narrowed: ${lost.map((v) => JSON.stringify(v)).join(', ')} removed`)
    const gained = eb.filter((v) => !ea.some((w) => same(v, w)))
    if (gained.length) add(false, `enum widened: ${gained.map((v) => JSON.stringify(v)).join(', ')} added`)
  } else if (!ea && eb) add(true, 'enum narrowed: now an enum')
  else if (ea && !eb) add(false, 'enum removed')
}

function compareProperties(a: Obj, b: Obj, where: string, out: Finding[]): void {
  const pa = isObj(a.properties) ? a.properties : {}
  const pb = isObj(b.properties) ? b.properties : {}
  const ra = new Set(Array.isArray(a.required) ? a.required.map(String) : [])
  const rb = new Set(Array.isArray(b.required) ? b.required.map(String) : [])
  for (const name of Object.keys(pa)) {
    const at = `${where}/properties/${name}`
    if (!(name in pb)) out.push({breaking: true, where: at, what: 'property removed'})
    else out.push(...compareSchemas(pa[name], pb[name], at))
  }
  for (const name of Object.keys(pb)) {
    if (name in pa) continue
    out.push({breaking: rb.has(name), where: `${where}/properties/${name}`, what: rb.has(name) ? 'new required property' : 'new optional property'})
  }
  for (const name of rb) if (name in pa && !ra.has(name)) out.push({breaking: true, where: `${where}/properties/${name}`, what: 'property became required'})
  for (const name of ra) if (!rb.has(name) && name in pb) out.push({breaking: true, where: `${where}/properties/${name}`, what: 'property no longer required (documents may now lack it)'})
}

function compareNamed(a: Json | undefined, b: Json | undefined, where: string, what: string, out: Finding[]): void {
  const na = isObj(a) ? a : {}
  const nb = isObj(b) ? b : {}
  for (const name of Object.keys(na)) {
    if (!(name in nb)) out.push({breaking: true, where: `${where}/${name}`, what: `${what} removed`})
    else out.push(...compareSchemas(na[name], nb[name], `${where}/${name}`))
  }
  for (const name of Object.keys(nb)) if (!(name in na)) out.push({breaking: false, where: `${where}/${name}`, what: `new ${what}`})
}

function compareBranches(a: Json | undefined, b: Json | undefined, where: string, key: string, out: Finding[]): void {
  const la = Array.isArray(a) ? a : []
  const lb = Array.isArray(b) ? b : []
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    if (i >= lb.length) out.push({breaking: key !== 'allOf', where: `${where}/${i}`, what: 'branch removed'})
    else if (i >= la.length) out.push({breaking: key === 'allOf', where: `${where}/${i}`, what: 'branch added'})
    else out.push(...compareSchemas(la[i], lb[i], `${where}/${i}`))
  }
}

/** Compares two folders of *.schema.json: a schema removed is breaking, a new one is not. */
export function compareSchemaDirs(baselineDir: string, currentDir: string): Finding[] {
  const list = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.schema.json')).sort() : [])
  const read = (dir: string, f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Json
  const current = new Set(list(currentDir))
  const out: Finding[] = []
  for (const f of list(baselineDir)) {
    if (!current.has(f)) out.push({breaking: true, where: f, what: 'schema removed (a command lost its --json document)'})
    else for (const x of compareSchemas(read(baselineDir, f), read(currentDir, f))) out.push({...x, where: `${f} ${x.where}`})
  }
  for (const f of current) if (!list(baselineDir).includes(f)) out.push({breaking: false, where: f, what: 'new schema'})
  return out
}

// ------------------------------------------------------------------------- the command snapshot

export interface FlagSnapshot {
  type: string
  char?: string
  aliases?: string[]
  charAliases?: string[]
  default?: Json
  env?: string
  multiple?: boolean
  required?: boolean
  options?: string[]
  allowNo?: boolean
}
export interface CommandSnapshot {
  aliases: string[]
  flags: Record<string, FlagSnapshot>
  args: Record<string, {required: boolean; default?: Json; options?: string[]}>
}
export type Snapshot = Record<string, CommandSnapshot>

const sorted = <T>(o: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(o).sort(([x], [y]) => x.localeCompare(y)))

/** Every command (by its id as typed, with spaces), flag, alias, default, env var and char, from oclif.manifest.json. */
export function snapshotFromManifest(manifest: {commands: Record<string, any>}): Snapshot {
  const snap: Snapshot = {}
  for (const [id, c] of Object.entries(manifest.commands)) {
    const flags: Record<string, FlagSnapshot> = {}
    for (const [name, f] of Object.entries<any>(c.flags ?? {})) {
      const s: FlagSnapshot = {type: f.type}
      if (f.char) s.char = f.char
      if (f.aliases?.length) s.aliases = [...f.aliases].sort()
      if (f.charAliases?.length) s.charAliases = [...f.charAliases].sort()
      if (f.default !== undefined) s.default = f.default
      if (f.env) s.env = f.env
      if (f.multiple) s.multiple = true
      if (f.required) s.required = true
      if (f.options?.length) s.options = [...f.options]
      if (f.allowNo) s.allowNo = true
      flags[name] = s
    }
    const args: CommandSnapshot['args'] = {}
    for (const [name, a] of Object.entries<any>(c.args ?? {})) args[name] = {required: Boolean(a.required), ...(a.default === undefined ? {} : {default: a.default}), ...(a.options?.length ? {options: a.options} : {})}
    snap[id.replace(/:/g, ' ')] = {aliases: [...(c.aliases ?? [])].map((x: string) => x.replace(/:/g, ' ')).sort(), flags: sorted(flags), args}
  }
  return sorted(snap)
}

/** What changed from snapshot `a` (the baseline) to `b`; a break names what the changelog must mention. */
export function compareSnapshots(a: Snapshot, b: Snapshot): Finding[] {
  const out: Finding[] = []
  for (const [id, ca] of Object.entries(a)) {
    const cb = b[id]
    if (!cb) {
      out.push({breaking: true, where: id, what: 'command removed or renamed', mention: id})
      continue
    }
    for (const alias of ca.aliases) if (!cb.aliases.includes(alias)) out.push({breaking: true, where: id, what: `alias ${alias} removed`, mention: alias})
    for (const [name, fa] of Object.entries(ca.flags)) {
      const fb = cb.flags[name]
      if (!fb) out.push({breaking: true, where: `${id} --${name}`, what: 'flag removed or renamed', mention: `--${name}`})
      else out.push(...compareFlag(`${id} --${name}`, `--${name}`, fa, fb))
    }
    for (const name of Object.keys(cb.flags)) if (!ca.flags[name]) out.push({breaking: Boolean(cb.flags[name].required), where: `${id} --${name}`, what: cb.flags[name].required ? 'new required flag' : 'new flag', mention: `--${name}`})
    for (const [name, aa] of Object.entries(ca.args)) if (!cb.args[name] || !same(aa, cb.args[name])) out.push({breaking: true, where: `${id} <${name}>`, what: 'argument removed or changed', mention: name})
  }
  for (const id of Object.keys(b)) if (!a[id]) out.push({breaking: false, where: id, what: 'new command'})
  return out
}

function compareFlag(where: string, mention: string, a: FlagSnapshot, b: FlagSnapshot): Finding[] {
  const out: Finding[] = []
  const brk = (what: string) => out.push({breaking: true, where, what, mention})
  if (a.type !== b.type) brk(`type changed from ${a.type} to ${b.type}`)
  if (!same(a.default, b.default)) brk(`default changed from ${JSON.stringify(a.default)} to ${JSON.stringify(b.default)}`)
  if (a.char !== b.char) brk(a.char ? `char -${a.char} removed or changed` : `char -${b.char} added`)
  if (a.env !== b.env) brk(a.env ? `env var ${a.env} removed or changed` : `env var ${b.env} added`)
  for (const x of a.aliases ?? []) if (!(b.aliases ?? []).includes(x)) brk(`alias --${x} removed`)
  for (const x of a.charAliases ?? []) if (!(b.charAliases ?? []).includes(x)) brk(`alias -${x} removed`)
  if (!a.required && b.required) brk('became required')
  if (a.multiple && !b.multiple) brk('no longer repeatable')
  if (a.allowNo && !b.allowNo) brk(`--no-${mention.slice(2)} removed`)
  if (a.options && (!b.options || a.options.some((o) => !b.options!.includes(o)))) brk(`option value(s) removed: ${a.options.filter((o) => !(b.options ?? []).includes(o)).join(', ') || 'any value now accepted'}`)
  const additions = [...(b.aliases ?? []).filter((x) => !(a.aliases ?? []).includes(x)), ...(b.options ?? []).filter((o) => !(a.options ?? []).includes(o))]
  if (additions.length) out.push({breaking: false, where, what: `added: ${additions.join(', ')}`})
  return out
}

/** The text of CHANGELOG.md's "## Unreleased" section (up to the next "## "). */
export function unreleasedSection(changelog: string): string {
  const m = /^## Unreleased[^\n]*\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(changelog)
  return m ? m[1] : ''
}

// ------------------------------------------------------------------------------- the check

export interface ContractInput {
  /** The snapshot the built commands have now. */
  generated: Snapshot
  /** command-snapshot.json as committed. */
  committed: Snapshot | undefined
  /** The snapshot of the last release. */
  baselineSnapshot: Snapshot
  schemaDir: string
  baselineSchemaDir: string
  changelog: string
  version: string
  baselineVersion: string
}

export interface ContractReport {
  ok: boolean
  lines: string[]
}

const major = (v: string) => Number.parseInt(v.split('.')[0], 10)

/** The three checks of the file comment; `lines` say what failed and what to do. */
export function checkContracts(i: ContractInput): ContractReport {
  const lines: string[] = []
  let ok = true
  const fail = (line: string) => {
    ok = false
    lines.push(line)
  }
  if (!i.committed) fail('command-snapshot.json is missing: run `npm run contracts -- --update` and commit it.')
  else {
    const drift = compareSnapshots(i.committed, i.generated)
    if (drift.length > 0) {
      fail(`command-snapshot.json is not what the commands are (${drift.length} difference(s)): run \`npm run contracts -- --update\`, commit it, and say what changed in CHANGELOG.md's Unreleased section:`)
      for (const d of drift) lines.push(`  ${d.breaking ? 'BREAKING' : 'addition'}: ${d.where}: ${d.what}`)
    }
  }
  const unreleased = unreleasedSection(i.changelog)
  for (const d of compareSnapshots(i.baselineSnapshot, i.committed ?? i.generated)) {
    if (!d.breaking) continue
    if (d.mention && unreleased.includes(d.mention)) lines.push(`  breaking, in CHANGELOG.md: ${d.where}: ${d.what}`)
    else fail(`breaking change to the command line not in CHANGELOG.md's Unreleased section: ${d.where}: ${d.what} (name ${d.mention} there, with what users do instead)`)
  }
  const schemaChanges = compareSchemaDirs(i.baselineSchemaDir, i.schemaDir)
  const bumped = major(i.version) > major(i.baselineVersion)
  for (const d of schemaChanges) {
    if (!d.breaking) lines.push(`  schema addition: ${d.where}: ${d.what}`)
    else if (bumped) lines.push(`  breaking schema change, allowed by the major version ${i.version} (baseline ${i.baselineVersion}): ${d.where}: ${d.what}`)
    else fail(`breaking change to a --json schema without a major version bump (package.json ${i.version}, baseline ${i.baselineVersion}): ${d.where}: ${d.what}`)
  }
  const commands = Object.keys(i.generated).length
  lines.unshift(`contracts: ${commands} commands in the snapshot; ${schemaChanges.length} schema change(s) since ${i.baselineVersion}, ${schemaChanges.filter((d) => d.breaking).length} breaking; ${ok ? 'ok' : 'FAILED'}`)
  return {ok, lines}
}

// ------------------------------------------------------------------------------------ main

const readJson = <T>(file: string): T | undefined => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined)

/** Runs the check (and --update / --release) on the repository at `root`; `build` first rebuilds a stale oclif.manifest.json. */
export async function main(root: string, argv: string[], opts: {build?: boolean; log?: (line: string) => void} = {}): Promise<number> {
  const log = opts.log ?? ((line: string) => console.log(line))
  if (opts.build) {
    const {ensureFreshDist} = await import('../test/support/fresh-dist.js')
    ensureFreshDist((m) => console.error(m))
  }
  const generated = snapshotFromManifest(readJson(join(root, 'oclif.manifest.json'))!)
  const snapshotFile = join(root, 'command-snapshot.json')
  const schemaDir = join(root, 'schemas')
  const baselineDir = join(schemaDir, '.baseline')
  const version = readJson<{version: string}>(join(root, 'package.json'))!.version
  if (argv.includes('--update') || argv.includes('--release')) writeFileSync(snapshotFile, JSON.stringify(generated, null, 2) + '\n')
  if (argv.includes('--release')) {
    rmSync(baselineDir, {recursive: true, force: true})
    mkdirSync(baselineDir, {recursive: true})
    for (const f of readdirSync(schemaDir).filter((x) => x.endsWith('.schema.json'))) copyFileSync(join(schemaDir, f), join(baselineDir, f))
    copyFileSync(snapshotFile, join(baselineDir, 'command-snapshot.json'))
    writeFileSync(join(baselineDir, 'version.json'), JSON.stringify({version}, null, 2) + '\n')
    log(`contracts: schemas/ and command-snapshot.json are now the baseline of ${version}`)
  }
  const report = checkContracts({
    generated,
    committed: readJson<Snapshot>(snapshotFile),
    baselineSnapshot: readJson<Snapshot>(join(baselineDir, 'command-snapshot.json')) ?? {},
    schemaDir,
    baselineSchemaDir: baselineDir,
    changelog: existsSync(join(root, 'CHANGELOG.md')) ? readFileSync(join(root, 'CHANGELOG.md'), 'utf8') : '',
    version,
    baselineVersion: readJson<{version: string}>(join(baselineDir, 'version.json'))?.version ?? '0.0.0',
  })
  for (const line of report.lines) log(line)
  return report.ok ? 0 : 1
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(resolve(join(dirname(fileURLToPath(import.meta.url)), '..')), process.argv.slice(2), {build: true})
}
