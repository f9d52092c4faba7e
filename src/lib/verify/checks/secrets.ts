/**
 * Pulumi's secrets key (`awskms://`, see src/lib/kms/): with --secrets-provider, or when the
 * key psb would make for this bucket (alias/pulumi-<bucket>[-<prefix>]) exists.
 *   secrets-roundtrip  the profile generates a data key and decrypts it again (nothing stored): pass/fail
 *   secrets-key-state  the key is enabled and not pending deletion: fail otherwise
 *   secrets-rotation   automatic rotation is on: warn otherwise
 * Without --secrets-provider and without psb's key, none of them adds a line.
 */
import {awsCode, isAccessDenied} from '../../aws/errors.js'
import {messageOf} from '../../errors.js'
import {defaultAlias, parseProviderUrl} from '../../kms/names.js'
import {readWith, unexpected, type CheckUnit, type Verdict, type VerifyContext} from '../context.js'

export interface SecretsProbe {
  /** What was asked for (alias, id or ARN) and in which region. */
  keyId: string
  region: string
  /** The key's ARN, when KMS named it. */
  keyArn?: string
  /** True: the data key came back; else the error of the round trip. */
  ok: boolean
  error?: unknown
  explicit: boolean
}

const kmsSdk = () => import('@aws-sdk/client-kms')

/** KMS's answers about a key that exists (denied, disabled, pending deletion, unavailable). */
const KEY_ANSWERS = new Set(['AccessDeniedException', 'DisabledException', 'KMSInvalidStateException', 'KeyUnavailableException'])

async function roundTrip(v: VerifyContext, keyId: string, region: string, explicit: boolean): Promise<SecretsProbe> {
  const {GenerateDataKeyCommand, DecryptCommand} = await kmsSdk()
  const kms = await v.aws.kms(region)
  const probe: SecretsProbe = {keyId, region, ok: false, explicit}
  try {
    const dk = await kms.send(new GenerateDataKeyCommand({KeyId: keyId, KeySpec: 'AES_256'}))
    probe.keyArn = dk.KeyId
    const back = await kms.send(new DecryptCommand({CiphertextBlob: dk.CiphertextBlob, KeyId: dk.KeyId}))
    if (!back.Plaintext || !dk.Plaintext || !Buffer.from(back.Plaintext).equals(Buffer.from(dk.Plaintext))) throw new Error('the decrypted data key differs from the one generated')
    probe.ok = true
  } catch (error) {
    probe.error = error
  }
  return probe
}

/** The round trip, made once per run (each secrets check reads it); undefined: no key to check. */
export function secretsProbe(v: VerifyContext): Promise<SecretsProbe | undefined> {
  v.facts.secrets ??= (async () => {
    const url = v.opts.secretsProvider
    const parsed = url ? parseProviderUrl(url) : undefined
    const probe = await roundTrip(v, parsed?.keyId ?? defaultAlias(v.opts.bucket, v.opts.prefix), parsed?.region ?? v.opts.region, Boolean(parsed))
    // Without --secrets-provider, only psb's own key is checked, and only when KMS answered about
    // it: no such alias, or no KMS at all (an S3-compatible store: no AWS error code, or one that
    // is not KMS's), adds no lines.
    if (!probe.explicit && !probe.ok && !KEY_ANSWERS.has(awsCode(probe.error) ?? '')) return undefined
    return probe
  })()
  return v.facts.secrets
}

function grantHint(v: VerifyContext): string {
  return `psb grants it: \`psb kms create --bucket ${v.opts.bucket}${v.opts.prefix ? ` --prefix ${v.opts.prefix}` : ''} --for-user <the user of ${v.who}>\`.`
}

export const secretsRoundTripCheck: CheckUnit = {
  id: 'secrets-roundtrip',
  title: 'Pulumi secrets: the profile can generate and decrypt a data key',
  needs: ['credentials'],
  async run(v) {
    const p = await secretsProbe(v)
    if (!p) return undefined
    const key = p.keyArn ?? p.keyId
    if (p.ok) return {status: 'pass', detail: `${p.keyId} (${p.region})${p.keyArn && p.keyArn !== p.keyId ? ` → ${p.keyArn}` : ''}`}
    if (isAccessDenied(p.error)) return {status: 'fail', detail: `KMS denied ${v.who} the use of ${key}: ${messageOf(p.error)}`, hint: `Pulumi needs kms:Encrypt and kms:Decrypt on the key; ${grantHint(v)}`}
    if (awsCode(p.error) === 'NotFoundException') return {status: 'fail', detail: `${p.keyId} does not exist in ${p.region}.`, hint: `Create it: \`psb kms create --bucket ${v.opts.bucket}${v.opts.prefix ? ` --prefix ${v.opts.prefix}` : ''} --region ${p.region}\`, or fix --secrets-provider.`}
    if (['DisabledException', 'KMSInvalidStateException'].includes(awsCode(p.error) ?? '')) return {status: 'fail', detail: `${key} cannot be used: ${messageOf(p.error)}`, hint: 'See the key-state check below.'}
    return {status: 'fail', ...(awsCode(p.error) ? unexpected(v, p.error, 'kms:GenerateDataKey', key) : {detail: messageOf(p.error)})}
  },
}

