/**
 * `psb init --no-iam`: the chain on an S3-compatible store without AWS IAM and STS (MinIO,
 * Ceph RGW, Cloudflare R2…), where users and keys are made with the store's own tools. The
 * bucket is made as the admin profile; the Pulumi profile either already holds the store
 * key, or gets --access-key-id + its secret (stdin / environment) written the way
 * `psb creds write` writes it; then login and verify. Chosen by --no-iam, or by itself (with a
 * notice) when STS answers "unsupported action" on an --endpoint store. Everything is
 * checked before the first write (exit 2, nothing changed).
 */
import {Flags} from '@oclif/core'
import type {AwsContext} from '../lib/aws/client.js'
import {isNoIamApi} from '../lib/aws/store.js'
import {badInput} from '../lib/errors.js'
import {readProfileCredentials, validateAccessKeyId, validateSecretAccessKey, writeProfile} from '../lib/files/credentials.js'
import {callerAccountOnce} from '../lib/iam/user.js'
import {storeToolSteps, storeUserPolicy} from '../lib/iam/store-policy.js'
import {maskKeyId, registerSecret} from '../lib/redact.js'
import {nonAwsKey} from './flags.js'
import {readSecret} from './secret-input.js'
import type {InitPlan, StepReport} from './tasks.js'

/** What the no-IAM chain needs beyond the plan: why, and the key to write (none: the profile holds it). */
export interface NoIamPlan {
  reason: string
  key?: {accessKeyId: string; secretAccessKey: string}
  /** The store user's policy (AWS grammar) and the steps the store's tools must do, for the summary. */
  policy: ReturnType<typeof storeUserPolicy>
  mustDo: string[]
}

export interface NoIamFlags {
  iam: boolean
  endpoint?: string
  'access-key-id'?: string
  'secret-stdin': boolean
  'secret-env'?: string
  'non-aws-key': boolean
  'attach-policy'?: string[]
  'permissions-boundary'?: string
  adopt: boolean
  'widen-scope': boolean
  path?: string
}

/** IAM-only flags: they mean nothing on a store without IAM (exit 2). */
function refuseIamOnlyFlags(flags: NoIamFlags, why: string): void {
  const given = (['attach-policy', 'permissions-boundary', 'adopt', 'widen-scope', 'path'] as const).filter((f) => {
    const v = flags[f]
    return Array.isArray(v) ? v.length > 0 : Boolean(v)
  })
  if (given.length > 0) {
    throw badInput(
      `${given.map((f) => `--${f}`).join(', ')} ${given.length === 1 ? 'is' : 'are'} about the AWS IAM user, and ${why}: psb makes no IAM user. Nothing was changed.`,
      "Drop the flag; give the store's user its rights with the store's own tools (docs/s3-compatible.md).",
      'IamFlagWithoutIam',
    )
  }
}

/** --access-key-id without --no-iam (on a store with IAM psb makes the key itself): exit 2. */
export function refuseKeyFlagsWithIam(flags: NoIamFlags): void {
  if (flags['access-key-id'] !== undefined && flags.iam) {
    throw badInput(
      '--access-key-id is for a store without AWS IAM (psb init --no-iam); with IAM, psb init makes the user\'s key itself.',
      'Add --no-iam (an S3-compatible store whose keys you made with its own tools), or drop --access-key-id.',
      'KeyFlagWithIam',
    )
  }
}

/**
 * With --endpoint: the store's answer to sts:GetCallerIdentity says it has no STS/IAM API
 * (the reason); undefined when it has one, or when the answer says something else (the
 * preflight then reports it).
 */
export async function storeWithoutIam(admin: AwsContext): Promise<string | undefined> {
  if (!admin.options.endpoint) return undefined
  try {
    await callerAccountOnce(admin)
    return undefined
  } catch (error) {
    return isNoIamApi(error, true) ? `${admin.options.endpoint} answered sts:GetCallerIdentity with "unsupported action"` : undefined
  }
}

