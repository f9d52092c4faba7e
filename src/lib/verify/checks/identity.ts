/** Who the profile is: its credentials resolve (STS GetCallerIdentity), with its own key. */
import type {StaticCredentials} from '../../aws/client.js'
import {isBadCredentials, translateAwsError, withBackoff} from '../../aws/errors.js'
import {maskKeyId} from '../../redact.js'
import {userNameOfArn} from '../rules.js'
import type {CheckUnit} from '../context.js'

/** Writes facts.identity when it passes; every AWS check needs it. */
export const credentialsCheck: CheckUnit = {
  id: 'credentials',
  title: 'Profile credentials resolve',
  needs: [],
  async run(v) {
    try {
      const sts = await v.aws.sts()
      const {GetCallerIdentityCommand} = await import('@aws-sdk/client-sts')
      const r = await withBackoff(() => sts.send(new GetCallerIdentityCommand({})), {
        maxMs: v.opts.newKeyGraceMs ?? 0,
        baseMs: 250,
        retryIf: isBadCredentials,
      })
      const resolved = v.fileCreds ?? (await (sts.config.credentials as () => Promise<StaticCredentials>)())
      const id = {account: r.Account ?? '', arn: r.Arn ?? '', user: userNameOfArn(r.Arn ?? ''), accessKeyId: resolved?.accessKeyId}
      v.facts.identity = id
      return {status: 'pass', detail: `account ${id.account}, ${id.user ? `user ${id.user}` : id.arn}, key ${maskKeyId(id.accessKeyId)}`}
    } catch (error) {
      const e = translateAwsError(error, {action: 'sts:GetCallerIdentity', principal: v.who})
      const p = v.opts.profile
      return {
        status: 'fail',
        detail: e.message,
        hint: `Write a working key into profile ${p}: \`psb keys rotate --profile ${p}\` (with --admin-profile if the key is gone), or \`psb init\`.`,
      }
    }
  },
}
