/**
 * Writing and reading profiles in the AWS shared credentials and config files.
 *
 * `writeProfile` puts a profile's access key into the credentials file (`[name]`) and, when
 * given, its region into the config file (`[default]` / `[profile name]`), without harming
 * anything else: every other line survives byte for byte (see ini.ts), keys psb does not own
 * stay in the profile, and a stale session token is removed. Every write is atomic, 0600,
 * locked and backed up (see files.ts). `editIniFile` is the same machinery for any edit
 * (used by `keys rotate` and `init`).
 */
import {readFileSync} from 'node:fs'
import type {StaticCredentials} from '../aws/client.js'
import {configFilePath, credentialsFilePath, readProfiles, readSharedFile, validateRegion, type Env} from './aws-config.js'
import {echo} from '../echo.js'
import {badInput} from '../errors.js'
import {fileError, lockedUpdateBytes, removeStaleTemps, resolveSymlinks, type LockedUpdateOptions, type LockedUpdateResult} from './atomic.js'
import {configSectionFor, configSectionName, parseIni, sectionEntries, sectionKeyNames, serializeIniBytes, setSectionKeys, type IniDocument} from './ini.js'
import {maskKeyId, redact, registerSecret, REDACTED} from '../redact.js'
import {collectingLogger, silentLogger, type Change, type ChangeStatus, type Logger} from '../types.js'

export type {Env} from './aws-config.js'
export type {IniDocument} from './ini.js'

// ------------------------------------------------------------------ editIniFile

/** The options of a locked, atomic, backed-up update (see lockedUpdate in files.ts). */
export type EditIniOptions = LockedUpdateOptions

/** What the edit did: `path` is the file written (the target when `path` was a symlink). */
export type EditIniResult = LockedUpdateResult

/**
 * Atomic, locked, backed-up edit of an ini file; `mutate` returns true when it changed the doc.
 * The file is read and parsed under the lock (a missing file is an empty document); a file
 * that cannot be parsed safely throws IniParseError (exit 2) and nothing is written.
 */
export async function editIniFile(path: string, mutate: (doc: IniDocument) => boolean, opts: EditIniOptions = {}): Promise<EditIniResult> {
  return lockedUpdateBytes(
    path,
    (before) => {
      const doc = parseIni(before, path)
      return mutate(doc) ? serializeIniBytes(doc) : before
    },
    opts,
  )
}

/**
 * Puts a backup's content back in place of `path` (atomic, locked, 0600). The content being
 * replaced is itself backed up first, so a restore can be undone.
 */
export async function restoreFromBackup(path: string, backup: string, opts: Pick<EditIniOptions, 'logger' | 'env' | 'lock' | 'keepBackups'> = {}): Promise<void> {
  let content: Buffer
  try {
    content = readFileSync(backup)
  } catch (error) {
    throw fileError('read the backup', backup, error)
  }
  await lockedUpdateBytes(path, () => content, {...opts, backup: true})
}

// ------------------------------------------------------------------ validation

/** Characters the AWS SDK accepts in a `[profile NAME]` section (anything else it ignores). */
const PROFILE_NAME = /^[A-Za-z0-9_\-@+.%:/]+$/

export function validateProfileName(name: string): void {
  const hint = 'Use a name of letters, digits and _ - . @ + % : / only, for example "pulumi" or "pulumi-prod".'
  const fail = (why: string) => {
    throw badInput(`The profile name ${echo(name, {what: 'profile name'})} ${why}.`, hint, 'ProfileNameInvalid')
  }
  if (name === '') fail('is empty')
  if (/[\r\n]/.test(name)) fail('contains a line break')
  if (/[[\]]/.test(name)) fail('contains "[" or "]" (it would break the section header)')
  if (name.includes('=')) fail('contains "="')
  if (name !== name.trim()) fail('has leading or trailing spaces')
  if (name === '__proto__') fail('is reserved')
  if (name.length > 256) fail('is longer than 256 characters')
  if (!PROFILE_NAME.test(name)) fail('contains characters the AWS SDK does not accept in a profile name (such as spaces, quotes, "#" or ";")')
}

const KEY_ID = /^[A-Z0-9]{16,128}$/

/**
 * The key of another S3-compatible store (MinIO: 3 or more characters of any kind; R2: 32
 * hex characters): any printable ASCII without what could break or inject into the file.
 */
