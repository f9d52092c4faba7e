import {type StaticCredentials} from '../aws/client.js'
import {awsCall, awsCode, sleep, translateAwsError, withBackoff} from '../aws/errors.js'
import {EXIT, PsbError, isPsbError} from '../errors.js'
import {isNoIamApi, STORE_TOOLS} from '../aws/store.js'
import {type JournalEntry} from './journal.js'
import {redact, registerSecret} from '../redact.js'
import {formatDuration} from '../duration.js'
import {BUCKET_TAG, PREFIX_TAG} from '../aws/tags.js'
import {Actor, RunState, fail} from './run.js'

/** Errors a new key gives while IAM propagates it. */
export const PROPAGATION_ERRORS = new Set(['InvalidClientTokenId', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'UnrecognizedClientException', 'AuthFailure'])

export function isPropagationError(error: unknown): boolean {
  const code = awsCode(error)
  if (code && PROPAGATION_ERRORS.has(code)) return true
  // translateAwsError keeps the SDK error as the cause.
  const cause = (error as {cause?: unknown})?.cause
  const causeCode = cause ? awsCode(cause) : undefined
  return causeCode !== undefined && PROPAGATION_ERRORS.has(causeCode)
}

export interface IamKey {
  id: string
  status: 'Active' | 'Inactive'
  created?: Date
}

export const iamModule = () => import('@aws-sdk/client-iam')

export const stsModule = () => import('@aws-sdk/client-sts')

export const s3Module = () => import('@aws-sdk/client-s3')

/** An IAM call by `actor`, its error translated; a fresh actor's propagation errors are retried (withBackoff) up to `waitMs`. */
export async function actorCall<T>(state: RunState, actor: Actor, action: string, resource: string | undefined, fn: () => Promise<T>): Promise<T> {
  const call = () => awsCall({action, resource, principal: actor.label}, fn).catch((error: unknown) => {
    throw isNoIamApi(error, state.endpoint !== undefined) ? noIamOnStore(state, action, error) : error
  })
  if (!actor.fresh) return call()
  return withBackoff(call, {
    maxMs: state.waitMs,
    baseMs: Math.max(50, state.pollMs),
    retryIf: isPropagationError,
    onRetry: (error, _attempt, delay) =>
      state.logger.info(`IAM does not accept the new key yet (${awsCode((error as {cause?: unknown}).cause) ?? awsCode(error)}); retrying in ${formatDuration(delay)}`),
    sleep: async (ms) => {
      const t = Date.now()
      await sleep(ms)
      state.waited += Date.now() - t
    },
  })
}

/** A store without the AWS IAM API (MinIO, Ceph RGW, R2…): its keys are rotated with its own tools. Exit 2. */
export function noIamOnStore(state: RunState, action: string, cause: unknown): PsbError {
  return fail(`psb cannot rotate keys on ${state.endpoint}: this S3-compatible store has no AWS IAM API (${action} answered ${awsCode(isPsbError(cause) ? cause.cause : cause) ?? 'unsupported action'}).`, {
    code: 'NoIamOnStore',
    exitCode: EXIT.USAGE,
    hint: `Rotate the key with ${STORE_TOOLS}; then write the new key into the profile with \`psb creds write --profile <profile> --endpoint ${state.endpoint} --access-key-id <id> --secret-stdin\`, and delete the old key with the store's tools.`,
  })
}

export async function listUserKeys(state: RunState, actor: Actor, user: string, arn?: string): Promise<IamKey[]> {
  const {ListAccessKeysCommand} = await iamModule()
  const iam = await actor.ctx.iam()
  const r = await actorCall(state, actor, 'iam:ListAccessKeys', arn ?? `user ${user}`, () => iam.send(new ListAccessKeysCommand({UserName: user})))
  return (r.AccessKeyMetadata ?? []).map((k) => ({id: k.AccessKeyId!, status: k.Status === 'Inactive' ? 'Inactive' : 'Active', created: k.CreateDate}))
}

export async function deleteKey(state: RunState, actor: Actor, user: string, id: string, arn?: string): Promise<void> {
  const {DeleteAccessKeyCommand} = await iamModule()
  const iam = await actor.ctx.iam()
  await actorCall(state, actor, 'iam:DeleteAccessKey', arn ?? `user ${user}`, () => iam.send(new DeleteAccessKeyCommand({UserName: user, AccessKeyId: id})))
}

