/**
 * The init/ domain: `psb init --keyless`, the chain with an IAM role instead of a user and key.
 *
 *  - sourceOf(): who assumes the role on this machine: the admin profile psb acts with (or
 *    --source-profile) as `source_profile`, or `credential_source = Environment` when the
 *    admin's credentials come from the environment; its identity is trusted by the role.
 *  - writeRoleProfile(): `[profile NAME]` in the AWS config file with role_arn + source_profile
 *    (or credential_source) + region, with the byte-exact ini editor under the file's lock,
 *    atomically; nothing goes into the credentials file.
 *  - proveRole() and retireUser(): `--retire-user USER` moves a key-based setup over. Only once
 *    the role is proven (the profile assumes it, and a put/get/delete round trip under the
 *    prefix passes) are USER's keys deleted, then the profiles that hold them lose those key
 *    lines (destroy/profiles.ts), and with `deleteUser` the user itself.
 */
import {randomUUID} from 'node:crypto'
import {createAwsContext, type AwsContext} from '../aws/client.js'
import {parseArn} from '../aws/arn.js'
import {awsCall, awsCode, translateAwsError} from '../aws/errors.js'
import {badInput, messageOf, PsbError} from '../errors.js'
import {configFilePath, readProfiles, type Env} from '../files/aws-config.js'
import {editIniFile, readProfileCredentials} from '../files/credentials.js'
import {configSectionFor, sectionEntries, setSectionKeys} from '../files/ini.js'
import {callerAccount} from '../iam/user.js'
import {roleArnFor} from '../iam/role.js'
import {describePrincipal, deleteAccessKey, deletePrincipal} from '../destroy/iam.js'
import {applyProfiles, planProfiles, profileChanges} from '../destroy/profiles.js'
import {maskKeyId} from '../redact.js'
import type {Change} from '../types.js'

/** Who assumes the role from this machine. */
export interface KeylessSource {
  /** The profile whose credentials assume the role (source_profile). */
  sourceProfile?: string
  /** `Environment`: the credentials of the environment assume it (credential_source). */
  credentialSource?: 'Environment'
}

/**
 * The source of the role profile: --source-profile, else the admin profile (--admin-profile,
 * AWS_PROFILE), else the environment's keys (credential_source), else the default profile.
 * Exit 2 when none holds credentials.
 */
export function sourceOf(o: {sourceProfile?: string; adminProfile?: string; profile: string; env: Env}): KeylessSource {
  const named = o.sourceProfile ?? o.adminProfile ?? o.env.AWS_PROFILE
  const source: KeylessSource = named ? {sourceProfile: named} : o.env.AWS_ACCESS_KEY_ID ? {credentialSource: 'Environment'} : {sourceProfile: 'default'}
  if (source.sourceProfile === o.profile) {
    throw badInput(
      `The role profile "${o.profile}" cannot be its own source profile.`,
      'Give the role profile another name (--profile), or name the profile whose credentials assume the role with --source-profile.',
      'ProfileConflict',
    )
  }
  if (source.sourceProfile && !(source.sourceProfile in readProfiles(o.env))) {
    throw badInput(
      `The source profile "${source.sourceProfile}" is not in the AWS credentials or config file: the role profile could not assume the role with it.`,
      'Name an existing profile with --source-profile (or --admin-profile), or export the credentials in the environment (credential_source = Environment).',
      'ProfileNotFound',
    )
  }
  return source
}

/** The IAM principal behind an identity ARN, as a trust policy names it (an assumed role: its role's ARN). */
export async function trustablePrincipal(admin: AwsContext, arn: string): Promise<string> {
  const a = parseArn(arn)
  if (a?.service === 'sts' && a.resource.startsWith('assumed-role/')) return roleArnFor(admin, a.resource.split('/')[1])
  return arn
}

/** The identity of the source (its own profile, or the admin's context for the environment). */
export async function sourceIdentity(admin: AwsContext, source: KeylessSource): Promise<string> {
  const ctx = source.sourceProfile && source.sourceProfile !== admin.options.profile ? createAwsContext({...admin.options, credentials: undefined, profile: source.sourceProfile}) : admin
  return trustablePrincipal(admin, (await callerAccount(ctx)).arn)
}

/** A key for this profile in the credentials file would win over role_arn: exit 2 before any write. */
export function checkProfileKeyless(profile: string, env: Env): void {
  if (readProfileCredentials(profile, env)) {
    throw badInput(
      `The profile "${profile}" holds an access key in the credentials file, which AWS tools would use instead of the role. Nothing was changed.`,
      `Give the role profile another name (--profile), or let --retire-user remove the key once the role works, with --profile naming a new profile.`,
      'ProfileHoldsKey',
    )
  }
}

export interface RoleProfileInput {
  profile: string
  roleArn: string
  source: KeylessSource
  region: string
  dryRun: boolean
  env: Env
}

/** `[profile NAME]` with role_arn, source_profile or credential_source, region: one change per key; 0 writes when already so. */
export async function writeRoleProfile(i: RoleProfileInput): Promise<{configFile: string; changed: boolean; changes: Change[]}> {
  const values: Record<string, string | undefined> = {
    role_arn: i.roleArn,
    source_profile: i.source.sourceProfile,
    credential_source: i.source.credentialSource,
    region: i.region,
  }
  let before: Record<string, string> | undefined
  let section = ''
  const r = await editIniFile(
    configFilePath(i.env),
    (doc) => {
      section = configSectionFor(doc, i.profile)
      before = sectionEntries(doc, section)
      return setSectionKeys(doc, section, values)
    },
    {env: i.env, dryRun: i.dryRun},
  )
  const changes: Change[] = []
  for (const [k, v] of Object.entries(values)) {
    const old = before?.[k]
    if (old === v) {
      if (v !== undefined) changes.push({item: `config: [${section}] ${k}`, status: 'unchanged', detail: v})
      continue
    }
    const status = i.dryRun ? 'planned' : v === undefined ? 'deleted' : old === undefined ? 'created' : 'updated'
    changes.push({item: `config: [${section}] ${k}`, status, ...(v === undefined ? {} : {detail: v})})
  }
  return {configFile: r.path, changed: r.changed, changes}
}

