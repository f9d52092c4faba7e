import {BaseCommand} from '../../cli/base-command.js'
import {awsFlags, dryRun} from '../../cli/flags.js'
import {printableRole, renderRoleResult, roleFlags, roleOptionsFromFlags} from '../../cli/role.js'
import {userAwsContext} from '../../cli/user-create.js'
import {preflight} from '../../lib/iam/preflight.js'
import {STATE_POLICY_NAME} from '../../lib/iam/policy.js'
import {ensureRole, type RolePreview, type RoleResult} from '../../lib/iam/role.js'
import type {Logger} from '../../lib/types.js'

export default class RoleCreate extends BaseCommand {
  static override summary = 'Create the IAM role Pulumi runs as: the least-privilege state policy, assumed through GitHub OIDC or by people, no long-lived key.'

  static override description = `Creates (or brings up to date) an IAM role with the same least privilege as \`psb user create\`, for CI through GitHub Actions OIDC and for people through their own sign-in. Nothing gets an access key. The role gets:

  - the tags managed-by=psb and psb-bucket=<bucket> (psb-prefix=<prefix> with --prefix, psb-require-mfa=true with --require-mfa);
  - the inline policy ${STATE_POLICY_NAME}: the user's state policy minus its self-rotation statement (PulumiStateList, PulumiStateObjects, PulumiStateKms with a customer key, VerifyBucketSettings, VerifyOwnPermissions on the role itself);
  - a trust policy with one statement per --trust (Sid Psb…), in the forms GitHub documents: aud sts.amazonaws.com, and sub repo:OWNER/REPO:* (any ref), …:ref:refs/heads/main, …:environment:prod or …:pull_request; aws:<ARN> principals get sts:AssumeRole (with Bool aws:MultiFactorAuthPresent true under --require-mfa);
  - the account's GitHub OIDC provider (token.actions.githubusercontent.com, audience sts.amazonaws.com) for github: entries: created with the tag managed-by=psb when the account has none, reused when it has;
  - optionally a permissions boundary, a --max-session (1h to 12h) and managed policies for what your programs deploy (--attach-policy).

A trust that would let anyone in is bad input (exit 2, before any AWS call): github:*, an owner or repository wildcard, aws:* or any wildcard ARN, or a malformed entry.

Run it again at any time: a second run makes no change. Trust statements psb did not write are kept, and psb's own stay too unless --replace-trust; a statement requiring MFA keeps requiring it; a role limited to a prefix is not widened without --widen-scope; a role psb did not create needs --adopt. See docs/role.md.

Exit codes: 0 done (or nothing to do, or planned with --dry-run); 1 an AWS call failed, or the role exists but is not psb's (pass --adopt); 2 bad input, a change of the role's prefix scope without --widen-scope, a new role without --trust, or another --path for an existing role (nothing was changed).`

  static override examples = [
    {description: 'A role for the GitHub Actions workflows of one repository:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --trust github:acme/infra'},
    {description: 'Only the main branch and the prod environment may deploy; pull requests preview:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --trust github:acme/infra:ref:refs/heads/main --trust github:acme/infra:environment:prod --trust github:acme/infra:pull_request'},
    {description: 'For people signing in through an SSO permission set, with MFA:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --trust aws:arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef --require-mfa'},
    {description: 'Review both policies first, without credentials:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --trust github:acme/infra --print-policy --account-id 123456789012'},
    {description: 'Show what would change:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --trust github:acme/infra --dry-run'},
  ]

  static override flags = {...roleFlags, 'dry-run': dryRun, ...awsFlags}

  async run(): Promise<RoleResult | RolePreview> {
    const {flags} = await this.parse(RoleCreate)
    const opts = roleOptionsFromFlags(flags)
    const logger: Logger = {warn: (m) => this.note(m), info: (m) => this.logToStderr(m)}
    const ctx = userAwsContext(flags)
    if (flags['print-policy']) {
      const preview = await printableRole(ctx, opts, flags['account-id'], logger)
      if (!this.jsonEnabled()) this.say(JSON.stringify(preview, null, 2))
      return preview
    }
    const policies = [...opts.attachPolicies.map((arn) => ({arn, flag: '--attach-policy'})), ...(opts.permissionsBoundary ? [{arn: opts.permissionsBoundary, flag: '--permissions-boundary'}] : [])]
    await preflight(ctx, {policies, logger})
    const result = await ensureRole(ctx, opts, logger)
    if (!this.jsonEnabled()) renderRoleResult(result, (line) => this.say(line))
    return result
  }
}
