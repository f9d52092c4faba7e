/**
 * The trust policy of the role Pulumi runs as (`psb role create --trust`): who may assume it.
 *
 *   github:OWNER/REPO                         any ref of one repository (sub repo:OWNER/REPO:*)
 *   github:OWNER/REPO:ref:refs/heads/main     one branch or tag
 *   github:OWNER/REPO:environment:prod        one GitHub environment
 *   github:OWNER/REPO:pull_request            pull requests
 *   aws:<principal ARN>                       an IAM role (an SSO permission set's), a user, an account root
 *
 * The GitHub forms are the ones GitHub documents for AWS ("Configuring OpenID Connect in
 * Amazon Web Services"): Principal.Federated = the account's token.actions.githubusercontent.com
 * provider, Action sts:AssumeRoleWithWebIdentity, `aud` = sts.amazonaws.com (StringEquals) and
 * the `sub` condition (StringLike for the any-ref form, StringEquals for the exact ones).
 * A trust that would let anyone in (`github:*`, an owner wildcard, `aws:*`) is exit 2.
 *
 * Each statement psb writes has a Sid `Psb…` derived from what it trusts, so a re-run finds its
 * own statements again, and keeps every statement it did not write.
 *
 * Pure functions: no AWS call here.
 */
import {createHash} from 'node:crypto'
import {parseArn} from '../aws/arn.js'
import {echo} from '../echo.js'
import {badInput} from '../errors.js'
import {canonicalPolicy, type PolicyDocument, type PolicyStatement} from './policy.js'

export type TrustEntry =
  | {kind: 'github'; owner: string; repo: string; ref?: string; environment?: string; pullRequest?: boolean; spec: string}
  | {kind: 'aws'; principal: string; spec: string}

/** GitHub's OIDC issuer host: the provider's URL and the prefix of its condition keys. */
export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com'
/** The audience the official configure-aws-credentials action asks for. */
export const GITHUB_AUDIENCE = 'sts.amazonaws.com'
export const GITHUB_SUB_KEY = `${GITHUB_OIDC_HOST}:sub`
export const GITHUB_AUD_KEY = `${GITHUB_OIDC_HOST}:aud`
/** The Sid prefix of every trust statement psb writes. */
export const TRUST_SID_PREFIX = 'Psb'
export const MFA_KEY = 'aws:MultiFactorAuthPresent'

