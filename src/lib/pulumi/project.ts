/**
 * Reading and writing `backend: url:` in a Pulumi project file (Pulumi.yaml), keeping the
 * rest of the file byte for byte: the new value is spliced into the source text at the
 * position the YAML parser reports, so comments, quoting, spacing and line endings stay.
 */
import {existsSync, readFileSync, statSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {isMap, isScalar, parseAllDocuments, parseDocument, type Document} from 'yaml'
import {PsbError, badInput} from '../errors.js'
import {resolveSymlinks, writeFileAtomic} from '../files/atomic.js'

export const PROJECT_FILES = ['Pulumi.yaml', 'Pulumi.yml']

/** The project file in `dir` (Pulumi.yaml or Pulumi.yml), or undefined. */
export function findProjectFile(dir: string): string | undefined {
  for (const name of PROJECT_FILES) {
    const p = join(resolve(dir), name)
    if (existsSync(p)) return p
  }
  return undefined
}

function parseProject(text: string, file: string): Document.Parsed {
  const docs = parseAllDocuments(text)
  if (Array.isArray(docs) && docs.length > 1) {
    throw badInput(`${file} holds ${docs.length} YAML documents; a Pulumi project file holds one.`, 'Fix the file so that it is one YAML document, then run again.', 'ProjectFileInvalid')
  }
  const doc = parseDocument(text, {prettyErrors: true})
  const error = doc.errors[0]
  if (error) {
    const line = error.linePos?.[0].line
    throw badInput(`${file}${line ? ` line ${line}` : ''} is not valid YAML: ${error.message.split('\n')[0]}`, 'Fix the file (or run `pulumi about` in the project to see what Pulumi makes of it), then run again.', 'ProjectFileInvalid')
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw badInput(`${file} is not a YAML mapping (name:, runtime:, ...).`, 'Check that this is a Pulumi project file.', 'ProjectFileInvalid')
  }
  return doc
}

/** `backend.url` of the project in `dir` (or of the project file itself), if set. */
export function readProjectBackend(dirOrFile: string): string | undefined {
  const file = statSync(dirOrFile, {throwIfNoEntry: false})?.isDirectory() ? findProjectFile(dirOrFile) : dirOrFile
  if (!file || !existsSync(file)) return undefined
  try {
    const value = parseDocument(readFileSync(file, 'utf8')).getIn(['backend', 'url'])
    return typeof value === 'string' ? value : undefined
  } catch {
    return undefined
  }
}

/** `value` as a YAML scalar: plain when that reads back as the same string, else double-quoted. */
function scalarText(value: string): string {
  if (/^[A-Za-z0-9][A-Za-z0-9\-_.~!'()*%:/?&=+,@;$]*$/.test(value) && !/:$/.test(value)) {
    const back = parseDocument(`k: ${value}\n`).get('k')
    if (back === value) return value
  }
  return JSON.stringify(value)
}

/** The text of `file` with backend.url set to `url`, and what was there before. */
export function withProjectBackend(text: string, url: string, file = 'Pulumi.yaml'): {text: string; before?: string} {
  const doc = parseProject(text, file)
  const backend = doc.get('backend', true)
  const eol = text.includes('\r\n') ? '\r\n' : '\n'
  let out: string
  let before: string | undefined
  if (backend === undefined) {
    // No backend section: append one, leaving everything above untouched.
    const sep = text === '' || text.endsWith('\n') ? '' : eol
    out = `${text}${sep}backend:${eol}  url: ${scalarText(url)}${eol}`
  } else if (isMap(backend)) {
    const node = backend.get('url', true)
    if (isScalar(node) && node.range && node.value !== null) {
      before = String(node.value)
      if (before === url) return {text, before}
      const [start, end] = node.range
      out = text.slice(0, start) + scalarText(url) + text.slice(end)
    } else if (node === undefined || isScalar(node)) {
      // A backend mapping without url (or with an empty one): let the YAML library place it.
      doc.setIn(['backend', 'url'], url)
      out = doc.toString({lineWidth: 0})
    } else {
      throw badInput(`backend.url in ${file} is not a string.`, 'Make backend.url a single URL, then run again.', 'ProjectFileInvalid')
    }
  } else if (isScalar(backend) && (backend.value === null || backend.value === '')) {
    doc.set('backend', doc.createNode({url}))
    out = doc.toString({lineWidth: 0})
  } else {
    throw badInput(`backend in ${file} is not a mapping.`, 'Write it as `backend:` followed by an indented `url: ...` line, then run again.', 'ProjectFileInvalid')
  }
  // The result must say exactly what we meant, and keep every other setting.
  const check = parseDocument(out)
  if (check.errors.length > 0 || check.getIn(['backend', 'url']) !== url) {
    throw new PsbError(`Could not set backend.url in ${file} safely; the file was not changed.`, {code: 'ProjectFileUnsupported', hint: `Set it by hand:\nbackend:\n  url: ${JSON.stringify(url)}`})
  }
  return {text: out, before}
}

/** Atomic replace (temp file + fsync + rename), through a symlink, keeping mode and owner. */
function writeAtomic(file: string, text: string): void {
  const target = resolveSymlinks(file)
  const st = statSync(target)
  writeFileAtomic(target, text, {mode: st.mode & 0o777, owner: {uid: st.uid, gid: st.gid}})
}

export interface ProjectBackendResult {
  file: string
  changed: boolean
  before?: string
}

/**
 * Writes backend.url = `url` into the Pulumi project file in `dir` (atomically, same mode),
 * keeping the rest of the file. Bad input (exit 2) when the folder has no project file or
 * the file cannot be edited safely.
 */
export function setProjectBackend(dir: string, url: string, opts: {dryRun?: boolean} = {}): ProjectBackendResult {
  const folder = resolve(dir)
  if (!statSync(folder, {throwIfNoEntry: false})?.isDirectory()) {
    throw badInput(`--project ${dir}: no such folder.`, 'Give the folder of a Pulumi project (the one holding Pulumi.yaml).', 'ProjectNotFound')
  }
  const file = findProjectFile(folder)
  if (!file) {
    throw badInput(`${folder} has no Pulumi.yaml.`, 'Give the folder of a Pulumi project (create one with `pulumi new`), or leave out --project to log in for every project.', 'ProjectNotFound')
  }
  const text = readFileSync(file, 'utf8')
  const {text: next, before} = withProjectBackend(text, url, file)
  const changed = next !== text
  if (changed && !opts.dryRun) writeAtomic(file, next)
  return {file, changed, before}
}
