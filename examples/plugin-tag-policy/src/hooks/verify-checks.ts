/** psb:verify-checks: "the bucket carries the tags the company requires". */
import {judge, parsePolicy} from '../policy.js'
import {readTags, type S3Like, type S3Module} from '../s3.js'

interface Payload {
  target: {bucket: string}
  aws: {s3(): Promise<S3Like>; sdk: {s3(): Promise<S3Module>}}
}

export default async function verifyChecks({target, aws}: Payload) {
  const policy = parsePolicy(process.env.PSB_REQUIRED_TAGS)
  if (policy.length === 0) return []
  const tags = await readTags(await aws.s3(), await aws.sdk.s3(), target.bucket)
  const {missing, wrong} = judge(tags, policy)
  const bad = [...missing.map((k) => `missing ${k}`), ...wrong.map((kv) => `not ${kv}`)]
  return [
    bad.length === 0
      ? {id: 'tag-policy', title: 'The bucket carries the required tags', status: 'pass', detail: policy.map((r) => r.key).join(', ')}
      : {
          id: 'tag-policy',
          title: 'The bucket carries the required tags',
          status: 'fail',
          detail: bad.join('; '),
          hint: `Run psb bucket create --bucket ${target.bucket} with this plugin installed (it adds the missing tags), or tag the bucket by hand.`,
        },
  ]
}