function nonAwsProblem(value: string, isId: boolean, min: number): string | undefined {
  if (value === '') return 'is empty'
  if (/[\r\n]/.test(value)) return 'contains a line break'
  if (/\s/.test(value)) return 'contains spaces'
  if (/[[\]]/.test(value) && isId) return 'contains "[" or "]" (it would break the file\'s sections)'
  if (value.includes('=') && isId) return 'contains "="'
  if (!/^[\x21-\x7e]+$/.test(value)) return 'contains characters other than printable ASCII'
  if (value.length < min || value.length > 256) return `is ${value.length} characters long (psb accepts ${min} to 256 for a store's own key)`
  return undefined
}

export interface KeyShape {
  /** The key is another S3-compatible store's, not AWS's (--endpoint or --non-aws-key): its shape is not AWS's. */
  nonAws?: boolean
}

export function validateAccessKeyId(id: string, shape: KeyShape = {}): void {
  if (shape.nonAws) {
    const why = nonAwsProblem(id, true, 3)
    if (why) throw badInput(`The access key id ${why}.`, 'Give the access key id exactly as the store shows it (no spaces, line breaks, "[", "]" or "=").', 'AccessKeyIdInvalid')
    return
  }
  if (KEY_ID.test(id)) return
  const why =
    id === ''
      ? 'is empty'
      : id !== id.trim()
        ? 'has leading or trailing spaces'
        : /[a-z]/.test(id) && /^[A-Z0-9]+$/i.test(id)
          ? 'contains lowercase letters'
          : id.length < 16 || id.length > 128
            ? `is ${id.length} characters long (AWS access key ids are 16 to 128)`
            : 'contains characters other than uppercase letters and digits'
  // A key id is not secret, but something pasted into the wrong flag might be: never echo it.
  throw badInput(
    `The access key id ${why}.`,
    'Give the access key id as AWS shows it: 20 uppercase letters and digits starting with AKIA, e.g. AKIAIOSFODNN7EXAMPLE. For the key of another S3-compatible store (MinIO, R2, Ceph…), pass --endpoint or --non-aws-key.',
    'AccessKeyIdInvalid',
  )
}

const SECRET = /^[A-Za-z0-9/+=]{16,128}$/

export function validateSecretAccessKey(secret: string, shape: KeyShape = {}): void {
  if (shape.nonAws) {
    const why = nonAwsProblem(secret, false, 8)
    if (why) throw badInput(`The secret access key ${why}.`, 'Give the secret exactly as the store showed it when the key was created.', 'SecretAccessKeyInvalid')
    return
  }
  if (SECRET.test(secret)) return
  const why =
    secret === ''
      ? 'is empty'
      : secret !== secret.trim()
        ? 'has leading or trailing whitespace (or more than one line)'
        : secret.length < 16 || secret.length > 128
          ? `is ${secret.length} characters long (AWS secret access keys are 40; psb accepts 16 to 128)`
          : 'contains characters other than letters, digits, "/", "+" and "="'
  throw badInput(`The secret access key ${why}.`, 'Give the secret exactly as AWS showed it when the key was created (40 characters of letters, digits, "/" and "+").', 'SecretAccessKeyInvalid')
}

// ------------------------------------------------------------------ reading

/** The static keys of a profile, read as the AWS SDK reads them; undefined when it has none. */
export function readProfileCredentials(profile: string, env: Env = process.env): StaticCredentials | undefined {
  const p = readProfiles(env)[profile]
  if (!p?.aws_access_key_id || !p.aws_secret_access_key) return undefined
  registerSecret(p.aws_secret_access_key)
  registerSecret(p.aws_session_token)
  return {
    accessKeyId: p.aws_access_key_id,
    secretAccessKey: p.aws_secret_access_key,
    ...(p.aws_session_token ? {sessionToken: p.aws_session_token} : {}),
  }
}

/** The profiles (sorted) whose access key id is `accessKeyId`. */
export function profilesHoldingKey(accessKeyId: string, env: Env = process.env): string[] {
  return Object.entries(readProfiles(env))
    .filter(([, v]) => v.aws_access_key_id === accessKeyId)
    .map(([k]) => k)
    .sort()
}

// ------------------------------------------------------------------ diff

export interface DiffLine {
  /** The file the line is in. */
  file: string
  /** Line number: in the old file for '-', in the new file for '+'. */
  line: number
  op: '-' | '+'
  /** The line, with secrets replaced by **** and key ids masked. */
  text: string
}

