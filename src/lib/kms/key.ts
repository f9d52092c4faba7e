/**
 * The kms/ domain: the customer-managed KMS key that Pulumi encrypts stack secrets with
 * (`--secrets-provider awskms://…`), instead of a shared passphrase. This file is its entry
 * point, ensureSecretsKey; names.ts holds the pure rules (alias, URL, policies), read.ts the
 * read calls.
 *
 * The key: symmetric, automatic rotation on, tagged managed-by=psb, psb-bucket, psb-prefix
 * (with a prefix) and psb-purpose=pulumi-secrets, behind an alias (default
 * alias/pulumi-<bucket>[-<prefix>]). Its key policy lets the account's administrators
 * administer it and lets only the named principals use it, through their IAM policy
 * psb-pulumi-secrets (kms:Encrypt, kms:Decrypt, kms:GenerateDataKey on the key's ARN).
 *
 * Idempotent and never weakens: every read comes first; a second run makes no write;
 * rotation is never turned off, a deletion never scheduled, a principal never removed,
 * statements psb did not write are kept. An alias pointing at a key psb did not create is
 * refused unless `adopt`. A key that is disabled or pending deletion is refused (psb never
 * re-enables or cancels on its own).
 */
import type {AwsContext} from '../aws/client.js'
import {awsCall} from '../aws/errors.js'
import {BUCKET_TAG, PREFIX_TAG} from '../aws/tags.js'
import {MANAGED_BY_KEY, MANAGED_BY_VALUE} from '../bucket/ensure.js'
import {validateTags} from '../bucket/options.js'
import {validateBucketName} from '../bucket/name.js'
import {badInput, EXIT, PsbError} from '../errors.js'
import {normalizePrefix} from '../iam/policy.js'
import {callerAccountOnce, validateUserName} from '../iam/user.js'
import {silentLogger, withPartialChanges, type Change, type Logger} from '../types.js'
import {grantPrincipals} from './grant.js'
import {defaultAlias, mergeKeyPolicy, providerUrl, PURPOSE_TAG, PURPOSE_VALUE, validateAlias} from './names.js'
import {aliasTarget, readKey, resolvePrincipal, type ExistingKey, type Principal, type ResolvedPrincipal} from './read.js'

export type {Principal} from './read.js'
export {defaultAlias, parseProviderUrl, providerUrl, SECRETS_POLICY_NAME, SECRETS_USE_ACTIONS} from './names.js'

export interface SecretsKeyOptions {
  bucket: string
  prefix?: string
  region: string
  /** Default: defaultAlias(bucket, prefix). */
  alias?: string
  description?: string
  /** Extra tags; managed-by=psb, psb-bucket, psb-prefix and psb-purpose are always set. */
  tags?: Record<string, string>
  /** The principals allowed to use the key (users and roles). */
  principals?: Principal[]
  adopt?: boolean
  dryRun?: boolean
  logger?: Logger
}

export interface SecretsKeyResult {
  alias: string
  region: string
  accountId: string
  /** Undefined only in a dry run that would create the key. */
  keyId?: string
  keyArn?: string
  created: boolean
  adopted: boolean
  /** What to pass to Pulumi: awskms://<alias>?region=<region>. */
  providerUrl: string
  principals: {kind: 'user' | 'role'; name: string; arn: string}[]
  changes: Change[]
  warnings: string[]
  dryRun: boolean
}

