/**
 * A line-preserving reader/editor for the AWS shared credentials and config files.
 *
 * No npm library edits ini files safely (`ini` drops comments, `ini-api` truncates values
 * at a second `=`), so psb does what the AWS CLI does: it edits line by line. Every line
 * it does not change is written back byte for byte: comments (`#`, `;`), blank lines,
 * key order, indented sub-keys (`s3 =` then `  addressing_style = path`), CRLF endings,
 * a missing final newline, values containing `=`.
 *
 * Parsing follows the AWS SDK's own parser (@smithy/shared-ini-file-loader) exactly:
 *  - a `#` or `;` at the start of a line, or after whitespace, starts a comment (so
 *    `region = us-east-1 # main` has the value `us-east-1`, while `a=b;c` keeps `b;c`);
 *  - a section header is `[name]` (the name is not trimmed: `[ x ]` is the profile " x ");
 *  - the first `=` splits key and value; both are trimmed;
 *  - a key with an empty value opens indented sub-keys; an unindented key closes them;
 *  - in the config file, `[profile NAME]`, `[sso-session NAME]` and `[services NAME]` are
 *    prefixed sections (NAME may be quoted); `[profile default]` replaces `[default]`.
 * A line that the SDK would read differently from us, or that we cannot classify, makes
 * parsing fail with the line number, so psb never rewrites a file it does not understand.
 */
import {PsbError, EXIT, badInput} from '../errors.js'

export type LineKind = 'section' | 'entry' | 'subentry' | 'comment' | 'blank'

export interface IniLine {
  /** The line's text without its end-of-line. */
  text: string
  /** The line's end-of-line as found ('' for a last line without one). */
  eol: string
  kind: LineKind
  /** For 'section': the name inside the brackets, exactly as the SDK reads it (not trimmed). */
  section?: string
  /** For 'entry' / 'subentry': the key and value as the SDK reads them (trimmed, comment removed). */
  key?: string
  value?: string
  /**
   * For a line that is not valid UTF-8 (a Latin-1 comment, say): its bytes as read, and the
   * text they decoded to. While `text` is unchanged the line is written back as these bytes.
   */
  raw?: {text: string; bytes: Buffer}
}

export interface IniDocument {
  lines: IniLine[]
  /** The end-of-line used for lines psb adds: the file's own (CRLF if its first line ending is CRLF). */
  eol: '\n' | '\r\n'
}

export class IniParseError extends PsbError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`Cannot safely parse ${file}, line ${line}: ${reason}.`, {
      code: 'IniParseError',
      exitCode: EXIT.USAGE,
      hint: `Fix or remove line ${line} of ${file} by hand; psb does not rewrite a file it cannot read exactly as the AWS SDK does.`,
      data: {file, line},
    })
  }
}