/** One line of an ini file, fit to show: secret values replaced, key ids masked. */
export function redactIniLine(text: string): string {
  // `s`: a value with a line or paragraph separator (U+2028) in it is still one value. No
  // anchors needed: the match starts at 0 (the key is everything before the first "=") and
  // the value takes the rest.
  const m = /(\s*)([^=]*?)(\s*=\s*)(.*)/s.exec(text)
  if (!m) return redact(text)
  const [, lead, key, sep, value] = m
  if (/secret|token|password/i.test(key) && value !== '') return `${lead}${key}${sep}${REDACTED}`
  if (/access_key_id/i.test(key)) return `${lead}${key}${sep}${value.replace(/[A-Z0-9]{16,128}/, (id) => maskKeyId(id))}`
  return redact(text)
}

/** Where the common start of two different texts ends, moved back to the start of a line. */
function commonHead(a: string, b: string): number {
  let i = 0
  // Compare in big steps, then smaller ones (string slices compare as memory). The texts
  // differ, so the slices differ before i passes the end of either.
  for (let step = 65536; step > 0; step >>= 4) while (a.slice(i, i + step) === b.slice(i, i + step)) i += step
  return i === 0 ? 0 : a.lastIndexOf('\n', i - 1) + 1
}

/** Length of the common end of two texts (not reaching into `head`), starting at a line start in both. */
function commonTail(a: string, b: string, head: number): number {
  const max = Math.min(a.length, b.length) - head
  let i = 0
  for (let step = 65536; step > 0; step >>= 4) {
    while (i + step <= max && a.slice(a.length - i - step, a.length - i) === b.slice(b.length - i - step, b.length - i)) i += step
  }
  const p = a.length - i
  if (a[p - 1] === '\n' && b[b.length - i - 1] === '\n') return i
  const nl = a.indexOf('\n', p)
  return nl === -1 ? 0 : a.length - nl - 1
}

function countLines(text: string, end: number): number {
  let n = 0
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) n++
  return n
}

/** The lines that differ between two texts (common head and tail skipped, LCS in between). */
export function diffLines(file: string, before: string, after: string): DiffLine[] {
  if (before === after) return []
  const lines = (text: string) => (text === '' ? [] : text.replace(/\r?\n$/, '').split(/\r?\n/))
  const head = commonHead(before, after)
  const tail = commonTail(before, after, head)
  const first = countLines(before, head)
  const A = lines(before.slice(head, before.length - tail))
  const B = lines(after.slice(head, after.length - tail))
  const out: DiffLine[] = []
  const del = (i: number) => out.push({file, line: first + i + 1, op: '-', text: redactIniLine(A[i])})
  const add = (j: number) => out.push({file, line: first + j + 1, op: '+', text: redactIniLine(B[j])})
  if (A.length * B.length > 4_000_000) {
    A.forEach((_, i) => del(i))
    B.forEach((_, j) => add(j))
    return out
  }
  // LCS table from the end, then walk forward.
  const n = A.length
  const m = B.length
  const L: Uint32Array[] = Array.from({length: n + 1}, () => new Uint32Array(m + 1))
  for (let i = n - 1; i >= 0; i--) {
    // Stryker disable next-line ArithmeticOperator: starting j at m + 1 writes past the row's end (ignored by a Uint32Array) and NaN into L[i][m] (stored as 0, as before).
    for (let j = m - 1; j >= 0; j--) {
      L[i][j] = A[i] === B[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1])
    }
  }
  let i = 0
  let j = 0
  while (i < n || j < m) {
    // Past the end of A or B, A[i] or B[j] is undefined: never equal to a line.
    if (A[i] === B[j]) {
      i++
      j++
    } else if (i < n && (j === m || L[i + 1][j] >= L[i][j + 1])) del(i++)
    else add(j++)
  }
  return out
}

// ------------------------------------------------------------------ writeProfile

export interface WriteProfileInput {
  profile: string
  accessKeyId: string
  secretAccessKey: string
  region?: string
  dryRun?: boolean
  /** Decides the file paths (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, HOME); default process.env. */
  env?: Env
  logger?: Logger
  /** How many backups of each file to keep (default 5). */
  keepBackups?: number
  /** The key is another S3-compatible store's (see validateAccessKeyId). */
  nonAwsKey?: boolean
}

export interface WriteProfileResult {
  profile: string
  dryRun: boolean
  credentialsFile: string
  configFile: string
  credentialsChanged: boolean
  configChanged: boolean
  /** Path of the backup of the previous credentials file. */
  backup?: string
  /** Path of the backup of the previous config file. */
  configBackup?: string
  changes: Change[]
  /** The lines that changed (or would change, with --dry-run), secrets redacted. */
  diff: DiffLine[]
  warnings: string[]
}

