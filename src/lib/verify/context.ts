/**
 * What every verify check shares: the check and option types, the context a check runs
 * with (the profile's AWS context, the options, and the facts earlier checks found), and
 * the two read helpers (a read retried with the admin context; an unexpected AWS error as
 * a detail + hint). No AWS call here.
 */
import type {AccessKeyMetadata} from '@aws-sdk/client-iam'
import type {AwsContext, StaticCredentials} from '../aws/client.js'
import {isAccessDenied, translateAwsError} from '../aws/errors.js'
import type {Env} from '../files/aws-config.js'
import type {Logger} from '../types.js'
import type {SecretsProbe} from './checks/secrets.js'

export type CheckStatus = 'pass' | 'warn' | 'fail'

export interface Check {
  id: string
  title: string
  status: CheckStatus
  detail?: string
  hint?: string
}

/** What a check's run answers: its status, detail and hint (the runner adds id and title). */
export type Verdict = Omit<Check, 'id' | 'title'>

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
  /**
   * The Pulumi secrets provider to check (`awskms://…`); without it, psb's own key for the
   * bucket (alias/pulumi-<bucket>[-<prefix>]) is checked when it exists.
   */
  secretsProvider?: string
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
  /**
   * Checks added after the table's (plugins' `psb:verify-checks`, run by the command layer),
   * given the profile's own AWS context; shown and counted like psb's own.
   */
  extraChecks?: (aws: AwsContext) => Promise<Check[]>
  /** Called as each check completes (progress for long runs). */
  onCheck?: (check: Check) => void
  logger?: Logger
}

export interface Identity {
  account: string
  arn: string
  user?: string
  /** The role the profile assumes (its credentials are temporary: no long-lived key). */
  role?: string
  accessKeyId?: string
}

export interface VerifyResult {
  checks: Check[]
  ok: boolean
  /** Who the profile is, when its credentials resolved. */
  identity?: Identity
  /** The backend URL Pulumi is expected to use. */
  url?: string
}

/** What a check found that the checks needing it read (each fact is written by one check). */
export interface Facts {
  /** Written by `credentials`. */
  identity?: Identity
  /**
   * Written by `credentials`: the store has no AWS STS/IAM API (an S3-compatible store such
   * as MinIO answered "unsupported action"); why. Its users and keys are the store's tools'.
   */
  noIam?: string
  /** Written by `key-age`: the user's access keys, when they could be listed. */
  accessKeys?: AccessKeyMetadata[]
  /** Written by `pulumi-cli`: the installed version (undefined: not installed) and the expected URL. */
  pulumiVersion?: string
  url?: string
  /** Written by `pulumi-login`: the URL Pulumi is logged in to. */
  loginUrl?: string
  /** The secrets key's data-key round trip, made once by the first secrets check (checks/secrets.ts). */
  secrets?: Promise<SecretsProbe | undefined>
}

export interface VerifyContext {
  opts: VerifyOptions
  env: Env
  now: () => Date
  maxAgeDays: number
  /** The profile's own AWS context (its credentials file key when it has one). */
  aws: AwsContext
  /** The profile's key as read from the credentials file, when it is there. */
  fileCreds?: StaticCredentials
  /** "profile <name>", the principal named in details. */
  who: string
  bucketArn: string
  facts: Facts
}

/**
 * One check of the table: its id (the JSON id, unique), its title (fixed, or made from the
 * context), the ids of the checks it needs (it runs after them, and only when each of them
 * produced a check that did not fail), and its run. A run answering undefined adds no line
 * (the check does not apply).
 */
export interface CheckUnit<C = VerifyContext> {
  id: string
  title: string | ((ctx: C) => string)
  needs: readonly string[]
  run(ctx: C): Promise<Verdict | undefined> | Verdict | undefined
}

export type Read<T> = {value: T; by: 'profile' | 'admin'} | {error: unknown}

/** One read with the profile, retried with the admin context when the profile is denied. */
export async function readWith<T>(v: VerifyContext, fn: (ctx: AwsContext) => Promise<T>): Promise<Read<T>> {
  try {
    return {value: await fn(v.aws), by: 'profile'}
  } catch (error) {
    if (!v.opts.admin || !isAccessDenied(error)) return {error}
    try {
      return {value: await fn(v.opts.admin), by: 'admin'}
    } catch (error2) {
      return {error: error2}
    }
  }
}

/** The verdict of an STS/IAM check on a store without that API: a warning, with no psb command to run. */
export function notOnThisStore(v: VerifyContext, what: string): Verdict {
  return {status: 'warn', detail: `not available on this store: ${what} needs the AWS IAM API, which this S3-compatible store does not have (${v.facts.noIam}).`}
}

/** An AWS error no check expected, as a detail and a hint. */
export function unexpected(v: VerifyContext, error: unknown, action: string, resource = v.bucketArn): {detail: string; hint?: string} {
  const e = translateAwsError(error, {action, resource, principal: v.who})
  return {detail: e.message, hint: e.hint}
}
