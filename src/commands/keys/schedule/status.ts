import {BaseCommand} from '../../../cli/base-command.js'
import {renderStatus, statusFlags, statusRecord} from '../../../cli/schedule.js'
import {scheduleStatus} from '../../../lib/schedule/index.js'

export default class KeysScheduleStatus extends BaseCommand {
  static override summary = 'Show the rotation schedules psb installed: scheduler, next run, last run and its result, the key\'s age.'

  static override description = `For each profile with a schedule (on systemd, cron or launchd): the scheduler, when the job runs and its next run (before any random delay), --max-age, the last run and its result (from the job's log), and the age of the key the profile holds (asked with the profile's own key; --no-key-age makes no AWS call).

It warns when the job's node binary or psb entry point no longer exists (e.g. after a Node upgrade: the job cannot run), and prints the command that reinstalls it; and when the last run failed.

Exit codes: 0 listed (also when there is none); 1 a scheduler could not be read; 2 bad input.`

  static override examples = [
    {description: 'Every schedule:', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'One profile, as JSON:', command: '<%= config.bin %> <%= command.id %> --profile pulumi --json'},
  ]

  static override flags = statusFlags

  async run(): Promise<Record<string, unknown>> {
    const {flags} = await this.parse(KeysScheduleStatus)
    const entries = await scheduleStatus({profiles: flags.profile, keyAge: !flags['no-key-age'], logger: {warn: (m) => this.note(m), info: () => {}}})
    if (!this.jsonEnabled()) renderStatus(entries, (m) => this.say(m), (m) => this.note(m))
    else for (const s of entries) if (s.missing.length) this.note(`${s.profile}: ${s.missing.join(', ')} no longer exist; reinstall: ${s.reinstall}`)
    return {schedules: entries.map(statusRecord)}
  }
}
