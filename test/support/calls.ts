/**
 * Reading the PSB_CALL_LOG call log (`<service> <Operation>` per line, src/lib/aws/client.ts):
 * which AWS calls changed something.
 */
export const MUTATING = / (Create|Put|Delete|Update|Attach|Detach|Tag|Untag|Copy|Upload|Restore|Abort|Complete|Enable|Disable|Schedule|Cancel|Remove)/

/** The lines of a call log whose operation changes something. */
export function mutatingCalls(log: string): string[] {
  return log
    .split('\n')
    .filter(Boolean)
    .filter((l) => MUTATING.test(l))
}

/** verify's own sentinel object: put, copied, both deleted. */
export const VERIFY_SENTINEL_CALLS = ['s3 CopyObject', 's3 DeleteObject', 's3 DeleteObject', 's3 PutObject']
