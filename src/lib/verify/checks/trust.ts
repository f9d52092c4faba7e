/** The trust of the role a profile assumes: no broader than one repository, and MFA for people when the role was made with --require-mfa. */
import {getRole} from '../../iam/role-calls.js'
import {REQUIRE_MFA_TAG} from '../../iam/role.js'
import {judgeTrust} from '../../iam/trust.js'
import {isAccessDenied} from '../../aws/errors.js'
import {readWith, unexpected, type CheckUnit} from '../context.js'

export const roleTrustCheck: CheckUnit = {
  id: 'role-trust',
  title: 'The role\'s trust lets in no more than it should',
  needs: ['credentials'],
  async run(v) {
    const id = v.facts.identity!
    if (!id.role) return undefined
    const r = await readWith(v, (c) => getRole(c, id.role!, id.arn, v.who))
    if ('error' in r) {
      if (isAccessDenied(r.error)) return {status: 'warn', detail: `cannot check: iam:GetRole on the role ${id.role} is denied to ${v.who}.`, hint: 'Allow iam:GetRole on the role (`psb role create` grants it), or pass --admin-profile <profile>.'}
      return {status: 'warn', ...unexpected(v, r.error, 'iam:GetRole', id.arn)}
    }
    if (!r.value) return {status: 'warn', detail: `cannot check: the role ${id.role} was not found.`}
    const requireMfa = r.value.tags[REQUIRE_MFA_TAG] === 'true'
    const f = judgeTrust(r.value.trust, requireMfa)
    const fix = `\`psb role create --role ${id.role} --bucket ${v.opts.bucket} --trust …${requireMfa ? ' --require-mfa' : ''} --replace-trust\``
    if (f.broad.length > 0) {
      return {status: 'warn', detail: `the trust is broader than one repository: ${f.broad.join('; ')}.`, hint: `Give each repository its own role, and name one repository per --trust: ${fix}; remove statements psb did not write with \`aws iam update-assume-role-policy\`.`}
    }
    if (f.noMfa.length > 0) {
      return {status: 'warn', detail: `the role was made with --require-mfa (its ${REQUIRE_MFA_TAG} tag), but ${f.noMfa.join(', ')} may assume it without MFA.`, hint: `Run ${fix} again: psb adds the MFA condition to its statements; change the others by hand.`}
    }
    return {status: 'pass', detail: f.summary.join('; ') || 'no principal may assume the role'}
  },
}