/** Every bad-input check of ensureSecretsKey, before any AWS call (exit 2). Answers the alias. */
export function validateSecretsKeyOptions(opts: SecretsKeyOptions): string {
  validateBucketName(opts.bucket)
  const prefix = normalizePrefix(opts.prefix)
  const alias = opts.alias ?? defaultAlias(opts.bucket, prefix)
  validateAlias(alias)
  if (opts.tags) {
    validateTags(opts.tags)
    for (const k of [BUCKET_TAG, PREFIX_TAG, PURPOSE_TAG]) if (k in opts.tags) throw badInput(`The tag ${k} is set by psb.`, `Remove --tag ${k}=….`, 'TagInvalid')
  }
  if (opts.description !== undefined && opts.description.length > 8192) throw badInput(`--description is ${opts.description.length} characters long; KMS allows 8192.`, 'Give a shorter description.', 'DescriptionInvalid')
  for (const p of opts.principals ?? []) {
    if (p.kind === 'user') validateUserName(p.name)
    else if (!/^[\w+=,.@-]{1,64}$/.test(p.name)) throw badInput(`--for-role ${JSON.stringify(p.name.slice(0, 64))} is not an IAM role name (1-64 characters of letters, digits and _+=,.@-).`, 'Give the role\'s name, not its ARN, e.g. --for-role pulumi-ci.', 'RoleNameInvalid')
  }
  return alias
}

/** The tags the key must carry. */
export function wantedTags(opts: SecretsKeyOptions): Record<string, string> {
  const prefix = normalizePrefix(opts.prefix)
  return {...opts.tags, [MANAGED_BY_KEY]: MANAGED_BY_VALUE, [BUCKET_TAG]: opts.bucket, ...(prefix ? {[PREFIX_TAG]: prefix} : {}), [PURPOSE_TAG]: PURPOSE_VALUE}
}

interface KeyRun {
  ctx: AwsContext
  opts: SecretsKeyOptions
  alias: string
  account: {accountId: string; partition: string}
  existing?: ExistingKey
  principals: ResolvedPrincipal[]
  changes: Change[]
  done: (s: 'created' | 'updated') => Change['status']
}

/** Refuses a key psb must not touch: another's (without adopt), the wrong kind, disabled, or pending deletion. */
function checkExisting(alias: string, key: ExistingKey, adopt: boolean | undefined): void {
  const id = key.meta.KeyId
  if (key.tags[MANAGED_BY_KEY] !== MANAGED_BY_VALUE && !adopt) {
    throw new PsbError(`${alias} points at the KMS key ${id}, which psb did not create (it has no ${MANAGED_BY_KEY}=${MANAGED_BY_VALUE} tag); psb will not change it.`, {
      code: 'KeyNotManaged',
      exitCode: EXIT.FAILED,
      data: {alias, keyArn: key.keyArn},
      hint: 'Pass --adopt to let psb manage it (psb tags it, turns rotation on and adds its statements to the key policy; other statements stay), or choose another --alias.',
    })
  }
  const state = key.meta.KeyState
  if (state === 'PendingDeletion' || state === 'PendingReplicaDeletion') {
    throw new PsbError(`${alias} points at the KMS key ${id}, which is scheduled for deletion${key.meta.DeletionDate ? ` on ${key.meta.DeletionDate.toISOString()}` : ''}; psb does not cancel a deletion on its own.`, {
      code: 'KeyPendingDeletion',
      hint: `If the key is still needed (stacks encrypted with it cannot be read without it): aws kms cancel-key-deletion --key-id ${id} && aws kms enable-key --key-id ${id}; then run psb again.`,
    })
  }
  if (state !== 'Enabled') {
    throw new PsbError(`${alias} points at the KMS key ${id}, which is ${state ?? 'in an unknown state'}; Pulumi cannot use it.`, {code: 'KeyNotEnabled', hint: `Enable it (aws kms enable-key --key-id ${id}) and run psb again, or choose another --alias.`})
  }
  if ((key.meta.KeySpec ?? 'SYMMETRIC_DEFAULT') !== 'SYMMETRIC_DEFAULT' || (key.meta.KeyUsage ?? 'ENCRYPT_DECRYPT') !== 'ENCRYPT_DECRYPT') {
    throw new PsbError(`${alias} points at the KMS key ${id} (${key.meta.KeySpec}, ${key.meta.KeyUsage}); Pulumi's awskms provider needs a symmetric ENCRYPT_DECRYPT key.`, {code: 'KeyWrongKind', hint: 'Choose another --alias; psb then creates a symmetric key behind it.'})
  }
}