/** Where the SDK cuts a comment off a line: `#` or `;` at the start or after whitespace. */
const COMMENT_START = /(^|\s)[;#]/
/** The SDK's rule for prefixed section names (`profile x`, `sso-session "y"`). */
const PREFIX_KEY = /^([\w-]+)\s(["'])?([\w-@+.%:/]+)\2$/
const SECTION_TYPES = ['profile', 'sso-session', 'services']
/** Section names the SDK refuses outright (it then ignores the whole file). */
const BLOCKED_SECTIONS = ['__proto__', 'profile __proto__']

/** The part of a line before its comment, as the SDK cuts it (not trimmed). */
function beforeComment(text: string): string {
  const m = COMMENT_START.exec(text)
  return m ? text.slice(0, m.index) : text
}

/**
 * Parses the file's text or bytes. Bytes are read as the SDK reads the file (UTF-8, an
 * invalid sequence as U+FFFD), and every line that is not valid UTF-8 keeps its bytes, so
 * serializeIniBytes writes it back exactly.
 */
export function parseIni(input: string | Buffer, file = 'the file'): IniDocument {
  if (typeof input === 'string') return parseText(input, file)
  const text = input.toString('utf8')
  const doc = parseText(text, file)
  // Not valid UTF-8: a line feed is never part of a multi-byte sequence (nor swallowed by
  // the decoder), so line i of the text is line i of the bytes.
  // A line without U+FFFD decoded without loss (an invalid sequence always gives U+FFFD).
  let pos = 0
  for (const l of doc.lines) {
    // Stryker disable next-line ConditionalExpression,StringLiteral,BlockStatement: a shortcut; without it such a line gets a `raw` equal to its own UTF-8, written back the same.
    if (!l.text.includes('\ufffd')) {
      pos += Buffer.byteLength(l.text) + l.eol.length
      continue
    }
    const nl = input.indexOf(10, pos)
    const end = nl === -1 ? input.length : nl + 1
    const bytes = input.subarray(pos, end - l.eol.length)
    // (A valid U+FFFD gets a `raw` equal to its own UTF-8, written back the same.)
    l.raw = {text: l.text, bytes: Buffer.from(bytes)}
    pos = end
  }
  return doc
}

function parseText(text: string, file: string): IniDocument {
  const lines: IniLine[] = []
  let inSection = false
  // Stryker disable next-line BooleanLiteral: before the first section only blanks and comments are allowed (an entry there throws), and a section resets it.
  let subOpen = false
  let lineNo = 0
  let firstEol: string | undefined
  const len = text.length
  let pos = 0
  while (pos < len) {
    lineNo++
    const nl = text.indexOf('\n', pos)
    let end = nl === -1 ? len : nl
    let eol = nl === -1 ? '' : '\n'
    if (text.charCodeAt(nl - 1) === 13) {
      end = nl - 1
      eol = '\r\n'
    }
    const body = text.slice(pos, end)
    pos = nl === -1 ? len : nl + 1
    if (firstEol === undefined && eol) firstEol = eol
    if (body.includes('\r')) throw new IniParseError(file, lineNo, 'a lone carriage return (CR) line ending')
    const trimmed = body.trim()
    if (trimmed === '') {
      lines.push({text: body, eol, kind: 'blank'})
      continue
    }
    // The SDK cuts the comment off the line, then trims (cutting the trimmed line is the same).
    const stripped = beforeComment(trimmed).trim()
    if (stripped === '') {
      lines.push({text: body, eol, kind: 'comment'})
      continue
    }
    if (stripped.charCodeAt(0) === 91 /* [ */) {
      if (!stripped.endsWith(']')) throw new IniParseError(file, lineNo, 'a malformed section header (text after the closing "]" that is not a comment)')
      const name = stripped.slice(1, -1)
      if (name.includes('[') || name.includes(']')) throw new IniParseError(file, lineNo, 'a section header with "[" or "]" inside its name')
      if (name.trim() === '') throw new IniParseError(file, lineNo, 'an empty section name')
      if (BLOCKED_SECTIONS.includes(name)) throw new IniParseError(file, lineNo, `the section name "${name}", which the AWS SDK refuses`)
      lines.push({text: body, eol, kind: 'section', section: name})
      inSection = true
      subOpen = false
      continue
    }
    const eq = stripped.indexOf('=')
    if (eq === -1) throw new IniParseError(file, lineNo, 'a line that is neither a section, a comment nor a key = value pair')
    if (eq === 0) throw new IniParseError(file, lineNo, 'a value with no key')
    if (!inSection) throw new IniParseError(file, lineNo, 'a key = value pair before any [section]')
    const key = stripped.slice(0, eq).trim()
    const value = stripped.slice(eq + 1).trim()
    if (subOpen && body.length !== body.trimStart().length) {
      lines.push({text: body, eol, kind: 'subentry', key, value})
      continue
    }
    lines.push({text: body, eol, kind: 'entry', key, value})
    subOpen = value === ''
  }
  return {lines, eol: firstEol === '\r\n' ? '\r\n' : '\n'}
}

/** The document as text (a line that was not valid UTF-8 comes back decoded: see serializeIniBytes). */
export function serializeIni(doc: IniDocument): string {
  let out = ''
  for (const l of doc.lines) out += l.text + l.eol
  return out
}

/** The document as bytes: every line psb did not change is written back byte for byte. */
export function serializeIniBytes(doc: IniDocument): Buffer {
  const parts: Buffer[] = []
  let run = ''
  for (const l of doc.lines) {
    if (l.raw && l.raw.text === l.text) {
      parts.push(Buffer.from(run), l.raw.bytes)
      run = l.eol
    } else run += l.text + l.eol
  }
  parts.push(Buffer.from(run))
  return Buffer.concat(parts)
}

/**
 * The key under which the SDK files a section: the name itself (`default`, `pulumi`), or
 * `profile.NAME` / `sso-session.NAME` / `services.NAME` for prefixed sections (quotes
 * removed). Undefined for a section the SDK ignores (`[foo bar]`: an unknown prefix).
 */
export function sdkSectionKey(name: string): string | undefined {
  const m = PREFIX_KEY.exec(name)
  if (m) return SECTION_TYPES.includes(m[1]) ? `${m[1]}.${m[3]}` : undefined
  return name
}

/** True when the SDK reads the two section names as the same section. */
export function sameSection(a: string, b: string): boolean {
  if (a === b) return true
  // `[profile x]`, `[profile "x"]` and `[profile.x]` are all the SDK's `profile.x`.
  const ka = sdkSectionKey(a)
  return ka !== undefined && ka === sdkSectionKey(b)
}

interface SectionRange {
  name: string
  /** Index of the header line. */
  header: number
  /** Index one past the section's last line. */
  end: number
}

function sectionRanges(doc: IniDocument): SectionRange[] {
  const out: SectionRange[] = []
  const lines = doc.lines
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].kind !== 'section') continue
    if (out.length > 0) out[out.length - 1].end = i
    out.push({name: lines[i].section!, header: i, end: lines.length})
  }
  return out
}