const FORMS = [
  'github:OWNER/REPO (any ref)',
  'github:OWNER/REPO:ref:refs/heads/main',
  'github:OWNER/REPO:environment:prod',
  'github:OWNER/REPO:pull_request',
  'aws:arn:aws:iam::123456789012:role/NAME (or :user/NAME, :root)',
].join(', ')
const HINT = `Give --trust as one of: ${FORMS}.`
/** The shapes of a --trust value that may be echoed when refused: a GitHub slug or an IAM ARN, nothing secret-like. */
const SPEC_SHAPE = /^(github:[A-Za-z0-9*?-]{1,39}(\/[\w.*?-]{0,100}(:[\w./:*? -]{0,260})?)?|aws:(\d{12}|arn:aws[a-z-]*:[a-z]+::(\d{12}|\*)?:[\w+=,.@/*?-]{0,300}))$/

/** A GitHub owner (user or organisation): 1-39 letters, digits or single hyphens, not at either end. */
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/
/** A GitHub repository name: letters, digits, ".", "-", "_" (not "." or ".."), at most 100. */
const REPO = /^[A-Za-z0-9._-]{1,100}$/

function bad(spec: string, why: string, hint = HINT): never {
  throw badInput(`--trust ${echo(spec, {what: 'value', shape: SPEC_SHAPE})} ${why}`, hint, 'TrustInvalid')
}

function parseGithub(spec: string, rest: string): TrustEntry {
  if (rest === '') bad(spec, 'names no repository.')
  const [slug, ...more] = rest.split(':')
  const slash = slug.indexOf('/')
  const owner = slash < 0 ? slug : slug.slice(0, slash)
  const repo = slash < 0 ? '' : slug.slice(slash + 1)
  if (/[*?]/.test(owner) || owner === '') {
    bad(spec, 'would let any GitHub owner\'s workflows assume the role: a wildcard owner trusts every repository on GitHub.', `Name the owner and the repository, e.g. --trust github:acme/infra. ${HINT}`)
  }
  if (!OWNER.test(owner)) bad(spec, 'does not name a valid GitHub owner (1-39 letters, digits or single hyphens).')
  if (repo === '') bad(spec, 'names no repository: write github:OWNER/REPO.')
  if (/[*?]/.test(repo)) {
    bad(spec, 'has a wildcard repository: psb trusts one repository per --trust entry.', `Repeat --trust once per repository, e.g. --trust github:${owner}/infra --trust github:${owner}/app.`)
  }
  if (!REPO.test(repo) || repo === '.' || repo === '..') bad(spec, 'does not name a valid GitHub repository (letters, digits, ".", "-", "_").')
  const base = {kind: 'github' as const, owner, repo, spec}
  if (more.length === 0) return base
  const [what, ...valueParts] = more
  const value = valueParts.join(':')
  if (/[*?]/.test(value)) bad(spec, 'has a wildcard: psb writes exact conditions only.', `Use github:${owner}/${repo} for any ref, or name one ref or environment.`)
  if (what === 'pull_request' && valueParts.length === 0) return {...base, pullRequest: true}
  if (what === 'ref') {
    if (!/^refs\/(heads|tags)\/[\w./-]{1,200}$/.test(value) || /\.\.|\/\/|\/$|\.lock$/.test(value)) {
      bad(spec, 'has no valid ref: write ref:refs/heads/<branch> or ref:refs/tags/<tag>.')
    }
    return {...base, ref: value}
  }
  if (what === 'environment') {
    if (!/^[\w. -]{1,255}$/.test(value) || value.trim() !== value) bad(spec, 'has no valid environment name (letters, digits, " ", ".", "-", "_").')
    return {...base, environment: value}
  }
  return bad(spec, `has an unknown qualifier ${echo(what, {what: 'value'})}.`)
}

const PRINCIPAL_RESOURCE = /^(root|(user|role)(\/[\w+=,.@-]+)*\/[\w+=,.@-]{1,128})$/

function parseAws(spec: string, rest: string): TrustEntry {
  if (rest === '') bad(spec, 'names no principal.')
  if (/[*?]/.test(rest)) {
    bad(spec, 'has a wildcard: a trust on "*" lets any AWS account assume the role.', 'Name one principal: a role (e.g. an SSO permission set\'s), a user, or an account root (arn:aws:iam::123456789012:root).')
  }
  if (/^\d{12}$/.test(rest)) return {kind: 'aws', principal: `arn:aws:iam::${rest}:root`, spec}
  const arn = parseArn(rest)
  if (!arn || arn.service !== 'iam' || arn.region !== '' || !/^\d{12}$/.test(arn.account) || !PRINCIPAL_RESOURCE.test(arn.resource)) {
    bad(spec, 'is not an IAM principal ARN (a role, a user or an account root).', 'Write e.g. --trust aws:arn:aws:iam::123456789012:role/AWSReservedSSO_Admin_0123456789abcdef, --trust aws:arn:aws:iam::123456789012:user/alice or --trust aws:123456789012.')
  }
  return {kind: 'aws', principal: rest, spec}
}

/** One --trust value. Exit 2 on a wildcard that would let anyone in, and on any malformed form. */
export function parseTrust(spec: string): TrustEntry {
  if (typeof spec !== 'string' || spec.trim() === '') bad(String(spec ?? ''), 'is empty.')
  if (/\s/.test(spec)) bad(spec, 'contains whitespace.')
  const colon = spec.indexOf(':')
  const scheme = colon < 0 ? spec : spec.slice(0, colon)
  const rest = colon < 0 ? '' : spec.slice(colon + 1)
  if (scheme === 'github') return parseGithub(spec, rest)
  if (scheme === 'aws') return parseAws(spec, rest)
  return bad(spec, 'does not start with github: or aws:.')
}

/** Every --trust value, all checked before any is used (exit 2 on the first bad one); duplicates dropped. */
export function parseTrusts(specs: readonly string[]): TrustEntry[] {
  const entries = specs.map((s) => parseTrust(s))
  const seen = new Set<string>()
  return entries.filter((e) => {
    const k = trustKey(e)
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}

/** The `sub` GitHub puts in a workflow's token for this entry. */
export function githubSubject(e: Extract<TrustEntry, {kind: 'github'}>): string {
  const slug = `repo:${e.owner}/${e.repo}`
  if (e.ref) return `${slug}:ref:${e.ref}`
  if (e.environment) return `${slug}:environment:${e.environment}`
  if (e.pullRequest) return `${slug}:pull_request`
  return `${slug}:*`
}

/** What a trust statement is about: one key per principal (aws) or subject (github). */
export function trustKey(e: TrustEntry): string {
  return e.kind === 'aws' ? `aws:${e.principal}` : `github:${githubSubject(e)}`
}

/** The stable Sid of psb's statement for an entry: `PsbGithub…` / `PsbAws…` and 10 hex digits of its key. */
export function trustSid(e: TrustEntry): string {
  const hash = createHash('sha256').update(trustKey(e)).digest('hex').slice(0, 10).toUpperCase()
  return `${TRUST_SID_PREFIX}${e.kind === 'aws' ? 'Aws' : 'Github'}${hash}`
}

/** The ARN of the account's GitHub OIDC provider. */
export function githubProviderArn(partition: string, accountId: string): string {
  return `arn:${partition}:iam::${accountId}:oidc-provider/${GITHUB_OIDC_HOST}`
}

export interface TrustDocumentOptions {
  partition: string
  accountId: string
  /** Default: arn:<partition>:iam::<account>:oidc-provider/token.actions.githubusercontent.com. */
  oidcProviderArn?: string
  /** `aws:` principals must have signed in with MFA (Bool aws:MultiFactorAuthPresent true). */
  requireMfa?: boolean
}

/** psb's statement for one entry. */
export function trustStatement(e: TrustEntry, o: TrustDocumentOptions): PolicyStatement {
  if (e.kind === 'aws') {
    const s: PolicyStatement = {Sid: trustSid(e), Effect: 'Allow', Principal: {AWS: e.principal}, Action: 'sts:AssumeRole'}
    if (o.requireMfa) s.Condition = {Bool: {[MFA_KEY]: 'true'}}
    return s
  }
  const sub = githubSubject(e)
  const provider = o.oidcProviderArn ?? githubProviderArn(o.partition, o.accountId)
  const condition: Record<string, Record<string, string>> = {StringEquals: {[GITHUB_AUD_KEY]: GITHUB_AUDIENCE}}
  if (sub.endsWith(':*')) condition.StringLike = {[GITHUB_SUB_KEY]: sub}
  else condition.StringEquals[GITHUB_SUB_KEY] = sub
  return {Sid: trustSid(e), Effect: 'Allow', Principal: {Federated: provider}, Action: 'sts:AssumeRoleWithWebIdentity', Condition: condition}
}

/** The trust policy of the role: one statement per entry, in order. */
export function trustPolicyDocument(entries: TrustEntry[], o: TrustDocumentOptions): PolicyDocument {
  return {Version: '2012-10-17', Statement: entries.map((e) => trustStatement(e, o))}
}

/** The statements of a policy as a list. */
export function statementsOf(doc: PolicyDocument | undefined): PolicyStatement[] {
  if (!doc) return []
  return Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]
}

/** Whether a statement was written by psb (its Sid starts with Psb). */
export function isPsbTrustStatement(s: PolicyStatement): boolean {
  return typeof s.Sid === 'string' && s.Sid.startsWith(TRUST_SID_PREFIX)
}

export interface TrustMerge {
  document: PolicyDocument
  /** Entries whose statement psb adds (or strengthens with MFA). */
  added: string[]
  /** psb's statements of entries not asked for this run, removed (only with `replace`). */
  removed: string[]
  /** Statements psb did not write, kept as they are. */
  foreign: number
  warnings: string[]
}

const hasMfa = (s: PolicyStatement | undefined): boolean => {
  const v = (s?.Condition?.Bool as Record<string, unknown> | undefined)?.[MFA_KEY]
  return v === 'true' || (Array.isArray(v) && v.length === 1 && v[0] === 'true')
}

/**
 * The trust policy a run leaves: every statement psb did not write (Sid not `Psb…`) kept as it
 * is; psb's statement for each entry added or brought up to date; psb's other statements kept
 * (removed with `replace`). Never weakens: a statement of psb's that requires MFA keeps
 * requiring it; one of psb's statements edited by hand (not psb's form) is kept as it is, with
 * a warning, rather than replaced by a possibly broader one.
 */
export function mergeTrust(existing: PolicyDocument | undefined, entries: TrustEntry[], o: TrustDocumentOptions, replace = false): TrustMerge {
  const current = statementsOf(existing)
  const bySid = new Map(current.filter(isPsbTrustStatement).map((s) => [s.Sid!, s]))
  const wanted = new Map(entries.map((e) => [trustSid(e), e]))
  const out: PolicyStatement[] = []
  const merge: TrustMerge = {document: {Version: existing?.Version ?? '2012-10-17', Statement: out}, added: [], removed: [], foreign: 0, warnings: []}
  for (const s of current) {
    if (!isPsbTrustStatement(s)) {
      merge.foreign++
      out.push(s)
    } else if (!wanted.has(s.Sid!)) {
      if (replace) merge.removed.push(s.Sid!)
      else out.push(o.requireMfa ? withMfa(s, merge) : s)
    }
  }
  for (const [sid, e] of wanted) {
    const had = bySid.get(sid)
    const want = trustStatement(e, {...o, requireMfa: Boolean(o.requireMfa) || hasMfa(had)})
    if (had && !sameStatement(had, want) && !sameStatement(had, trustStatement(e, {...o, requireMfa: false}))) {
      merge.warnings.push(`The trust statement ${sid} (${e.spec}) was changed by hand; psb keeps it as it is.`)
      out.push(had)
      continue
    }
    if (!had || !sameStatement(had, want)) merge.added.push(e.spec)
    out.push(want)
  }
  return merge
}

/** One of psb's aws: statements (no condition yet) with the MFA condition added; any other statement as it is. */
function withMfa(s: PolicyStatement, merge: TrustMerge): PolicyStatement {
  const principal = (s.Principal as {AWS?: unknown} | undefined)?.AWS
  if (s.Condition || typeof principal !== 'string' || s.Action !== 'sts:AssumeRole') return s
  merge.added.push(`MFA for aws:${principal}`)
  return {...s, Condition: {Bool: {[MFA_KEY]: 'true'}}}
}

function sameStatement(a: PolicyStatement, b: PolicyStatement): boolean {
  return canonicalPolicy({Statement: [a]}) === canonicalPolicy({Statement: [b]})
}

export interface TrustFindings {
  /** One phrase per statement (or set of them) that reaches further than one repository or principal. */
  broad: string[]
  /** aws: principals that may assume the role without MFA (judged when MFA was asked for). */
  noMfa: string[]
  /** What the trust allows, one phrase per statement. */
  summary: string[]
}

const conditionValues = (s: PolicyStatement, key: string): string[] => {
  const out: string[] = []
  for (const block of Object.values(s.Condition ?? {})) {
    for (const [k, v] of Object.entries(block)) if (k.toLowerCase() === key.toLowerCase()) out.push(...[v].flat().map(String))
  }
  return out
}
const actionsOf = (s: PolicyStatement): string[] => [s.Action ?? []].flat().map((a) => a.toLowerCase())
const principalsOf = (s: PolicyStatement, kind: 'AWS' | 'Federated'): string[] =>
  s.Principal === '*' ? ['*'] : s.Principal && typeof s.Principal === 'object' ? [(s.Principal as Record<string, unknown>)[kind] ?? []].flat().map(String) : []

function judgeGithub(s: PolicyStatement, f: TrustFindings, repos: Set<string>): void {
  const aud = conditionValues(s, GITHUB_AUD_KEY)
  if (aud.length === 0) f.broad.push(`${s.Sid ?? 'a statement'} has no audience (${GITHUB_AUD_KEY}) condition`)
  const subs = conditionValues(s, GITHUB_SUB_KEY)
  if (subs.length === 0) f.broad.push(`${s.Sid ?? 'a statement'} has no subject (sub) condition: any GitHub repository's workflows may assume the role`)
  for (const sub of subs) {
    const m = /^repo:([^/:]+)\/([^/:]+)(:.*)?$/.exec(sub)
    if (!m || /[*?]/.test(m[1]) || /[*?]/.test(m[2])) f.broad.push(`${sub} matches more than one repository`)
    else repos.add(`${m[1]}/${m[2]}`.toLowerCase())
    f.summary.push(`github ${sub}`)
  }
}

/**
 * What a role's trust policy lets in, judged by meaning: a GitHub statement without the
 * audience or subject condition, a subject matching more than one repository, several
 * repositories in all, or any AWS principal `*` is broad; with `requireMfa`, an AWS
 * principal allowed sts:AssumeRole without Bool aws:MultiFactorAuthPresent true lacks MFA.
 */
export function judgeTrust(doc: PolicyDocument | undefined, requireMfa: boolean): TrustFindings {
  const f: TrustFindings = {broad: [], noMfa: [], summary: []}
  const repos = new Set<string>()
  for (const s of statementsOf(doc)) {
    if (s.Effect !== 'Allow') continue
    const actions = actionsOf(s)
    if (principalsOf(s, 'Federated').some((p) => p.endsWith(`/${GITHUB_OIDC_HOST}`)) && actions.some((a) => a === 'sts:assumerolewithwebidentity' || a === 'sts:*' || a === '*')) judgeGithub(s, f, repos)
    for (const p of principalsOf(s, 'AWS')) {
      if (p === '*') f.broad.push(`${s.Sid ?? 'a statement'} lets any AWS principal assume the role`)
      const mfa = conditionValues(s, MFA_KEY).includes('true')
      f.summary.push(`aws ${p}${mfa ? ' (MFA)' : ''}`)
      if (requireMfa && !mfa) f.noMfa.push(p)
    }
  }
  if (repos.size > 1) f.broad.push(`${repos.size} repositories may assume it (${[...repos].sort().join(', ')})`)
  return f
}
