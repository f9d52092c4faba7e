import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import * as shared from '../cli/flags.js'
import {renderVerify, verifyDocument} from '../cli/checks.js'
import {targetOf, verifyHookChecks} from '../cli/plugin-hooks.js'
import {createAwsContext, validateEndpoint, type AwsContext} from '../lib/aws/client.js'
import {checkProfile, requireRegion} from '../lib/files/aws-config.js'
import {parseBackendUrl} from '../lib/pulumi/backend-url.js'
import {parseDays} from '../lib/duration.js'
import {badInput} from '../lib/errors.js'
import {validateBucketName} from '../lib/bucket/name.js'
import {normalizePrefix} from '../lib/iam/policy.js'
import {validateProviderUrl} from '../lib/kms/names.js'
import {currentPulumiLogin} from '../lib/pulumi/cli.js'
import {VERIFY_FAILED_EXIT, verifyBackend, type VerifyOptions} from '../lib/verify/run.js'

export default class Verify extends BaseCommand {
  static override summary = 'Prove that a Pulumi state backend works, with the profile Pulumi uses'

  static override description = `Checks a profile + bucket (+ prefix) exactly as Pulumi will use them, with the profile's OWN key (the least-privilege user), and prints a checklist: each check is pass, warn or fail, with a one-line fix.

Checks: the profile's credentials resolve (STS); the bucket exists in the expected region; versioning, default encryption, all four public-access blocks, ACLs disabled (BucketOwnerEnforced), a TLS-only bucket policy, expiry of old versions and removal of expired delete markers (warn only); a round trip under <prefix>/.pulumi/ (put, head, get, list, copy and delete of a sentinel object, as Pulumi does); the key's age (warn over 90 days) and the number of keys; whether \`psb keys schedule\` rotates the key (warn when not, for a key past half of --max-key-age); the credentials file's mode (0600); whether the user is broader than needed (AdministratorAccess or a "*" action: warn); the Pulumi CLI, \`pulumi whoami -v\` naming the expected URL, PULUMI_BACKEND_URL not pointing elsewhere, the login and the working folder's backend.url readable by every Pulumi from 3.113 on (warn, naming the versions that refuse them), and the state's layout (<prefix>/.pulumi/meta.yaml: project layout, or "no stacks yet"; warn on the legacy layout, which Pulumi 3.257+ refuses: \`pulumi state upgrade\`); with --secrets-provider awskms://… (or when psb's key alias/pulumi-<bucket>[-<prefix>] exists): a KMS data-key round trip (fail), the key enabled and not pending deletion (fail), automatic rotation on (warn).

A least-privilege user may not be allowed to read its own IAM policies: that check then says "cannot check" (warn). Pass --admin-profile to make those reads with an administrator's key.

A profile that assumes a role (role_arn + source_profile, \`psb role create\`) is checked with the role's temporary credentials: the key checks become "No long-lived key" (pass), and role-trust warns on a trust broader than one repository, or on no MFA for people when the role was made with --require-mfa.

Without --bucket, the backend Pulumi is logged in to (PULUMI_BACKEND_URL, else the current login) is verified.

The only change made is the sentinel object, written and deleted again under <prefix>/.pulumi/.

Exit codes: 0 nothing failed (warnings allowed); 1 psb itself could not run; 2 bad input; 3 at least one check failed.`

  static override examples = [
    {description: 'Verify the backend that `psb init` set up', command: '<%= config.bin %> verify --profile pulumi --bucket my-org-pulumi-state --region eu-west-1'},
    {description: 'A team\'s prefix in a shared bucket', command: '<%= config.bin %> verify --profile team-a --bucket shared-state --prefix team-a --region eu-west-1'},
    {description: 'The backend Pulumi is logged in to, as data', command: '<%= config.bin %> verify --json'},
    {description: 'Also check the user\'s policies with an administrator\'s key', command: '<%= config.bin %> verify --profile pulumi --bucket my-org-pulumi-state --admin-profile admin'},
  ]