/**
 * The top-level entries of a section, as the SDK reads them: sections that are the same for
 * the SDK (duplicates, `[profile x]` and `[profile "x"]`) are merged, a later key wins.
 * Keys with an empty value (they open sub-keys) are left out, as the SDK does. Key names
 * are given in lower case and match whatever their case (`AWS_ACCESS_KEY_ID` is
 * `aws_access_key_id`), as botocore and the AWS CLI read them.
 */
export function sectionEntries(doc: IniDocument, name: string): Record<string, string> | undefined {
  let found: Record<string, string> | undefined
  for (const r of sectionRanges(doc)) {
    if (!sameSection(r.name, name)) continue
    found ??= {}
    for (let i = r.header + 1; i < r.end; i++) {
      const l = doc.lines[i]
      if (l.kind === 'entry' && l.value !== '') found[l.key!.toLowerCase()] = l.value!
    }
  }
  return found
}

/** The top-level key names of a section (all its occurrences), spelled as in the file. */
export function sectionKeyNames(doc: IniDocument, name: string): string[] {
  const out: string[] = []
  for (const r of sectionRanges(doc)) {
    if (!sameSection(r.name, name)) continue
    for (let i = r.header + 1; i < r.end; i++) if (doc.lines[i].kind === 'entry') out.push(doc.lines[i].key!)
  }
  return out
}

/** Section names in file order, each once (raw, as in the headers). */
export function sectionNames(doc: IniDocument): string[] {
  return [...new Set(sectionRanges(doc).map((r) => r.name))]
}

/**
 * What the SDK's `parseIni` returns for this document: section key → key → value, with
 * sub-keys as `parent.child`. Used to read profiles exactly as the SDK will, and by tests
 * to prove this parser and the SDK's agree.
 */
export function sdkParse(doc: IniDocument): Record<string, Record<string, string>> {
  const map: Record<string, Record<string, string>> = {}
  let current: string | undefined
  let sub: string | undefined
  for (const l of doc.lines) {
    if (l.kind === 'section') {
      current = sdkSectionKey(l.section!)
      sub = undefined
      continue
    }
    if ((l.kind !== 'entry' && l.kind !== 'subentry') || current === undefined) continue
    if (l.value === '') {
      sub = l.key
      continue
    }
    if (l.kind === 'entry') sub = undefined
    map[current] ??= {}
    map[current][sub ? `${sub}.${l.key}` : l.key!] = l.value!
  }
  return map
}

/** The SDK's view of a config file: profiles by bare name, other prefixed sections kept prefixed. */
export function sdkConfigData(parsed: Record<string, Record<string, string>>): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {}
  if (parsed.default) out.default = parsed.default
  for (const [key, value] of Object.entries(parsed)) {
    const dot = key.indexOf('.')
    if (dot === -1 || !SECTION_TYPES.includes(key.slice(0, dot))) continue
    out[key.slice(0, dot) === 'profile' ? key.slice(dot + 1) : key] = value
  }
  return out
}

const KEY_NAME = /^[A-Za-z0-9_.-]+$/

function checkValue(key: string, value: string): void {
  if (!KEY_NAME.test(key)) throw badInput(`"${key}" is not a key psb can write to an AWS ini file.`, undefined, 'IniKeyInvalid')
  if (value === '' || value !== value.trim() || /[\r\n]/.test(value) || COMMENT_START.test(value)) {
    throw badInput(
      `The value for "${key}" cannot be written to an AWS ini file: it is empty, has leading or trailing spaces, a line break, or a "#"/";" after a space (the AWS SDK would cut it off there).`,
      undefined,
      'IniValueInvalid',
    )
  }
}

