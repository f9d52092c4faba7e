/**
 * The hooks psb fires for plugins (docs/plugins.md): `psb:verify-checks`, `psb:bucket-settings`
 * and `psb:after-init`. oclif runs them (config.runHook, errors captured, bounded in time);
 * this file turns what the plugins answer into core values (checks, setting rows) and a
 * plugin's failure into a warning (a `warn` check in verify), never into a broken command.
 * The core (src/lib) only sees the results: functions and rows, no oclif.
 */
import type {Config} from '@oclif/core'
import type {IAMClient} from '@aws-sdk/client-iam'
import type {S3Client} from '@aws-sdk/client-s3'
import type {AwsContext} from '../lib/aws/client.js'
import {messageOf} from '../lib/errors.js'
import {row, type BucketSetting, type SettingRow} from '../lib/bucket/settings/setting.js'
import type {Check} from '../lib/verify/context.js'

export type {BucketSetting, SettingIO, SettingPlan, Want} from '../lib/bucket/settings/setting.js'
export type {Check} from '../lib/verify/context.js'

/** The backend a hook is about. */
export interface PluginTarget {
  bucket: string
  prefix?: string
  region: string
  profile?: string
  endpoint?: string
}

/** AWS clients for the target's profile, made by psb (src/lib/aws/client.ts), and the SDK modules (a plugin needs no AWS SDK of its own). */
export interface PluginAws {
  s3(): Promise<S3Client>
  iam(): Promise<IAMClient>
  sdk: {s3(): Promise<typeof import('@aws-sdk/client-s3')>; iam(): Promise<typeof import('@aws-sdk/client-iam')>}
}

/** `psb:verify-checks`: answer an array of checks. */
export interface VerifyChecksPayload {
  target: PluginTarget
  aws: PluginAws
}

/** `psb:bucket-settings`: answer an array of BucketSetting (read / plan / apply). */
export interface BucketSettingsPayload {
  target: PluginTarget
}

/** `psb:after-init`: the init summary (the `psb init --json` document). */
export interface AfterInitPayload {
  summary: unknown
  dryRun: boolean
}

/** How long one plugin's hook may take (PSB_PLUGIN_HOOK_TIMEOUT_MS, default 30 s). */
export function hookTimeoutMs(env = process.env): number {
  const n = Number(env.PSB_PLUGIN_HOOK_TIMEOUT_MS)
  return Number.isInteger(n) && n > 0 ? n : 30_000
}

export interface PluginAnswer {
  plugin: string
  result: unknown
}

/**
 * Runs one psb hook in every plugin that has it (none installed: nothing is loaded).
 * Failures are passed to `warn` as "plugin <name>: <what failed>"; the successes are answered.
 */
export async function firePsbHook(config: Config, event: string, payload: object, warn: (message: string, plugin: string) => void): Promise<PluginAnswer[]> {
  const hasHook = [...config.plugins.values()].some((p) => (p.hooks[event]?.length ?? 0) > 0)
  if (!hasHook) return []
  const {successes, failures} = await config.runHook(event as 'init', payload as never, hookTimeoutMs(), true)
  for (const f of failures) warn(`plugin ${f.plugin.name}: its ${event} hook failed: ${messageOf(f.error)}`, f.plugin.name)
  return successes.filter((s) => s.plugin.name !== config.name).map((s) => ({plugin: s.plugin.name, result: s.result}))
}

export function pluginAws(aws: AwsContext, region: string): PluginAws {
  return {s3: () => aws.s3(region), iam: () => aws.iam(), sdk: {s3: () => import('@aws-sdk/client-s3'), iam: () => import('@aws-sdk/client-iam')}}
}

const STATUSES = new Set(['pass', 'warn', 'fail'])

function isCheck(c: unknown): c is Check {
  const v = c as Check
  return typeof v === 'object' && v !== null && typeof v.id === 'string' && v.id !== '' && typeof v.title === 'string' && STATUSES.has(v.status)
}

/**
 * One plugin's answer as checks: malformed entries become one warn check naming the plugin; an
 * id of psb's own checks (`builtinIds`) gets the plugin's name in front.
 */
export function checksOf(answer: PluginAnswer, builtinIds: readonly string[]): Check[] {
  const list = answer.result === undefined ? [] : Array.isArray(answer.result) ? answer.result : [answer.result]
  const good = list.filter(isCheck).map((c) => {
    const id = builtinIds.includes(c.id) ? `${answer.plugin}:${c.id}` : c.id
    const out: Check = {id, title: c.title, status: c.status}
    if (typeof c.detail === 'string') out.detail = c.detail
    if (typeof c.hint === 'string') out.hint = c.hint
    return out
  })
  if (good.length < list.length) good.push(pluginFailure(answer.plugin, `answered ${list.length - good.length} malformed check(s) (each needs id, title and status pass|warn|fail)`))
  return good
}

