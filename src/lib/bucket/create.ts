/**
 * The bucket itself: found (ours, in the right region), or created and waited for. A name
 * owned by another account or a bucket in another region is a clear error with what to do.
 */
import type {CreateBucketCommandInput} from '@aws-sdk/client-s3'
import {awsCode, httpStatus, isAccessDenied, isNotFound, responseHeader, translateAwsError} from '../aws/errors.js'
import {isPsbError, PsbError} from '../errors.js'
import type {Change} from '../types.js'
import {isUnsupported, type BucketCalls} from './calls.js'
import {sanitizeBucketName} from './name.js'
import {ITEMS} from './settings/setting.js'

/** exists: the bucket is ours and in the right region; throws for foreign / other region. */
export async function probeBucket(io: BucketCalls): Promise<boolean> {
  const {S} = io
  try {
    const out = await io.raw('s3:ListBucket', () => io.s3.send(new S.HeadBucketCommand({Bucket: io.bucket})), undefined, 'HeadBucket')
    const region = out.BucketRegion
    if (region && region !== io.opts.region) throw otherRegion(io, region)
    return true
  } catch (error) {
    if (isPsbError(error)) throw error
    if (isNotFound(error)) return false
    const status = httpStatus(error)
    const code = awsCode(error)
    const headerRegion = responseHeader(error, 'x-amz-bucket-region')
    if (headerRegion && headerRegion !== io.opts.region) throw otherRegion(io, headerRegion)
    if (status === 301 || code === 'PermanentRedirect' || code === 'AuthorizationHeaderMalformed' || code === 'IllegalLocationConstraintException') {
      throw otherRegion(io, await locate(io))
    }
    if (status === 403 || isAccessDenied(error)) throw await forbidden(io, error)
    throw translateAwsError(error, {action: 's3:ListBucket', resource: io.arn})
  }
}

/** The bucket's region from GetBucketLocation (asked in us-east-1, which answers for any bucket). */
async function locate(io: BucketCalls): Promise<string | undefined> {
  const {S} = io
  try {
    const s3 = await io.ctx.s3(io.customEndpoint ? io.opts.region : 'us-east-1')
    const out = await s3.send(new S.GetBucketLocationCommand({Bucket: io.bucket}))
    const c = out.LocationConstraint as string | undefined
    return !c ? 'us-east-1' : c === 'EU' ? 'eu-west-1' : c
  } catch {
    return undefined
  }
}

function otherRegion(io: BucketCalls, region: string | undefined): PsbError {
  const where = region ? `in region ${region}` : 'in another region'
  return new PsbError(`Bucket ${JSON.stringify(io.bucket)} already exists ${where}, not in ${io.opts.region}.`, {
    code: 'BucketInOtherRegion',
    data: {bucket: io.bucket, bucketRegion: region, requestedRegion: io.opts.region},
    hint: region
      ? `Run again with --region ${region} to use that bucket, or choose another bucket name for ${io.opts.region}.`
      : `Find its region with \`aws s3api get-bucket-location --bucket ${io.bucket}\` and pass it with --region, or choose another name.`,
  })
}

/** 403 on HeadBucket: a name owned by another account, or our own bucket without s3:ListBucket. */
async function forbidden(io: BucketCalls, cause: unknown): Promise<PsbError> {
  const {S} = io
  let owned: boolean | undefined
  try {
    const out = await io.s3.send(new S.ListBucketsCommand({Prefix: io.bucket, MaxBuckets: 1000}))
    owned = (out.Buckets ?? []).some((b) => b.Name === io.bucket)
  } catch {
    owned = undefined
  }
  if (owned) {
    return translateAwsError(cause, {action: 's3:ListBucket', resource: io.arn})
  }
  return nameTaken(io, cause, owned === false)
}

/** The name belongs to another account (`sure`), or (not sure) to an own bucket psb may not see. */
async function nameTaken(io: BucketCalls, cause: unknown, sure: boolean): Promise<PsbError> {
  const suggestion = await suggestName(io)
  return new PsbError(
    sure
      ? `The bucket name ${JSON.stringify(io.bucket)} is taken globally: another AWS account owns it (S3 bucket names are shared by all accounts in the partition).`
      : `The bucket name ${JSON.stringify(io.bucket)} is taken globally by another AWS account, or you lack s3:ListBucket on it (S3 answered 403 and psb could not list your buckets to tell).`,
    {
      code: 'BucketNameTaken',
      cause,
      data: {bucket: io.bucket, suggestion: suggestion.name},
      hint: `Choose another name, e.g. --bucket ${suggestion.name}${suggestion.free ? ' (free right now)' : ' (free to try)'}.${sure ? '' : ` If the bucket is yours, allow s3:ListBucket on ${io.arn}.`}`,
    },
  )
}