/** The line with its value replaced; its key, spacing and any trailing comment stay. */
function replaceValue(text: string, value: string): {text: string; head: string; tail: string} {
  const piece = beforeComment(text)
  const eq = piece.indexOf('=')
  const end = piece.trimEnd().length
  let start = eq + 1
  // Past `end` there is only whitespace: start >= end either way.
  while (/\s/.test(piece[start] ?? '')) start++
  const [head, mid, tail] = start >= end ? [text.slice(0, eq + 1), ` ${value}`, text.slice(end)] : [text.slice(0, start), value, text.slice(end)]
  return {text: head + mid + tail, head, tail}
}

/**
 * Sets an entry line's value. On a line that is not valid UTF-8, the bytes of its key and
 * of its trailing comment are kept as they were (when the key and old value are valid).
 */
function setLineValue(l: IniLine, value: string): void {
  const r = replaceValue(l.text, value)
  const kept = l.text.slice(0, l.text.length - r.tail.length)
  if (l.raw && l.raw.text === l.text && !kept.includes('\ufffd')) {
    // The bytes before the tail are exactly the UTF-8 of `kept` (it decoded without loss).
    const tailBytes = l.raw.bytes.subarray(Buffer.byteLength(kept))
    l.raw = {text: r.text, bytes: Buffer.concat([Buffer.from(r.text.slice(0, r.text.length - r.tail.length)), tailBytes])}
  }
  l.text = r.text
  l.value = value
}

/** `key = value` or `key=value`, following the first entry of the section. */
function entryText(doc: IniDocument, header: number, end: number, key: string, value: string): string {
  for (let i = header + 1; i < end; i++) {
    const l = doc.lines[i]
    if (l.kind === 'entry' && l.value !== '') {
      if (/^\s*[^=\s]+=\S/.test(l.text)) return `${key}=${value}`
      break
    }
  }
  return `${key} = ${value}`
}

/** Indexes of an entry line and the sub-entries under it. */
function entryWithSubs(doc: IniDocument, i: number, end: number): number[] {
  const out = [i]
  // Sub-entries follow only an entry with an empty value, up to the next entry (a section is always followed by an entry first).
  for (let j = i + 1; j < end && doc.lines[j].kind !== 'entry'; j++) {
    if (doc.lines[j].kind === 'subentry') out.push(j)
  }
  return out
}

/**
 * Sets (or, with `undefined`, removes) top-level keys of a section, in place.
 *
 * The section is found as the SDK finds it (duplicates and `[profile "x"]` count as the
 * same section). Key names match whatever their case, as botocore reads them (it takes
 * `AWS_ACCESS_KEY_ID` and `aws_access_key_id` for the same key, and refuses a file that has
 * both). A set key keeps the line position and spelling of its last occurrence (the one the
 * SDK reads), and other occurrences of it in the same SDK section are removed; a removed
 * key goes from every occurrence. New keys go after the last section's last entry; a missing
 * section is appended at the end of the file. A file without a final newline keeps lacking
 * one. Returns true when anything changed.
 */
export function setSectionKeys(doc: IniDocument, name: string, values: Record<string, string | undefined>): boolean {
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) {
      if (!KEY_NAME.test(k)) throw badInput(`"${k}" is not a key psb can write to an AWS ini file.`, undefined, 'IniKeyInvalid')
    } else checkValue(k, v)
  }
  const ranges = sectionRanges(doc).filter((r) => sameSection(r.name, name))
  if (ranges.length === 0) {
    const toSet = Object.entries(values).filter(([, v]) => v !== undefined) as [string, string][]
    if (toSet.length === 0) return false
    appendSection(doc, name, toSet)
    return true
  }
  const edits = editExistingKeys(doc, ranges, values)
  let changed = edits.changed || edits.remove.size > 0
  let insertAt = 0
  if (edits.missing.length > 0) {
    insertAt = insertMissing(doc, ranges.at(-1)!, edits.missing, edits.remove)
    changed = true
  }
  removeLines(doc, edits.remove, insertAt, edits.missing.length)
  return changed
}

