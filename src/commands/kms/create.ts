import {BaseCommand} from '../../cli/base-command.js'
import {awsFlags, dryRun} from '../../cli/flags.js'
import {kmsFlags, kmsOptionsFromFlags, renderKmsResult} from '../../cli/kms.js'
import {preflight} from '../../lib/iam/preflight.js'
import {ensureSecretsKey, SECRETS_POLICY_NAME, type SecretsKeyResult} from '../../lib/kms/key.js'

export default class KmsCreate extends BaseCommand {
  static override summary = 'Create the KMS key Pulumi encrypts stack secrets with (awskms://), and let the named principals use it'

  static override description = `On a self-managed backend Pulumi encrypts stack secrets with a passphrase unless it is given a secrets provider. This creates (or brings up to date) a customer-managed KMS key for \`--secrets-provider awskms://…\`, so nobody needs PULUMI_CONFIG_PASSPHRASE:

  - a symmetric key with automatic rotation on, behind --alias (default alias/pulumi-<bucket>, or alias/pulumi-<bucket>-<prefix> with --prefix);
  - tags managed-by=psb, psb-bucket=<bucket>, psb-prefix=<prefix> (with --prefix), psb-purpose=pulumi-secrets and --tag key=value;
  - a key policy: the account's administrators administer the key (through their IAM policies); use goes only through IAM and only for the named principals (aws:PrincipalArn);
  - for each --for-user / --for-role: the inline policy ${SECRETS_POLICY_NAME} with kms:Encrypt, kms:Decrypt and kms:GenerateDataKey on the key's ARN, nothing more (Pulumi calls Encrypt and Decrypt; psb verify's round trip calls GenerateDataKey and Decrypt).

Run it again at any time: a second run makes no change. psb never turns rotation off, never schedules a deletion, never removes a principal, and keeps key-policy statements it did not write. An alias pointing at a key psb did not create is refused unless --adopt; a key that is disabled or pending deletion is refused.

Exit codes: 0 done (or planned with --dry-run); 1 an AWS call failed, or the alias points at a key psb will not touch; 2 bad input (an unknown --for-user/--for-role included; nothing was changed).`

  static override examples = [
    {description: 'A key for the state bucket, usable by the user Pulumi runs as:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --region eu-west-1 --for-user pulumi'},
    {description: 'One key per team of a shared bucket:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --prefix team-a --region eu-west-1 --for-user pulumi-team-a --for-role team-a-ci'},
    {description: 'Show what would change:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --region eu-west-1 --for-user pulumi --dry-run'},
    {description: 'Take over a key psb did not create:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --alias alias/pulumi-secrets --adopt --for-user pulumi'},
  ]

  static override flags = {...kmsFlags, 'dry-run': dryRun, ...awsFlags}

  async run(): Promise<SecretsKeyResult> {
    const {flags} = await this.parse(KmsCreate)
    const ctx = this.awsContext(flags)
    const opts = kmsOptionsFromFlags(flags, ctx.options.region)
    await preflight(ctx, {logger: {warn: (m) => this.note(m), info: () => {}}})
    const result = await ensureSecretsKey(ctx, {...opts, logger: {warn: (m) => this.note(m), info: () => {}}})
    if (!this.jsonEnabled()) renderKmsResult(result, (line) => this.say(line), ctx.options.endpoint)
    return result
  }
}