/** Keys psb owns in a credentials profile: set, or removed when stale. */
const SESSION_KEYS = ['aws_session_token', 'aws_security_token']
/** Config settings that make AWS tools use something other than the profile's static keys. */
const OVERRIDING_SETTINGS = ['role_arn', 'credential_process', 'sso_session', 'sso_start_url', 'web_identity_token_file', 'credential_source']

function keyChanges(
  file: string,
  section: string,
  before: Record<string, string> | undefined,
  after: Record<string, string> | undefined,
  keys: string[],
  dryRun: boolean,
  show: (key: string, value: string) => string,
): Change[] {
  const out: Change[] = []
  for (const k of keys) {
    const old = before?.[k]
    const now = after?.[k]
    let status: ChangeStatus
    if (old === undefined && now === undefined) continue
    if (now === undefined) status = 'deleted'
    else if (old === undefined) status = 'created'
    else status = old === now ? 'unchanged' : 'updated'
    const item = `${file}: [${section}] ${k}`
    const shown = now === undefined ? undefined : show(k, now)
    if (dryRun && status !== 'unchanged') {
      const verb = status === 'created' ? 'create' : status === 'updated' ? 'update' : 'delete'
      out.push({item, status: 'planned', detail: shown === undefined ? verb : `${verb}: ${shown}`})
    } else out.push({item, status, ...(shown === undefined ? {} : {detail: shown})})
  }
  return out
}

function showValue(key: string, value: string): string {
  if (/secret|token/i.test(key)) return REDACTED
  if (key === 'aws_access_key_id') return maskKeyId(value)
  return value
}

/**
 * Writes a profile's key into the credentials file and, when given, its region into the
 * config file. Validates everything first (exit 2, nothing written); then edits each file
 * atomically under its lock, with a backup. With `dryRun`, returns the planned change.
 */
export async function writeProfile(input: WriteProfileInput): Promise<WriteProfileResult> {
  const {profile, accessKeyId, region} = input
  validateProfileInput(input)
  const env = input.env ?? process.env
  const dryRun = input.dryRun ?? false
  const warnings: string[] = []
  const logger = collectingLogger(warnings, input.logger ?? silentLogger)
  const credentialsFile = credentialsFilePath(env)
  const configFile = configFilePath(env)
  // The config file is parsed before the credentials file is written, so a config file psb
  // cannot read stops everything with nothing changed. (The credentials file is parsed under
  // its lock, before anything is written.) Without a region, the config file is touched only
  // to remove a stale session token.
  const confText = readSharedFile(configFile)
  const confDoc = confText === undefined ? undefined : parseIni(confText, configFile)
  if (accessKeyId.startsWith('ASIA') && !input.nonAwsKey) {
    logger.warn(`The key ${maskKeyId(accessKeyId)} is a temporary (ASIA…) key: it works only with its session token, which psb does not write. Write a long-term IAM user key (AKIA…) instead.`)
  }
  const fileOpts = {dryRun, logger, env, keepBackups: input.keepBackups}
  const cred = await writeCredentialsSection(input, credentialsFile, fileOpts)
  const conf = await writeConfigSection({profile, region, configFile, confText, confDoc}, fileOpts)
  const changes = [...cred.changes, ...conf.changes]
  // cred.after is always set: the profile's section exists once its key is written.
  const overriding = OVERRIDING_SETTINGS.filter((k) => conf.after?.[k] !== undefined || cred.after![k] !== undefined)
  if (overriding.length > 0) {
    logger.warn(`The profile "${profile}" also sets ${overriding.join(', ')}: AWS tools may use that instead of the access key psb wrote. Remove it from ${configFile} if the profile should use the key.`)
  }
  if (!dryRun && !cred.edit.changed && !conf.edit.changed) {
    logger.info(`The profile "${profile}" already holds this key${region === undefined ? '' : ' and region'}; nothing to write.`)
  }
  return {
    profile,
    dryRun,
    credentialsFile: cred.edit.path,
    configFile: conf.edit.path,
    credentialsChanged: cred.edit.changed,
    configChanged: conf.edit.changed,
    ...(cred.edit.backup ? {backup: cred.edit.backup} : {}),
    ...(conf.edit.backup ? {configBackup: conf.edit.backup} : {}),
    changes,
    diff: [...diffLines(cred.edit.path, cred.edit.before, cred.edit.after), ...diffLines(conf.edit.path, conf.edit.before, conf.edit.after)],
    warnings,
  }
}

