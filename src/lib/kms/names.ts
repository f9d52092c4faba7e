/**
 * The pure half of the kms/ domain: the default alias of the secrets key, the `awskms://`
 * URL Pulumi takes as its secrets provider, the key policy psb writes and the identity
 * policy that lets a principal use the key. No AWS call here.
 *
 * What Pulumi calls (gocloud.dev/secrets/awskms, the keeper behind `awskms://`): Encrypt
 * once per stack (to wrap the stack's data key, stored as `encryptedkey` in
 * Pulumi.<stack>.yaml) and Decrypt (to unwrap it on every command). `psb verify` proves the
 * key with a GenerateDataKey + Decrypt round trip. Those three actions are all a principal
 * gets; nothing to describe, re-encrypt, grant or manage the key.
 */
import {echo} from '../echo.js'
import {badInput} from '../errors.js'
import {canonicalPolicy, type PolicyDocument, type PolicyStatement} from '../iam/policy.js'

/** The actions a principal that runs Pulumi gets on the secrets key, and no more. */
export const SECRETS_USE_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']

/** What the account's administrators (IAM principals whose own policies allow it) may do with the key. */
export const KEY_ADMIN_ACTIONS = [
  'kms:CancelKeyDeletion',
  'kms:Create*',
  'kms:Delete*',
  'kms:Describe*',
  'kms:Disable*',
  'kms:Enable*',
  'kms:Get*',
  'kms:List*',
  'kms:Put*',
  'kms:Revoke*',
  'kms:RotateKeyOnDemand',
  'kms:ScheduleKeyDeletion',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:Update*',
]

/** The Sids of the key policy statements psb writes (others in the policy are kept as they are). */
export const KEY_SID = {admin: 'PsbKeyAdministration', use: 'PsbKeyUseThroughIam'} as const

/** The inline policy psb puts on each principal allowed to use a secrets key. */
export const SECRETS_POLICY_NAME = 'psb-pulumi-secrets'
export const SECRETS_SID = 'PulumiSecretsKms'

/** The tag naming the key's purpose, besides managed-by, psb-bucket and psb-prefix. */
export const PURPOSE_TAG = 'psb-purpose'
export const PURPOSE_VALUE = 'pulumi-secrets'

const ALIAS = /^alias\/[A-Za-z0-9/_-]{1,250}$/

/**
 * The default alias: `alias/pulumi-<bucket>` or `alias/pulumi-<bucket>-<prefix>`. KMS allows
 * only letters, digits, "/", "_" and "-" in an alias, so a "." of the bucket or prefix becomes "-".
 */
export function defaultAlias(bucket: string, prefix?: string): string {
  const clean = (s: string) => s.replace(/[^A-Za-z0-9/_-]/g, '-')
  return `alias/pulumi-${clean(bucket)}${prefix ? `-${clean(prefix)}` : ''}`
}

/** An alias as KMS accepts it for a new key; exit 2 otherwise. */
export function validateAlias(alias: string): void {
  if (!ALIAS.test(alias)) {
    throw badInput(
      `--alias ${echo(alias, {what: 'value', shape: /^alias\/[a-z0-9/_-]{0,200}$/i})} is not a KMS alias name.`,
      'Give it as alias/<name>, with letters, digits, "/", "_" and "-" (at most 256 characters), e.g. --alias alias/pulumi-secrets.',
      'AliasInvalid',
    )
  }
  if (/^alias\/aws\//i.test(alias)) throw badInput(`--alias ${alias} is in the alias/aws/ namespace, which AWS reserves for its own keys.`, 'Choose another name, e.g. alias/pulumi-secrets.', 'AliasInvalid')
}

/** The secrets provider URL Pulumi takes: `awskms://alias/<name>?region=<region>`. */
export function providerUrl(alias: string, region: string): string {
  return `awskms://${alias}?region=${encodeURIComponent(region)}`
}

export interface ParsedProviderUrl {
  /** What KMS is asked for: an alias name (alias/…), a key id, or a key or alias ARN. */
  keyId: string
  region?: string
  /** The query parameters other than region (e.g. awssdk, profile), as given. */
  params: URLSearchParams
}

/**
 * Parses `awskms://<key>?region=…` as gocloud does: the key is the host plus the path
 * (`awskms://alias/x` → `alias/x`; a key ARN after `awskms:///`). Exit 2 for anything else.
 */
export function parseProviderUrl(url: string): ParsedProviderUrl {
  const bad = () =>
    badInput(
      `--secrets-provider ${echo(url, {what: 'value', shape: /^awskms:\/\/[a-z0-9:/_?=&.-]{1,300}$/i})} is not an awskms:// URL psb can check.`,
      'Give it as awskms://alias/<name>?region=<region> (what `psb kms create` prints).',
      'SecretsProviderInvalid',
    )
  const m = /^awskms:\/\/([^?]*)(?:\?(.*))?$/.exec(url)
  if (!m) throw bad()
  const keyId = decodeURIComponent(m[1].replace(/^\/+/, ''))
  if (keyId === '') throw bad()
  const params = new URLSearchParams(m[2] ?? '')
  const region = params.get('region') ?? undefined
  params.delete('region')
  return {keyId, region, params}
}

/** The account's root principal: in a key policy it means "whoever IAM in this account allows". */
export function accountRoot(accountId: string, partition = 'aws'): string {
  return `arn:${partition}:iam::${accountId}:root`
}

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v])

