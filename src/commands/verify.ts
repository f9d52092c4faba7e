import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import * as shared from '../cli/flags.js'
import {renderVerify, verifyDocument} from '../cli/checks.js'
import {targetOf, verifyHookChecks} from '../cli/plugin-hooks.js'
import {fleetVerifyDocument, isFleetVerify, runFleetVerify, targetFlags} from '../cli/fleet-verify.js'
import {verifyOptionsFromFlags} from '../cli/verify-options.js'
import {createAwsContext, type AwsContext} from '../lib/aws/client.js'
import {checkProfile} from '../lib/files/aws-config.js'
import {VERIFY_FAILED_EXIT, verifyBackend} from '../lib/verify/run.js'

export {verifyOptionsFromFlags, type VerifyFlags} from '../cli/verify-options.js'

export default class Verify extends BaseCommand {
  static override summary = 'Prove that a Pulumi state backend works, with the profile Pulumi uses'

  static override description = `Checks a profile + bucket (+ prefix) exactly as Pulumi will use them, with the profile's OWN key (the least-privilege user), and prints a checklist: each check is pass, warn or fail, with a one-line fix.

Checks: the profile's credentials resolve (STS); the bucket exists in the expected region; versioning, default encryption, all four public-access blocks, ACLs disabled (BucketOwnerEnforced), a TLS-only bucket policy, expiry of old versions and removal of expired delete markers (warn only); a round trip under <prefix>/.pulumi/ (put, head, get, list, copy and delete of a sentinel object, as Pulumi does); the key's age (warn over 90 days) and the number of keys; whether \`psb keys schedule\` rotates the key (warn when not, for a key past half of --max-key-age); the credentials file's mode (0600); whether the user is broader than needed (AdministratorAccess or a "*" action: warn); the Pulumi CLI, \`pulumi whoami -v\` naming the expected URL, PULUMI_BACKEND_URL not pointing elsewhere, the login and the working folder's backend.url readable by every Pulumi from 3.113 on (warn, naming the versions that refuse them), and the state's layout (<prefix>/.pulumi/meta.yaml: project layout, or "no stacks yet"; warn on the legacy layout, which Pulumi 3.257+ refuses: \`pulumi state upgrade\`); with --secrets-provider awskms://… (or when psb's key alias/pulumi-<bucket>[-<prefix>] exists): a KMS data-key round trip (fail), the key enabled and not pending deletion (fail), automatic rotation on (warn).

A least-privilege user may not be allowed to read its own IAM policies: that check then says "cannot check" (warn). Pass --admin-profile to make those reads with an administrator's key.

A profile that assumes a role (role_arn + source_profile, \`psb role create\`) is checked with the role's temporary credentials: the key checks become "No long-lived key" (pass), and role-trust warns on a trust broader than one repository, or on no MFA for people when the role was made with --require-mfa.

Without --bucket, the backend Pulumi is logged in to (PULUMI_BACKEND_URL, else the current login) is verified.

The only change made is the sentinel object, written and deleted again under <prefix>/.pulumi/.

Over a fleet (--targets FILE or --target ACCOUNT/REGION, docs/fleet.md): every target is verified with its own profile (pulumi-{account}-{region}, or profile= / --profile-template), --concurrency at once, without the Pulumi checks (they judge this machine's one login), plus one check that the profile's key belongs to the target's account; one row per target (pass/warn/fail counts, status, time). No admin access is used.

Exit codes: 0 nothing failed (warnings allowed); 1 psb itself could not run (over a fleet: a target could not be verified, e.g. its profile is missing); 2 bad input; 3 at least one check failed (over a fleet: of any target).`

  static override examples = [
    {description: 'Verify the backend that `psb init` set up', command: '<%= config.bin %> verify --profile pulumi --bucket my-org-pulumi-state --region eu-west-1'},
    {description: 'A team\'s prefix in a shared bucket', command: '<%= config.bin %> verify --profile team-a --bucket shared-state --prefix team-a --region eu-west-1'},
    {description: 'The backend Pulumi is logged in to, as data', command: '<%= config.bin %> verify --json'},
    {description: 'Also check the user\'s policies with an administrator\'s key', command: '<%= config.bin %> verify --profile pulumi --bucket my-org-pulumi-state --admin-profile admin'},
    {description: 'A fleet\'s health in one table, each target with its own profile (docs/fleet.md)', command: '<%= config.bin %> verify --targets fleet.txt --concurrency 16'},
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
    ...targetFlags,
  }

  public async run(): Promise<unknown> {
    const {flags} = await this.parse(Verify)
    if (isFleetVerify(flags)) {
      const fleet = await runFleetVerify(this.config, flags, {say: (t) => this.say(t), json: this.jsonEnabled()})
      process.exitCode = fleet.exitCode
      return fleetVerifyDocument(fleet)
    }
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
