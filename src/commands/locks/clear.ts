import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import * as shared from '../../cli/flags.js'
import {clearTable, stackFlag, stateFlags, stateTarget} from '../../cli/state.js'
import {parseDuration} from '../../lib/duration.js'
import {badInput} from '../../lib/errors.js'
import {clearLocks, type ClearResult} from '../../lib/state/locks.js'

export default class LocksClear extends BaseCommand {
  static override summary = 'Delete the stale Pulumi locks of a backend, and only those: never a live lock'

  static override description = `A lock is cleared only when it is provably stale:
  - it was taken on this host and its pid is not running (checked here, now); or
  - it is older than --older-than (required for locks of other hosts: psb cannot see their processes; no default).
A lock of this host whose pid runs is live and is never deleted, at any age. Every lock not cleared is refused and shown, with why.

Unlike \`pulumi cancel\`, which deletes every lock in the backend (other people's running updates included), psb deletes one lock object per stale lock and nothing else. --stack limits it to one stack.

Exit codes: 0 every lock in scope was cleared (or there was none); 1 at least one lock was refused (shown), or an AWS call failed; 2 bad input (nothing was deleted).`

  static override examples = [
    {description: 'Clear locks left by crashed runs on this machine', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --profile pulumi'},
    {description: 'One stack, locks older than 2 hours, from any host', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --stack webapp/prod --older-than 2h'},
    {description: 'See what would be cleared', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --older-than 1d --dry-run --json'},
  ]

  static override flags = {
    ...stateFlags,
    stack: stackFlag,
    'older-than': Flags.string({description: 'Also clear locks older than this (e.g. 2h, 1d, 30m), from any host. No default.', helpValue: '<duration>'}),
    'dry-run': shared.dryRun,
  }

  async run(): Promise<ClearResult & {bucket: string; prefix?: string}> {
    const {flags} = await this.parse(LocksClear)
    const olderThanMs = flags['older-than'] === undefined ? undefined : parseDuration(flags['older-than'], {flag: '--older-than'})
    if (olderThanMs === 0) throw badInput('--older-than must be longer than 0.', 'Give the age from which a lock counts as stale, e.g. --older-than 2h.', 'DurationInvalid')
    const t = stateTarget(flags)
    const r = await clearLocks(t.ctx, {bucket: t.bucket, prefix: t.prefix, stack: t.stack, principal: t.principal, olderThanMs, dryRun: flags['dry-run']})
    if (!this.jsonEnabled()) {
      this.say(clearTable(r.locks))
      const verb = r.dryRun ? 'would be cleared' : 'cleared'
      this.say(`${r.cleared} lock(s) ${verb}, ${r.refused} refused.${r.dryRun ? ' Dry run: nothing was deleted.' : ''}`)
    }
    if (r.refused > 0) {
      this.note(`${r.refused} lock(s) were not cleared: they are live or not provably stale (see WHY). Wait for the update to end; for a lock of another host that you know is dead, pass --older-than <age>.`)
      process.exitCode = 1
    }
    return {bucket: t.bucket, ...(t.prefix ? {prefix: t.prefix} : {}), ...r}
  }
}
