import {type AwsContext} from '../aws/client.js'
import {type Env} from '../files/aws-config.js'
import {isAccessDenied, translateAwsError} from '../aws/errors.js'
import {EXIT, badInput, messageOf} from '../errors.js'
import {profilesHoldingKey, readProfileCredentials, validateProfileName} from '../files/credentials.js'
import {readJournalEntries} from './journal.js'
import {maskKeyId, redact} from '../redact.js'
import {type Logger} from '../types.js'
import {userNameOfArn} from '../aws/arn.js'
import {callerIdentity, iamModule, listUserKeys} from './iam-calls.js'
import {credsCtx, daysOld, fail, makeState, refuseRoleProfile, type Actor, type RunState} from './run.js'


export interface ListKeysOptions {
  /** The profile whose key identifies the user (and acts, without `admin`). */
  profile?: string
  user?: string
  admin?: AwsContext
  region: string
  endpoint?: string
  env?: Env
  logger?: Logger
}

export interface KeyInfo {
  accessKeyId: string
  status: 'Active' | 'Inactive'
  createdAt?: string
  ageDays?: number
  lastUsed?: {date?: string; service?: string; region?: string}
  /** Profiles of the local credentials file that hold this key. */
  profiles: string[]
}

export interface ListKeysResult {
  user: string
  userArn?: string
  keys: KeyInfo[]
  /** Unfinished rotations of this user in the journal. */
  pending: {profile: string; step: string; startedAt: string}[]
  warnings: string[]
}

/** The keys of a user: status, age, last use, and which local profiles hold each. */
export async function listKeys(opts: ListKeysOptions): Promise<ListKeysResult> {
  const env = opts.env ?? process.env
  if (opts.profile) validateProfileName(opts.profile)
  if (opts.profile && !(opts.admin && opts.user)) refuseRoleProfile(opts.profile, 'list', env)
  if (!opts.profile && !(opts.admin && opts.user)) throw badInput('Say whose keys to list.', 'Pass --profile <name>, or --user <name> with --admin-profile <admin>.')
  const state = makeState({region: opts.region, endpoint: opts.endpoint, env, logger: opts.logger, admin: opts.admin})
  const warnings: string[] = []
  const {user, userArn, actor} = await whoseKeys(state, opts)
  const keys = await listUserKeys(state, actor, user, userArn)
  const infos = keys.map((k): KeyInfo => ({accessKeyId: k.id, status: k.status, createdAt: k.created?.toISOString(), ageDays: daysOld(k.created), profiles: profilesHoldingKey(k.id, env)}))
  await addLastUse(actor, infos, warnings)
  let pending: ListKeysResult['pending'] = []
  try {
    pending = readJournalEntries(state.credentialsFile)
      .filter((e) => e.user === user)
      .map((e) => ({profile: e.profile, step: e.step, startedAt: e.startedAt}))
  } catch (error) {
    warnings.push(messageOf(error))
  }
  if (pending.length > 0) warnings.push(`An interrupted rotation of ${user} is recorded in the journal; the next \`psb keys rotate\` finishes or undoes it.`)
  return {user, userArn, keys: infos, pending, warnings}
}

/** The user whose keys to list and who lists them: the administrator with --user, else the profile's own key (its user from STS). */
async function whoseKeys(state: RunState, opts: ListKeysOptions): Promise<{user: string; userArn?: string; actor: Actor}> {
  const admin: Actor | undefined = opts.admin ? {ctx: opts.admin, label: 'the administrator profile', fresh: false} : undefined
  if (!opts.profile || (admin && opts.user)) return {user: opts.user!, actor: admin!}
  const creds = readProfileCredentials(opts.profile, state.env)
  if (!creds) {
    throw fail(`The profile "${opts.profile}" has no access key in ${state.credentialsFile}.`, {
      code: 'ProfileHasNoKey',
      exitCode: EXIT.USAGE,
      hint: 'Pass a profile that holds a key, or --user <name> with --admin-profile <admin>.',
    })
  }
  const self: Actor = {ctx: credsCtx(state, creds), label: `profile ${opts.profile}`, fresh: false}
  const who = await callerIdentity(state, self)
  const parsed = userNameOfArn(who.arn)
  if (!parsed) throw fail(`The key of profile "${opts.profile}" belongs to ${who.arn}, which is not an IAM user.`, {code: 'NotAnIamUser'})
  if (opts.user && opts.user !== parsed) {
    throw fail(`The key of profile "${opts.profile}" belongs to ${parsed}, not ${opts.user}.`, {
      code: 'UserMismatch',
      exitCode: EXIT.USAGE,
      hint: `A profile's own key lists only its own user's keys. To list the keys of ${opts.user}, act as an administrator: --user ${opts.user} --admin-profile <admin>.`,
    })
  }
  return {user: parsed, userArn: who.arn, actor: admin ?? self}
}

/** Each key's last use (iam:GetAccessKeyLastUsed, in order); a denial stops asking, with one warning. */
async function addLastUse(actor: Actor, infos: KeyInfo[], warnings: string[]): Promise<void> {
  const {GetAccessKeyLastUsedCommand} = await iamModule()
  const iam = await actor.ctx.iam()
  for (const info of infos) {
    try {
      const r = await iam.send(new GetAccessKeyLastUsedCommand({AccessKeyId: info.accessKeyId}))
      const u = r.AccessKeyLastUsed
      const na = (v?: string) => (v && v !== 'N/A' ? v : undefined)
      info.lastUsed = {date: u?.LastUsedDate?.toISOString(), service: na(u?.ServiceName), region: na(u?.Region)}
    } catch (error) {
      if (isAccessDenied(error)) {
        warnings.push(`Last use is not shown: ${actor.label} may not call iam:GetAccessKeyLastUsed.`)
        return
      }
      warnings.push(`Last use of ${maskKeyId(info.accessKeyId)} is not shown: ${redact(translateAwsError(error, {action: 'iam:GetAccessKeyLastUsed'}).message)}`)
    }
  }
}