export function pluginFailure(plugin: string, what: string): Check {
  return {id: `plugin:${plugin}`, title: `Plugin ${plugin}`, status: 'warn', detail: what, hint: `Update or uninstall the plugin: psb plugins update, or psb plugins uninstall ${plugin}.`}
}

/**
 * verify's extra checks: fires `psb:verify-checks` with the target and the profile's own
 * AWS context (the same key psb's checks use). A failed hook is a warn check.
 */
export function verifyHookChecks(config: Config, target: PluginTarget): (aws: AwsContext) => Promise<Check[]> {
  return async (aws) => {
    const failed: Check[] = []
    const answers = await firePsbHook(config, 'psb:verify-checks', {target, aws: pluginAws(aws, target.region)} satisfies VerifyChecksPayload, (m, plugin) =>
      failed.push(pluginFailure(plugin, m.slice(`plugin ${plugin}: `.length))),
    )
    // verify's table, loaded here and not at the top: bucket create imports this file too, and
    // the table brings every check's code (the Pulumi CLI, YAML, schedules) onto its start path.
    const {CHECK_IDS} = await import('../lib/verify/run.js')
    return [...answers.flatMap((a) => checksOf(a, CHECK_IDS)), ...failed]
  }
}

function isSetting(s: unknown): s is BucketSetting<unknown, unknown> {
  const v = s as BucketSetting<unknown, unknown>
  return typeof v === 'object' && v !== null && typeof v.id === 'string' && Array.isArray(v.items) && ['read', 'plan', 'apply'].every((k) => typeof (v as unknown as Record<string, unknown>)[k] === 'function')
}

/**
 * A plugin's setting as a table row. Its failures never break the run: a failed read or
 * plan reports its items as skipped (with a warning), a failed write as a partial apply.
 */
export function pluginRow(plugin: string, setting: BucketSetting<unknown, unknown>): SettingRow {
  const base = row({...setting, optional: () => false, action: typeof setting.action === 'string' ? setting.action : `${plugin}:${setting.id}`})
  const failed = (what: string, error: unknown) => {
    const message = `plugin ${plugin}: setting ${setting.id} could not ${what}: ${messageOf(error)}`
    return {changes: setting.items.map((item) => ({item, status: 'skipped' as const, detail: message})), warn: [message]}
  }
  return {
    ...base,
    async plan(io, want, fresh) {
      try {
        const planned = await base.plan(io, want, fresh)
        const apply = planned.apply
        if (!apply) return planned
        return {
          ...planned,
          apply: async () => {
            try {
              return await apply()
            } catch (error) {
              const f = failed('be written', error)
              return {skipped: f.changes, warn: f.warn}
            }
          },
        }
      } catch (error) {
        return failed('be read or planned', error)
      }
    },
  }
}

/** bucket create's extra settings: fires `psb:bucket-settings`; a malformed answer is a warning. */
export async function bucketHookSettings(config: Config, target: PluginTarget, warn: (message: string) => void): Promise<SettingRow[]> {
  const answers = await firePsbHook(config, 'psb:bucket-settings', {target} satisfies BucketSettingsPayload, warn)
  const rows: SettingRow[] = []
  for (const a of answers) {
    const list = a.result === undefined ? [] : Array.isArray(a.result) ? a.result : [a.result]
    for (const s of list) {
      if (isSetting(s)) rows.push(pluginRow(a.plugin, s))
      else warn(`plugin ${a.plugin}: answered a bucket setting without id, items, read, plan and apply; ignored.`)
    }
  }
  return rows
}

/** The hook target of a command's options (only the fields of PluginTarget). */
export function targetOf(o: PluginTarget): PluginTarget {
  const t: PluginTarget = {bucket: o.bucket, region: o.region}
  if (o.prefix) t.prefix = o.prefix
  if (o.profile) t.profile = o.profile
  if (o.endpoint) t.endpoint = o.endpoint
  return t
}

/** Fires `psb:after-init` with init's summary; a plugin's failure is a warning. */
export async function afterInitHook(config: Config, payload: AfterInitPayload, warn: (message: string) => void): Promise<void> {
  await firePsbHook(config, 'psb:after-init', payload, warn)
}