/** `<name>-<account id>-<region>` (or a random suffix when the account id is unknown), checked when possible. */
async function suggestName(io: BucketCalls): Promise<{name: string; free: boolean}> {
  let account: string | undefined
  try {
    const {GetCallerIdentityCommand} = await import('@aws-sdk/client-sts')
    const sts = await io.ctx.sts()
    account = (await sts.send(new GetCallerIdentityCommand({}))).Account
  } catch {
    account = undefined
  }
  const suffix = account ? `-${account}-${io.opts.region}` : `-${io.opts.region}-${Math.random().toString(16).slice(2, 8).padEnd(6, '0')}`
  let base = io.bucket.slice(0, 63 - suffix.length)
  base = sanitizeBucketName(base) || 'pulumi-state'
  const name = `${base}${suffix}`
  let free = false
  try {
    await io.s3.send(new io.S.HeadBucketCommand({Bucket: name}))
  } catch (error) {
    free = isNotFound(error)
  }
  return {name, free}
}

// -------------------------------------------------------------------- creation

/** CreateBucket with ObjectOwnership and LocationConstraint when they are sent. */
function sendCreate(io: BucketCalls, ownership: boolean, location: boolean): Promise<unknown> {
  const command = new io.S.CreateBucketCommand({
    Bucket: io.bucket,
    ...(ownership ? {ObjectOwnership: 'BucketOwnerEnforced' as const} : {}),
    ...(location ? {CreateBucketConfiguration: {LocationConstraint: io.opts.region as never}} : {}),
  })
  // The SDK puts the client's region back as LocationConstraint when it is missing;
  // this runs after that middleware and takes it out again.
  if (!location) {
    command.middlewareStack.add(
      (next) => (args) => {
        delete (args.input as CreateBucketCommandInput).CreateBucketConfiguration
        return next(args)
      },
      {step: 'initialize', priority: 'low', name: 'psbNoLocationConstraint'},
    )
  }
  return io.s3.send(command)
}

/** A failed CreateBucket, translated; a denied one names the permissions it needs. */
function createFailed(io: BucketCalls, error: unknown): PsbError {
  const translated = translateAwsError(error, {action: 's3:CreateBucket', resource: io.arn})
  if (translated.code !== 'AccessDenied') return translated
  return new PsbError(translated.message, {
    code: 'AccessDenied',
    cause: error,
    data: {action: 's3:CreateBucket', resource: io.arn},
    hint: `Allow s3:CreateBucket and s3:PutBucketOwnershipControls (needed to create a bucket with ACLs disabled) on ${io.arn} for the identity psb acts with, or run psb with another profile (--admin-profile).`,
  })
}

/** Creates the bucket; 'exists' when a concurrent run made it ours first. */
export async function createBucket(io: BucketCalls): Promise<'created' | 'exists'> {
  // Each is dropped at most once, for a store that rejects it.
  let ownership = true
  let location = io.opts.region !== 'us-east-1'
  for (;;) {
    try {
      await io.raw('s3:CreateBucket', () => sendCreate(io, ownership, location))
      return 'created'
    } catch (error) {
      if (isPsbError(error)) throw error
      const code = awsCode(error)
      if (code === 'BucketAlreadyOwnedByYou') return 'exists'
      if (code === 'BucketAlreadyExists') throw await nameTaken(io, error, true)
      if (io.customEndpoint && ownership && (isUnsupported(error, true) || code === 'InvalidBucketAclWithObjectOwnership')) {
        io.logger.warn(`This store rejected ObjectOwnership on CreateBucket (${code}); creating the bucket without it.`)
        ownership = false
        continue
      }
      if (io.customEndpoint && location && (code === 'InvalidLocationConstraint' || isUnsupported(error, true))) {
        io.logger.warn(`This store rejected LocationConstraint ${io.opts.region} (${code}); creating the bucket without it.`)
        location = false
        continue
      }
      throw createFailed(io, error)
    }
  }
}

/** After CreateBucket: HeadBucket with backoff until the bucket answers. */
async function waitVisible(io: BucketCalls): Promise<void> {
  const {S} = io
  await io.call('s3:ListBucket', () => io.s3.send(new S.HeadBucketCommand({Bucket: io.bucket})), isNotFound, 'waiting for the new bucket to become visible')
}

/**
 * Finds or creates the bucket, reporting the `bucket` Change. `fresh`: it does not exist
 * and this is a dry run, so there is nothing to read.
 */
export async function ensureExists(io: BucketCalls, dryRun: boolean, changes: Change[]): Promise<{created: boolean; fresh: boolean}> {
  const {region} = io.opts
  if (await probeBucket(io)) {
    changes.push({item: ITEMS.bucket, status: 'unchanged', detail: `exists in ${region}`})
    return {created: false, fresh: false}
  }
  if (dryRun) {
    changes.push({item: ITEMS.bucket, status: 'planned', detail: `would create in ${region}`})
    return {created: false, fresh: true}
  }
  if ((await createBucket(io)) === 'exists') {
    changes.push({item: ITEMS.bucket, status: 'unchanged', detail: `exists in ${region}`})
    return {created: false, fresh: false}
  }
  io.justCreated = true
  await waitVisible(io)
  changes.push({item: ITEMS.bucket, status: 'created', detail: `in ${region}`})
  return {created: true, fresh: false}
}
