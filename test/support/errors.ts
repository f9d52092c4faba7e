/** The PsbError a call throws (or a promise rejects with); fails the test when there is none or it is another error. */
import {isPsbError, type PsbError} from '../../src/lib/errors.js'

export function thrown(fn: () => unknown): PsbError {
  try {
    fn()
  } catch (error) {
    if (isPsbError(error)) return error
    throw new Error(`expected a PsbError, got ${String(error)}`, {cause: error})
  }
  throw new Error('expected a PsbError, nothing was thrown')
}

export async function rejection(p: Promise<unknown>): Promise<PsbError> {
  const e = await p.then(
    () => undefined,
    (error: unknown) => error,
  )
  if (!isPsbError(e)) throw new Error(`expected a PsbError, got ${String(e)}`)
  return e
}
