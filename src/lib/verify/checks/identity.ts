/** Who the profile is: its credentials resolve (STS GetCallerIdentity), with its own key. */
import type {StaticCredentials} from '../../aws/client.js'
import {awsCode, isBadCredentials, translateAwsError, withBackoff} from '../../aws/errors.js'
import {isNoIamApi} from '../../aws/store.js'
import {messageOf} from '../../errors.js'
import {maskKeyId} from '../../redact.js'
import {roleNameOfArn, userNameOfArn} from '../rules.js'
import type {CheckUnit, Verdict, VerifyContext} from '../context.js'

/**
 * A store without STS (MinIO, Ceph RGW, R2…): the identity cannot be asked, which is not a
 * failure; the round trip below proves the key. The IAM checks then say "not available".
 */
function noSts(v: VerifyContext, error: unknown): Verdict {
  v.facts.noIam = `sts:GetCallerIdentity answered ${awsCode(error) ?? 'an error'}: ${messageOf(error).slice(0, 120)}`
  v.facts.identity = {account: '', arn: '', accessKeyId: v.fileCreds?.accessKeyId}
  return {status: 'warn', detail: `not available on this store: it has no AWS STS API (${v.facts.noIam}); the round trip below proves the key works.`}
}

/**
 * What to do about a key that does not work. psb cannot tell from a rejected key whether an
 * --endpoint store has AWS IAM, so there the hint says which command fits which store.
 */
function fixKey(v: VerifyContext): string {
  const p = v.opts.profile
  const rotate = `\`psb keys rotate --profile ${p}\` (with --admin-profile if the key is gone), or \`psb init\``
  if (v.opts.endpoint === undefined) return `Write a working key into profile ${p}: ${rotate}.`
  return `Write a working key into profile ${p}: on a store with AWS IAM, ${rotate}; on a store without (MinIO, Ceph RGW, R2…), make the key with the store's own tools and \`psb creds write --profile ${p} --endpoint ${v.opts.endpoint} --access-key-id <id> --secret-stdin\`.`
}

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
      const role = roleNameOfArn(r.Arn ?? '')
      const id = {account: r.Account ?? '', arn: r.Arn ?? '', user: userNameOfArn(r.Arn ?? ''), ...(role ? {role} : {}), accessKeyId: resolved?.accessKeyId}
      v.facts.identity = id
      if (role) return {status: 'pass', detail: `account ${id.account}, assumed role ${role} (${id.arn}), temporary key ${maskKeyId(id.accessKeyId)}`}
      return {status: 'pass', detail: `account ${id.account}, ${id.user ? `user ${id.user}` : id.arn}, key ${maskKeyId(id.accessKeyId)}`}
    } catch (error) {
      if (isNoIamApi(error, v.opts.endpoint !== undefined)) return noSts(v, error)
      const e = translateAwsError(error, {action: 'sts:GetCallerIdentity', principal: v.who})
      return {status: 'fail', detail: e.message, hint: fixKey(v)}
    }
  },
}
