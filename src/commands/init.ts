import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {INIT_DESCRIPTION, INIT_EXAMPLES} from '../cli/init-help.js'
import {renderInit, stepError, summaryDocument} from '../cli/init-render.js'
import {initInputs, isCI} from '../cli/init-inputs.js'
import {afterInitHook, bucketHookSettings, targetOf, verifyHookChecks} from '../cli/plugin-hooks.js'
import {chooseNoIam, noIamFlagDefs} from '../cli/init-no-iam.js'
import {checkNoFleetFlags, fleetFlagDefs, isFleet} from '../cli/fleet-flags.js'
import {runFleet} from '../cli/fleet.js'
import {renderFleet} from '../cli/fleet-render.js'
import {keylessFlagDefs, keylessInputs, keylessProfileDefault} from '../cli/init-keyless.js'
import * as shared from '../cli/flags.js'
import {runInit, STEP_IDS} from '../cli/tasks.js'
import {policiesToCheck} from '../cli/user-create.js'
import type {Env} from '../lib/files/aws-config.js'
import {preflight} from '../lib/iam/preflight.js'
import {checkUserScope} from '../lib/iam/user.js'
import {bucketFlags, bucketOptionsFromFlags} from './bucket/create.js'
import KeysRotate from './keys/rotate.js'
import {proofFlags} from '../cli/keys.js'
import {FIRST_KEY_SUCCESSES} from '../lib/keys/rotate.js'
import {verifyOptionsFromFlags} from './verify.js'

export default class Init extends BaseCommand {
  static override summary = 'Set up a hardened Pulumi state backend on S3 in one command: bucket, user, key, profile, login, verify'

  static override description = INIT_DESCRIPTION

  static override examples = INIT_EXAMPLES

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
    secrets: Flags.string({description: 'How Pulumi encrypts stack secrets: kms = a KMS key made and granted to the user (awskms://, no PULUMI_CONFIG_PASSPHRASE; as `psb kms create`); passphrase = none (default).', options: ['passphrase', 'kms'], helpValue: '<kind>'}),
    wait: KeysRotate.flags.wait,
    ...proofFlags(FIRST_KEY_SUCCESSES),
    login: Flags.boolean({description: 'Run `pulumi login` with the bucket\'s URL (--no-login: skip it, e.g. without Pulumi installed).', default: true, allowNo: true}),
    verify: Flags.boolean({description: 'Finish with `psb verify` (--no-verify: skip it).', default: true, allowNo: true}),
    ...noIamFlagDefs,
    ...fleetFlagDefs,
    ...keylessFlagDefs,
    yes: shared.yes,
    'dry-run': shared.dryRun,
    ...shared.awsFlags,
  }

  public async run(): Promise<unknown> {
    const {flags} = await this.parse(Init)
    const env: Env = process.env
    const json = this.jsonEnabled()
    const dryRun = flags['dry-run']
    const mode = json ? 'json' : process.stdout.isTTY && !env.NO_COLOR && env.TERM !== 'dumb' && !isCI(env) ? 'tty' : 'plain'
    const bucketOptions = (b: string, r: string) => bucketOptionsFromFlags({...flags, bucket: b}, r)
    if (isFleet(flags)) {
      // Many targets (docs/fleet.md): one row per target, exit 1 when any failed.
      const {doc, exitCode} = await runFleet(flags, {env, mode, say: (l) => this.say(l), note: (m) => this.note(m), bucketOptions, verifyOptions: (o) => verifyOptionsFromFlags(o, env)})
      if (!json) renderFleet(doc, (l) => this.say(l))
      process.exitCode = exitCode
      return doc
    }
    checkNoFleetFlags(flags)
    const {plan, admin, userOpts, bucket, region, prefix, user, profile, endpoint} = await initInputs({...flags, profile: keylessProfileDefault(flags)}, {
      env,
      json,
      note: (m) => this.note(m),
      bucketOptions,
      verifyOptions: (o) => verifyOptionsFromFlags(o, env),
    })

    plan.keyless = await keylessInputs(flags, {admin, bucket, prefix, profile, env, dryRun, interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY) && !isCI(env) && !json, why: json ? '--json' : 'not a terminal'})
    plan.noIam = plan.keyless ? undefined : await chooseNoIam(flags, {admin, profile, bucket, prefix, user, env, note: (m) => this.note(m)})
    if (plan.keyless) await preflight(admin, {logger: {warn: (m) => this.note(m), info: () => {}}})
    else if (!plan.noIam) {
      // A store with IAM (chooseNoIam: --no-iam, or learnt from its STS). Everything AWS can tell before the first write (read calls only; exit 2, nothing changed).
      await preflight(admin, {targetProfile: profile, targetUser: user, policies: policiesToCheck(userOpts), env, logger: {warn: (m) => this.note(m), info: () => {}}})
      // A re-run never widens an existing user's prefix scope by accident: refused before any write.
      await checkUserScope(admin, userOpts)
    }
    // Plugins' settings and checks (docs/plugins.md), asked for once the inputs are valid.
    const target = targetOf({bucket, region, prefix, profile, endpoint})
    plan.bucket.extraSettings = await bucketHookSettings(this.config, target, (m) => this.note(m))
    if (plan.verify) plan.verify.extraChecks = verifyHookChecks(this.config, target)

    this.say(
      `psb init${dryRun ? ' (dry run: nothing will be changed)' : ''}: s3://${bucket}${prefix ? `/${prefix}` : ''} in ${region}, ${plan.keyless ? `role ${plan.keyless.role.role}` : `user ${user}`}, profile ${profile}${endpoint ? `, endpoint ${endpoint}` : ''}`,
    )
    const ctx = await runInit(plan, {mode})

    const warnings = [...new Set(STEP_IDS.flatMap((id) => ctx.steps[id]?.warnings ?? []))]
    for (const w of warnings) this.note(w)
    const summary = summaryDocument(ctx, plan, {bucket, region, prefix, user, profile, endpoint, warnings, env})

    if (!json) renderInit(ctx, summary, dryRun, (line) => this.say(line))
    await afterInitHook(this.config, {summary, dryRun}, (m) => this.note(m))
    if (ctx.error !== undefined) throw stepError(ctx, summary)
    return summary
  }
}

