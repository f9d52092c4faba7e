import {BaseCommand} from '../../cli/base-command.js'
import {locksTable, stackFlag, stateFlags, stateTarget} from '../../cli/state.js'
import {listLocks, type LockInfo} from '../../lib/state/locks.js'

export default class LocksList extends BaseCommand {
  static override summary = 'List the locks Pulumi holds on stacks of a backend: stack, who, pid, when, age'

  static override description = `Reads <prefix>/.pulumi/locks/ with the profile's own key. Pulumi writes one lock object per running \`pulumi up\`, \`preview\`, \`refresh\` or \`destroy\` and deletes it when the command ends; a lock left behind by a crashed or killed run blocks every later update of that stack.

For each lock: the stack (organization/project/stack, or the stack name of a legacy backend), who took it (user@host), the pid, when, and its age. Locks are listed oldest first.

Clear stale ones with psb locks clear (docs/locks.md). Nothing is changed.

Exit codes: 0 listed; 1 an AWS call failed; 2 bad input.`

  static override examples = [
    {description: 'The locks of a backend', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --region eu-west-1 --profile pulumi'},
    {description: 'One stack, as JSON', command: '<%= config.bin %> <%= command.id %> --bucket acme-pulumi-state --prefix team-a --stack webapp/prod --json'},
  ]

  static override flags = {...stateFlags, stack: stackFlag}

  async run(): Promise<{bucket: string; prefix?: string; locks: LockInfo[]}> {
    const {flags} = await this.parse(LocksList)
    const t = stateTarget(flags)
    const locks = await listLocks(t.ctx, {bucket: t.bucket, prefix: t.prefix, stack: t.stack, principal: t.principal})
    if (!this.jsonEnabled()) {
      this.say(`Locks under s3://${t.bucket}/${t.prefix ? `${t.prefix}/` : ''}.pulumi/locks/${t.stack ? ` (stack ${t.stack})` : ''}:`)
      this.say(locksTable(locks))
    }
    return {bucket: t.bucket, ...(t.prefix ? {prefix: t.prefix} : {}), locks}
  }
}
