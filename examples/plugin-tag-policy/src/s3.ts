/**
 * The few shapes of psb's hook payloads this plugin uses (docs/plugins.md in psb). The AWS
 * SDK comes from psb (payload.aws.sdk / io.S): the plugin has no runtime dependency.
 */
import type {Tags} from './policy.js'

export interface S3Like {
  send(command: unknown): Promise<unknown>
}

export interface S3Module {
  GetBucketTaggingCommand: new (input: {Bucket: string}) => unknown
  PutBucketTaggingCommand: new (input: {Bucket: string; Tagging: {TagSet: {Key: string; Value: string}[]}}) => unknown
}

export async function readTags(s3: S3Like, S: S3Module, bucket: string): Promise<Tags> {
  try {
    const out = (await s3.send(new S.GetBucketTaggingCommand({Bucket: bucket}))) as {TagSet?: {Key?: string; Value?: string}[]}
    return Object.fromEntries((out.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']))
  } catch (error) {
    if ((error as {name?: string}).name === 'NoSuchTagSet') return {}
    throw error
  }
}

export async function writeTags(s3: S3Like, S: S3Module, bucket: string, tags: Tags): Promise<void> {
  await s3.send(new S.PutBucketTaggingCommand({Bucket: bucket, Tagging: {TagSet: Object.entries(tags).map(([Key, Value]) => ({Key, Value}))}}))
}
