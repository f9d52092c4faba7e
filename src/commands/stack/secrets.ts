import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import * as shared from '../../cli/flags.js'
import {renderStackSecrets, stackSecretsOptionsFromFlags} from '../../cli/stack-secrets.js'
import {setStackSecrets, type StackSecretsResult} from '../../lib/pulumi/stack-secrets.js'

export default class StackSecrets extends BaseCommand {
  static override summary = 'Put a Pulumi stack on the KMS secrets provider: create it with awskms://, or move an existing stack to it'

  static override description = `Runs Pulumi for you in the project folder:

  - a stack that does not exist yet: pulumi stack init <stack> --secrets-provider "awskms://…";
  - an existing stack on another provider (e.g. a passphrase): pulumi stack change-secrets-provider "awskms://…" — Pulumi decrypts every secret with the old provider and encrypts it with the KMS key, so the stack's secrets stay readable (moving off a passphrase needs PULUMI_CONFIG_PASSPHRASE once, for this run);
  - a stack already on that provider: nothing (a second run changes nothing).

The provider is --secrets-provider, else psb's key for --bucket (+ --prefix) in --region (alias/pulumi-<bucket>[-<prefix>], made by psb kms create or psb init --secrets kms), else the key for the backend Pulumi is logged in to. Pulumi's KMS client uses --profile (AWS_PROFILE) and, with --endpoint, AWS_ENDPOINT_URL_KMS.

Exit codes: 0 done (or nothing to do); 1 Pulumi failed (its message is shown); 2 bad input (nothing was run).`

  static override examples = [
    {description: 'A new stack with KMS-encrypted secrets:', command: '<%= config.bin %> <%= command.id %> --project ./infra --stack dev --bucket acme-pulumi-state --region eu-west-1 --profile pulumi'},
    {description: 'Move an existing passphrase stack to KMS (the passphrase is needed this once):', command: 'PULUMI_CONFIG_PASSPHRASE=... <%= config.bin %> <%= command.id %> --project ./infra --stack prod --secrets-provider "awskms://alias/pulumi-acme-pulumi-state?region=eu-west-1"'},
    {description: 'Show the Pulumi command, run nothing:', command: '<%= config.bin %> <%= command.id %> --project . --stack dev --dry-run'},
  ]

  static override flags = {
    project: Flags.string({description: 'The Pulumi project folder (holding Pulumi.yaml).', default: '.', helpValue: '<dir>'}),
    stack: Flags.string({description: 'The stack to create or move.', required: true, helpValue: '<name>'}),
    'secrets-provider': Flags.string({description: 'The provider: awskms://alias/<name>?region=<region> (default: psb\'s key for the bucket and prefix).', helpValue: '<awskms://…>'}),
    bucket: shared.bucket,
    prefix: shared.prefix,
    region: shared.region,
    profile: Flags.string({description: 'The AWS profile Pulumi uses to reach KMS (AWS_PROFILE for the Pulumi run; default: the environment\'s).', helpValue: '<profile>'}),
    endpoint: Flags.string({description: 'A custom KMS endpoint (e.g. a local emulator): passed to Pulumi as AWS_ENDPOINT_URL_KMS.', helpValue: '<url>'}),
    'dry-run': shared.dryRun,
  }

  async run(): Promise<StackSecretsResult> {
    const {flags} = await this.parse(StackSecrets)
    const result = await setStackSecrets(stackSecretsOptionsFromFlags(flags))
    if (!this.jsonEnabled()) renderStackSecrets(result, (line) => this.say(line))
    return result
  }
}
