import {BaseCommand} from '../../../cli/base-command.js'
import {installFlags, renderInstall} from '../../../cli/schedule.js'
import {validateEndpoint} from '../../../lib/aws/client.js'
import {validateRegion} from '../../../lib/files/aws-config.js'
import {installSchedules, type SchedulerName} from '../../../lib/schedule/index.js'
import type {Logger} from '../../../lib/types.js'

export default class KeysScheduleInstall extends BaseCommand {
  static override summary = 'Install a schedule that rotates the key of each profile when it is due (systemd timer, cron or launchd).'

  static override description = `Installs one job per profile that runs \`psb keys rotate --profile <P> --max-age <age> --detailed-exitcode\` by absolute paths (this node binary and psb's entry point), with its environment spelled out (HOME, AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, PATH; --region and --endpoint when given), so that a bare cron environment finds everything. Exit 10 (not due) counts as success. Output goes to a log under psb's state folder ($XDG_STATE_HOME/psb/schedule/<profile>.log, else ~/.local/state/psb/...), whose size psb bounds (past 256 KiB it becomes <log>.1).

The job runs daily at --at (hourly for an interval under a day, every minute under an hour), and --max-age (default: --every) does the spacing: it rotates only when the key is older. A key is so rotated on the first run after it reaches --max-age.

Schedulers (default: launchd on macOS; systemd user timers where \`systemctl --user\` works; else cron):
  systemd  psb-rotate-<profile>.service + .timer in ~/.config/systemd/user (OnCalendar, RandomizedDelaySec, Persistent=true: a run missed while the machine was off happens at the next boot), then daemon-reload and enable --now.
  cron     one five-field line in the user's crontab under a comment naming the profile, through crontab -l / crontab -; every other line is kept byte for byte.
  launchd  ~/Library/LaunchAgents/dev.psb.rotate.<profile>.plist with StartCalendarInterval, loaded with launchctl.

Running it again with other options replaces psb's entry for that profile (on any scheduler) and nothing else; with the same options it changes nothing. Bad --every, --max-age, --at or --random-delay: exit 2, nothing installed.

Exit codes: 0 installed (or unchanged, or a dry run); 1 the scheduler failed; 2 bad input.`

  static override examples = [
    {description: 'Rotate the key of "pulumi" every 30 days (the job runs daily):', command: '<%= config.bin %> <%= command.id %> --profile pulumi --every 30d'},
    {description: 'Two profiles, daily at 03:17 give or take an hour, with cron:', command: '<%= config.bin %> <%= command.id %> --profile pulumi-dev --profile pulumi-prod --every 90d --at 03:17 --random-delay 1h --scheduler cron'},
    {description: 'Every profile whose user psb manages:', command: '<%= config.bin %> <%= command.id %> --all-psb-profiles --every 90d'},
    {description: 'Show the job and change nothing:', command: '<%= config.bin %> <%= command.id %> --profile pulumi --every 30d --dry-run'},
  ]

  static override flags = installFlags

  async run(): Promise<Record<string, unknown>> {
    const {flags} = await this.parse(KeysScheduleInstall)
    const logger: Logger = {warn: (m) => this.note(m), info: (m) => this.logToStderr(m)}
    const results = await installSchedules({
      profiles: flags.profile,
      allPsbProfiles: flags['all-psb-profiles'],
      every: flags.every,
      maxAge: flags['max-age'],
      at: flags.at,
      randomDelay: flags['random-delay'],
      scheduler: flags.scheduler as SchedulerName | undefined,
      region: flags.region === undefined ? undefined : validateRegion(flags.region),
      endpoint: validateEndpoint(flags.endpoint),
      dryRun: flags['dry-run'],
      logger,
    })
    if (!this.jsonEnabled()) renderInstall(results, flags['dry-run'], (m) => this.say(m))
    return {dryRun: flags['dry-run'], results: results.map(({job, ...r}) => ({...r, command: job.argv, environment: job.env, logFile: job.logFile}))}
  }
}
