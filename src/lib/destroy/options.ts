/** The options, plan and result of `psb destroy` (see destroy.ts, the domain's entry point). */
import type {Env} from '../files/aws-config.js'
import type {StackInfo} from '../pulumi/stacks.js'
import type {Change, Logger} from '../types.js'
import {validateBucketName} from '../bucket/name.js'
import {normalizePrefix} from '../pulumi/backend-url.js'

export interface DestroyOptions {
  bucket: string
  /** Only this prefix's objects, user/role and profile; the bucket stays. */
  prefix?: string
  region: string
  /** Delete even when stacks exist under the prefix (their resources are orphaned). */
  forceStacks?: boolean
  keepBucket?: boolean
  keepUser?: boolean
  dryRun?: boolean
  /** How many DeleteObjects requests run at once (default 8). */
  concurrency?: number
  env?: Env
  logger?: Logger
  onProgress?: (p: Progress) => void
}

export interface Progress {
  deleted: number
  requests: number
}

/** A user or role psb made for this backend (tag managed-by=psb and psb-bucket=<bucket>). */
export interface Principal {
  kind: 'user' | 'role'
  name: string
  arn: string
  prefix?: string
  /** Access key ids (users). */
  keys: string[]
  inlinePolicies: string[]
  attachedPolicies: string[]
  /** OIDC providers its trust policy names (roles). */
  trusts: string[]
}

/** A profile edit: the key lines of `keys` go; the section goes when nothing else is left in it. */
export interface ProfileEdit {
  profile: string
  keys: string[]
  /** The config-file section goes too (it holds only what psb writes: region). */
  config: boolean
}

export interface KmsKey {
  keyId: string
  arn: string
  aliases: string[]
  state: string
  deletionDate?: Date
}

export interface BucketPlan {
  exists: boolean
  /** Tagged managed-by=psb. */
  managed: boolean
  /** Object versions and delete markers on the first page (0 when the prefix is empty). */
  firstPage: number
  /** More than one page. */
  more: boolean
  deleteObjects: boolean
  deleteBucket: boolean
}

export interface DestroyPlan {
  bucket: string
  prefix?: string
  principals: Principal[]
  oidcProviders: string[]
  profiles: ProfileEdit[]
  logoutUrl?: string
  bucketPlan: BucketPlan
  kmsKeys: KmsKey[]
  stacks: StackInfo[]
  /** Found and left alone, with why. */
  left: Change[]
  changes: Change[]
}

export interface DestroyResult {
  bucket: string
  prefix?: string
  dryRun: boolean
  changes: Change[]
  left: Change[]
  stacks: {prefix: string; name: string; lastUpdated?: string}[]
  objects: {deleted: number; listRequests: number; deleteRequests: number}
  kmsKeys: {keyId: string; deletionDate?: string; pendingWindowInDays: number}[]
  warnings: string[]
}

/** The longest waiting period AWS allows before a KMS key is deleted. */
export const KMS_PENDING_DAYS = 30

/** Bad input (exit 2) before any AWS call. */
export function validateDestroyOptions(opts: DestroyOptions): DestroyOptions {
  validateBucketName(opts.bucket)
  return {...opts, prefix: normalizePrefix(opts.prefix)}
}
