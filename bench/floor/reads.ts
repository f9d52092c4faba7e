/**
 * bench/floor: the work of `psb bucket create`'s re-run done with the AWS SDK v3 clients alone, with
 * no psb and no oclif: GetCallerIdentity, HeadBucket, then the 7 reads in parallel (what psb
 * sends, bench/terragrunt.ts's call log). bench/floor.ts bundles it (esbuild, CommonJS) and runs
 * it from Node's compile cache and from a V8 start-up snapshot (node --build-snapshot), the
 * fastest way Node has to load code.
 * Environment: FLOOR_ENDPOINT (moto), FLOOR_BUCKET, FLOOR_PROFILE (in AWS_SHARED_CREDENTIALS_FILE).
 */
import {
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import {GetCallerIdentityCommand, STSClient} from '@aws-sdk/client-sts'
import {fromIni} from '@aws-sdk/credential-provider-ini'
import {startupSnapshot} from 'node:v8'

/** The 7 reads psb makes on an existing bucket (bucket/ensure.ts), all at once. */
const reads = (s3: S3Client, Bucket: string): Promise<unknown>[] => [
  s3.send(new GetBucketVersioningCommand({Bucket})),
  s3.send(new GetBucketTaggingCommand({Bucket})),
  s3.send(new GetBucketEncryptionCommand({Bucket})),
  s3.send(new GetPublicAccessBlockCommand({Bucket})),
  s3.send(new GetBucketOwnershipControlsCommand({Bucket})),
  s3.send(new GetBucketPolicyCommand({Bucket})),
  s3.send(new GetBucketLifecycleConfigurationCommand({Bucket})),
]

async function main(): Promise<void> {
  const endpoint = process.env.FLOOR_ENDPOINT
  const Bucket = process.env.FLOOR_BUCKET
  if (!endpoint || !Bucket) throw new Error('FLOOR_ENDPOINT and FLOOR_BUCKET are needed')
  const region = 'us-east-1'
  const credentials = fromIni({profile: process.env.FLOOR_PROFILE ?? 'bench'})
  await new STSClient({region, credentials, endpoint}).send(new GetCallerIdentityCommand({}))
  const s3 = new S3Client({region, credentials, endpoint, forcePathStyle: true})
  await s3.send(new HeadBucketCommand({Bucket}))
  const answers = await Promise.all(reads(s3, Bucket).map((p) => p.then(() => 'ok', (error: Error) => error.name)))
  // A hardened bucket answers every read; anything else means the floor measured other work.
  if (answers.some((a) => a !== 'ok')) throw new Error(`unexpected answers: ${answers.join(', ')}`)
}

const fail = (error: unknown) => {
  console.error(error)
  process.exitCode = 1
}
if (startupSnapshot.isBuildingSnapshot()) startupSnapshot.setDeserializeMainFunction(() => void main().catch(fail))
else void main().catch(fail)
