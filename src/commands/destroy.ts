import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {canAsk, confirmPlan, destroyOptionsFromFlags, progressPrinter, renderPlan, renderResult, requireYesOffTerminal} from '../cli/destroy.js'
import * as shared from '../cli/flags.js'
import {dryRunResult, executeDestroy, planDestroy, refuseStacks, validateDestroyOptions, type DestroyResult} from '../lib/destroy/destroy.js'
import {PsbError} from '../lib/errors.js'

export default class Destroy extends BaseCommand {
  static override summary = 'Take down what psb made for one backend, in reverse order: keys, user or role, profile, login, objects, bucket, KMS key.'

  static override description = `Removes, in this order, only what is tagged managed-by=psb and psb-bucket=<bucket> (anything else it meets is listed and left):

  1. the access keys of psb's users: from every local profile that holds them (each file edited with a backup, nothing else touched), then from IAM;
  2. the users and roles (inline policies, attachments), and a GitHub OIDC provider psb made, only when no role that stays trusts it;
  3. the profiles left empty (credentials and config);
  4. \`pulumi logout\`, when Pulumi is logged in to this backend;
  5. every object version and delete marker (DeleteObjects, 1,000 per request, several in parallel), then the bucket;
  6. a psb KMS key: only scheduled for deletion, 30 days out (the longest AWS allows), so it can be cancelled.

With --prefix: only that prefix's objects, its user or role (tag psb-prefix) and profile, and that prefix's KMS key; the bucket and other prefixes stay.

It refuses (exit 2, nothing changed) while Pulumi stacks exist under what it would delete, listing them with their last update, unless --force-stacks; and, off a terminal, without --yes. On a terminal it shows the plan and asks. Killed at any point, a re-run finishes the job.`

  static override examples = [
    {description: 'See what would be removed (no change):', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --dry-run'},
    {description: 'Remove one team\'s prefix, its user and profile (the bucket stays):', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --prefix team-a --yes'},
    {description: 'Remove the user and keys, keep the state:', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --keep-bucket --yes'},
  ]

  static override flags = {
    bucket: Flags.string({description: 'The state bucket whose backend to take down.', helpValue: '<name>', required: true}),
    prefix: shared.prefix,
    'force-stacks': Flags.boolean({description: 'Delete even while stacks exist (their cloud resources stay, unmanaged).', default: false}),
    'keep-bucket': Flags.boolean({description: 'Keep the bucket, every object in it and its KMS key.', default: false}),
    'keep-user': Flags.boolean({description: 'Keep the users or roles, their keys and the profiles.', default: false}),
    yes: Flags.boolean({description: 'Do not ask (needed off a terminal).', default: false}),
    'dry-run': shared.dryRun,
    ...shared.awsFlags,
  }

  async run(): Promise<DestroyResult> {
    const {flags} = await this.parse(Destroy)
    const json = this.jsonEnabled()
    const valid = validateDestroyOptions(destroyOptionsFromFlags(flags, ''))
    requireYesOffTerminal(flags, json)
    const ctx = this.awsContext(flags)
    const opts = {...valid, region: ctx.options.region, logger: {warn: (m: string) => this.note(m), info: (m: string) => this.logToStderr(m)}}
    const {plan, first} = await planDestroy(ctx, opts)
    const show = (line: string) => (json ? undefined : this.say(line))
    if (opts.dryRun) {
      renderPlan(plan, show)
      refuseStacks(plan, opts.forceStacks)
      show('\nDry run: nothing was changed.')
      return dryRunResult(plan)
    }
    if (!flags.yes && canAsk(json)) {
      renderPlan(plan, (l) => this.logToStderr(l))
      refuseStacks(plan, opts.forceStacks)
      const work = plan.changes.some((c) => c.status !== 'unchanged')
      if (work && !(await confirmPlan(plan))) throw new PsbError('Stopped: nothing was changed.', {code: 'NotConfirmed', hint: 'Run again and answer yes, or pass --yes.'})
    }
    const result = await executeDestroy(ctx, plan, {...opts, onProgress: progressPrinter()}, first)
    if (!json) renderResult(result, show)
    return result
  }
}
