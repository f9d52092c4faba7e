import {BaseCommand} from '../../../cli/base-command.js'
import {removeFlags, renderRemove} from '../../../cli/schedule.js'
import {validateProfileName} from '../../../lib/files/credentials.js'
import {removeSchedules} from '../../../lib/schedule/index.js'

export default class KeysScheduleRemove extends BaseCommand {
  static override summary = 'Remove the rotation schedules psb installed: of some profiles, or all.'

  static override description = `Removes exactly psb's entries: the systemd units psb-rotate-<profile>.service/.timer (disabled first), the crontab line below psb's marker comment and that comment (every other line kept byte for byte), the launchd agent dev.psb.rotate.<profile> (unloaded first). The job's log is kept.

Exit codes: 0 removed (or nothing matched, or a dry run); 1 a scheduler failed; 2 bad input.`

  static override examples = [
    {description: 'Stop rotating the key of "pulumi" on a schedule:', command: '<%= config.bin %> <%= command.id %> --profile pulumi'},
    {description: 'What would go, changing nothing:', command: '<%= config.bin %> <%= command.id %> --all --dry-run'},
  ]

  static override flags = removeFlags

  async run(): Promise<Record<string, unknown>> {
    const {flags} = await this.parse(KeysScheduleRemove)
    for (const p of flags.profile ?? []) validateProfileName(p)
    const results = await removeSchedules({profiles: flags.profile, all: flags.all, dryRun: flags['dry-run'], logger: {warn: (m) => this.note(m), info: () => {}}})
    if (!this.jsonEnabled()) renderRemove(results, flags['dry-run'], (m) => this.say(m))
    return {dryRun: flags['dry-run'], removed: results}
  }
}
