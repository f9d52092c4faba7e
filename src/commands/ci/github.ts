import {BaseCommand} from '../../cli/base-command.js'
import {ciGithubFlags, ciGithubOptions, renderCiGithub} from '../../cli/ci-github.js'
import {githubWorkflow, type GithubWorkflowResult} from '../../lib/ci/github.js'
import {roleArnFor} from '../../lib/iam/role.js'

export default class CiGithub extends BaseCommand {
  static override summary = 'Write a GitHub Actions workflow that deploys with an IAM role through OIDC: no stored AWS key'

  static override description = `Prints (or writes, with --write) a workflow that runs Pulumi on the state bucket as an IAM role assumed with GitHub's OIDC token:

  - permissions: id-token: write (the OIDC token) and contents: read;
  - aws-actions/configure-aws-credentials with role-to-assume and aws-region;
  - pulumi login with the portable backend URL (every Pulumi from 3.113 reads it);
  - pulumi preview on pull requests against --branch, pulumi up on pushes to it.

The role must trust the repository (psb role create --trust github:OWNER/REPO, or psb init --keyless --trust …). The role's ARN is read with iam:GetRole (--role, default pulumi-state), or given with --role-arn (no AWS call). The first line of the file marks it as psb's: a second run rewrites only its own file, and only when something changed (0 writes otherwise); any other file is refused unless --force. The file is written atomically under its lock.

Exit codes: 0 printed or written (or planned with --dry-run); 1 an AWS call failed; 2 bad input, a missing role, or a file psb did not write (nothing was written).`

  static override examples = [
    {description: 'Print the workflow (role looked up by name):', command: '<%= config.bin %> <%= command.id %> --repo acme/infra --role pulumi-state --bucket acme-pulumi-state --region eu-west-1 --stack prod'},
    {description: 'Write it, offline, with the stack secrets in psb\'s KMS key:', command: '<%= config.bin %> <%= command.id %> --repo acme/infra --role-arn arn:aws:iam::123456789012:role/pulumi-state --bucket acme-pulumi-state --region eu-west-1 --stack prod --secrets-provider kms --write .github/workflows/pulumi.yml'},
    {description: 'A project in a subfolder, deploying from the trunk branch:', command: '<%= config.bin %> <%= command.id %> --repo acme/infra --role-arn arn:aws:iam::123456789012:role/pulumi-state --bucket acme-pulumi-state --prefix team-a --region eu-west-1 --stack dev --work-dir infra --branch trunk --write .github/workflows/pulumi.yml'},
  ]

  static override flags = ciGithubFlags

  async run(): Promise<GithubWorkflowResult> {
    const {flags} = await this.parse(CiGithub)
    const {opts, lookup} = ciGithubOptions(flags)
    if (lookup !== undefined) opts.roleArn = await roleArnFor(this.awsContext(flags), lookup)
    const result = await githubWorkflow(opts, {path: flags.write, force: flags.force, dryRun: flags['dry-run'], logger: {warn: (m) => this.note(m), info: () => {}}})
    if (this.jsonEnabled()) return result
    if (result.path === undefined) this.say(result.workflow.replace(/\n$/, ''))
    else renderCiGithub(result, (line) => this.say(line))
    return result
  }
}
