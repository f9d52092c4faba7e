import {BaseCommand} from '../../cli/base-command.js'
import * as shared from '../../cli/flags.js'
import {out, table} from '../../cli/style.js'
import {createAwsContext, validateEndpoint} from '../../lib/aws/client.js'
import {checkProfile, resolveRegion} from '../../lib/files/aws-config.js'
import {listKeys, type ListKeysResult} from '../../lib/keys/rotate.js'
import {validateUserName} from '../../lib/iam/user.js'
import {maskKeyId} from '../../lib/redact.js'
import type {Logger} from '../../lib/types.js'
import {keysAdminProfile} from '../../cli/keys.js'

/** The --json document: key ids masked. */
export function listRecord(r: ListKeysResult): Record<string, unknown> {
  return {
    user: r.user,
    userArn: r.userArn,
    keys: r.keys.map((k) => ({...k, accessKeyId: maskKeyId(k.accessKeyId)})),
    pending: r.pending,
    warnings: r.warnings,
  }
}

/** The profile whose own key lists the keys exists (exit 2 before any AWS call); with --user alone, say how to act as an administrator. */
function checkListProfile(profile: string, flags: {profile?: string; user?: string}, env = process.env): void {
  const source = flags.profile ? '--profile' : env.AWS_PROFILE ? 'AWS_PROFILE' : 'the default, as no --profile was given'
  const hint = flags.user && !flags.profile
    ? `Without --admin-profile, psb lists keys with a profile's own key, and that profile is missing. To list the keys of the IAM user ${flags.user} as an administrator: psb keys list --user ${flags.user} --admin-profile <admin>.`
    : undefined
  checkProfile(profile, source, env, hint)
}

export default class KeysList extends BaseCommand {
  static override summary = 'List the access keys of an IAM user: status, age, last use, and which local profiles hold each.'

  static override description = `Shows the user's access keys (at most two): the key id (masked), status, creation date, age in days, when and where it was last used (service, region, date; needs iam:GetAccessKeyLastUsed), and which profiles of the local AWS credentials file hold it. A key that no profile holds is a candidate for deletion; an unfinished rotation recorded in the journal is reported.

With --profile only, the profile's own key finds its user (STS) and lists its keys. With --admin-profile and --user, the administrator lists that user's keys.

Exit codes: 0 listed; 1 an AWS call failed; 2 bad input.`

  static override examples = [
    {description: 'The keys of the user behind the profile "pulumi":', command: '<%= config.bin %> <%= command.id %> --profile pulumi'},
    {description: 'As an administrator, for the user pulumi, as JSON:', command: '<%= config.bin %> <%= command.id %> --user pulumi --admin-profile admin --json'},
  ]

  static override flags = {
    profile: shared.profile,
    user: shared.user,
    ...shared.awsFlags,
    'admin-profile': keysAdminProfile,
  }

  async run(): Promise<Record<string, unknown>> {
    const {flags} = await this.parse(KeysList)
    const profile = flags.profile ?? (flags.user && flags['admin-profile'] ? undefined : process.env.AWS_PROFILE || 'default')
    if (flags.user !== undefined) validateUserName(flags.user)
    if (profile !== undefined && !(flags.user && flags['admin-profile'])) checkListProfile(profile, flags)
    const endpoint = validateEndpoint(flags.endpoint)
    const region = resolveRegion(flags.region, flags['admin-profile'] ?? profile) ?? 'us-east-1'
    const admin = flags['admin-profile'] ? createAwsContext({region, endpoint, profile: flags['admin-profile']}) : undefined
    const logger: Logger = {warn: (m) => this.note(m), info: (m) => this.logToStderr(m)}
    const r = await listKeys({profile, user: flags.user, admin, region, endpoint, logger})
    if (!this.jsonEnabled()) {
      this.say(`Access keys of the IAM user ${r.user}${r.userArn ? ` (${r.userArn})` : ''}:`)
      const rows = r.keys.map((k) => [
        maskKeyId(k.accessKeyId),
        k.status === 'Active' ? out.green(k.status) : out.yellow(k.status),
        k.createdAt?.slice(0, 10) ?? '',
        k.ageDays === undefined ? '' : `${k.ageDays}d`,
        k.lastUsed?.date ? `${k.lastUsed.date.slice(0, 10)} ${k.lastUsed.service ?? ''} ${k.lastUsed.region ?? ''}`.trim() : k.lastUsed ? 'never' : 'unknown',
        k.profiles.join(', ') || out.dim('(no local profile)'),
      ])
      this.say(rows.length > 0 ? table(['KEY', 'STATUS', 'CREATED', 'AGE', 'LAST USED', 'PROFILES'], rows) : '(no access keys)')
    }
    for (const w of r.warnings) this.note(w)
    return listRecord(r)
  }
}
