/**
 * The ci/ domain: `psb ci github`, a GitHub Actions workflow that deploys a Pulumi stack on
 * the S3 backend with an IAM role assumed through GitHub's OIDC token (no stored AWS key).
 *
 *  - `permissions: id-token: write, contents: read` (the OIDC token, read-only checkout);
 *  - the official aws-actions/configure-aws-credentials (role-to-assume, aws-region);
 *  - `pulumi login` with the portable backend URL (every Pulumi from 3.113 reads it; no
 *    profile: the role's credentials are in the job's environment);
 *  - `pulumi preview` on pull requests, `pulumi up` on pushes to the default branch.
 *
 * The document is built as data and emitted with the `yaml` package; the first line marks the
 * file as psb's (MARKER), so a re-run rewrites only its own file (0 writes when nothing
 * changed) and refuses any other file unless `force`. Written atomically under the file's lock
 * (files/atomic.ts), mode 0644, no backup (the file lives in git).
 */
import {statSync} from 'node:fs'
import {Document} from 'yaml'
import {parseArn} from '../aws/arn.js'
import {echo} from '../echo.js'
import {badInput, PsbError} from '../errors.js'
import {lockedUpdate} from '../files/atomic.js'
import {defaultAlias, providerUrl, validateProviderUrl} from '../kms/names.js'
import {planBackendUrl} from '../pulumi/backend-url.js'
import type {Change, Logger} from '../types.js'

/** The pinned majors of the actions the workflow uses. */
export const ACTIONS = {
  checkout: 'actions/checkout@v5',
  awsCredentials: 'aws-actions/configure-aws-credentials@v5',
  pulumi: 'pulumi/actions@v6',
} as const

/** The first line of every workflow psb writes: the mark that lets it rewrite the file. */
export const MARKER = '# psb-managed: written by `psb ci github`.'

export interface GithubWorkflowOptions {
  /** OWNER/REPO: the job runs only there (not in forks). */
  repo: string
  roleArn: string
  bucket: string
  prefix?: string
  region: string
  /** The stack `pulumi up` deploys (`dev`, `org/project/prod`). */
  stack: string
  /** `kms`: psb's KMS alias for the bucket (and prefix); an awskms:// URL as given; undefined: passphrase. */
  secretsProvider?: string
  /** The default branch (push → up; pull requests against it → preview). Default `main`. */
  branch?: string
  /** The Pulumi project's folder in the repository. Default: the repository's root. */
  workDir?: string
}

export interface GithubWorkflowResult {
  /** The file written; undefined when printed. */
  path?: string
  status: 'printed' | 'created' | 'updated' | 'unchanged' | 'planned'
  repo: string
  roleArn: string
  backendUrl: string
  stack: string
  branch: string
  secretsProvider?: string
  workflow: string
  changes: Change[]
  dryRun: boolean
}

const REPO = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/
const STACK = /^[A-Za-z0-9_.-]{1,100}(?:\/[A-Za-z0-9_.-]{1,100}){0,2}$/
const BRANCH = /^(?!.*\.\.)(?!\/)[A-Za-z0-9._/-]{1,200}(?<![/.])$/
const WORK_DIR = /^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$))[A-Za-z0-9._/-]{1,300}$/

/** A role ARN (`arn:aws:iam::123456789012:role/[path/]name`); exit 2 otherwise. */
export function validateRoleArn(arn: string, flag = '--role-arn'): void {
  const a = parseArn(arn)
  if (!a || a.service !== 'iam' || !/^\d{12}$/.test(a.account) || !/^role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/.test(a.resource)) {
    throw badInput(
      `${flag} ${echo(arn, {what: 'value', shape: /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,200}$/})} is not an IAM role ARN.`,
      'Give it as arn:aws:iam::<account>:role/<name> (what `psb role create` prints), or pass --role <name> to look it up.',
      'RoleArnInvalid',
    )
  }
}

