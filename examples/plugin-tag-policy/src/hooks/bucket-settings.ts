/** psb:bucket-settings: the setting that adds the required tags (none without a policy). */
import {parsePolicy} from '../policy.js'
import {tagPolicySetting} from '../setting.js'

export default async function bucketSettings() {
  const policy = parsePolicy(process.env.PSB_REQUIRED_TAGS)
  return policy.length === 0 ? [] : [tagPolicySetting(policy)]
}
