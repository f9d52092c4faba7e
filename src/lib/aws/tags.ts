/** The tag names psb puts on what it makes: shared ground of the bucket, IAM, keys and verify. */

/** The tags psb puts on the user (besides managed-by=psb, shared with the bucket). */
export const BUCKET_TAG = 'psb-bucket'
/** Set when a prefix is given, so that `keys rotate` / `verify` can test the right place. */
export const PREFIX_TAG = 'psb-prefix'