/** Every input, checked before anything is read or written (exit 2). */
export function validateWorkflowOptions(o: GithubWorkflowOptions): void {
  const bad = (flag: string, value: string, rule: string, example: string, shape: RegExp) =>
    badInput(`${flag} ${echo(value, {what: 'value', shape})} ${rule}.`, `Give it as ${example}.`, 'CiInputInvalid')
  if (!REPO.test(o.repo) || o.repo.includes('*')) throw bad('--repo', o.repo, 'is not a GitHub repository (OWNER/REPO, no wildcard)', '--repo acme/infra', /^[\w./*-]{1,80}$/)
  validateRoleArn(o.roleArn)
  if (!STACK.test(o.stack)) throw bad('--stack', o.stack, 'is not a Pulumi stack name', '--stack dev or --stack acme/infra/prod', /^[\w./-]{1,80}$/)
  if (o.branch !== undefined && !BRANCH.test(o.branch)) throw bad('--branch', o.branch, 'is not a branch name', '--branch main', /^[\w./-]{1,80}$/)
  if (o.workDir !== undefined && !WORK_DIR.test(o.workDir)) throw bad('--work-dir', o.workDir, 'is not a folder inside the repository', '--work-dir infra', /^[\w./-]{1,80}$/)
  if (o.secretsProvider !== undefined && o.secretsProvider !== 'kms') validateProviderUrl(o.secretsProvider)
  backendUrlOf(o)
}

/** The portable backend URL (no profile: the job's credentials come from the role). */
export function backendUrlOf(o: Pick<GithubWorkflowOptions, 'bucket' | 'prefix' | 'region'>): string {
  return planBackendUrl({bucket: o.bucket, prefix: o.prefix, region: o.region, dialect: 'portable'}).url
}

/** The secrets provider URL the stack is created with, if any. */
export function secretsProviderOf(o: GithubWorkflowOptions): string | undefined {
  if (o.secretsProvider === 'kms') return providerUrl(defaultAlias(o.bucket, o.prefix), o.region)
  return o.secretsProvider
}

/** The workflow's steps: checkout, the role's credentials, Pulumi, login, the stack, preview or up. */
function steps(o: GithubWorkflowOptions, branch: string, secrets: string | undefined): Record<string, unknown>[] {
  const stack = `--stack ${o.stack}`
  return [
    {uses: ACTIONS.checkout},
    {name: 'AWS credentials from the role (OIDC, no stored key)', uses: ACTIONS.awsCredentials, with: {'role-to-assume': o.roleArn, 'aws-region': o.region}},
    {name: 'Install Pulumi', uses: ACTIONS.pulumi},
    {name: 'pulumi login', run: 'pulumi login "$PULUMI_BACKEND_URL"'},
    {name: 'Select the stack', run: `pulumi stack select --create ${o.stack}${secrets ? ' --secrets-provider "$PULUMI_SECRETS_PROVIDER"' : ''}`},
    {name: 'pulumi preview', if: "github.event_name == 'pull_request'", run: `pulumi preview ${stack} --diff`},
    {name: 'pulumi up', if: `github.event_name == 'push' && github.ref == 'refs/heads/${branch}'`, run: `pulumi up ${stack} --yes`},
  ]
}

/** The workflow as YAML text, first line the MARKER. Deterministic: same options, same bytes. */
export function renderWorkflow(o: GithubWorkflowOptions): string {
  validateWorkflowOptions(o)
  const branch = o.branch ?? 'main'
  const secrets = secretsProviderOf(o)
  const env: Record<string, string> = {PULUMI_BACKEND_URL: backendUrlOf(o)}
  if (secrets) env.PULUMI_SECRETS_PROVIDER = secrets
  else env.PULUMI_CONFIG_PASSPHRASE = '${{ secrets.PULUMI_CONFIG_PASSPHRASE }}'
  const job: Record<string, unknown> = {
    if: `github.repository == '${o.repo}'`,
    'runs-on': 'ubuntu-latest',
    env,
    ...(o.workDir ? {defaults: {run: {'working-directory': o.workDir}}} : {}),
    steps: steps(o, branch, secrets),
  }
  const doc = new Document({
    name: `Pulumi ${o.stack}`,
    on: {push: {branches: [branch]}, pull_request: {branches: [branch]}},
    permissions: {'id-token': 'write', contents: 'read'},
    concurrency: {group: `pulumi-${o.stack.replace(/\//g, '-')}`, 'cancel-in-progress': false},
    jobs: {pulumi: job},
  })
  doc.commentBefore = [
    MARKER.slice(1),
    ` psb writes this file again when its inputs change (psb ci github --write); to keep hand edits, delete these lines.`,
    ` Deploys ${o.repo}'s stack ${o.stack} to ${env.PULUMI_BACKEND_URL} as ${o.roleArn}.`,
    ` Add your language's set-up (actions/setup-node, setup-python, ...) after the checkout.`,
  ].join('\n')
  return doc.toString({lineWidth: 0})
}

export interface WriteWorkflowOptions {
  path?: string
  force?: boolean
  dryRun?: boolean
  logger?: Logger
}

/** A file psb did not write (no MARKER on its first line): refused without --force (exit 2, nothing written). */
function refuseForeign(path: string): PsbError {
  return badInput(
    `${path} exists and psb did not write it (its first line is not psb's mark): psb will not overwrite it.`,
    `Choose another --write path, or pass --force to replace it (its content is lost unless it is in git).`,
    'WorkflowNotPsbs',
  )
}

function modeOf(path: string): number | undefined {
  try {
    return statSync(path).mode & 0o777
  } catch {
    return undefined
  }
}

/** Renders the workflow and prints (no path) or writes it: atomically, locked, 0 writes when unchanged. */
export async function githubWorkflow(o: GithubWorkflowOptions, w: WriteWorkflowOptions = {}): Promise<GithubWorkflowResult> {
  const workflow = renderWorkflow(o)
  const dryRun = w.dryRun ?? false
  const base = {repo: o.repo, roleArn: o.roleArn, backendUrl: backendUrlOf(o), stack: o.stack, branch: o.branch ?? 'main', secretsProvider: secretsProviderOf(o), workflow, dryRun}
  if (w.path === undefined) return {...base, status: 'printed', changes: []}
  const path = w.path
  const r = await lockedUpdate(
    path,
    (before, exists) => {
      if (exists && before !== workflow && !before.startsWith(MARKER) && !w.force) throw refuseForeign(path)
      return workflow
    },
    // An existing file keeps its mode (a repository's 0664 is not narrowed); a new one is 0644.
    {mode: modeOf(path) ?? 0o644, backup: false, dryRun, logger: w.logger},
  )
  const status = !r.changed ? 'unchanged' : dryRun ? 'planned' : r.created ? 'created' : 'updated'
  const detail = `${ACTIONS.awsCredentials} as ${o.roleArn}`
  return {...base, path: r.path, status, changes: [{item: `workflow ${r.path}`, status: status === 'unchanged' ? 'unchanged' : status, detail}]}
}
