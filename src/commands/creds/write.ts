import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {dryRun, nonAwsKey} from '../../cli/flags.js'
import {validateEndpoint} from '../../lib/aws/client.js'
import {renderCredsWrite} from '../../cli/creds-render.js'
import {guardArgv, readSecret} from '../../cli/secret-input.js'
import {validateRegion} from '../../lib/files/aws-config.js'
import {validateAccessKeyId, validateProfileName, writeProfile, type WriteProfileInput, type WriteProfileResult} from '../../lib/files/credentials.js'
import type {Logger} from '../../lib/types.js'

export interface CredsWriteFlags {
  profile: string
  'access-key-id': string
  region?: string
  'dry-run'?: boolean
  endpoint?: string
  'non-aws-key'?: boolean
}

/** Parsed flags (and the secret read from stdin or the environment) as core options. */
export function writeProfileInputFromFlags(flags: CredsWriteFlags, secretAccessKey: string, extra: Partial<WriteProfileInput> = {}): WriteProfileInput {
  return {
    profile: flags.profile,
    accessKeyId: flags['access-key-id'],
    secretAccessKey,
    ...(flags.region === undefined ? {} : {region: flags.region}),
    dryRun: flags['dry-run'] ?? false,
    nonAwsKey: Boolean(flags['non-aws-key'] || flags.endpoint),
    ...extra,
  }
}

export default class CredsWrite extends BaseCommand {
  static override summary = 'Write an access key (and region) into an AWS profile, without harming the rest of the files.'

  static override description = `Puts --access-key-id and its secret into the [PROFILE] section of the AWS shared credentials file, and --region (when given) into the [profile PROFILE] section of the AWS config file: the files every AWS tool, and Pulumi, read.

The files are AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE when set, else ~/.aws/credentials and ~/.aws/config (~/.aws is created with mode 0700 when missing).

The secret access key is never a command-line argument (it would show in \`ps\` and in your shell history): pipe it in with --secret-stdin, or put it in AWS_SECRET_ACCESS_KEY (or in the variable named by --secret-env). It is never printed.

Everything else in the files is kept byte for byte: other profiles, comments, key order, indented sub-keys, CRLF line endings. Other settings of the profile stay; a stale aws_session_token is removed (it would break the new key).

Each write is atomic (a crash leaves the old file or the new one, never a mix), mode 0600 (a wider mode is narrowed, with a warning), goes through a symlink to its target, keeps a backup of the previous content (<file>.psb-backup-<time>, the newest 5; for a symlinked file in $XDG_STATE_HOME/psb/backups, not in the link's target folder), and runs under a lock so parallel runs never lose each other's profiles. Bytes psb does not change are kept exactly (also bytes that are not UTF-8); key names match whatever their case (AWS_ACCESS_KEY_ID) and keep their spelling. A file its owner made read-only (0400) is not replaced: exit 1 (chmod u+w to allow it).

Exit codes: 0 written (or nothing to change), 1 the files could not be written, 2 bad input (bad profile name, key id, secret or region, or a file psb cannot parse safely): nothing was changed.`

  static override examples = [
    {
      description: 'Write a key into the profile "pulumi", the secret piped in from a file:',
      command: '<%= config.bin %> <%= command.id %> --profile pulumi --access-key-id AKIAIOSFODNN7EXAMPLE --region eu-west-1 --secret-stdin < secret.txt',
    },
    {
      description: 'Take the secret from AWS_SECRET_ACCESS_KEY (e.g. set by your CI):',
      command: 'AWS_SECRET_ACCESS_KEY=… <%= config.bin %> <%= command.id %> --profile pulumi --access-key-id AKIAIOSFODNN7EXAMPLE',
    },
    {
      description: 'Take the secret from another variable:',
      command: '<%= config.bin %> <%= command.id %> --profile ci --access-key-id AKIAIOSFODNN7EXAMPLE --secret-env CI_AWS_SECRET',
    },
    {
      description: 'Write a MinIO key (made with `mc admin user add`), which is not AWS-shaped:',
      command: '<%= config.bin %> <%= command.id %> --profile minio-pulumi --access-key-id pulumi-state --endpoint https://minio.internal:9000 --secret-stdin < secret.txt',
    },
    {
      description: 'See which lines would change, secret redacted, writing nothing:',
      command: '<%= config.bin %> <%= command.id %> --profile pulumi --access-key-id AKIAIOSFODNN7EXAMPLE --secret-stdin --dry-run < secret.txt',
    },
  ]

  static override flags = {
    profile: Flags.string({
      description: 'Name of the profile to write (the [NAME] section of the credentials file). Letters, digits and _ - . @ + % : / only.',
      required: true,
      helpValue: '<name>',
    }),
    'access-key-id': Flags.string({
      description: 'The access key id to write (AKIA… as AWS shows it). Not secret; shown masked (AKIA…WXYZ).',
      required: true,
      helpValue: '<AKIA…>',
    }),
    region: Flags.string({
      description: 'Also set the profile\'s region in the config file (e.g. eu-west-1). Without it, the config file is left alone.',
      helpValue: '<region>',
    }),
    'secret-stdin': Flags.boolean({
      description: 'Read the secret access key from stdin (one trailing newline is removed). On a terminal, it is asked for without echo.',
      default: false,
      exclusive: ['secret-env'],
    }),
    'secret-env': Flags.string({
      description: 'Read the secret access key from this environment variable instead of AWS_SECRET_ACCESS_KEY.',
      helpValue: '<VAR>',
    }),
    endpoint: Flags.string({description: 'The S3-compatible store the key belongs to (e.g. https://minio.internal:9000): like --non-aws-key, its key shape is accepted. Not written to the files.', helpValue: '<url>'}),
    'non-aws-key': nonAwsKey,
    'dry-run': dryRun,
  }

  async run(): Promise<WriteProfileResult> {
    guardArgv(this.argv)
    const {flags} = await this.parse(CredsWrite)
    // Check what the flags say before asking for the secret.
    validateProfileName(flags.profile)
    if (flags.endpoint !== undefined) validateEndpoint(flags.endpoint)
    validateAccessKeyId(flags['access-key-id'], {nonAws: flags['non-aws-key'] || flags.endpoint !== undefined})
    if (flags.region !== undefined) validateRegion(flags.region)
    const secret = await readSecret(flags)
    const logger: Logger = {warn: (m) => this.note(m), info: () => {}}
    const result = await writeProfile(writeProfileInputFromFlags(flags, secret, {logger}))
    if (!this.jsonEnabled()) renderCredsWrite(result, flags['access-key-id'], (line) => this.say(line))
    return result
  }
}
