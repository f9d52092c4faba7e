import {readFile, stat} from 'node:fs/promises'
import {join} from 'node:path'
import type {Config, Hook} from '@oclif/core'

/** The update notice is off under CI and with PSB_NO_UPDATE_CHECK (any value but 0/false/no/off). */
export function updateCheckOff(env: NodeJS.ProcessEnv = process.env): boolean {
  const on = (v: string | undefined) => Boolean(v) && !/^(0|false|no|off)$/i.test(v!)
  return on(env.CI) || on(env.PSB_NO_UPDATE_CHECK) || on(env.PSB_SKIP_NEW_VERSION_CHECK)
}

/**
 * True when the cached answer (cacheDir/version, written by the plugin's refresh) is fresh
 * and names no newer version: nothing to warn about and nothing to refresh, so the plugin
 * (and its npmrc reading, about 27 modules) is not loaded at all.
 */
export async function nothingToDo(config: Pick<Config, 'cacheDir' | 'version' | 'pjson'>, now = Date.now()): Promise<boolean> {
  try {
    const file = join(config.cacheDir, 'version')
    const days = (config.pjson.oclif as {'warn-if-update-available'?: {timeoutInDays?: number}})['warn-if-update-available']?.timeoutInDays ?? 60
    if ((await stat(file)).mtimeMs + days * 86_400_000 < now) return false
    const latest = (JSON.parse(await readFile(file, 'utf8')) as {latest?: string}).latest
    return !latest || latest.split('-')[0].localeCompare(config.version.split('-')[0], undefined, {numeric: true}) <= 0
  } catch {
    return false
  }
}

/**
 * psb's update notice: the check of @oclif/plugin-warn-if-update-available, loaded only when
 * it is on, so that a run with it off loads none of it and calls nothing. It never delays a
 * command: it reads the cached answer, and refreshes a stale one (older than
 * `timeoutInDays`, package.json) in a detached process bounded by a 5 s timeout.
 */
const hook: Hook.Init = async function (opts) {
  if (updateCheckOff() || (await nothingToDo(opts.config))) return
  // The package exports only its index; its hook sits next to it.
  const url = new URL('hooks/init/check-update.js', import.meta.resolve('@oclif/plugin-warn-if-update-available'))
  const {default: check} = (await import(url.href)) as {default: Hook.Init}
  await check.call(this, opts)
}

export default hook
