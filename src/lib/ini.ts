/**
 * A line-preserving reader/editor for the AWS shared credentials and config files.
 *
 * No npm library edits ini files safely (`ini` drops comments, `ini-api` truncates values
 * at a second `=`), so psb does what the AWS CLI does: it edits line by line. Every line
 * it does not change is written back byte for byte: comments (`#`, `;`), blank lines,
 * key order, indented sub-keys (`s3 =` then `  addressing_style = path`), CRLF endings,
 * a missing final newline, values containing `=`.
 *
 * Parsing follows the AWS SDK's own parser (@smithy/shared-ini-file-loader): a section
 * header is `[name]`, the first `=` splits key and value, a key with an empty value opens
 * indented sub-keys. A line that the SDK would read differently from us, or that we cannot
 * classify, makes parsing fail with the line number, so we never rewrite a file we do not
 * understand.
 */
import {PsbError, EXIT} from './errors.js'

export type LineKind = 'section' | 'entry' | 'subentry' | 'comment' | 'blank'

export interface IniLine {
  /** The line's text without its end-of-line. */
  text: string
  /** The line's end-of-line as found ('' for a last line without one). */
  eol: string
  kind: LineKind
  /** For 'section': the name inside the brackets (trimmed). */
  section?: string
  /** For 'entry' / 'subentry': the key (trimmed) and value (trimmed). */
  key?: string
  value?: string
}

export interface IniDocument {
  lines: IniLine[]
  /** The end-of-line used for lines psb adds: the file's own (CRLF if its first line has one). */
  eol: '\n' | '\r\n'
}

export class IniParseError extends PsbError {
  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super(`Cannot safely parse ${file}, line ${line}: ${reason}.`, {
      code: 'IniParseError',
      exitCode: EXIT.USAGE,
      hint: `Fix or remove line ${line} of ${file} by hand; psb does not rewrite a file it cannot read exactly as the AWS SDK does.`,
    })
  }
}

