/**
 * The layout measures of issue 11, printed and enforced (`npm run measures`; CI runs it):
 *   - no function or method body longer than MAX_BODY lines (src/);
 *   - no file under src/commands/ longer than MAX_COMMAND lines;
 *   - at most MAX_LIB_TOP files directly in src/lib/ (the shared ground);
 *   - a domain folder of src/lib/ imports only the shared ground and the domains below it
 *     (LAYERS, lowest first), so the domains have no cycle; the ground imports only itself.
 * A ratchet: scripts/measures-baseline.json lists the violations that are still allowed, each
 * at its size then. A violation not in it, or one that grew, fails (exit 1); one that shrank or
 * went is reported, and `--update` rewrites the baseline (it only ever shrinks it). An empty
 * baseline is the goal of issue 11.
 */
import {existsSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join, relative, resolve, sep} from 'node:path'
import {fileURLToPath} from 'node:url'
import ts from 'typescript'

export const MAX_BODY = 60
export const MAX_COMMAND = 120
export const MAX_LIB_TOP = 8
/** src/lib's domain folders, lowest first: each may import the ground and the ones before it. */
export const LAYERS = ['aws', 'files', 'bucket', 'iam', 'kms', 'keys', 'schedule', 'pulumi', 'ci', 'state', 'verify', 'destroy', 'init', 'fleet']

export interface Violation { rule: string; where: string; detail: string; key: string; size: number }
export interface Report {
  violations: Violation[]
  longestBody: {where: string; lines: number}
  bodiesOver: number
  commandsOver: number
  libTopFiles: number
}

function walk(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...walk(p))
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p)
  }
  return out
}

function lineOf(sf: ts.SourceFile, pos: number): number {
  return sf.getLineAndCharacterOfPosition(pos).line
}

function nameOf(node: ts.Node, sf: ts.SourceFile): string {
  const named = node as ts.Node & {name?: ts.Node}
  if (named.name) return named.name.getText(sf)
  const parent = node.parent
  if (parent && ts.isVariableDeclaration(parent)) return parent.name.getText(sf)
  if (parent && ts.isPropertyAssignment(parent)) return parent.name.getText(sf)
  return '(anonymous)'
}

/** Every function-like body in a file, with its length in lines (braces included). */
export function functionBodies(file: string, text = readFileSync(file, 'utf8')): {name: string; line: number; lines: number}[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const out: {name: string; line: number; lines: number}[] = []
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body && ts.isBlock(node.body as ts.Node)) {
      const body = node.body as ts.Block
      const lines = lineOf(sf, body.getEnd()) - lineOf(sf, body.getStart(sf)) + 1
      out.push({name: nameOf(node, sf), line: lineOf(sf, node.getStart(sf)) + 1, lines})
    }
    ts.forEachChild(node, visit)
  }
  visit(sf)
  return out
}

/** The relative imports of a file, resolved to paths under src/. */
export function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const out: string[] = []
  const add = (spec: string): void => {
    if (spec.startsWith('.')) out.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')))
  }
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) add(node.moduleSpecifier.text)
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) add(node.arguments[0].text)
    ts.forEachChild(node, visit)
  }
  visit(sf)
  return out
}

/** A src/lib file's place: 'ground' (directly in src/lib) or its domain folder. */
export function domainOf(libDir: string, file: string): string | undefined {
  const rel = relative(libDir, file)
  if (rel.startsWith('..')) return undefined
  const parts = rel.split(sep)
  return parts.length === 1 ? 'ground' : parts[0]
}

export function layerViolation(from: string, to: string): string | undefined {
  if (to === 'ground' || from === to) return undefined
  if (from === 'ground') return `the shared ground imports the ${to}/ domain`
  const a = LAYERS.indexOf(from)
  const b = LAYERS.indexOf(to)
  if (a < 0) return `${from}/ is not a known domain (add it to LAYERS in scripts/measures.ts)`
  if (b < 0) return `${to}/ is not a known domain (add it to LAYERS in scripts/measures.ts)`
  return b > a ? `${from}/ imports ${to}/, which is above it` : undefined
}

