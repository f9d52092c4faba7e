/** `psb ci github`: its flags, their parsing into the core's options (exit 2 before any call), and its output. */
import {Flags} from '@oclif/core'
import {validateBucketName} from '../lib/bucket/name.js'
import {normalizePrefix} from '../lib/iam/policy.js'
import {DEFAULT_ROLE, validateRoleName} from '../lib/iam/role.js'
import {requireRegion, type Env} from '../lib/files/aws-config.js'
import {validateWorkflowOptions, type GithubWorkflowOptions, type GithubWorkflowResult} from '../lib/ci/github.js'
import * as shared from './flags.js'

export const ciGithubFlags = {
  repo: Flags.string({description: 'The GitHub repository that deploys, as OWNER/REPO (the job runs only there, not in forks).', helpValue: '<owner/repo>', required: true}),
  role: Flags.string({description: 'The IAM role the workflow assumes, by name: its ARN is read with iam:GetRole (with the AWS flags). Default: pulumi-state, unless --role-arn is given.', helpValue: '<name>', exclusive: ['role-arn']}),
  'role-arn': Flags.string({description: 'The role\'s ARN, given: no AWS call at all (offline).', helpValue: '<arn>', exclusive: ['role']}),
  bucket: Flags.string({description: 'The state bucket.', helpValue: '<name>', required: true}),
  prefix: shared.prefix,
  stack: Flags.string({description: 'The Pulumi stack the workflow previews and deploys (e.g. dev, or acme/infra/prod); created on its first run.', helpValue: '<stack>', required: true}),
  'secrets-provider': Flags.string({
    description: 'How the stack encrypts its secrets: kms = psb\'s KMS key of the bucket (alias/pulumi-<bucket>[-<prefix>], from psb kms create / init --secrets kms; the role must be granted it), or an awskms:// URL. Default: a passphrase from the repository secret PULUMI_CONFIG_PASSPHRASE.',
    helpValue: 'kms|<awskms://…>',
  }),
  branch: Flags.string({description: 'The default branch: a push there runs pulumi up, a pull request against it pulumi preview.', default: 'main', helpValue: '<branch>'}),
  'work-dir': Flags.string({description: 'The Pulumi project\'s folder inside the repository (default: its root).', helpValue: '<dir>'}),
  write: Flags.string({description: 'Write the workflow to this file (e.g. .github/workflows/pulumi.yml) instead of printing it. A file psb did not write is refused unless --force; psb\'s own file is rewritten only when it changes.', helpValue: '<path>'}),
  force: Flags.boolean({description: 'With --write: replace a file psb did not write.', default: false}),
  'dry-run': shared.dryRun,
  ...shared.awsFlags,
}

export interface CiGithubFlags {
  repo: string
  role?: string
  'role-arn'?: string
  bucket: string
  prefix?: string
  stack: string
  'secrets-provider'?: string
  branch: string
  'work-dir'?: string
  region?: string
  'admin-profile'?: string
}

/** The role to look up (undefined when --role-arn was given) and the options with a stand-in ARN until then. Exit 2 on bad input. */
export function ciGithubOptions(flags: CiGithubFlags, env: Env = process.env): {opts: GithubWorkflowOptions; lookup?: string} {
  validateBucketName(flags.bucket)
  const role = flags['role-arn'] === undefined ? (flags.role ?? DEFAULT_ROLE) : undefined
  if (role !== undefined) validateRoleName(role)
  const secrets = flags['secrets-provider']
  const opts: GithubWorkflowOptions = {
    repo: flags.repo,
    roleArn: flags['role-arn'] ?? `arn:aws:iam::000000000000:role/${role}`,
    bucket: flags.bucket,
    prefix: normalizePrefix(flags.prefix),
    region: requireRegion(flags.region, flags['admin-profile'], env),
    stack: flags.stack,
    secretsProvider: secrets === 'passphrase' ? undefined : secrets,
    branch: flags.branch,
    workDir: flags['work-dir']?.replace(/\/+$/, ''),
  }
  validateWorkflowOptions(opts)
  return {opts, lookup: role}
}

/** The human lines after a --write (the workflow itself is printed as is when not written). */
export function renderCiGithub(r: GithubWorkflowResult, say: (line: string) => void): void {
  const what = r.status === 'unchanged' ? 'unchanged (0 writes)' : r.status === 'planned' ? 'would be written (dry run)' : r.status
  say(`${r.path}: ${what}`)
  say(`  assumes ${r.roleArn} for ${r.repo} (permissions: id-token: write, contents: read)`)
  say(`  pulumi login ${r.backendUrl}; preview on pull requests, up on pushes to ${r.branch} (stack ${r.stack})`)
  say(r.secretsProvider ? `  secrets: ${r.secretsProvider}` : '  secrets: passphrase from the repository secret PULUMI_CONFIG_PASSPHRASE (set it in the repository settings)')
}
