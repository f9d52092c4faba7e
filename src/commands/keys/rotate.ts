import {BaseCommand} from '../../cli/base-command.js'
import {renderRotation, rotateFlags, rotateOptionsFromFlags, rotateRecord} from '../../cli/keys.js'
import {asScheduledRun, scheduledRunFlags} from '../../cli/schedule.js'
import {allPsbProfilesFlag, renderRotateSummary} from '../../cli/fleet-verify.js'
import {KEYS_EXIT, exitCodeOf, rotateKeys} from '../../lib/keys/rotate.js'
import {rotateAllPsbProfiles, rotateSummary, type RotateSummary} from '../../lib/fleet/rotate.js'
import type {Logger} from '../../lib/types.js'

export default class KeysRotate extends BaseCommand {
  static override summary = 'Rotate the access key of a profile without ever leaving it without a working key.'

  static override description = `Replaces the access key that a profile of the AWS credentials file holds with a new key of the same IAM user, safely enough to run from cron or CI:

  1. finds the profile's key and its IAM user (STS, with the profile's own key; or --admin-profile with --user to act for the user);
  2. lists the user's keys: a second, Inactive key that no profile holds is deleted; a second, Active key stops the run (psb never deletes a key it did not create);
  3. creates the new key;
  4. writes it into every profile of the credentials file that held the old key (atomic, locked, with a backup; every other byte of the file is kept);
  5. proves it works: 3 consecutive successful calls (STS, and a listing of the state bucket when known: --bucket, or the psb-bucket tag that \`psb user create\` puts on the user), waiting up to --wait for IAM to accept it;
  6. with the new key: deactivates the old key, then deletes it (--keep-old leaves it Inactive; the next rotation deletes it).

A failure before step 6 puts the old key back into those profiles (only their key lines; anything else written to the file meanwhile is kept) and deletes the new key: the profile keeps its old key, which still works. Each step is recorded in a journal beside the credentials file (<credentials>.psb-rotation.json: key ids and times, never a secret); a run that is killed is finished or undone by the next run, which deletes only a key it can prove psb made. A lock (<credentials>.psb-rotate.lock, beside the real file when the path is a symlink) keeps two runs from rotating at the same time. Ctrl-C (SIGINT) or SIGTERM stops at the next safe point, undoes the step in progress, and exits 130 / 143.

The profile's own key needs, on its own user ARN: iam:GetUser, iam:ListAccessKeys, iam:CreateAccessKey, iam:UpdateAccessKey and iam:DeleteAccessKey (the policy of \`psb user create\` allows exactly these). Without --profile, AWS_PROFILE or "default" is rotated.

Exit codes: 0 rotated (or the first key created, or a dry run), and also not due (--max-age: the key is younger; nothing changed) unless --detailed-exitcode is given; 1 failed (rolled back: the profile still holds its old, working key); 2 bad input (nothing called or changed); 10 not due, with --detailed-exitcode only, so that scripts can tell rotated (0), not due (10) and failed (1) apart; 11 another rotation of the same credentials file is running (nothing changed); 12 rotated, but the old key could not be deactivated or deleted (the profile holds the new, working key; the next run removes the old one). With several profiles: the first failure's code, else 12 if any cleanup is pending, else 10 (with --detailed-exitcode) if none was due, else 0.`

  static override examples = [
    {description: 'Rotate the key of the profile "pulumi" with its own key:', command: '<%= config.bin %> <%= command.id %> --profile pulumi'},
    {description: 'From cron: rotate only keys older than 90 days (not due: exit 0 and "not due"):', command: '<%= config.bin %> <%= command.id %> --profile pulumi --max-age 90d'},
    {description: 'The same, with distinct exit codes: 0 rotated, 10 not due, 1 failed:', command: '<%= config.bin %> <%= command.id %> --profile pulumi --max-age 90d --detailed-exitcode --json'},
    {description: 'Several profiles in one run:', command: '<%= config.bin %> <%= command.id %> --profile pulumi-dev --profile pulumi-prod --max-age 90d'},
    {description: 'As an administrator, for the user pulumi:', command: '<%= config.bin %> <%= command.id %> --profile pulumi --user pulumi --admin-profile admin'},
    {description: 'Create the profile with the user\'s first key, as the administrator profile "admin":', command: '<%= config.bin %> <%= command.id %> --create --profile pulumi --user pulumi --admin-profile admin'},
    {description: 'Every profile psb made (e.g. a fleet\'s), each with its own key; one failure never stops the others:', command: '<%= config.bin %> <%= command.id %> --all-psb-profiles --max-age 90d'},
    {description: 'Show the plan and change nothing:', command: '<%= config.bin %> <%= command.id %> --profile pulumi --dry-run'},
  ]

  static override flags = {...rotateFlags, ...scheduledRunFlags, 'all-psb-profiles': allPsbProfilesFlag}

  async run(): Promise<{results: Record<string, unknown>[]; exitCode: number; summary?: RotateSummary}> {
    const {flags} = await this.parse(KeysRotate)
    const detailed = flags['detailed-exitcode']
    const all = flags['all-psb-profiles']
    // "Not due" is a successful no-op for schedules, unless the caller asks for distinct codes.
    const publicCode = (code: number) => (code === KEYS_EXIT.NOT_DUE && !detailed ? 0 : code)
    const logger: Logger = {warn: (m) => this.note(m), info: (m) => this.logToStderr(m)}
    const {opts, results, exitCode} = await asScheduledRun(flags, () => rotateOptionsFromFlags(flags), async (opts) => {
      const results = all ? await rotateAllPsbProfiles({...opts, regionFlag: flags.region, logger}) : await rotateKeys({...opts, logger})
      return {results, exitCode: publicCode(exitCodeOf(results))}
    })
    process.exitCode = exitCode
    if (!this.jsonEnabled()) renderRotation(results, opts, (m) => this.say(m), (m) => this.note(m))
    else for (const r of results) for (const w of r.warnings) this.note(w)
    if (all && !this.jsonEnabled()) this.say(renderRotateSummary(rotateSummary(results)))
    return {results: results.map((r) => ({...rotateRecord(r), exitCode: publicCode(r.exitCode)})), exitCode, ...(all ? {summary: rotateSummary(results)} : {})}
  }
}
