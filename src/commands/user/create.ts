import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import * as shared from '../../cli/flags.js'
import {policiesToCheck, printablePolicy, renderUserResult, userAwsContext, userOptionsFromFlags} from '../../cli/user-create.js'
import {preflight} from '../../lib/iam/preflight.js'
import {STATE_POLICY_NAME, type PolicyDocument} from '../../lib/iam/policy.js'
import {ensureUser, type UserResult} from '../../lib/iam/user.js'
import type {Logger} from '../../lib/types.js'

export {policiesToCheck, userOptionsFromFlags, type UserFlags} from '../../cli/user-create.js'

export default class UserCreate extends BaseCommand {
  static override summary = 'Create the IAM user Pulumi runs as, with a least-privilege policy for the state bucket.'

  static override description = `Creates (or brings up to date) the IAM user that Pulumi uses to read and write its state, instead of giving Pulumi an administrator key. The user gets:

  - the tags managed-by=psb and psb-bucket=<bucket> (and psb-prefix=<prefix> with --prefix);
  - an inline policy named ${STATE_POLICY_NAME}, generated from the bucket, the prefix and the bucket's encryption, with one statement per purpose, each with a Sid that says why:
    PulumiStateList: s3:ListBucket on the bucket (only under the prefix when one is given);
    PulumiStateObjects: s3:GetObject, PutObject, DeleteObject on bucket/<prefix>/* (or bucket/*);
    PulumiStateKms: kms:Decrypt, Encrypt, GenerateDataKey on the bucket's customer KMS key (SSE-KMS only);
    VerifyBucketSettings: read-only bucket settings that \`psb verify\` checks;
    VerifyOwnPermissions: read-only view of its own policies, for \`psb verify\`;
    SelfServiceKeyRotation: its own access keys only, so \`psb keys rotate\` can run from cron;
  - optionally a permissions boundary, and managed policies for what your Pulumi programs deploy (--attach-policy).

Run it again at any time: the inline policy is compared by meaning and rewritten only when it differs (a hand-edited policy is put back); policies psb did not add are kept; a second run changes nothing. A user that psb did not create is refused unless --adopt is given. A re-run never widens or moves a user's scope: for a user limited to a prefix (its psb-prefix tag), another --prefix or none is refused (exit 2, nothing changed) unless --widen-scope is given. An empty or slash-only --prefix (e.g. an unset $TEAM) is refused too.

The customer KMS key is read from the bucket's default encryption (or given with --kms-key). IAM is global: the region only matters for reading the bucket; without one, us-east-1 is used and psb follows the bucket to its region.

--print-policy prints the policy and creates nothing. The policy names the user's ARN, which holds the account id: psb asks STS for it, or takes --account-id (then no AWS call and no credentials are needed); with neither credentials nor --account-id, the ARNs show ACCOUNT_ID, with a warning.

Exit codes: 0 done (or nothing to do); 1 an AWS call failed, or the user exists but is not managed by psb (pass --adopt); 2 bad input, or a change of a user's prefix scope without --widen-scope (nothing was changed).`

  static override examples = [
    {description: 'Create the user "pulumi" for a state bucket:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state'},
    {description: 'One user per team, each limited to its prefix of a shared bucket:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --prefix team-a --user pulumi-team-a'},
    {
      description: 'Also let Pulumi deploy anything (prints a warning: this grants the whole account):',
      command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --attach-policy arn:aws:iam::aws:policy/AdministratorAccess',
    },
    {description: 'Review the policy before anything is created (no credentials needed with --account-id):', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --print-policy --account-id 123456789012'},
    {description: 'Show what would change:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --dry-run'},
    {description: 'Take over an existing user that psb did not create:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --user deploy --adopt'},
  ]

  static override flags = {
    user: shared.userFlags.user,
    path: shared.userFlags.path,
    bucket: Flags.string({
      description: 'Name of the S3 bucket that holds Pulumi state (e.g. one made by `psb bucket create`); the policy grants this bucket only.',
      helpValue: '<name>',
      required: true,
    }),
    prefix: Flags.string({
      description: 'Limit the user to this key prefix of the bucket (state under <prefix>/.pulumi/), for several teams sharing one bucket.',
      helpValue: '<prefix>',
    }),
    'permissions-boundary': shared.userFlags['permissions-boundary'],
    'attach-policy': shared.userFlags['attach-policy'],
    adopt: shared.userFlags.adopt,
    'widen-scope': shared.userFlags['widen-scope'],
    'kms-key': Flags.string({
      description: 'The customer KMS key the bucket encrypts with (key ARN, key id or alias/<name>), to grant it. Default: read from the bucket\'s default encryption.',
      helpValue: '<key>',
    }),
    'print-policy': Flags.boolean({
      description: 'Print the policy JSON and create nothing.',
      default: false,
    }),
    'account-id': Flags.string({
      description: 'AWS account id of the user (12 digits). With --print-policy: no AWS call is made. Otherwise: psb stops if the credentials belong to another account.',
      helpValue: '<id>',
    }),
    'dry-run': shared.dryRun,
    ...shared.awsFlags,
  }

  async run(): Promise<UserResult | PolicyDocument> {
    const {flags} = await this.parse(UserCreate)
    const opts = userOptionsFromFlags(flags, {bucketNameRules: !flags['print-policy']})
    const accountId = opts.expectAccountId
    const logger: Logger = {warn: (m) => this.note(m), info: (m) => this.logToStderr(m)}

    if (flags['print-policy']) {
      const policy = await printablePolicy(flags, opts, accountId, logger)
      if (!this.jsonEnabled()) this.say(JSON.stringify(policy, null, 2))
      return policy
    }

    const ctx = userAwsContext(flags)
    await preflight(ctx, {policies: policiesToCheck(opts), logger})
    const result = await ensureUser(ctx, {...opts, logger})
    if (!this.jsonEnabled()) renderUserResult(result, (line) => this.say(line))
    return result
  }
}
