/** Which profiles a schedule is for: the given ones (checked locally) or every profile whose key belongs to a psb user. */
import {createAwsContext} from '../aws/client.js'
import {userNameOfArn} from '../aws/arn.js'
import {checkProfile, listProfiles, resolveRegion, type Env} from '../files/aws-config.js'
import {readProfileCredentials, validateProfileName} from '../files/credentials.js'
import {badInput, messageOf} from '../errors.js'
import {echo, NAME_SHAPE} from '../echo.js'
import type {Logger} from '../types.js'

/** Each profile exists and holds an access key: exit 2 before anything is written. */
export function checkScheduleProfiles(profiles: string[], env: Env): void {
  for (const profile of profiles) {
    validateProfileName(profile)
    checkProfile(profile, '--profile', env, 'Check the name: psb schedules the rotation of a profile of the AWS credentials file.')
    if (!readProfileCredentials(profile, env))
      throw badInput(
        `The profile ${echo(profile, {what: 'profile name', shape: NAME_SHAPE})} holds no access key: there is nothing to rotate; nothing was installed.`,
        'Give a profile with a long-term access key (psb init, or psb keys rotate --create, writes one).',
        'ProfileHasNoKey',
      )
  }
}

/**
 * The profiles of the credentials file whose long-term key belongs to an IAM user that psb
 * manages (tag managed-by=psb), asked with each profile's own key (STS, then iam:GetUser: read-only).
 */
export async function psbProfiles(opts: {region?: string; endpoint?: string; env: Env; logger: Logger; nothing?: string}): Promise<string[]> {
  const {GetUserCommand} = await import('@aws-sdk/client-iam')
  const {GetCallerIdentityCommand} = await import('@aws-sdk/client-sts')
  const found: string[] = []
  const seen = new Set<string>()
  for (const profile of listProfiles(opts.env)) {
    const creds = readProfileCredentials(profile, opts.env)
    if (!creds || creds.sessionToken || seen.has(creds.accessKeyId)) continue
    seen.add(creds.accessKeyId)
    const region = resolveRegion(opts.region, profile, opts.env) ?? 'us-east-1'
    try {
      const ctx = createAwsContext({region, endpoint: opts.endpoint, credentials: creds, maxAttempts: 2})
      // The user's name from STS, then GetUser on it: the user's own policy allows it on its own ARN.
      const name = userNameOfArn((await (await ctx.sts()).send(new GetCallerIdentityCommand({}))).Arn ?? '')
      if (!name) continue
      const user = (await (await ctx.iam()).send(new GetUserCommand({UserName: name}))).User
      if (user?.Tags?.some((t) => t.Key === 'managed-by' && t.Value === 'psb')) found.push(profile)
    } catch (error) {
      opts.logger.warn(`Skipped the profile ${profile}: cannot tell whether its user is psb's (iam:GetUser: ${messageOf(error)}).`)
    }
  }
  if (found.length === 0)
    throw badInput(`No profile of the credentials file holds the key of an IAM user that psb manages (tag managed-by=psb); nothing was ${opts.nothing ?? 'installed'}.`, 'Name the profiles with --profile <name> (repeatable).', 'NoPsbProfiles')
  return found
}