function stateVerdict(state: string | undefined, key: string, deletion?: Date): Verdict {
  if (state === 'Enabled') return {status: 'pass', detail: `${key} is enabled`}
  if (state === 'PendingDeletion' || state === 'PendingReplicaDeletion')
    return {status: 'fail', detail: `${key} is scheduled for deletion${deletion ? ` on ${deletion.toISOString()}` : ''}: every stack encrypted with it becomes unreadable then.`, hint: `aws kms cancel-key-deletion --key-id ${key} && aws kms enable-key --key-id ${key}`}
  return {status: 'fail', detail: `${key} is ${state ?? 'in an unknown state'}; Pulumi cannot encrypt or decrypt with it.`, hint: `aws kms enable-key --key-id ${key}`}
}

type KmsSdk = Awaited<ReturnType<typeof kmsSdk>>
type Kms = Awaited<ReturnType<VerifyContext['aws']['kms']>>

/**
 * A read about the probed key (DescribeKey, GetKeyRotationStatus), with the admin fallback of
 * readWith; undefined when there is no key to check.
 */
async function readKey<T>(v: VerifyContext, call: (kms: Kms, sdk: KmsSdk, key: string) => Promise<T>) {
  const p = await secretsProbe(v)
  if (!p) return undefined
  const key = p.keyArn ?? p.keyId
  const sdk = await kmsSdk()
  const r = await readWith(v, async (c) => call(await c.kms(p.region), sdk, key))
  return {p, key, r}
}

export const secretsKeyStateCheck: CheckUnit = {
  id: 'secrets-key-state',
  title: 'Pulumi secrets: the key is enabled and not pending deletion',
  needs: ['credentials'],
  async run(v) {
    const read = await readKey(v, (kms, sdk, key) => kms.send(new sdk.DescribeKeyCommand({KeyId: key})))
    if (!read) return undefined
    const {p, key, r} = read
    if ('value' in r) return stateVerdict(r.value.KeyMetadata?.KeyState, r.value.KeyMetadata?.Arn ?? key, r.value.KeyMetadata?.DeletionDate)
    // The profile may only use the key (psb grants no kms:DescribeKey): KMS refuses a disabled
    // key or one pending deletion, so the round trip tells.
    const code = awsCode(p.error)
    if (p.ok) return {status: 'pass', detail: `${key} made a data key just now (KMS refuses a disabled key or one pending deletion)`}
    if (code === 'DisabledException') return stateVerdict('Disabled', key)
    if (code === 'KMSInvalidStateException') return stateVerdict('PendingDeletion', key)
    if (awsCode(r.error) === 'NotFoundException') return undefined
    return {status: 'warn', detail: `cannot check: kms:DescribeKey is denied to ${v.opts.admin ? 'the admin profile' : v.who}, and the round trip did not tell.`, hint: 'Pass --admin-profile <profile>.'}
  },
}

export const secretsRotationCheck: CheckUnit = {
  id: 'secrets-rotation',
  title: 'Pulumi secrets: the key rotates automatically',
  needs: ['credentials'],
  async run(v) {
    const read = await readKey(v, (kms, sdk, key) => kms.send(new sdk.GetKeyRotationStatusCommand({KeyId: key})))
    if (!read) return undefined
    const {key, r} = read
    if ('value' in r) {
      return r.value.KeyRotationEnabled
        ? {status: 'pass', detail: `automatic rotation is on for ${key}`}
        : {status: 'warn', detail: `automatic rotation is off for ${key}.`, hint: `Turn it on: \`psb kms create --bucket ${v.opts.bucket}${v.opts.prefix ? ` --prefix ${v.opts.prefix}` : ''}\` (or aws kms enable-key-rotation --key-id ${key}).`}
    }
    if (isAccessDenied(r.error)) return {status: 'warn', detail: `cannot check: kms:GetKeyRotationStatus is denied to ${v.opts.admin ? 'the admin profile' : v.who} (psb lets Pulumi's profile only use the key).`, hint: 'Pass --admin-profile <profile> to check it.'}
    if (awsCode(r.error) === 'NotFoundException') return undefined
    return {status: 'warn', ...unexpected(v, r.error, 'kms:GetKeyRotationStatus', key)}
  },
}
