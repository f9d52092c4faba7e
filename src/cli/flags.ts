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
