import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {renderInit, stepError, summaryDocument} from '../cli/init-render.js'
import {initInputs, isCI} from '../cli/init-inputs.js'
import * as shared from '../cli/flags.js'
import {runInit, STEP_IDS} from '../cli/tasks.js'
import {policiesToCheck} from '../cli/user-create.js'
import type {Env} from '../lib/files/aws-config.js'
import {preflight} from '../lib/iam/preflight.js'
import {checkUserScope} from '../lib/iam/user.js'
import {bucketFlags, bucketOptionsFromFlags} from './bucket/create.js'
import KeysRotate from './keys/rotate.js'
import {verifyOptionsFromFlags} from './verify.js'

export default class Init extends BaseCommand {
  static override summary = 'Set up a hardened Pulumi state backend on S3 in one command: bucket, user, key, profile, login, verify'

  static override description = `Runs, in order, the same code as these commands:

  1. psb bucket create   the state bucket, hardened (versioning, encryption, public-access blocks, ACLs off, TLS-only policy, lifecycle, tags)
  2. psb user create     the IAM user Pulumi runs as, with a least-privilege policy for the bucket (or --prefix)
  3. psb keys rotate --create   the user's first access key, written into the profile (--profile) and proven to work; the secret stays in memory
  4. psb login           pulumi login with the backend URL for the installed Pulumi
  5. psb verify          every check, with the profile's own key

Steps 1 and 2 (bucket and user) always run concurrently. The user's policy grants the bucket's customer KMS key: with --kms-key both steps get it; without, the user step reads the bucket's encryption itself, and should that read race the bucket step, a catch-up step adds the key to the policy.

Idempotent and resumable: a second run changes nothing and says so step by step; after a failure at any step, the same command continues where it stopped (finished steps are checked again and left as they are).

psb acts as an administrator (--admin-profile, else the standard AWS credential chain) for steps 1-3; Pulumi's profile gets only the new user's key.

On a terminal, psb asks for what is missing (the bucket name, offering pulumi-state-<account>-<region>, and the region). With --yes, in CI (CI set), without a terminal, or with --json it never asks, and a missing value is an error (exit 2) before any AWS call.

Before the first write, a preflight (read calls only, --dry-run too) stops with exit 2 when: --profile is the profile psb acts with (by name, or holding the administrator's own key) or holds a working key of another identity; the administrator's credentials do not resolve or AWS rejects them; an --attach-policy or --permissions-boundary does not exist. The region must be one that AWS lists.

Exit codes: 0 done; 1 a step failed (run again to continue); 2 bad input (nothing was changed); 3 everything was set up, but a verify check failed.`

  static override examples = [
    {description: 'Everything, asking for what is missing:', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Non-interactive (CI), as the admin profile "admin":', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --region eu-west-1 --profile pulumi --admin-profile admin --yes'},
    {
      description: 'The classic hand-made setup in one command (user with AdministratorAccess, written into the default profile; prints a warning):',
      command:
        '<%= config.bin %> <%= command.id %> --bucket nelsons-pulumi-state-backend --region us-west-1 --user pulumi --attach-policy arn:aws:iam::aws:policy/AdministratorAccess --profile default',
    },
    {description: 'One team\'s prefix of a shared bucket:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --region eu-west-1 --prefix team-a --user pulumi-team-a --profile team-a --yes'},
    {description: 'Show the full plan, change nothing:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --region eu-west-1 --dry-run'},
    {
      description: 'Against an S3-compatible store, over HTTPS (over plain HTTP the bucket\'s TLS-only policy denies every request; scripts/demo.sh runs a local emulator that counts as TLS):',
      command: '<%= config.bin %> <%= command.id %> --bucket demo-state --region us-east-1 --endpoint https://s3.example.com --yes',
    },
  ]

  static override flags = {
    bucket: Flags.string({description: `${shared.bucket.description} Created if missing, hardened if it exists (asked for on a terminal; default offered: pulumi-state-<account>-<region>).`, helpValue: '<name>'}),
    prefix: shared.prefix,
    user: shared.userFlags.user,
    profile: Flags.string({
      description: 'The AWS profile (in the credentials file) that gets the user\'s key and that Pulumi uses. Default: the user name (e.g. pulumi). It must not be the profile psb acts with as administrator.',
      helpValue: '<profile>',
    }),
    'kms-key': bucketFlags['kms-key'],
    'noncurrent-days': bucketFlags['noncurrent-days'],
    'history-days': bucketFlags['history-days'],
    tag: bucketFlags.tag,
    path: shared.userFlags.path,
    'permissions-boundary': shared.userFlags['permissions-boundary'],
    'attach-policy': shared.userFlags['attach-policy'],
    adopt: shared.userFlags.adopt,
    'widen-scope': shared.userFlags['widen-scope'],
    wait: KeysRotate.flags.wait,
    login: Flags.boolean({description: 'Run `pulumi login` with the bucket\'s URL (--no-login: skip it, e.g. without Pulumi installed).', default: true, allowNo: true}),
    verify: Flags.boolean({description: 'Finish with `psb verify` (--no-verify: skip it).', default: true, allowNo: true}),
    yes: shared.yes,
    'dry-run': shared.dryRun,
    ...shared.awsFlags,
  }

  public async run(): Promise<unknown> {
    const {flags} = await this.parse(Init)
    const env: Env = process.env
    const json = this.jsonEnabled()
    const dryRun = flags['dry-run']
    const {plan, admin, userOpts, bucket, region, prefix, user, profile, endpoint} = await initInputs(flags, {
      env,
      json,
      note: (m) => this.note(m),
      bucketOptions: (b, r) => bucketOptionsFromFlags({...flags, bucket: b}, r),
      verifyOptions: (o) => verifyOptionsFromFlags(o, env),
    })

    // Everything AWS can tell before the first write (read calls only; exit 2, nothing changed).
    await preflight(admin, {targetProfile: profile, targetUser: user, policies: policiesToCheck(userOpts), env, logger: {warn: (m) => this.note(m), info: () => {}}})
    // A re-run never widens an existing user's prefix scope by accident: refused before any write.
    await checkUserScope(admin, userOpts)

    this.say(
      `psb init${dryRun ? ' (dry run: nothing will be changed)' : ''}: s3://${bucket}${prefix ? `/${prefix}` : ''} in ${region}, user ${user}, profile ${profile}${endpoint ? `, endpoint ${endpoint}` : ''}`,
    )
    const mode = json ? 'json' : process.stdout.isTTY && !env.NO_COLOR && env.TERM !== 'dumb' && !isCI(env) ? 'tty' : 'plain'
    const ctx = await runInit(plan, {mode})

    const warnings = [...new Set(STEP_IDS.flatMap((id) => ctx.steps[id]?.warnings ?? []))]
    for (const w of warnings) this.note(w)
    const summary = summaryDocument(ctx, plan, {bucket, region, prefix, user, profile, endpoint, warnings, env})

    if (!json) renderInit(ctx, summary, dryRun, (line) => this.say(line))
    if (ctx.error !== undefined) throw stepError(ctx, summary)
    return summary
  }
}

