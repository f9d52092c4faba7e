/** The profile's access key: its age, and how many keys its user has (one is best). */
import type {AccessKeyMetadata} from '@aws-sdk/client-iam'
import {isAccessDenied} from '../../aws/errors.js'
import {maskKeyId} from '../../redact.js'
import {notOnThisStore, readWith, unexpected, type CheckUnit, type Identity, type Verdict, type VerifyContext} from '../context.js'

/** The verdict on the profile's own key among the user's keys. */
export function keyAgeVerdict(v: VerifyContext, id: Identity, keys: AccessKeyMetadata[]): Verdict {
  const mine = keys.find((k) => k.AccessKeyId === id.accessKeyId)
  if (!mine) return {status: 'warn', detail: `the key ${maskKeyId(id.accessKeyId)} is not among user ${id.user}'s keys (temporary credentials?).`}
  const ageDays = mine.CreateDate ? Math.floor((v.now().getTime() - new Date(mine.CreateDate).getTime()) / 86_400_000) : undefined
  if (ageDays === undefined) return {status: 'warn', detail: 'the key has no creation date.'}
  if (ageDays > v.maxAgeDays)
    return {status: 'warn', detail: `${maskKeyId(mine.AccessKeyId)} is ${ageDays} days old.`, hint: `Rotate it: \`psb keys rotate --profile ${v.opts.profile}\`.`}
  return {status: 'pass', detail: `${maskKeyId(mine.AccessKeyId)} is ${ageDays} day${ageDays === 1 ? '' : 's'} old`}
}

/** Lists the user's keys (profile, else admin) and writes facts.accessKeys for key-count. */
export const keyAgeCheck: CheckUnit = {
  id: 'key-age',
  title: (v) => (v.facts.identity?.role ? 'No long-lived key' : `Access key is younger than ${v.maxAgeDays} days`),
  needs: ['credentials'],
  async run(v) {
    const id = v.facts.identity!
    if (v.facts.noIam) return notOnThisStore(v, "the key's age (iam:ListAccessKeys)")
    if (id.role) return {status: 'pass', detail: `the profile assumes the role ${id.role}: its credentials are temporary (${maskKeyId(id.accessKeyId)}), there is no access key to age or rotate.`}
    if (!id.user) return {status: 'warn', detail: `cannot check: the profile acts as ${id.arn}, not as an IAM user with a long-term key.`}
    const {ListAccessKeysCommand} = await import('@aws-sdk/client-iam')
    const r = await readWith(v, async (c) => (await c.iam()).send(new ListAccessKeysCommand({UserName: id.user})))
    if ('error' in r) {
      const d = isAccessDenied(r.error)
        ? {detail: `cannot check: iam:ListAccessKeys is denied to ${v.who}.`, hint: `Allow iam:ListAccessKeys on ${id.arn} (\`psb user create\` grants it), or pass --admin-profile.`}
        : unexpected(v, r.error, 'iam:ListAccessKeys', id.arn)
      return {status: 'warn', ...d}
    }
    v.facts.accessKeys = r.value.AccessKeyMetadata ?? []
    return keyAgeVerdict(v, id, v.facts.accessKeys)
  },
}

/** Only when key-age could list the keys. */
export const keyCountCheck: CheckUnit = {
  id: 'key-count',
  // The title is the question, so that it reads true whatever the answer ("Access keys of the user: 2 keys").
  title: 'Access keys of the user (one is best)',
  needs: ['credentials', 'key-age'],
  run(v) {
    const keys = v.facts.accessKeys
    const id = v.facts.identity!
    if (v.facts.noIam) return notOnThisStore(v, "counting the user's keys (iam:ListAccessKeys)")
    if (!keys) return undefined
    if (keys.length <= 1) return {status: 'pass', detail: `${keys.length} key`}
    const active = keys.filter((k) => k.Status === 'Active').length
    const others = keys.filter((k) => k.AccessKeyId !== id.accessKeyId).map((k) => `${maskKeyId(k.AccessKeyId)} (${k.Status})`)
    return {
      status: 'warn',
      detail: `${keys.length} keys (${active} active); besides the profile's: ${others.join(', ')}. A second key is an unrotated credential, and blocks the next rotation.`,
      hint: `Delete the key no profile uses (\`aws iam delete-access-key --user-name ${id.user} --access-key-id <id>\`), or let \`psb keys rotate --profile ${v.opts.profile}\` replace it.`,
    }
  },
}
