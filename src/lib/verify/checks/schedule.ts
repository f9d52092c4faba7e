/** Whether a schedule rotates the profile's key (`psb keys schedule`): a warning when none does and the key is past half of --max-key-age. */
import {maskKeyId} from '../../redact.js'
import {installedSchedules} from '../../schedule/index.js'
import type {CheckUnit} from '../context.js'

export const keyScheduleCheck: CheckUnit = {
  id: 'key-schedule',
  title: 'A schedule rotates the key',
  needs: ['credentials', 'key-age'],
  run(v) {
    const keys = v.facts.accessKeys
    const id = v.facts.identity!
    const mine = keys?.find((k) => k.AccessKeyId === id.accessKeyId)
    // Only for a profile that holds the key in the credentials file: that is what a schedule rotates.
    if (!v.fileCreds || !mine?.CreateDate) return undefined
    const schedule = installedSchedules(v.env).find((e) => e.profile === v.opts.profile)
    if (schedule) return {status: 'pass', detail: `${schedule.scheduler} (${schedule.options.join(' ')})`}
    const ageDays = Math.floor((v.now().getTime() - new Date(mine.CreateDate).getTime()) / 86_400_000)
    if (ageDays * 2 > v.maxAgeDays)
      return {
        status: 'warn',
        detail: `no schedule of psb rotates it, and ${maskKeyId(mine.AccessKeyId)} is ${ageDays} days old, past half of ${v.maxAgeDays} days.`,
        hint: `Install one: \`psb keys schedule install --profile ${v.opts.profile} --every ${v.maxAgeDays}d\` (a key held by CI is rotated from CI: docs/keys.md, "CI-held keys").`,
      }
    return {status: 'pass', detail: `none yet; the key is ${ageDays} day${ageDays === 1 ? '' : 's'} old (install one: psb keys schedule install --profile ${v.opts.profile} --every ${v.maxAgeDays}d)`}
  },
}