const SECTION = /^\s*\[([^[\]]*)\]\s*(?:[#;].*)?$/
const COMMENT = /^\s*[#;]/

export function parseIni(text: string, file = 'the file'): IniDocument {
  const lines: IniLine[] = []
  const re = /([^\r\n]*)(\r\n|\n|\r|$)/g
  let m: RegExpExecArray | null
  let inSection = false
  let subOpen = false
  let lineNo = 0
  let firstEol: string | undefined
  while ((m = re.exec(text)) !== null) {
    const [, body, eol] = m
    if (body === '' && eol === '') break
    lineNo++
    if (firstEol === undefined && eol) firstEol = eol
    if (eol === '\r') throw new IniParseError(file, lineNo, 'a lone carriage return (CR) line ending')
    if (body.trim() === '') {
      lines.push({text: body, eol, kind: 'blank'})
      continue
    }
    if (COMMENT.test(body)) {
      lines.push({text: body, eol, kind: 'comment'})
      continue
    }
    const sec = SECTION.exec(body)
    if (sec) {
      const name = sec[1].trim()
      if (name === '') throw new IniParseError(file, lineNo, 'an empty section name')
      lines.push({text: body, eol, kind: 'section', section: name})
      inSection = true
      subOpen = false
      continue
    }
    if (body.trimStart().startsWith('[')) throw new IniParseError(file, lineNo, 'a malformed section header')
    const eq = body.indexOf('=')
    if (eq === -1) throw new IniParseError(file, lineNo, 'a line that is neither a section, a comment nor a key = value pair')
    if (!inSection) throw new IniParseError(file, lineNo, 'a key = value pair before any [section]')
    const key = body.slice(0, eq).trim()
    const value = body.slice(eq + 1).trim()
    if (key === '') throw new IniParseError(file, lineNo, 'a value with no key')
    const indented = /^\s/.test(body)
    if (indented && subOpen) {
      lines.push({text: body, eol, kind: 'subentry', key, value})
      continue
    }
    lines.push({text: body, eol, kind: 'entry', key, value})
    subOpen = value === ''
  }
  return {lines, eol: firstEol === '\r\n' ? '\r\n' : '\n'}
}

export function serializeIni(doc: IniDocument): string {
  let out = ''
  for (const l of doc.lines) out += l.text + l.eol
  return out
}

export interface SectionRange {
  name: string
  /** Index of the header line. */
  header: number
  /** Index one past the section's last line. */
  end: number
}

export function sectionRanges(doc: IniDocument): SectionRange[] {
  const out: SectionRange[] = []
  doc.lines.forEach((l, i) => {
    if (l.kind === 'section') {
      if (out.length > 0) out[out.length - 1].end = i
      out.push({name: l.section!, header: i, end: doc.lines.length})
    }
  })
  return out
}

/** The top-level entries of a section (the last of duplicate sections wins, like the SDK). */
export function sectionEntries(doc: IniDocument, name: string): Record<string, string> | undefined {
  let found: Record<string, string> | undefined
  for (const r of sectionRanges(doc)) {
    if (r.name !== name) continue
    found = {...found}
    for (let i = r.header + 1; i < r.end; i++) {
      const l = doc.lines[i]
      if (l.kind === 'entry') found[l.key!] = l.value!
    }
  }
  return found
}

export function sectionNames(doc: IniDocument): string[] {
  return [...new Set(sectionRanges(doc).map((r) => r.name))]
}

/**
 * Sets (or, with `undefined`, removes) top-level keys of a section, in place: an existing
 * key keeps its line position, new keys go after the section's last entry, a missing
 * section is appended at the end of the file. Returns true when anything changed.
 */
export function setSectionKeys(doc: IniDocument, name: string, values: Record<string, string | undefined>): boolean {
  const ranges = sectionRanges(doc).filter((r) => r.name === name)
  let changed = false
  if (ranges.length === 0) {
    const toAdd = Object.entries(values).filter(([, v]) => v !== undefined) as [string, string][]
    if (toAdd.length === 0) return false
    const last = doc.lines.at(-1)
    if (last && last.eol === '') last.eol = doc.eol
    if (doc.lines.length > 0 && last && last.kind !== 'blank') doc.lines.push({text: '', eol: doc.eol, kind: 'blank'})
    doc.lines.push({text: `[${name}]`, eol: doc.eol, kind: 'section', section: name})
    for (const [k, v] of toAdd) doc.lines.push({text: `${k} = ${v}`, eol: doc.eol, kind: 'entry', key: k, value: v})
    return true
  }
  // Edit the last section of that name (the one the SDK reads last).
  const r = ranges.at(-1)!
  const pending = new Map(Object.entries(values))
  const remove: number[] = []
  for (let i = r.header + 1; i < r.end; i++) {
    const l = doc.lines[i]
    if (l.kind !== 'entry' || !pending.has(l.key!)) continue
    const v = pending.get(l.key!)
    if (v === undefined) {
      remove.push(i)
      // Its sub-entries go with it.
      for (let j = i + 1; j < r.end && doc.lines[j].kind === 'subentry'; j++) remove.push(j)
    } else if (l.value !== v) {
      const keyPart = l.text.slice(0, l.text.indexOf('='))
      const spacing = /=\s/.test(l.text) ? ' ' : ''
      l.text = `${keyPart}=${spacing}${v}`
      l.value = v
      changed = true
    }
    // Keep only the first of duplicate keys as the edited one; later duplicates of a
    // key we set would override it in the SDK, so they are removed.
    pending.set(l.key!, v === undefined ? undefined : v)
    if (v !== undefined) pending.delete(l.key!)
  }
  // Duplicates of a key we set further down the section.
  const setKeys = new Set(Object.entries(values).filter(([, v]) => v !== undefined).map(([k]) => k))
  const seen = new Set<string>()
  for (let i = r.header + 1; i < r.end; i++) {
    const l = doc.lines[i]
    if (l.kind === 'entry' && setKeys.has(l.key!)) {
      if (seen.has(l.key!)) remove.push(i)
      seen.add(l.key!)
    }
  }
  if (remove.length > 0) changed = true
  // Insert the keys that were not present after the last non-blank, non-comment line.
  const toAdd = [...pending.entries()].filter(([, v]) => v !== undefined) as [string, string][]
  if (toAdd.length > 0) {
    let at = r.end
    while (at - 1 > r.header && (doc.lines[at - 1].kind === 'blank' || doc.lines[at - 1].kind === 'comment')) at--
    const prev = doc.lines[at - 1]
    const added: IniLine[] = toAdd.map(([k, v]) => ({text: `${k} = ${v}`, eol: doc.eol, kind: 'entry', key: k, value: v}))
    if (prev.eol === '') {
      // The file ended here without a newline, and keeps ending without one.
      prev.eol = doc.eol
      added.at(-1)!.eol = ''
    }
    doc.lines.splice(at, 0, ...added)
    changed = true
    // Adjust removal indexes after the insertion point.
    for (let i = 0; i < remove.length; i++) if (remove[i] >= at) remove[i] += added.length
  }
  for (const i of [...new Set(remove)].sort((a, b) => b - a)) {
    const gone = doc.lines[i]
    doc.lines.splice(i, 1)
    if (i === doc.lines.length && gone.eol === '' && doc.lines.length > 0) doc.lines[doc.lines.length - 1].eol = ''
  }
  return changed
}

/** Profile name of a config-file section: `default`, or `profile NAME`; undefined for other kinds. */
export function configSectionProfile(section: string): string | undefined {
  if (section === 'default') return 'default'
  const m = /^profile\s+(.+)$/.exec(section)
  return m ? m[1].trim() : undefined
}

export function configSectionName(profile: string): string {
  return profile === 'default' ? 'default' : `profile ${profile}`
}
