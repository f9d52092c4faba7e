import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import * as shared from '../../cli/flags.js'
import {formatBytes, pruneTable, stackFlag, stateFlags, stateTarget} from '../../cli/state.js'
import {err as errStyle} from '../../cli/style.js'
import {parseDays} from '../../lib/duration.js'
import {badInput} from '../../lib/errors.js'
import {redact} from '../../lib/redact.js'
import {pruneHistory, type PruneResult} from '../../lib/state/history.js'

export default class HistoryPrune extends BaseCommand {
  static override summary = 'Delete old update history of Pulumi stacks: keep the newest N and those newer than D days'

  static override description = `Per stack, keeps in <prefix>/.pulumi/history/ the newest --keep N updates and those newer than --keep-days D (either or both), and deletes the other updates' files (.history.json and .checkpoint.json) plus their copies in .pulumi/backups/.

It never touches the current state (.pulumi/stacks/), never deletes the newest update or the newest checkpoint, never acts on a locked stack (it is reported and left), and never deletes a file whose name is not one Pulumi writes. Deletes run oldest first in batches of 1,000; a run stopped at any point is finished by running it again.

In a versioned bucket a delete leaves a noncurrent version, which the noncurrent-expiry lifecycle rule removes later (psb bucket create --noncurrent-days). History is the audit trail of your stacks: see docs/bucket.md for the trade-off, and --history-days for doing this with a lifecycle rule instead.

Exit codes: 0 pruned (or planned with --dry-run); 1 an AWS call failed or some files could not be deleted; 2 bad input (nothing was deleted).`

  static override examples = [
    {description: 'Keep the last 50 updates of every stack', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --profile pulumi --keep 50'},
    {description: 'Keep 90 days, and at least 10 updates, of one stack; first see counts and bytes', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --stack webapp/prod --keep 10 --keep-days 90 --dry-run'},
  ]

  static override flags = {
    ...stateFlags,
    stack: stackFlag,
    keep: Flags.integer({description: 'Keep the newest N updates of each stack (the newest one is always kept).', helpValue: '<N>', min: 0}),
    'keep-days': Flags.string({description: 'Keep the updates newer than this many days (a number, or whole days such as 90d or 12w).', helpValue: '<days>'}),
    'dry-run': shared.dryRun,
  }

  async run(): Promise<PruneResult & {bucket: string; prefix?: string}> {
    const {flags} = await this.parse(HistoryPrune)
    if (flags.keep === undefined && flags['keep-days'] === undefined) {
      throw badInput('Say what to keep: --keep N, --keep-days D, or both.', 'E.g. psb history prune --keep 50, or --keep 10 --keep-days 90 (--dry-run first shows counts and bytes).', 'KeepMissing')
    }
    const keepDays = flags['keep-days'] === undefined ? undefined : parseDays(flags['keep-days'], {flag: '--keep-days'})
    const t = stateTarget(flags)
    const info = (m: string) => {
      if (process.stderr.isTTY || process.env.DEBUG) process.stderr.write(errStyle.dim(`${redact(m)}\n`))
    }
    const r = await pruneHistory(t.ctx, {bucket: t.bucket, prefix: t.prefix, stack: t.stack, keep: flags.keep, keepDays, dryRun: flags['dry-run'], principal: t.principal, logger: {warn: (m) => this.note(m), info}})
    if (!this.jsonEnabled()) {
      this.say(pruneTable(r))
      const files = r.stacks.reduce((n, s) => n + (s.status === 'locked' ? 0 : s.history.count + s.backups.count), 0)
      const bytes = r.stacks.reduce((n, s) => n + (s.status === 'locked' ? 0 : s.history.bytes + s.backups.bytes), 0)
      this.say(r.dryRun ? `Dry run: ${files} file(s), ${formatBytes(bytes)}, would be deleted. Nothing was deleted.` : `Deleted ${r.deleted.count} file(s), ${formatBytes(r.deleted.bytes)}.`)
    }
    const failed = r.stacks.flatMap((s) => s.failed ?? [])
    if (failed.length > 0) {
      this.note(`${failed.length} file(s) could not be deleted (first: ${failed[0].key}: ${failed[0].code ?? 'error'}). Run the same command again.`)
      process.exitCode = 1
    }
    return {bucket: t.bucket, ...(t.prefix ? {prefix: t.prefix} : {}), ...r}
  }
}