export async function deactivateKey(state: RunState, actor: Actor, user: string, id: string, arn?: string): Promise<void> {
  const {UpdateAccessKeyCommand} = await iamModule()
  const iam = await actor.ctx.iam()
  await actorCall(state, actor, 'iam:UpdateAccessKey', arn ?? `user ${user}`, () =>
    iam.send(new UpdateAccessKeyCommand({UserName: user, AccessKeyId: id, Status: 'Inactive'})),
  )
}

export async function createKey(state: RunState, actor: Actor, user: string, arn?: string): Promise<StaticCredentials & {created?: Date}> {
  const {CreateAccessKeyCommand} = await iamModule()
  const iam = await actor.ctx.iam()
  // The SDK's standard retry strategy retries throttling and 5xx answers (PSB_MAX_ATTEMPTS).
  const r = await actorCall(state, actor, 'iam:CreateAccessKey', arn ?? `user ${user}`, () => iam.send(new CreateAccessKeyCommand({UserName: user})))
  const k = r.AccessKey
  if (!k?.AccessKeyId || !k.SecretAccessKey) throw new PsbError('iam:CreateAccessKey returned no key.', {code: 'CreateAccessKeyEmpty'})
  registerSecret(k.SecretAccessKey)
  return {accessKeyId: k.AccessKeyId, secretAccessKey: k.SecretAccessKey, created: k.CreateDate}
}

/**
 * True unless IAM surely made no key: only a clean client-side refusal (4xx) of a single
 * attempt proves that. A 5xx, a lost connection, or an error after the SDK retried (the
 * first attempt may have made the key, its answer lost) leaves the question open.
 */
export function mayHaveCreatedKey(error: unknown): boolean {
  const sdk = (isPsbError(error) ? error.cause : error) as {$metadata?: {httpStatusCode?: number; attempts?: number}} | undefined
  const status = sdk?.$metadata?.httpStatusCode
  const attempts = sdk?.$metadata?.attempts ?? 1
  return !(status !== undefined && status >= 400 && status < 500 && attempts <= 1)
}

/**
 * CreateAccessKey, with its request window in the journal entry: `from` was written before,
 * the journal is touched every second while the call runs (a dead run's last sign of life),
 * and `to` is written when the call failed in a way that may have made a key anyway. Such an
 * orphan is deleted by the next run only when IAM dates it inside the window.
 */
export async function createKeyJournaled(state: RunState, actor: Actor, user: string, entry: JournalEntry, arn?: string): Promise<StaticCredentials & {created?: Date}> {
  const journal = state.journal!
  const stopBeat = journal.heartbeat()
  try {
    return await createKey(state, actor, user, arn)
  } catch (error) {
    if (!mayHaveCreatedKey(error)) {
      journal.remove(entry.id)
      throw error
    }
    const e = isPsbError(error) ? error : translateAwsError(error, {action: 'iam:CreateAccessKey', resource: arn})
    journal.update(entry.id, {createWindow: {from: entry.createWindow!.from, to: new Date().toISOString()}, lastError: redact(e.message)})
    throw fail(
      `Creating the new access key for ${user} failed: ${e.message} IAM may have made the key even so (its answer lost on the way), so an orphan key that no profile holds may exist. Nothing else was changed: the profile holds its old key, which works.`,
      {
        code: 'CreateAccessKeyUncertain',
        cause: error,
        hint: `Run psb keys rotate again: it first removes that orphan key (only a key IAM dates inside this run's request, recorded in ${journal.path}), then rotates.`,
        data: {user},
      },
    )
  } finally {
    stopBeat()
  }
}

export async function callerIdentity(state: RunState, actor: Actor): Promise<{arn: string; accountId: string}> {
  const {GetCallerIdentityCommand} = await stsModule()
  const sts = await actor.ctx.sts()
  const r = await actorCall(state, actor, 'sts:GetCallerIdentity', undefined, () => sts.send(new GetCallerIdentityCommand({})))
  return {arn: r.Arn ?? '', accountId: r.Account ?? ''}
}

/** The state bucket and prefix from the user's tags (iam:GetUser returns them); undefined when not readable. */
export async function bucketFromTags(state: RunState, actor: Actor, user: string): Promise<{bucket?: string; prefix?: string}> {
  try {
    const {GetUserCommand} = await iamModule()
    const iam = await actor.ctx.iam()
    const r = await iam.send(new GetUserCommand({UserName: user}))
    const tags = r.User?.Tags ?? []
    const bucket = tags.find((t) => t.Key === BUCKET_TAG)?.Value || undefined
    const prefix = tags.find((t) => t.Key === PREFIX_TAG)?.Value || undefined
    return {bucket, prefix}
  } catch {
    return {}
  }
}