/** The principal ARNs named by psb's use statement of a key policy. */
export function usePrincipals(doc: PolicyDocument | undefined): string[] {
  const use = asList(doc?.Statement).find((s) => s.Sid === KEY_SID.use)
  const cond = use?.Condition?.ArnEquals?.['aws:PrincipalArn']
  return asList(cond).map(String)
}

/**
 * psb's key policy statements. Administration: the account (root) principal, i.e. the IAM
 * principals whose own policies allow it, for the admin actions only. Use: the account
 * principal for the three use actions, limited by `aws:PrincipalArn` to the named principals,
 * so use goes only through their IAM policies (psb-pulumi-secrets) and only for them.
 */
export function keyPolicyStatements(accountId: string, partition: string, principals: string[]): PolicyStatement[] {
  const root = accountRoot(accountId, partition)
  const out: PolicyStatement[] = [{Sid: KEY_SID.admin, Effect: 'Allow', Principal: {AWS: root}, Action: [...KEY_ADMIN_ACTIONS], Resource: '*'}]
  if (principals.length > 0) {
    out.push({
      Sid: KEY_SID.use,
      Effect: 'Allow',
      Principal: {AWS: root},
      Action: [...SECRETS_USE_ACTIONS],
      Resource: '*',
      Condition: {ArnEquals: {'aws:PrincipalArn': [...new Set(principals)].sort()}},
    })
  }
  return out
}

/**
 * The key policy after psb's run: psb's statements (by Sid) rewritten, every other
 * statement kept as it is. The principals already named are kept (a run never takes a
 * principal's use away). `changed` is false when the result means the same as `current`.
 */
export function mergeKeyPolicy(current: PolicyDocument | undefined, accountId: string, partition: string, principals: string[]): {policy: PolicyDocument; changed: boolean; added: string[]} {
  const had = usePrincipals(current)
  const all = [...new Set([...had, ...principals])]
  const ours = new Set<string>(Object.values(KEY_SID))
  const others = asList(current?.Statement).filter((s) => !ours.has(s.Sid ?? ''))
  const policy: PolicyDocument = {Version: '2012-10-17', Id: 'psb-pulumi-secrets', Statement: [...keyPolicyStatements(accountId, partition, all), ...others]}
  const changed = !current || canonicalPolicy(current) !== canonicalPolicy(policy)
  return {policy, changed, added: all.filter((p) => !had.includes(p))}
}

/**
 * The inline policy psb-pulumi-secrets of one principal after granting `keyArn`: its
 * statement covers every key it covered before plus this one; other statements are kept.
 */
export function mergeGrantPolicy(current: PolicyDocument | undefined, keyArn: string): {policy: PolicyDocument; changed: boolean} {
  const statements = asList(current?.Statement)
  const mine = statements.find((s) => s.Sid === SECRETS_SID)
  const had = asList(mine?.Resource).map(String)
  const keys = [...new Set([...had, keyArn])].sort()
  const statement: PolicyStatement = {Sid: SECRETS_SID, Effect: 'Allow', Action: [...SECRETS_USE_ACTIONS], Resource: keys.length === 1 ? keys[0] : keys}
  const policy: PolicyDocument = {Version: '2012-10-17', Statement: [statement, ...statements.filter((s) => s.Sid !== SECRETS_SID)]}
  const changed = !current || canonicalPolicy(current) !== canonicalPolicy(policy)
  return {policy, changed}
}

/**
 * The environment variable that points Pulumi's KMS client at a custom endpoint (Pulumi's
 * AWS SDK for Go v2 reads AWS_ENDPOINT_URL_KMS); undefined without an endpoint.
 */
export function kmsEndpointEnv(endpoint: string | undefined): string | undefined {
  return endpoint ? `AWS_ENDPOINT_URL_KMS=${endpoint}` : undefined
}

/** The URL itself when parseProviderUrl accepts it (exit 2 otherwise). */
export function validateProviderUrl(url: string): string {
  parseProviderUrl(url)
  return url
}