/** Settles the key before any write: the flags' key (validated, secret read) or the one the profile holds. */
export async function noIamInputs(flags: NoIamFlags, o: {profile: string; bucket: string; prefix?: string; user: string; env: NodeJS.ProcessEnv; reason: string}): Promise<NoIamPlan> {
  refuseIamOnlyFlags(flags, o.reason)
  const base = {reason: o.reason, policy: storeUserPolicy(o.bucket, o.prefix), mustDo: storeToolSteps(o.bucket, o.user)}
  const id = flags['access-key-id']
  if (id !== undefined) {
    // Another store's key: its shape is not AWS's (the --endpoint or --non-aws-key rule of creds write).
    const shape = {nonAws: flags['non-aws-key'] || flags.endpoint !== undefined}
    validateAccessKeyId(id, shape)
    const secret = await readSecret(flags, o.env)
    registerSecret(secret)
    validateSecretAccessKey(secret, shape)
    return {...base, key: {accessKeyId: id, secretAccessKey: secret}}
  }
  if (!readProfileCredentials(o.profile, o.env)) {
    throw badInput(
      `The profile "${o.profile}" holds no access key, and psb cannot make one: ${o.reason}. Nothing was changed.`,
      `Make the user, its policy and its key with the store's own tools (MinIO: mc admin user add / mc admin policy attach; docs/s3-compatible.md), then pass --access-key-id <id> --secret-stdin (or write it first with psb creds write --profile ${o.profile} --endpoint <url>).`,
      'ProfileHasNoKey',
    )
  }
  return base
}

/** The key step of the no-IAM chain: writes the flags' key into the profile (as creds write does), or keeps the profile's own. */
export async function storeKeyStep(plan: InitPlan, noIam: NoIamPlan, warnings: string[]): Promise<StepReport & {accessKeyId?: string}> {
  const {profile, region, dryRun} = plan.key
  if (!noIam.key) {
    const held = readProfileCredentials(profile, plan.env)
    return {status: 'unchanged', summary: `unchanged (profile ${profile} holds ${maskKeyId(held?.accessKeyId)}, made with the store's tools)`, changes: [], warnings, accessKeyId: held?.accessKeyId}
  }
  const r = await writeProfile({
    profile,
    region,
    dryRun,
    env: plan.env,
    nonAwsKey: true,
    accessKeyId: noIam.key.accessKeyId,
    secretAccessKey: noIam.key.secretAccessKey,
    logger: {warn: (m) => warnings.push(m), info: () => {}},
  })
  const changed = r.changes.some((c) => c.status !== 'unchanged')
  const status: StepReport['status'] = !changed ? 'unchanged' : dryRun ? 'planned' : 'updated'
  const what = `${maskKeyId(noIam.key.accessKeyId)} in profile ${profile}`
  return {status, summary: changed ? `${dryRun ? 'planned' : 'written'} (${what})` : `unchanged (${what})`, changes: r.changes, warnings, accessKeyId: noIam.key.accessKeyId}
}

/** The summary's lines for a store without IAM: what its own tools must do, and the policy. */
export function noIamLines(noIam: NoIamPlan): string[] {
  return [
    `\nThis store has no AWS IAM (${noIam.reason}): its own tools must make`,
    ...noIam.mustDo.map((l) => `  ${l}`),
    'The policy for that user (AWS grammar, as MinIO and Ceph RGW evaluate it):',
    JSON.stringify(noIam.policy, null, 2),
  ]
}

/** The flags of the no-IAM chain, for `psb init`. */
export const noIamFlagDefs = {
  iam: Flags.boolean({
    description:
      "Make the AWS IAM user and its key (--no-iam: the store has no AWS IAM, e.g. MinIO, Ceph RGW, R2: the profile holds a key made with the store's own tools, or gets --access-key-id). Chosen by itself, with a notice, when an --endpoint store answers STS with \"unsupported action\".",
    default: true,
    allowNo: true,
  }),
  'access-key-id': Flags.string({description: 'With --no-iam: the store key (made with its own tools) to write into --profile; its secret comes from --secret-stdin or AWS_SECRET_ACCESS_KEY.', helpValue: '<id>'}),
  'secret-stdin': Flags.boolean({description: 'With --access-key-id: read the secret from stdin.', default: false}),
  'secret-env': Flags.string({description: 'With --access-key-id: read the secret from this environment variable (default AWS_SECRET_ACCESS_KEY).', helpValue: '<VAR>'}),
  'non-aws-key': nonAwsKey,
}

/**
 * Decides the chain before any write: --no-iam, or an --endpoint store whose STS says it has
 * no such API (with a notice); then settles its key (exit 2 when there is none). Undefined:
 * the IAM chain (where --access-key-id has no place).
 */
export async function chooseNoIam(
  flags: NoIamFlags,
  o: {admin: AwsContext; profile: string; bucket: string; prefix?: string; user: string; env: NodeJS.ProcessEnv; note: (m: string) => void},
): Promise<NoIamPlan | undefined> {
  let reason = flags.iam ? undefined : '--no-iam'
  if (!reason) {
    reason = await storeWithoutIam(o.admin)
    if (reason) o.note(`${reason}: it has no AWS IAM, so psb init continues as with --no-iam (bucket, the profile's store key, login, verify).`)
  }
  if (!reason) {
    refuseKeyFlagsWithIam(flags)
    return undefined
  }
  return noIamInputs(flags, {...o, reason})
}