export function measure(root: string): Report {
  const src = join(root, 'src')
  const libDir = join(src, 'lib')
  const violations: Violation[] = []
  let longestBody = {where: '', lines: 0}
  let bodiesOver = 0
  let commandsOver = 0
  for (const file of walk(src)) {
    const rel = relative(root, file)
    const text = readFileSync(file, 'utf8')
    for (const b of functionBodies(file, text)) {
      if (b.lines > longestBody.lines) longestBody = {where: `${rel}:${b.line} ${b.name}`, lines: b.lines}
      if (b.lines > MAX_BODY) {
        bodiesOver++
        violations.push({rule: 'function-length', where: `${rel}:${b.line}`, detail: `${b.name} is ${b.lines} lines (at most ${MAX_BODY})`, key: `function-length ${rel} ${b.name}`, size: b.lines})
      }
    }
    if (file.startsWith(join(src, 'commands') + sep)) {
      const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0)
      if (lines > MAX_COMMAND) {
        commandsOver++
        violations.push({rule: 'command-length', where: rel, detail: `${lines} lines (at most ${MAX_COMMAND})`, key: `command-length ${rel}`, size: lines})
      }
    }
    const from = domainOf(libDir, file)
    if (from) {
      for (const imp of importsOf(file, text)) {
        const to = domainOf(libDir, imp)
        if (!to) {
          violations.push({rule: 'layers', where: rel, detail: `the core imports ${relative(root, imp)}, outside src/lib`, key: `layers ${rel} ${relative(root, imp)}`, size: 1})
          continue
        }
        const problem = layerViolation(from, to)
        if (problem) violations.push({rule: 'layers', where: rel, detail: `${problem} (${relative(root, imp)})`, key: `layers ${rel} ${relative(root, imp)}`, size: 1})
      }
    }
  }
  const libTopFiles = readdirSync(libDir).filter((n) => n.endsWith('.ts') && statSync(join(libDir, n)).isFile()).length
  if (libTopFiles > MAX_LIB_TOP) violations.push({rule: 'lib-top', where: 'src/lib', detail: `${libTopFiles} files directly in src/lib (at most ${MAX_LIB_TOP})`, key: 'lib-top src/lib', size: libTopFiles})
  return {violations, longestBody, bodiesOver, commandsOver, libTopFiles}
}

export type Baseline = Record<string, number>

/** The violations the baseline does not allow (new, or grown), and the allowances no longer needed. */
export function judge(violations: Violation[], baseline: Baseline): {failing: Violation[]; improved: string[]} {
  const failing = violations.filter((v) => baseline[v.key] === undefined || v.size > baseline[v.key])
  const now = new Map(violations.map((v) => [v.key, v.size]))
  const improved = Object.keys(baseline).filter((k) => !now.has(k) || now.get(k)! < baseline[k])
  return {failing, improved}
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? join(dirname(fileURLToPath(import.meta.url)), '..'))
  const baselineFile = join(root, 'scripts', 'measures-baseline.json')
  const baseline: Baseline = existsSync(baselineFile) ? JSON.parse(readFileSync(baselineFile, 'utf8')) : {}
  const r = measure(root)
  const {failing, improved} = judge(r.violations, baseline)
  console.log(`measures: longest function body ${r.longestBody.lines} lines (${r.longestBody.where}); ${r.bodiesOver} over ${MAX_BODY}; ${r.commandsOver} command files over ${MAX_COMMAND} lines; ${r.libTopFiles} files directly in src/lib (at most ${MAX_LIB_TOP}); ${r.violations.length - failing.length} still allowed by the baseline`)
  for (const k of improved) console.log(`  better than the baseline: ${k} (run with --update to lock it in)`)
  if (process.argv.includes('--update')) {
    const next: Baseline = {}
    for (const v of r.violations) if (baseline[v.key] !== undefined) next[v.key] = Math.min(v.size, baseline[v.key])
    writeFileSync(baselineFile, JSON.stringify(next, null, 2) + '\n')
    console.log(`measures: baseline rewritten with ${Object.keys(next).length} allowance(s)`)
  }
  for (const v of failing) console.log(`  ${v.rule}: ${v.where}: ${v.detail}${baseline[v.key] !== undefined ? ` (the baseline allows ${baseline[v.key]})` : ''}`)
  if (failing.length > 0) {
    console.log(`measures: ${failing.length} regression(s): split the code, or (only when it really is one unit) explain why in review`)
    process.exitCode = 1
  }
}