/** Bad input (exit 2) before anything is read or written; the secret is registered for redaction first. */
function validateProfileInput(input: WriteProfileInput): void {
  registerSecret(input.secretAccessKey)
  validateProfileName(input.profile)
  validateAccessKeyId(input.accessKeyId, {nonAws: input.nonAwsKey})
  validateSecretAccessKey(input.secretAccessKey, {nonAws: input.nonAwsKey})
  if (input.region !== undefined) validateRegion(input.region)
}

type ProfileFileOptions = EditIniOptions & {dryRun: boolean; logger: Logger}

interface SectionWrite {
  edit: EditIniResult
  changes: Change[]
  after: Record<string, string> | undefined
}

/** Credentials file: the key, and no stale session token. */
async function writeCredentialsSection(input: WriteProfileInput, credentialsFile: string, fileOpts: ProfileFileOptions): Promise<SectionWrite> {
  const {profile, dryRun, logger} = {...input, ...fileOpts}
  const credValues: Record<string, string | undefined> = {aws_access_key_id: input.accessKeyId, aws_secret_access_key: input.secretAccessKey}
  for (const k of SESSION_KEYS) credValues[k] = undefined
  // Stryker disable next-line ArrayDeclaration: mutate always runs (and sets it) before it is read.
  let spelled: string[] = []
  let before: Record<string, string> | undefined
  let after: Record<string, string> | undefined
  const edit = await editIniFile(
    credentialsFile,
    (doc) => {
      before = sectionEntries(doc, profile)
      spelled = sectionKeyNames(doc, profile).filter((k) => k !== k.toLowerCase() && k.toLowerCase() in credValues)
      const changed = setSectionKeys(doc, profile, credValues)
      after = sectionEntries(doc, profile)
      return changed
    },
    fileOpts,
  )
  const changes = keyChanges('credentials', profile, before, after, ['aws_access_key_id', 'aws_secret_access_key', ...SESSION_KEYS], dryRun, showValue)
  if (spelled.length > 0) {
    logger.warn(
      `The profile "${profile}" spells ${[...new Set(spelled)].join(', ')} in capitals; psb kept that spelling. The AWS CLI (botocore) reads it, but the AWS SDK for JavaScript reads only lower-case names: write them in lower case if a JavaScript tool uses this profile.`,
    )
  }
  return {edit, changes, after}
}

interface ConfigTarget {
  profile: string
  region?: string
  configFile: string
  confText: string | undefined
  confDoc: IniDocument | undefined
}

/** Config file: the region, and no stale session token there either (the SDK merges both files). */
async function writeConfigSection(t: ConfigTarget, fileOpts: ProfileFileOptions): Promise<SectionWrite> {
  const {profile, region, confDoc, confText} = t
  const dryRun = fileOpts.dryRun
  let section = confDoc ? configSectionFor(confDoc, profile) : configSectionName(profile)
  const confHasToken = confDoc !== undefined && SESSION_KEYS.some((k) => sectionEntries(confDoc, section)?.[k] !== undefined)
  const needConfig = region !== undefined || confHasToken
  let before = confDoc && sectionEntries(confDoc, section)
  let after = before
  const edit: EditIniResult = needConfig
    ? await editIniFile(
        t.configFile,
        (doc) => {
          section = configSectionFor(doc, profile)
          const values: Record<string, string | undefined> = {}
          for (const k of SESSION_KEYS) values[k] = undefined
          if (region !== undefined) values.region = region
          before = sectionEntries(doc, section)
          const changed = setSectionKeys(doc, section, values)
          after = sectionEntries(doc, section)
          return changed
        },
        fileOpts,
      )
    : {
        changed: false,
        before: confText ?? '',
        after: confText ?? '',
        path: resolveSymlinks(t.configFile),
        // Stryker disable next-line BooleanLiteral: `created` of the config edit is never read.
        created: false,
        // Stryker disable next-line ArrayDeclaration: `warnings` of the config edit are never read.
        warnings: [],
      }
  // Not written: still, no temp file that a killed writer left (it may hold a secret) stays beside it.
  if (!needConfig && !dryRun) removeStaleTemps(edit.path)
  const changes = keyChanges('config', section, before, after, region === undefined ? SESSION_KEYS : ['region', ...SESSION_KEYS], dryRun, showValue)
  return {edit, changes, after}
}