/** The reads, all before the first write. */
async function prepare(ctx: AwsContext, opts: SecretsKeyOptions, alias: string): Promise<Omit<KeyRun, 'changes' | 'done'>> {
  const account = await callerAccountOnce(ctx)
  const target = await aliasTarget(ctx, opts.region, alias)
  const existing = target === undefined ? undefined : await readKey(ctx, opts.region, target)
  if (existing) checkExisting(alias, existing, opts.adopt)
  const principals = await Promise.all((opts.principals ?? []).map((p) => resolvePrincipal(ctx, p)))
  return {ctx, opts, alias, account, existing, principals}
}

async function createKey(run: KeyRun): Promise<{keyId?: string; keyArn?: string}> {
  const {opts, alias, account} = run
  const {policy} = mergeKeyPolicy(undefined, account.accountId, account.partition, run.principals.map((p) => p.arn))
  const tags = wantedTags(opts)
  const description = opts.description ?? `Pulumi stack secrets for s3://${opts.bucket}${normalizePrefix(opts.prefix) ? `/${normalizePrefix(opts.prefix)}` : ''} (psb)`
  if (run.opts.dryRun) {
    run.changes.push({item: `key ${alias}`, status: 'planned', detail: `create a symmetric key: ${description}`})
    run.changes.push({item: 'rotation', status: 'planned', detail: 'automatic rotation on'})
    run.changes.push({item: 'key policy', status: 'planned', detail: `administrators administer; use only through IAM${run.principals.length ? ` for ${run.principals.map((p) => p.arn).join(', ')}` : ''}`})
    return {}
  }
  const sdk = await import('@aws-sdk/client-kms')
  const kms = await run.ctx.kms(opts.region)
  const made = await awsCall({action: 'kms:CreateKey', resource: alias}, () =>
    kms.send(new sdk.CreateKeyCommand({Description: description, KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', Policy: JSON.stringify(policy), Tags: Object.entries(tags).map(([TagKey, TagValue]) => ({TagKey, TagValue}))})),
  )
  const keyId = made.KeyMetadata!.KeyId!
  const keyArn = made.KeyMetadata!.Arn!
  run.changes.push({item: `key ${alias}`, status: 'created', detail: keyArn})
  run.changes.push({item: 'key policy', status: 'created', detail: `administrators administer; use only through IAM${run.principals.length ? ` for ${run.principals.map((p) => p.arn).join(', ')}` : ''}`})
  run.changes.push({item: 'tags', status: 'created', detail: Object.entries(tags).map(([k, v]) => `${k}=${v}`).join(', ')})
  const hint = `The key ${keyArn} exists (tagged ${MANAGED_BY_KEY}=${MANAGED_BY_VALUE}); run the same command again once the cause is fixed, after pointing the alias at it: aws kms create-alias --alias-name ${alias} --target-key-id ${keyId}`
  await awsCall({action: 'kms:CreateAlias', resource: alias}, () => kms.send(new sdk.CreateAliasCommand({AliasName: alias, TargetKeyId: keyId}))).catch((e: PsbError) => {
    throw new PsbError(e.message, {code: e.code, cause: e, hint})
  })
  run.changes.push({item: 'alias', status: 'created', detail: alias})
  await awsCall({action: 'kms:EnableKeyRotation', resource: keyArn}, () => kms.send(new sdk.EnableKeyRotationCommand({KeyId: keyId})))
  run.changes.push({item: 'rotation', status: 'created', detail: 'automatic rotation on'})
  return {keyId, keyArn}
}

/** An existing key brought up to date: tags, rotation, key policy (never weaker). */
async function updateKey(run: KeyRun, key: ExistingKey): Promise<void> {
  const sdk = await import('@aws-sdk/client-kms')
  const kms = await run.ctx.kms(run.opts.region)
  const dry = run.opts.dryRun
  const at = {resource: key.keyArn}
  const adopted = key.tags[MANAGED_BY_KEY] !== MANAGED_BY_VALUE
  run.changes.push({item: `key ${run.alias}`, status: adopted ? run.done('updated') : 'unchanged', detail: `${adopted ? 'adopted: ' : ''}${key.keyArn}`})
  const diff = Object.entries(wantedTags(run.opts)).filter(([k, v]) => key.tags[k] !== v)
  if (diff.length > 0) {
    if (!dry) await awsCall({action: 'kms:TagResource', ...at}, () => kms.send(new sdk.TagResourceCommand({KeyId: key.keyArn, Tags: diff.map(([TagKey, TagValue]) => ({TagKey, TagValue}))})))
    run.changes.push({item: 'tags', status: run.done('updated'), detail: diff.map(([k, v]) => `${k}=${v}${key.tags[k] !== undefined ? ` (was ${key.tags[k]})` : ''}`).join(', ')})
  } else run.changes.push({item: 'tags', status: 'unchanged'})
  if (!key.rotation) {
    if (!dry) await awsCall({action: 'kms:EnableKeyRotation', ...at}, () => kms.send(new sdk.EnableKeyRotationCommand({KeyId: key.keyArn})))
    run.changes.push({item: 'rotation', status: run.done('updated'), detail: 'automatic rotation turned on'})
  } else run.changes.push({item: 'rotation', status: 'unchanged', detail: 'automatic rotation on'})
  const merged = mergeKeyPolicy(key.policy, run.account.accountId, run.account.partition, run.principals.map((p) => p.arn))
  if (merged.changed) {
    if (!dry) await awsCall({action: 'kms:PutKeyPolicy', ...at}, () => kms.send(new sdk.PutKeyPolicyCommand({KeyId: key.keyArn, PolicyName: 'default', Policy: JSON.stringify(merged.policy)})))
    const added = merged.added.length ? `; use allowed for ${merged.added.join(', ')}` : ''
    run.changes.push({item: 'key policy', status: run.done('updated'), detail: `psb's statements written, others kept${added}`})
  } else run.changes.push({item: 'key policy', status: 'unchanged'})
}

/** Creates the secrets key (or brings it up to date) and grants it to the principals. */
export async function ensureSecretsKey(ctx: AwsContext, opts: SecretsKeyOptions): Promise<SecretsKeyResult> {
  const alias = validateSecretsKeyOptions(opts)
  const logger = opts.logger ?? silentLogger
  const warnings: string[] = []
  const prepared = await prepare(ctx, opts, alias)
  return withPartialChanges(async (changes) => {
    const run: KeyRun = {...prepared, changes, done: (s) => (opts.dryRun ? 'planned' : s)}
    let keyId = prepared.existing?.meta.KeyId
    let keyArn = prepared.existing?.keyArn
    if (prepared.existing) await updateKey(run, prepared.existing)
    else ({keyId, keyArn} = await createKey(run))
    await grantPrincipals(run.ctx, run.principals, keyArn, {dryRun: opts.dryRun, changes})
    if (run.principals.length === 0) {
      const w = `No --for-user or --for-role was given: nobody is allowed to use ${alias} yet. Run again with --for-user <the user Pulumi runs as>.`
      warnings.push(w)
      logger.warn(w)
    }
    return {
      alias,
      region: opts.region,
      accountId: prepared.account.accountId,
      keyId,
      keyArn,
      created: !prepared.existing,
      adopted: Boolean(prepared.existing && prepared.existing.tags[MANAGED_BY_KEY] !== MANAGED_BY_VALUE),
      providerUrl: providerUrl(alias, opts.region),
      principals: run.principals.map(({kind, name, arn}) => ({kind, name, arn})),
      changes,
      warnings,
      dryRun: Boolean(opts.dryRun),
    }
  })
}
