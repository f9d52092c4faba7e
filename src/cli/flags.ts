/**
 * Flags shared by several commands, defined once.
 */
import {Flags} from '@oclif/core'

export const region = Flags.string({
  description: 'AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, or the profile\'s region in the AWS config file).',
  helpValue: '<region>',
})

export const endpoint = Flags.string({
  description: 'Custom endpoint for S3, IAM and STS: an S3-compatible store or a local emulator such as moto. Implies path-style addressing.',
  env: 'AWS_ENDPOINT_URL',
  helpValue: '<url>',
})

export const adminProfile = Flags.string({
  description: 'AWS profile psb acts with to create and change resources (default: the standard AWS credential chain, e.g. AWS_PROFILE).',
  helpValue: '<profile>',
})

export const dryRun = Flags.boolean({
  description: 'Show what would change, and change nothing.',
  default: false,
})

export const bucket = Flags.string({
  description: 'Name of the S3 bucket that holds Pulumi state.',
  helpValue: '<name>',
})

export const prefix = Flags.string({
  description: 'Key prefix inside the bucket, for several teams or projects sharing one bucket (state goes under <prefix>/.pulumi/).',
  helpValue: '<prefix>',
})

export const profile = Flags.string({
  description: 'Name of the AWS profile (in the credentials file) that Pulumi uses.',
  helpValue: '<profile>',
})

export const user = Flags.string({
  description: 'Name of the IAM user that Pulumi runs as.',
  helpValue: '<name>',
})

/** The IAM user's flags, shared by `psb user create` and `psb init`. */
export const userFlags = {
  user: Flags.string({
    description: 'Name of the IAM user that Pulumi runs as (IAM rules: 1-64 characters of letters, digits and _+=,.@-).',
    helpValue: '<name>',
    default: 'pulumi',
  }),
  path: Flags.string({
    description: 'IAM path of the user, e.g. /ci/ (default: / for a new user; an existing user keeps its path unless this is given).',
    helpValue: '<path>',
  }),
  'permissions-boundary': Flags.string({
    description: 'ARN of a managed policy to set as the user\'s permissions boundary (the most the user can ever be allowed).',
    helpValue: '<arn>',
  }),
  'attach-policy': Flags.string({
    description: 'ARN of a managed policy to attach, for what your Pulumi programs deploy (repeatable). psb never detaches policies.',
    helpValue: '<arn>',
    multiple: true,
    multipleNonGreedy: true,
  }),
  adopt: Flags.boolean({
    description: 'Manage an existing user that psb did not create: tag it managed-by=psb and put the state policy on it (its other policies stay).',
    default: false,
  }),
  'widen-scope': Flags.boolean({
    description: 'Let this run change the prefix of a user limited to one (its psb-prefix tag): another prefix, or none (the whole bucket). Without it psb refuses (exit 2); with it psb warns.',
    default: false,
  }),
}

export const yes = Flags.boolean({
  description: 'Never prompt: fail with exit code 2 when a value is missing.',
  default: false,
})

/** Flags of every command that calls AWS. */
export const awsFlags = {
  region,
  endpoint,
  'admin-profile': adminProfile,
}

/** Keys of other S3-compatible stores (`creds write`, `init --no-iam`): their shape is not AWS's. */
export const nonAwsKey = Flags.boolean({
  description: 'The key is another S3-compatible store\'s (MinIO, R2, Ceph…), not AWS\'s: accept its shape (still no spaces, line breaks, "[", "]" or "=").',
  default: false,
})