/** A new section with these keys at the end of the file (which keeps lacking a final newline if it did). */
function appendSection(doc: IniDocument, name: string, toSet: [string, string][]): void {
  const last = doc.lines.at(-1)
  const noFinalEol = last !== undefined && last.eol === ''
  if (last && noFinalEol) last.eol = doc.eol
  if (last && last.kind !== 'blank') doc.lines.push({text: '', eol: doc.eol, kind: 'blank'})
  doc.lines.push({text: `[${name}]`, eol: doc.eol, kind: 'section', section: name})
  for (const [k, v] of toSet) doc.lines.push({text: `${k} = ${v}`, eol: doc.eol, kind: 'entry', key: k, value: v})
  if (noFinalEol) doc.lines.at(-1)!.eol = ''
}

/** Sets the keys that exist in place; returns the lines to remove and the keys still missing. */
function editExistingKeys(doc: IniDocument, ranges: SectionRange[], values: Record<string, string | undefined>): {changed: boolean; remove: Set<number>; missing: [string, string][]} {
  let changed = false
  const remove = new Set<number>()
  const missing: [string, string][] = []
  for (const [k, v] of Object.entries(values)) {
    const at: number[] = []
    const lower = k.toLowerCase()
    for (const r of ranges) for (let i = r.header + 1; i < r.end; i++) if (doc.lines[i].kind === 'entry' && doc.lines[i].key!.toLowerCase() === lower) at.push(i)
    if (v === undefined) {
      for (const i of at) for (const j of entryWithSubs(doc, i, doc.lines.length)) remove.add(j)
      continue
    }
    if (at.length === 0) {
      missing.push([k, v])
      continue
    }
    const keep = at.at(-1)!
    for (const i of at.slice(0, -1)) for (const j of entryWithSubs(doc, i, doc.lines.length)) remove.add(j)
    const l = doc.lines[keep]
    if (l.value !== v) {
      // A key that opened sub-keys no longer does: its sub-keys go with the old value.
      for (const j of entryWithSubs(doc, keep, doc.lines.length).slice(1)) remove.add(j)
      setLineValue(l, v)
      changed = true
    }
  }
  return {changed, remove, missing}
}

/** The missing keys after the last entry of the section `r`; returns where they went. */
function insertMissing(doc: IniDocument, r: SectionRange, missing: [string, string][], remove: Set<number>): number {
  let at = r.end
  // Stops at the section's header at the latest.
  while (doc.lines[at - 1].kind === 'blank' || doc.lines[at - 1].kind === 'comment' || remove.has(at - 1)) at--
  const prev = doc.lines[at - 1]
  const added: IniLine[] = missing.map(([k, v]) => ({text: entryText(doc, r.header, r.end, k, v), eol: doc.eol, kind: 'entry', key: k, value: v}))
  if (prev.eol === '') {
    // The file ended here without a newline, and keeps ending without one.
    prev.eol = doc.eol
    added.at(-1)!.eol = ''
  }
  doc.lines.splice(at, 0, ...added)
  return at
}

/** Removes the lines (indexes from before `inserted` lines went in at `insertAt`). */
function removeLines(doc: IniDocument, remove: Set<number>, insertAt: number, inserted: number): void {
  const removals = [...remove].map((i) => (i >= insertAt ? i + inserted : i)).sort((a, b) => b - a)
  for (const i of removals) {
    const gone = doc.lines[i]
    doc.lines.splice(i, 1)
    // Only the last line lacks an end-of-line; the section's header always stays.
    if (gone.eol === '') doc.lines[doc.lines.length - 1].eol = ''
  }
}

/**
 * The profile a config-file section belongs to, as the SDK reads it: `default` for
 * `[default]` and `[profile default]`, NAME for `[profile NAME]` / `[profile "NAME"]`;
 * undefined for other sections.
 */
export function configSectionProfile(section: string): string | undefined {
  if (section === 'default') return 'default'
  const key = sdkSectionKey(section)
  return key?.startsWith('profile.') ? key.slice('profile.'.length) : undefined
}

/** The config-file section name psb writes for a profile: `default`, or `profile NAME`. */
export function configSectionName(profile: string): string {
  return profile === 'default' ? 'default' : `profile ${profile}`
}

/**
 * The config-file section the SDK reads for a profile in this document: for `default`,
 * `[profile default]` when the file has one (it replaces `[default]`), else `[default]`.
 */
export function configSectionFor(doc: IniDocument, profile: string): string {
  if (profile === 'default' && sectionRanges(doc).some((r) => sdkSectionKey(r.name) === 'profile.default')) return 'profile default'
  return configSectionName(profile)
}
