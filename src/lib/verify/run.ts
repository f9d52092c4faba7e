/**
 * `psb verify`: proves that a profile + bucket (+ prefix) work as a Pulumi state backend,
 * with the profile's OWN key (the least-privilege user Pulumi runs as), the way Pulumi
 * will use them. Every check ends pass / warn / fail with a one-line hint; nothing here
 * throws for a failed check, and nothing is changed except a short-lived sentinel object
 * under `<prefix>/.pulumi/` (the round trip, written and deleted as Pulumi does).
 *
 * Reads the profile may not be allowed (its own IAM policies, for the "not broader than
 * needed" check) end as "cannot check" (warn), never as a failure; with `admin` set they
 * are made with that context instead.
 */
import {randomUUID} from 'node:crypto'
import {existsSync, statSync} from 'node:fs'
import {createAwsContext, type AwsContext, type StaticCredentials} from '../aws/client.js'
import {credentialsFilePath, type Env} from '../files/aws-config.js'
import {awsCode, httpStatus, isAccessDenied, isBadCredentials, responseHeader, translateAwsError, withBackoff} from '../aws/errors.js'
import {buildBackendUrl, compareBackendUrls} from '../pulumi/backend-url.js'
import {bucketArn as arnOfBucket, isUnsupported} from '../bucket/ensure.js'
import {readProfileCredentials} from '../files/credentials.js'
import {messageOf} from '../errors.js'
import {parseWhoami, pulumiVersion, runPulumi} from '../pulumi/cli.js'
import {maskKeyId, registerSecret} from '../redact.js'
import {silentLogger, type Logger} from '../types.js'
import {
  allowsEverything,
  hasTlsOnlyStatement,
  isAdministratorAccess,
  noncurrentExpiryDays,
  parsePolicy,
  prefixBase,
  regionOfLocation,
  userNameOfArn,
} from './rules.js'

export * from './rules.js'

export type CheckStatus = 'pass' | 'warn' | 'fail'

export interface Check {
  id: string
  title: string
  status: CheckStatus
  detail?: string
  hint?: string
}

export interface VerifyOptions {
  profile: string
  bucket: string
  prefix?: string
  region: string
  endpoint?: string
  env?: Env
  /** The backend URL Pulumi should report; default: buildBackendUrl() for the installed Pulumi. */
  expectUrl?: string
  /** An administrator context for the reads the profile may not make (its own policies). */
  admin?: AwsContext
  /** Run the Pulumi checks (default true). */
  pulumi?: boolean
  /** The installed Pulumi version when already known (saves a `pulumi version` run). */
  pulumiVersion?: string
  /**
   * The backend URL `pulumi whoami -v` reported moments ago in this same process (the login
   * step of `psb init`): verify then judges that answer instead of running whoami again.
   */
  whoamiUrl?: string
  /** Warn when the key is older than this (default 90). */
  maxKeyAgeDays?: number
  /**
   * The profile's key was created moments ago (psb init): retry IAM's "unknown key" answers
   * (InvalidClientTokenId, InvalidAccessKeyId) for up to this long while the key propagates,
   * instead of failing at once. Default 0.
   */
  newKeyGraceMs?: number
  /** The working folder for `pulumi whoami` (a Pulumi.yaml there may name a backend). */
  cwd?: string
  now?: () => Date
  /** Called as each check completes (progress for long runs). */
  onCheck?: (check: Check) => void
  logger?: Logger
}

export interface VerifyResult {
  checks: Check[]
  ok: boolean
  /** Who the profile is, when its credentials resolved. */
  identity?: {account: string; arn: string; user?: string; accessKeyId?: string}
  /** The backend URL Pulumi is expected to use. */
  url?: string
}

/** The exit code of `psb verify` (and `psb init`) when a check failed. */
export const VERIFY_FAILED_EXIT = 3

