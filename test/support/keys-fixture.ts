/**
 * Helpers for the key-rotation tests: IAM users with the least-privilege policy of
 * `psb user create`, credentials files, and checks that a key works or is rejected.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, mkdirSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {
  IAMClient,
  CreateAccessKeyCommand,
  CreateUserCommand,
  ListAccessKeysCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam'
import {STSClient, GetCallerIdentityCommand} from '@aws-sdk/client-sts'
import {S3Client, CreateBucketCommand} from '@aws-sdk/client-s3'
import {buildStatePolicy} from '../../src/lib/iam/policy.js'
import type {JournalEntry} from '../../src/lib/keys/journal.js'
import {ACCOUNT_ID, type Keys} from './moto.js'
import {RUN_JS, baseEnv, type RunResult} from './cli.js'
import {checkJsonOutput} from './json-contract.js'

export const iamClient = (endpoint: string, k: Keys) => new IAMClient({region: 'us-east-1', endpoint, credentials: k, maxAttempts: 1})
export const stsClient = (endpoint: string, k: Keys) => new STSClient({region: 'us-east-1', endpoint, credentials: k, maxAttempts: 1})

export interface TestUser {
  user: string
  arn: string
  key: Keys
}

/**
 * An IAM user with the state policy of `psb user create` (buildStatePolicy: the bucket, and
 * self-service key rotation on its own ARN only), the psb-bucket tag, and one access key.
 */
export async function makeStateUser(
  endpoint: string,
  admin: Keys,
  user: string,
  opts: {bucket?: string; prefix?: string; createBucket?: boolean; tag?: boolean} = {},
): Promise<TestUser> {
  const bucket = opts.bucket ?? `state-${user}`.toLowerCase()
  const iam = iamClient(endpoint, admin)
  const arn = `arn:aws:iam::${ACCOUNT_ID}:user/${user}`
  if (opts.createBucket !== false) {
    const s3 = new S3Client({region: 'us-east-1', endpoint, forcePathStyle: true, credentials: admin, maxAttempts: 1})
    await s3.send(new CreateBucketCommand({Bucket: bucket})).catch((e: Error) => {
      if (e.name !== 'BucketAlreadyOwnedByYou') throw e
    })
    s3.destroy()
  }
  const tags = [{Key: 'psb-bucket', Value: bucket}, {Key: 'managed-by', Value: 'psb'}, ...(opts.prefix ? [{Key: 'psb-prefix', Value: opts.prefix}] : [])]
  await iam.send(new CreateUserCommand({UserName: user, Tags: opts.tag === false ? [] : tags}))
  await iam.send(
    new PutUserPolicyCommand({UserName: user, PolicyName: 'psb-pulumi-state', PolicyDocument: JSON.stringify(buildStatePolicy({bucket, prefix: opts.prefix, userArn: arn}))}),
  )
  const k = (await iam.send(new CreateAccessKeyCommand({UserName: user}))).AccessKey!
  iam.destroy()
  return {user, arn, key: {accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey!}}
}

export async function addKey(endpoint: string, admin: Keys, user: string, status: 'Active' | 'Inactive' = 'Active'): Promise<Keys> {
  const iam = iamClient(endpoint, admin)
  const k = (await iam.send(new CreateAccessKeyCommand({UserName: user}))).AccessKey!
  if (status === 'Inactive') await iam.send(new UpdateAccessKeyCommand({UserName: user, AccessKeyId: k.AccessKeyId!, Status: 'Inactive'}))
  iam.destroy()
  return {accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey!}
}

export async function userKeys(endpoint: string, admin: Keys, user: string): Promise<{id: string; status: string}[]> {
  const iam = iamClient(endpoint, admin)
  const r = await iam.send(new ListAccessKeysCommand({UserName: user}))
  iam.destroy()
  return (r.AccessKeyMetadata ?? []).map((k) => ({id: k.AccessKeyId!, status: k.Status!}))
}

