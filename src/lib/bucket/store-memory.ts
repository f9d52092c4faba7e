/**
 * What an S3-compatible store refused, remembered on the bucket so that a second run makes
 * no write: the bucket tag `psb-unsupported` lists the ids of the settings (e.g.
 * `encryption`) and of the lifecycle rules (e.g. `psb-abort-incomplete-multipart`) the store
 * refused to write. A remembered setting or rule is reported as skipped without trying again;
 * deleting the tag makes psb try again (after a store upgrade). Only on --endpoint stores:
 * on AWS nothing is refused, and no tag is read for it.
 */
import type {Tag} from '@aws-sdk/client-s3'
import type {SettingIO} from './settings/setting.js'

export const UNSUPPORTED_TAG = 'psb-unsupported'

/** The ids a bucket's tags say the store refused before. */
export function idsOf(tags: Tag[] | undefined): string[] {
  const value = tags?.find((t) => t.Key === UNSUPPORTED_TAG)?.Value ?? ''
  return value.split(/\s+/).filter(Boolean)
}

/** The ids an --endpoint store refused before (none on AWS, or when the tags cannot be read). The read is shared with the tags setting. */
export async function refusedBefore(io: SettingIO): Promise<string[]> {
  if (!io.customEndpoint) return []
  try {
    return idsOf((await io.read('s3:GetBucketTagging', 'NoSuchTagSet', () => io.s3.send(new io.S.GetBucketTaggingCommand({Bucket: io.bucket}))))?.TagSet)
  } catch {
    return []
  }
}

/** The tag that remembers `before` and the ids refused in this run. */
export function rememberTag(before: string[], now: string[]): Record<string, string> {
  return {[UNSUPPORTED_TAG]: [...new Set([...before, ...now])].join(' ')}
}

/** What a remembered setting or rule reports. */
export const refusedDetail = (what: string) => `${what} was refused by this store before (bucket tag ${UNSUPPORTED_TAG}; delete the tag to try again)`