/**
 * The role works from this machine: the profile assumes it (GetCallerIdentity answers the
 * role's session) and a put/get/delete round trip under the prefix passes. Throws otherwise.
 */
export async function proveRole(o: {profile: string; roleArn: string; bucket: string; prefix?: string; region: string; endpoint?: string}): Promise<string> {
  const ctx = createAwsContext({region: o.region, endpoint: o.endpoint, profile: o.profile, maxAttempts: 3})
  const who = (await callerAccount(ctx)).arn
  const roleName = o.roleArn.split('/').at(-1)
  if (!who.includes(`:assumed-role/${roleName}/`)) throw new PsbError(`The profile ${o.profile} acts as ${who}, not as the role ${o.roleArn}.`, {code: 'RoleNotProven', hint: `Check [profile ${o.profile}] in the AWS config file.`})
  const {PutObjectCommand, GetObjectCommand, DeleteObjectCommand} = await import('@aws-sdk/client-s3')
  const s3 = await ctx.s3()
  const Key = `${o.prefix ? `${o.prefix}/` : ''}.pulumi/.psb-keyless-proof-${randomUUID()}.json`
  const body = JSON.stringify({psb: 'keyless proof', role: o.roleArn})
  const on = {resource: `arn:aws:s3:::${o.bucket}/${Key}`, principal: who}
  await awsCall({action: 's3:PutObject', ...on}, () => s3.send(new PutObjectCommand({Bucket: o.bucket, Key, Body: body})))
  try {
    const got = await awsCall({action: 's3:GetObject', ...on}, () => s3.send(new GetObjectCommand({Bucket: o.bucket, Key})))
    if ((await got.Body?.transformToString()) !== body) throw new PsbError('The object read back as the role differs from the one written.', {code: 'RoleNotProven'})
  } finally {
    await awsCall({action: 's3:DeleteObject', ...on}, () => s3.send(new DeleteObjectCommand({Bucket: o.bucket, Key})))
  }
  return `${who}: assumed; put, get, delete under s3://${o.bucket}/${o.prefix ? `${o.prefix}/` : ''}.pulumi/`
}

/** The user to retire (read calls only, before any write): its ARN; undefined when there is no such user (already retired). */
export async function checkRetireUser(admin: AwsContext, user: string): Promise<string | undefined> {
  const {GetUserCommand} = await import('@aws-sdk/client-iam')
  const iam = await admin.iam()
  try {
    return (await iam.send(new GetUserCommand({UserName: user}))).User!.Arn!
  } catch (error) {
    if (awsCode(error) !== 'NoSuchEntity') throw translateAwsError(error, {action: 'iam:GetUser', resource: user})
    return undefined
  }
}

export interface RetireOptions {
  user: string
  userArn: string
  deleteUser: boolean
  dryRun: boolean
  env: Env
  /** Runs before anything is deleted; throws when the role is not proven (then nothing is deleted). */
  prove: () => Promise<string>
}

export interface RetireResult {
  user: string
  proof?: string
  deletedKeys: string[]
  profiles: string[]
  userDeleted: boolean
  changes: Change[]
}

/** Proves the role, then deletes USER's keys, their lines in local profiles, and (deleteUser) USER. */
export async function retireUser(admin: AwsContext, o: RetireOptions): Promise<RetireResult> {
  const p = await describePrincipal(admin, {kind: 'user', name: o.user, arn: o.userArn}, undefined)
  const edits = planProfiles(p.keys, o.env)
  const changes: Change[] = []
  // Nothing left to retire (a re-run): no proof either, so no write at all.
  if (p.keys.length === 0 && !o.deleteUser) return {user: o.user, deletedKeys: [], profiles: [], userDeleted: false, changes: [{item: `user ${o.user}`, status: 'unchanged', detail: 'no access key left'}]}
  if (o.dryRun) {
    changes.push(...p.keys.map((id): Change => ({item: `user ${o.user}: access key ${maskKeyId(id)}`, status: 'planned', detail: 'delete, once the role is proven'})), ...profileChanges(edits, 'planned'))
    if (o.deleteUser) changes.push({item: `user ${o.user}`, status: 'planned', detail: 'delete'})
    return {user: o.user, deletedKeys: [], profiles: edits.map((e) => e.profile), userDeleted: false, changes}
  }
  let proof: string
  try {
    proof = await o.prove()
  } catch (error) {
    throw new PsbError(`The role is not proven, so ${o.user}'s keys were kept: ${messageOf(error)}`, {code: 'RoleNotProven', cause: error, hint: 'Fix the role or its profile (psb verify --profile <profile>), then run the same psb init again.'})
  }
  for (const id of p.keys) {
    await deleteAccessKey(admin, p, id)
    changes.push({item: `user ${o.user}: access key ${maskKeyId(id)}`, status: 'deleted'})
  }
  await applyProfiles(edits, o.env, changes)
  if (o.deleteUser) await deletePrincipal(admin, p, changes)
  return {user: o.user, proof, deletedKeys: p.keys.map(maskKeyId), profiles: edits.map((e) => e.profile), userDeleted: o.deleteUser, changes}
}