export const CHECK_IDS = [
  'credentials',
  'bucket',
  'versioning',
  'encryption',
  'public-access-block',
  'ownership',
  'tls-policy',
  'lifecycle',
  'round-trip',
  'key-age',
  'key-count',
  'credentials-file',
  'least-privilege',
  'pulumi-cli',
  'pulumi-login',
  'pulumi-backend-env',
] as const

type Read<T> = {value: T; by: 'profile' | 'admin'} | {error: unknown}

/** One read with the profile, retried with the admin context when the profile is denied. */
async function readWith<T>(profile: AwsContext, admin: AwsContext | undefined, fn: (ctx: AwsContext) => Promise<T>): Promise<Read<T>> {
  try {
    return {value: await fn(profile), by: 'profile'}
  } catch (error) {
    if (!admin || !isAccessDenied(error)) return {error}
    try {
      return {value: await fn(admin), by: 'admin'}
    } catch (error2) {
      return {error: error2}
    }
  }
}

export async function verifyBackend(opts: VerifyOptions): Promise<VerifyResult> {
  const env = opts.env ?? process.env
  const logger = opts.logger ?? silentLogger
  const now = opts.now ?? (() => new Date())
  const maxAge = opts.maxKeyAgeDays ?? 90
  const checks: Check[] = []
  const add = (c: Check): Check => {
    checks.push(c)
    opts.onCheck?.(c)
    return c
  }
  const result: VerifyResult = {checks, ok: false}
  const bucketArn = arnOfBucket(opts.bucket, opts.region)
  const who = `profile ${opts.profile}`
  const unexpected = (error: unknown, action: string, resource = bucketArn) => {
    const e = translateAwsError(error, {action, resource, principal: who})
    return {detail: e.message, hint: e.hint}
  }

  // --- the profile's credentials ---------------------------------------------------
  let fileCreds: StaticCredentials | undefined
  try {
    fileCreds = readProfileCredentials(opts.profile, env)
  } catch (error) {
    logger.warn(`Could not read the credentials file: ${messageOf(error)}`)
  }
  if (fileCreds) registerSecret(fileCreds.secretAccessKey)
  const ctx = createAwsContext({
    region: opts.region,
    endpoint: opts.endpoint,
    ...(fileCreds ? {credentials: fileCreds} : {profile: opts.profile}),
  })

  let identity: VerifyResult['identity']
  try {
    const sts = await ctx.sts()
    const {GetCallerIdentityCommand} = await import('@aws-sdk/client-sts')
    const r = await withBackoff(() => sts.send(new GetCallerIdentityCommand({})), {
      maxMs: opts.newKeyGraceMs ?? 0,
      baseMs: 250,
      retryIf: isBadCredentials,
    })
    const resolved = fileCreds ?? (await (sts.config.credentials as () => Promise<StaticCredentials>)())
    identity = {account: r.Account ?? '', arn: r.Arn ?? '', user: userNameOfArn(r.Arn ?? ''), accessKeyId: resolved?.accessKeyId}
    result.identity = identity
    add({
      id: 'credentials',
      title: 'Profile credentials resolve',
      status: 'pass',
      detail: `account ${identity.account}, ${identity.user ? `user ${identity.user}` : identity.arn}, key ${maskKeyId(identity.accessKeyId)}`,
    })
  } catch (error) {
    const e = translateAwsError(error, {action: 'sts:GetCallerIdentity', principal: who})
    add({
      id: 'credentials',
      title: 'Profile credentials resolve',
      status: 'fail',
      detail: e.message,
      hint: `Write a working key into profile ${opts.profile}: \`psb keys rotate --profile ${opts.profile}\` (with --admin-profile if the key is gone), or \`psb init\`.`,
    })
  }

  // Independent groups run concurrently; the checklist keeps the order of CHECK_IDS.
  credentialsFileCheck()
  await Promise.all([
    identity ? bucketChecks() : undefined,
    identity ? keyChecks() : undefined,
    identity ? leastPrivilegeCheck() : undefined,
    opts.pulumi !== false ? pulumiChecks() : undefined,
  ])
  const order = (id: string) => {
    const i = (CHECK_IDS as readonly string[]).indexOf(id)
    return i < 0 ? CHECK_IDS.length : i
  }
  checks.sort((a, b) => order(a.id) - order(b.id))
  result.ok = !checks.some((c) => c.status === 'fail')
  return result

  // ---------------------------------------------------------------------------------
  async function bucketChecks(): Promise<void> {
    const {
      GetBucketLocationCommand,
      GetBucketVersioningCommand,
      GetBucketEncryptionCommand,
      GetPublicAccessBlockCommand,
      GetBucketOwnershipControlsCommand,
      GetBucketPolicyCommand,
      GetBucketLifecycleConfigurationCommand,
    } = await import('@aws-sdk/client-s3')
    const Bucket = opts.bucket
    const s3 = (c: AwsContext) => c.s3()

    // Exists, reachable, expected region.
    const loc = await readWith(ctx, opts.admin, async (c) => (await s3(c)).send(new GetBucketLocationCommand({Bucket})))
    if ('error' in loc) {
      const code = awsCode(loc.error)
      const realRegion = responseHeader(loc.error, 'x-amz-bucket-region')
      if (code === 'NoSuchBucket' || (httpStatus(loc.error) === 404 && !realRegion)) {
        add({id: 'bucket', title: 'Bucket exists in the expected region', status: 'fail', detail: `s3://${Bucket} does not exist.`, hint: `Create it: \`psb bucket create --bucket ${Bucket} --region ${opts.region}\` (or \`psb init\`).`})
        return
      }
      if (realRegion && realRegion !== opts.region) {
        add({id: 'bucket', title: 'Bucket exists in the expected region', status: 'fail', detail: `s3://${Bucket} is in ${realRegion}, not ${opts.region}.`, hint: `Use --region ${realRegion} (Pulumi's backend URL must name the bucket's region).`})
        return
      }
      if (isAccessDenied(loc.error)) {
        add({
          id: 'bucket',
          title: 'Bucket exists in the expected region',
          status: 'warn',
          detail: `cannot check: s3:GetBucketLocation is denied to ${who}; the round trip below shows whether the bucket is reachable.`,
          hint: `Allow s3:GetBucketLocation on ${bucketArn} (\`psb user create\` grants it), or pass --admin-profile.`,
        })
      } else {
        add({id: 'bucket', title: 'Bucket exists in the expected region', status: 'fail', ...unexpected(loc.error, 's3:GetBucketLocation')})
        return
      }
    } else {
      const actual = regionOfLocation(loc.value.LocationConstraint as string | undefined)
      if (actual !== opts.region) {
        add({id: 'bucket', title: 'Bucket exists in the expected region', status: 'fail', detail: `s3://${Bucket} is in ${actual}, not ${opts.region}.`, hint: `Use --region ${actual} (Pulumi's backend URL must name the bucket's region).`})
        return
      }
      add({id: 'bucket', title: 'Bucket exists in the expected region', status: 'pass', detail: `s3://${Bucket} in ${actual}`})
    }

    const fixBucket = `Run \`psb bucket create --bucket ${Bucket} --region ${opts.region}\`: it brings an existing bucket up to standard without weakening anything.`
    /** A settings read: `notSet` codes mean "the setting is absent". */
    const setting = async <T>(
      id: string,
      title: string,
      action: string,
      read: (c: AwsContext) => Promise<T>,
      notSet: string[],
      judge: (value: T | undefined) => Omit<Check, 'id' | 'title'>,
    ): Promise<void> => {
      const r = await readWith(ctx, opts.admin, read)
      if (!('error' in r)) {
        add({id, title, ...judge(r.value)})
        return
      }
      const code = awsCode(r.error) ?? ''
      if (notSet.includes(code)) add({id, title, ...judge(undefined)})
      else if (isAccessDenied(r.error))
        add({id, title, status: 'warn', detail: `cannot check: ${action} is denied to ${who}.`, hint: `Allow ${action} on ${bucketArn} (\`psb user create\` grants it), or pass --admin-profile.`})
      else if (isUnsupported(r.error, opts.endpoint !== undefined))
        add({id, title, status: 'warn', detail: `cannot check: this endpoint does not support ${action} (${code || httpStatus(r.error)}).`})
      else add({id, title, status: 'fail', ...unexpected(r.error, action)})
    }

    await Promise.all([
      setting(
        'versioning',
        'Versioning is on',
        's3:GetBucketVersioning',
        async (c) => (await s3(c)).send(new GetBucketVersioningCommand({Bucket})),
        [],
        (v) =>
          v?.Status === 'Enabled'
            ? {status: 'pass', detail: 'Enabled'}
            : {status: 'fail', detail: `versioning is ${v?.Status ?? 'off'}: an overwritten or deleted state file cannot be recovered.`, hint: fixBucket},
      ),
      setting(
        'encryption',
        'Default encryption is on',
        's3:GetEncryptionConfiguration',
        async (c) => (await s3(c)).send(new GetBucketEncryptionCommand({Bucket})),
        ['ServerSideEncryptionConfigurationNotFoundError'],
        (v) => {
          const d = v?.ServerSideEncryptionConfiguration?.Rules?.find((r) => r.ApplyServerSideEncryptionByDefault)?.ApplyServerSideEncryptionByDefault
          if (!d?.SSEAlgorithm) return {status: 'fail', detail: 'no default encryption.', hint: fixBucket}
          return {status: 'pass', detail: d.KMSMasterKeyID ? `${d.SSEAlgorithm} (${d.KMSMasterKeyID})` : d.SSEAlgorithm}
        },
      ),
      setting(
        'public-access-block',
        'All four public-access blocks are on',
        's3:GetBucketPublicAccessBlock',
        async (c) => (await s3(c)).send(new GetPublicAccessBlockCommand({Bucket})),
        ['NoSuchPublicAccessBlockConfiguration'],
        (v) => {
          const cfg = v?.PublicAccessBlockConfiguration ?? {}
          const names = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const
          const off = names.filter((n) => cfg[n] !== true)
          return off.length === 0 ? {status: 'pass', detail: 'all four on'} : {status: 'fail', detail: `off: ${off.join(', ')}.`, hint: fixBucket}
        },
      ),
      setting(
        'ownership',
        'ACLs are disabled (BucketOwnerEnforced)',
        's3:GetBucketOwnershipControls',
        async (c) => (await s3(c)).send(new GetBucketOwnershipControlsCommand({Bucket})),
        ['OwnershipControlsNotFoundError'],
        (v) => {
          const o = v?.OwnershipControls?.Rules?.[0]?.ObjectOwnership
          return o === 'BucketOwnerEnforced' ? {status: 'pass', detail: o} : {status: 'fail', detail: `object ownership is ${o ?? 'not set'}: ACLs are still in effect.`, hint: fixBucket}
        },
      ),
      setting(
        'tls-policy',
        'Bucket policy denies requests without TLS',
        's3:GetBucketPolicy',
        async (c) => (await s3(c)).send(new GetBucketPolicyCommand({Bucket})),
        ['NoSuchBucketPolicy'],
        (v) => {
          const doc = parsePolicy(v?.Policy)
          if (!doc) return {status: 'fail', detail: 'the bucket has no policy.', hint: fixBucket}
          return hasTlsOnlyStatement(doc, Bucket, opts.region)
            ? {status: 'pass', detail: 'Deny s3:* when aws:SecureTransport is false'}
            : {status: 'fail', detail: 'no statement denies s3:* to everyone on the bucket and its objects whenever aws:SecureTransport is false (with no other condition narrowing it).', hint: fixBucket}
        },
      ),
      setting(
        'lifecycle',
        'Old state versions expire',
        's3:GetLifecycleConfiguration',
        async (c) => (await s3(c)).send(new GetBucketLifecycleConfigurationCommand({Bucket})),
        ['NoSuchLifecycleConfiguration'],
        (v) => {
          const days = noncurrentExpiryDays(v?.Rules)
          return days !== undefined
            ? {status: 'pass', detail: `noncurrent versions expire after ${days} day${days === 1 ? '' : 's'}`}
            : {status: 'warn', detail: 'no enabled whole-bucket rule expires noncurrent versions: old state versions are kept (and paid for) forever.', hint: fixBucket}
        },
      ),
      roundTrip(),
    ])
  }

  async function roundTrip(): Promise<void> {
    const {PutObjectCommand, HeadObjectCommand, GetObjectCommand, ListObjectsV2Command, CopyObjectCommand, DeleteObjectCommand} = await import('@aws-sdk/client-s3')
    const s3 = await ctx.s3()
    const Bucket = opts.bucket
    const base = `${prefixBase(opts.prefix)}.pulumi/`
    const id = randomUUID()
    const key = `${base}.psb-verify-${id}.json`
    const copy = `${base}.psb-verify-${id}.copy.json`
    const body = JSON.stringify({psb: 'verify', at: now().toISOString()})
    const title = `Round trip under s3://${Bucket}/${base}`
    const started = Date.now()
    let step = ''
    const written: string[] = []
    try {
      step = 's3:PutObject'
      await s3.send(new PutObjectCommand({Bucket, Key: key, Body: body, ContentType: 'application/json'}))
      written.push(key)
      step = 's3:GetObject (HeadObject)'
      await s3.send(new HeadObjectCommand({Bucket, Key: key}))
      step = 's3:GetObject'
      const got = await s3.send(new GetObjectCommand({Bucket, Key: key}))
      const text = await got.Body?.transformToString()
      if (text !== body) throw new Error(`the object read back differs from the one written`)
      step = 's3:ListBucket'
      const listed = await s3.send(new ListObjectsV2Command({Bucket, Prefix: `${base}.psb-verify-${id}`}))
      if (!listed.Contents?.some((o) => o.Key === key)) throw new Error('the object written is missing from the listing')
      step = 's3:PutObject (CopyObject)'
      await s3.send(new CopyObjectCommand({Bucket, Key: copy, CopySource: `${Bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`}))
      written.push(copy)
      step = 's3:DeleteObject'
      await s3.send(new DeleteObjectCommand({Bucket, Key: copy}))
      written.pop()
      await s3.send(new DeleteObjectCommand({Bucket, Key: key}))
      written.pop()
      add({id: 'round-trip', title, status: 'pass', detail: `put, head, get, list, copy, delete (${Date.now() - started} ms)`})
    } catch (error) {
      const resource = `${bucketArn}/${key}`
      const denied = isAccessDenied(error)
      const e = awsCode(error) ? translateAwsError(error, {action: step, resource, principal: who}) : undefined
      add({
        id: 'round-trip',
        title,
        status: 'fail',
        detail: `${step} failed: ${e?.message ?? messageOf(error)}`,
        hint: denied
          ? `Pulumi needs s3:ListBucket on ${bucketArn} and s3:GetObject/PutObject/DeleteObject on ${bucketArn}/${base}*: \`psb user create --bucket ${Bucket}${opts.prefix ? ` --prefix ${prefixBase(opts.prefix).slice(0, -1)}` : ''}\`.`
          : (e?.hint ?? 'Check the endpoint and the bucket, then run psb verify again.'),
      })
      // Leave nothing behind (best effort).
      for (const k of written) await s3.send(new DeleteObjectCommand({Bucket, Key: k})).catch(() => undefined)
    }
  }

  async function keyChecks(): Promise<void> {
    const id = identity!
    if (!id.user) {
      const why = `the profile acts as ${id.arn}, not as an IAM user with a long-term key`
      add({id: 'key-age', title: `Access key is younger than ${maxAge} days`, status: 'warn', detail: `cannot check: ${why}.`})
      return
    }
    const {ListAccessKeysCommand} = await import('@aws-sdk/client-iam')
    const r = await readWith(ctx, opts.admin, async (c) => (await c.iam()).send(new ListAccessKeysCommand({UserName: id.user})))
    const userArn = id.arn
    if ('error' in r) {
      const d = isAccessDenied(r.error)
        ? {detail: `cannot check: iam:ListAccessKeys is denied to ${who}.`, hint: `Allow iam:ListAccessKeys on ${userArn} (\`psb user create\` grants it), or pass --admin-profile.`}
        : unexpected(r.error, 'iam:ListAccessKeys', userArn)
      add({id: 'key-age', title: `Access key is younger than ${maxAge} days`, status: 'warn', ...d})
      return
    }
    const keys = r.value.AccessKeyMetadata ?? []
    const mine = keys.find((k) => k.AccessKeyId === id.accessKeyId)
    if (!mine) {
      add({id: 'key-age', title: `Access key is younger than ${maxAge} days`, status: 'warn', detail: `the key ${maskKeyId(id.accessKeyId)} is not among user ${id.user}'s keys (temporary credentials?).`})
    } else {
      const ageDays = mine.CreateDate ? Math.floor((now().getTime() - new Date(mine.CreateDate).getTime()) / 86_400_000) : undefined
      if (ageDays === undefined) add({id: 'key-age', title: `Access key is younger than ${maxAge} days`, status: 'warn', detail: 'the key has no creation date.'})
      else if (ageDays > maxAge)
        add({id: 'key-age', title: `Access key is younger than ${maxAge} days`, status: 'warn', detail: `${maskKeyId(mine.AccessKeyId)} is ${ageDays} days old.`, hint: `Rotate it: \`psb keys rotate --profile ${opts.profile}\`.`})
      else add({id: 'key-age', title: `Access key is younger than ${maxAge} days`, status: 'pass', detail: `${maskKeyId(mine.AccessKeyId)} is ${ageDays} day${ageDays === 1 ? '' : 's'} old`})
    }
    const active = keys.filter((k) => k.Status === 'Active').length
    const others = keys.filter((k) => k.AccessKeyId !== id.accessKeyId).map((k) => `${maskKeyId(k.AccessKeyId)} (${k.Status})`)
    // The title is the question, so that it reads true whatever the answer ("Access keys of the user: 2 keys").
    const title = 'Access keys of the user (one is best)'
    if (keys.length <= 1) add({id: 'key-count', title, status: 'pass', detail: `${keys.length} key`})
    else
      add({
        id: 'key-count',
        title,
        status: 'warn',
        detail: `${keys.length} keys (${active} active); besides the profile's: ${others.join(', ')}. A second key is an unrotated credential, and blocks the next rotation.`,
        hint: `Delete the key no profile uses (\`aws iam delete-access-key --user-name ${id.user} --access-key-id <id>\`), or let \`psb keys rotate --profile ${opts.profile}\` replace it.`,
      })
  }

  function credentialsFileCheck(): void {
    const file = credentialsFilePath(env)
    const title = 'Credentials file is private (mode 0600)'
    if (!existsSync(file)) {
      add({id: 'credentials-file', title, status: fileCreds ? 'fail' : 'warn', detail: `${file} does not exist; the profile's credentials come from elsewhere.`})
      return
    }
    if (process.platform === 'win32') {
      add({id: 'credentials-file', title, status: 'warn', detail: 'cannot check file modes on Windows.'})
      return
    }
    const mode = statSync(file).mode & 0o777
    const m = `0${mode.toString(8).padStart(3, '0')}`
    if ((mode & 0o077) === 0) add({id: 'credentials-file', title, status: 'pass', detail: `${file} is ${m}`})
    else add({id: 'credentials-file', title, status: 'fail', detail: `${file} is ${m}: other users of this machine can read the keys.`, hint: `chmod 600 ${file}`})
  }

  async function leastPrivilegeCheck(): Promise<void> {
    const id = identity!
    const title = 'The user is not broader than it needs to be'
    if (!id.user) {
      add({id: 'least-privilege', title, status: 'warn', detail: `cannot check: ${id.arn} is not an IAM user.`})
      return
    }
    const iam = await import('@aws-sdk/client-iam')
    const reader = opts.admin ?? ctx
    const client = await reader.iam()
    const UserName = id.user
    const broad: string[] = []
    const unchecked: string[] = []
    // The user's own policies: what psb's policy lets it read (VerifyOwnPermissions).
    let step = 'iam:ListAttachedUserPolicies'
    let customer: {PolicyArn?: string; PolicyName?: string}[]
    try {
      const attached = (await client.send(new iam.ListAttachedUserPoliciesCommand({UserName}))).AttachedPolicies ?? []
      for (const p of attached) {
        if (isAdministratorAccess(p.PolicyArn ?? '')) broad.push(`${p.PolicyName} (${p.PolicyArn})`)
      }
      customer = attached.filter((p) => !/^arn:aws[a-z-]*:iam::aws:/.test(p.PolicyArn ?? ''))
      step = 'iam:ListUserPolicies'
      const inline = (await client.send(new iam.ListUserPoliciesCommand({UserName}))).PolicyNames ?? []
      for (const name of inline) {
        step = 'iam:GetUserPolicy'
        const doc = await client.send(new iam.GetUserPolicyCommand({UserName, PolicyName: name}))
        if (allowsEverything(parsePolicy(doc.PolicyDocument))) broad.push(`inline policy ${name} allows "*"`)
      }
    } catch (error) {
      if (isAccessDenied(error)) {
        add({
          id: 'least-privilege',
          title,
          status: 'warn',
          detail: `cannot check: ${step} is denied to ${opts.admin ? 'the admin profile' : who} (a least-privilege user may not read its own policies).`,
          hint: opts.admin ? undefined : `Allow ${step} on ${id.arn} (\`psb user create\` grants it), or pass --admin-profile <profile>.`,
        })
      } else add({id: 'least-privilege', title, status: 'warn', ...unexpected(error, step, id.arn)})
      return
    }
    // Further reads (customer-managed policy documents, groups) are best effort.
    try {
      for (const p of customer) {
        const pol = await client.send(new iam.GetPolicyCommand({PolicyArn: p.PolicyArn}))
        const ver = await client.send(new iam.GetPolicyVersionCommand({PolicyArn: p.PolicyArn, VersionId: pol.Policy?.DefaultVersionId}))
        if (allowsEverything(parsePolicy(ver.PolicyVersion?.Document))) broad.push(`${p.PolicyName} allows "*"`)
      }
    } catch {
      unchecked.push('customer-managed policy documents')
    }
    try {
      const groups = (await client.send(new iam.ListGroupsForUserCommand({UserName}))).Groups ?? []
      for (const g of groups) {
        const ga = (await client.send(new iam.ListAttachedGroupPoliciesCommand({GroupName: g.GroupName}))).AttachedPolicies ?? []
        for (const p of ga) if (isAdministratorAccess(p.PolicyArn ?? '')) broad.push(`${p.PolicyName} through group ${g.GroupName}`)
      }
    } catch {
      unchecked.push('group memberships')
    }
    const notRead = unchecked.length > 0 ? ` (not readable with this key: ${unchecked.join(', ')})` : ''
    if (broad.length > 0)
      add({
        id: 'least-privilege',
        title,
        status: 'warn',
        detail: `user ${UserName} has ${broad.join('; ')}: Pulumi, and anyone holding this key, can do anything in account ${id.account}${notRead}.`,
        hint: 'Attach only what your Pulumi programs deploy (`psb user create --attach-policy <arn>`) and detach the account-wide policy.',
      })
    else add({id: 'least-privilege', title, status: 'pass', detail: `no AdministratorAccess and no "*" action${notRead}`})
  }

  async function pulumiChecks(): Promise<void> {
    const version = opts.pulumiVersion ?? (await pulumiVersion({env}).catch(() => undefined))
    if (!version) {
      add({id: 'pulumi-cli', title: 'Pulumi CLI is installed', status: 'warn', detail: 'pulumi is not on PATH.', hint: 'Install it: https://www.pulumi.com/docs/iac/download-install/ and run psb verify again.'})
    } else add({id: 'pulumi-cli', title: 'Pulumi CLI is installed', status: 'pass', detail: version})

    const expected =
      opts.expectUrl ?? buildBackendUrl({bucket: opts.bucket, prefix: opts.prefix, region: opts.region, profile: opts.profile, endpoint: opts.endpoint, pulumiVersion: version})
    result.url = expected
    const loginHint = `Log in: \`psb login --bucket ${opts.bucket} --region ${opts.region} --profile ${opts.profile}${opts.prefix ? ` --prefix ${prefixBase(opts.prefix).slice(0, -1)}` : ''}${opts.endpoint ? ` --endpoint ${opts.endpoint}` : ''}\` (or \`pulumi login '${expected}'\`).`

    const fromEnv = env.PULUMI_BACKEND_URL
    if (fromEnv && compareBackendUrls(fromEnv, expected) !== 'same')
      add({
        id: 'pulumi-backend-env',
        title: 'PULUMI_BACKEND_URL does not point elsewhere',
        status: 'fail',
        detail: `PULUMI_BACKEND_URL=${fromEnv} overrides the login and is not ${expected}.`,
        hint: `unset PULUMI_BACKEND_URL, or set it to '${expected}'.`,
      })
    else add({id: 'pulumi-backend-env', title: 'PULUMI_BACKEND_URL does not point elsewhere', status: 'pass', detail: fromEnv ? 'set to the expected URL' : 'not set'})

    const title = 'Pulumi is logged in to this backend'
    if (!version) {
      add({id: 'pulumi-login', title, status: 'warn', detail: 'cannot check: pulumi is not installed.'})
      return
    }
    // Not logged in, Pulumi answers at once that it "requires logging in" (no network call
    // without a stored Pulumi Cloud token). Pulumi finds its home through PULUMI_HOME, else
    // the account's home directory (not $HOME), so psb does not look for credentials.json itself.
    if (opts.whoamiUrl !== undefined) {
      judge(opts.whoamiUrl, ' (reported by pulumi whoami -v at the login step)')
      return
    }
    const r = await runPulumi(['whoami', '-v'], {env, cwd: opts.cwd, timeoutMs: 60_000})
    if (r.code !== 0) {
      const line = (r.stderr || r.stdout).trim().split('\n').find((l) => l.trim() !== '' && !/^SDK \d/.test(l)) ?? `exit code ${r.code}`
      const notLoggedIn = /requires logging in|pulumi login/i.test(line)
      add({id: 'pulumi-login', title, status: 'fail', detail: notLoggedIn ? 'Pulumi is not logged in to any backend.' : `pulumi whoami -v failed: ${line}`, hint: loginHint})
      return
    }
    const url = parseWhoami(r.stdout).backendUrl
    if (!url) {
      add({id: 'pulumi-login', title, status: 'fail', detail: 'pulumi whoami -v printed no backend URL.', hint: loginHint})
      return
    }
    judge(url, '')

    function judge(url: string, source: string): void {
      const same = compareBackendUrls(url, expected)
      if (same === 'same') add({id: 'pulumi-login', title, status: 'pass', detail: `${url}${source}`})
      else if (same === 'params')
        add({id: 'pulumi-login', title, status: 'warn', detail: `logged in to ${url}: the same bucket and prefix, other parameters than ${expected}.`, hint: loginHint})
      else add({id: 'pulumi-login', title, status: 'fail', detail: `logged in to ${url}, not ${expected}.`, hint: loginHint})
    }
  }
}