  static override flags = {
    profile: Flags.string({description: 'The AWS profile Pulumi uses (default: AWS_PROFILE, else "default"). Its own key makes every check.', helpValue: '<profile>'}),
    bucket: Flags.string({description: 'The state bucket (default: the bucket of the backend Pulumi is logged in to).', helpValue: '<name>'}),
    prefix: shared.prefix,
    region: shared.region,
    endpoint: shared.endpoint,
    'admin-profile': Flags.string({
      description: 'An administrator profile for the reads the Pulumi user may not make (its own IAM policies). Optional.',
      helpValue: '<profile>',
    }),
    pulumi: Flags.boolean({description: 'Run the Pulumi checks (CLI, `pulumi whoami -v`, PULUMI_BACKEND_URL).', default: true, allowNo: true}),
    'secrets-provider': Flags.string({description: 'Also check Pulumi\'s secrets key (awskms://alias/<name>?region=<region>): a data-key round trip, the key enabled, rotation on. Default: psb\'s key for the bucket (alias/pulumi-<bucket>[-<prefix>]) when it exists.', helpValue: '<awskms://…>'}),
    'max-key-age': Flags.string({description: 'Warn when the access key is older than this: days (90) or a duration in whole days (90d, 12w).', default: '90', helpValue: '<days>'}),
  }

  public async run(): Promise<unknown> {
    const {flags} = await this.parse(Verify)
    const opts = verifyOptionsFromFlags(flags)
    // A missing profile is bad input (exit 2), not a failed check.
    const source = flags.profile ? '--profile' : flags.bucket ? (process.env.AWS_PROFILE ? 'AWS_PROFILE' : 'the default, as no --profile was given') : 'the backend Pulumi is logged in to, or the default'
    checkProfile(opts.profile, source, process.env, 'Pass the profile Pulumi uses with --profile (one of the profiles above), or write one with psb init or psb keys rotate --create.')
    let admin: AwsContext | undefined
    if (flags['admin-profile']) admin = createAwsContext({region: opts.region, endpoint: opts.endpoint, profile: flags['admin-profile']})
    const r = await verifyBackend({...opts, admin, extraChecks: verifyHookChecks(this.config, targetOf(opts)), logger: {warn: (m) => this.note(m), info: () => {}}})
    if (!this.jsonEnabled()) this.say(renderVerify(opts, r))
    if (!r.ok) process.exitCode = VERIFY_FAILED_EXIT
    return verifyDocument(opts, r)
  }
}

export interface VerifyFlags {
  profile?: string
  bucket?: string
  prefix?: string
  region?: string
  endpoint?: string
  'max-key-age'?: string | number
  'secrets-provider'?: string
  pulumi?: boolean
}

/**
 * The core options of verify from its flags. Without --bucket, the backend Pulumi is
 * logged in to (PULUMI_BACKEND_URL, else credentials.json's current) supplies bucket,
 * prefix, region, profile and endpoint. Throws bad input (exit 2) before any AWS call.
 */
export function verifyOptionsFromFlags(flags: VerifyFlags, env = process.env): VerifyOptions {
  let {bucket, prefix, region, endpoint, profile} = flags
  if (!bucket) {
    const current = env.PULUMI_BACKEND_URL || currentPulumiLogin(env)
    const parsed = current ? parseBackendUrl(current) : undefined
    if (!parsed)
      throw badInput(
        current ? `Pulumi's backend (${current}) is not an s3:// URL, and no --bucket was given.` : 'No --bucket given, and Pulumi is not logged in to an s3:// backend.',
        'Pass --bucket <name> (and --region, --profile).',
        'BucketMissing',
      )
    bucket = parsed.bucket
    prefix ??= parsed.prefix || undefined
    region ??= parsed.params.get('region')
    profile ??= parsed.params.get('profile')
    if (!endpoint && parsed.params.get('endpoint')) {
      const e = parsed.params.get('endpoint')!
      endpoint = /^https?:\/\//.test(e) ? e : `${parsed.params.get('disable_https') === 'true' ? 'http' : 'https'}://${e}`
    }
  }
  profile ||= env.AWS_PROFILE || 'default'
  validateBucketName(bucket)
  return {
    profile,
    bucket,
    prefix: normalizePrefix(prefix),
    region: requireRegion(region, profile, env),
    endpoint: validateEndpoint(endpoint),
    secretsProvider: flags['secrets-provider'] === undefined ? undefined : validateProviderUrl(flags['secrets-provider']),
    maxKeyAgeDays: flags['max-key-age'] === undefined ? undefined : parseDays(flags['max-key-age'], {flag: '--max-key-age', min: 1}),
    pulumi: flags.pulumi,
    env,
  }
}
