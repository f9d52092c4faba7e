/**
 * S3-compatible stores without AWS IAM and STS (MinIO, Ceph RGW, Cloudflare R2, …): their
 * users and keys are made with the store's own tools. psb learns it from the answer of an
 * STS or IAM call on a custom endpoint ("unsupported action"), never guesses it on AWS.
 */
import {isPsbError, messageOf} from '../errors.js'
import {awsCode, httpStatus} from './errors.js'

const NO_SUCH_API = new Set(['NotImplemented', 'XNotImplemented', 'InvalidAction', 'UnknownOperation', 'UnsupportedOperation', 'MethodNotAllowed', 'NotSupported'])

/**
 * True when a custom endpoint answers an STS or IAM call with "this API does not exist
 * here": MinIO's `InvalidParameterValue: Unsupported action …`, NotImplemented, HTTP 501 or
 * 405, an unknown action. Looks through a PsbError to its cause.
 */
export function isNoIamApi(error: unknown, customEndpoint: boolean): boolean {
  if (!customEndpoint) return false
  const e = isPsbError(error) && error.cause !== undefined ? error.cause : error
  const code = awsCode(e)
  const status = httpStatus(e)
  if (status === 501 || status === 405) return true
  if (code !== undefined && NO_SUCH_API.has(code)) return true
  return code === 'InvalidParameterValue' && /unsupported action|not (?:implemented|supported)/i.test(messageOf(e))
}

/** The store's own tool for users and keys, named in errors and hints (MinIO's `mc` when it is MinIO). */
export const STORE_TOOLS = "the store's own tools (MinIO: `mc admin user add` / `mc admin accesskey create`; Ceph RGW: `radosgw-admin user create`; Cloudflare R2: the dashboard's API tokens)"
