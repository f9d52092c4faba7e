import type {Hook} from '@oclif/core'

/** The update notice is off under CI and with PSB_NO_UPDATE_CHECK (any value but 0/false/no/off). */
export function updateCheckOff(env: NodeJS.ProcessEnv = process.env): boolean {
  const on = (v: string | undefined) => Boolean(v) && !/^(0|false|no|off)$/i.test(v!)
  return on(env.CI) || on(env.PSB_NO_UPDATE_CHECK) || on(env.PSB_SKIP_NEW_VERSION_CHECK)
}

/**
 * psb's update notice: the check of @oclif/plugin-warn-if-update-available, loaded only when
 * it is on, so that a run with it off loads none of it and calls nothing. It never delays a
 * command: it reads the cached answer, and refreshes a stale one (older than
 * `timeoutInDays`, package.json) in a detached process bounded by a 5 s timeout.
 */
const hook: Hook.Init = async function (opts) {
  if (updateCheckOff()) return
  // The package exports only its index; its hook sits next to it.
  const url = new URL('hooks/init/check-update.js', import.meta.resolve('@oclif/plugin-warn-if-update-available'))
  const {default: check} = (await import(url.href)) as {default: Hook.Init}
  await check.call(this, opts)
}

export default hook