/** 'ok' when a signed STS call with the key succeeds (and belongs to `user` when given), else the error code. */
export async function keyWorks(endpoint: string, k: Keys, user?: string): Promise<string> {
  const sts = stsClient(endpoint, k)
  try {
    const r = await sts.send(new GetCallerIdentityCommand({}))
    if (user && !r.Arn?.endsWith(`:user/${user}`)) return `wrong user ${r.Arn}`
    return 'ok'
  } catch (error) {
    return (error as Error).name
  } finally {
    sts.destroy()
  }
}

export function tempHomeDir(prefix = 'psb-keys-'): {dir: string; credentialsFile: string; configFile: string; env: Record<string, string>} {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  mkdirSync(join(dir, '.aws'), {recursive: true, mode: 0o700})
  const credentialsFile = join(dir, '.aws', 'credentials')
  const configFile = join(dir, '.aws', 'config')
  return {dir, credentialsFile, configFile, env: {HOME: dir, AWS_SHARED_CREDENTIALS_FILE: credentialsFile, AWS_CONFIG_FILE: configFile}}
}

/**
 * A credentials file with comments, CRLF-free odd spacing, another profile, a value with
 * `==`, and the given profiles' keys: "every other byte unchanged" is checked against it.
 */
export function credentialsText(profiles: Record<string, Keys>, extra = ''): string {
  let text = '# my AWS credentials; psb must keep this comment\n\n[unrelated]\naws_access_key_id=AKIAUNRELATED0000000\naws_secret_access_key=unrelated/secret+value/with==\n; a comment inside\n\n'
  for (const [name, k] of Object.entries(profiles)) {
    text += `[${name}]\n# the key Pulumi uses\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key   =   ${k.secretAccessKey}\nregion = us-east-1\ns3 =\n  addressing_style = path\n\n`
  }
  return text + extra + '[tail]\noutput = json'
}

export function writeCredentials(path: string, text: string): void {
  writeFileSync(path, text, {mode: 0o600})
}

/** `text` with each old key id replaced by the new one and its secret line's value replaced (as psb edits it). */
export function expectedAfterRotation(text: string, swaps: {old: Keys; fresh: Keys}[]): string {
  let out = text
  for (const {old, fresh} of swaps) {
    out = out.split(old.accessKeyId).join(fresh.accessKeyId)
    out = out.split(`aws_secret_access_key   =   ${old.secretAccessKey}`).join(`aws_secret_access_key   =   ${fresh.secretAccessKey}`)
  }
  return out
}

/** Fails when any secret appears in any of the texts. */
export function assertNoSecrets(texts: string[], secrets: string[]): void {
  for (const t of texts) {
    for (const s of secrets) {
      if (s && t.includes(s)) throw new Error(`a secret leaked into the output: ...${t.slice(Math.max(0, t.indexOf(s) - 80), t.indexOf(s))}<SECRET>`)
    }
  }
}

/** Starts the built CLI like runPsb, but hands back the child, to signal or kill it mid-run. */
export function spawnPsb(args: string[], home: string, env: Record<string, string> = {}): {child: ChildProcess; done: Promise<RunResult>} {
  const child = spawn(process.execPath, [RUN_JS, ...args], {cwd: home, env: {...baseEnv(home), ...env}, stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (d) => (stdout += d))
  child.stderr!.setEncoding('utf8').on('data', (d) => (stderr += d))
  const done = new Promise<RunResult>((resolve) => child.on('close', (code, signal) => resolve({code, signal, stdout, stderr}))).then((r) => {
    checkJsonOutput(args, r)
    return r
  })
  return {child, done}
}

/** Polls until `check` returns true (or fails after `timeoutMs`). */
export async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** A journal entry as a run writes it (profile `pulumi`, step `verified`), with `fields` over it. */
export function journalEntry(fields: Partial<JournalEntry>): JournalEntry {
  return {
    id: 'eeeeeeeeeeee',
    kind: 'rotate',
    user: 'pulumi',
    profile: 'pulumi',
    profiles: ['pulumi'],
    step: 'verified',
    acting: 'self',
    startedAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    pid: 1,
    host: 'h',
    ...fields,
  }
}
