/**
 * src/cli/plugin-hooks.ts: what plugins answer becomes checks and setting rows, and their
 * failures become warnings, never a broken command (docs/plugins.md).
 */
import {expect} from 'chai'
import {checksOf, hookTimeoutMs, pluginRow, targetOf} from '../../src/cli/plugin-hooks.js'
import {isPartialApply, type SettingIO} from '../../src/lib/bucket/settings/setting.js'
import {CHECK_IDS} from '../../src/lib/verify/run.js'

const io = {bucket: 'b'} as unknown as SettingIO
const want = {bucket: 'b', arn: 'arn:aws:s3:::b'}

describe('plugin hooks: answers and failures', () => {
  it('keeps well-formed checks, renames an id that is psb\'s own, and turns malformed ones into one warn check', () => {
    const checks = checksOf({
      plugin: 'p',
      result: [
        {id: 'acme', title: 'Acme', status: 'fail', detail: 'd', hint: 'h', extra: 1},
        {id: 'versioning', title: 'Mine', status: 'pass'},
        {id: 'bad', title: 'Bad', status: 'ok'},
        'nonsense',
      ],
    }, CHECK_IDS)
    expect(checks).to.deep.equal([
      {id: 'acme', title: 'Acme', status: 'fail', detail: 'd', hint: 'h'},
      {id: 'p:versioning', title: 'Mine', status: 'pass'},
      {id: 'plugin:p', title: 'Plugin p', status: 'warn', detail: 'answered 2 malformed check(s) (each needs id, title and status pass|warn|fail)', hint: 'Update or uninstall the plugin: psb plugins update, or psb plugins uninstall p.'},
    ])
    expect(checksOf({plugin: 'p', result: undefined}, CHECK_IDS)).to.deep.equal([])
  })

  it('a setting whose read throws reports its items as skipped, with a warning naming the plugin', async () => {
    const row = pluginRow('p', {id: 's', items: ['s-item'], optional: () => false, action: 'x', read: async () => Promise.reject(new Error('boom')), plan: () => ({changes: []}), apply: async () => {}})
    const planned = await row.plan(io, want, false)
    expect(planned.apply).to.equal(undefined)
    expect(planned.changes).to.deep.equal([{item: 's-item', status: 'skipped', detail: 'plugin p: setting s could not be read or planned: boom'}])
    expect(planned.warn).to.deep.equal(['plugin p: setting s could not be read or planned: boom'])
  })

  it('a setting whose write throws answers a partial apply (skipped items and a warning), not an error', async () => {
    const row = pluginRow('p', {id: 's', items: ['s-item'], optional: () => true, action: 'x', read: async () => 'now', plan: () => ({changes: [{item: 's-item', status: 'updated'}], change: 'c'}), apply: async () => Promise.reject(new Error('denied'))})
    expect(row.optional(true), 'a plugin setting is never skipped silently as unsupported').to.equal(false)
    const planned = await row.plan(io, want, false)
    const result = await planned.apply!()
    expect(isPartialApply(result)).to.equal(true)
    expect(result).to.deep.include({warn: ['plugin p: setting s could not be written: denied']})
  })

  it('a dry run of a fresh bucket plans without reading; the target carries only its five fields', async () => {
    let reads = 0
    const row = pluginRow('p', {id: 's', items: ['s'], optional: () => false, action: 'x', read: async () => reads++, plan: (c) => ({changes: [{item: 's', status: c === undefined ? 'created' : 'unchanged'}], change: 1}), apply: async () => {}})
    expect((await row.plan(io, want, true)).changes[0].status).to.equal('created')
    expect(reads).to.equal(0)
    expect(targetOf({bucket: 'b', region: 'r', prefix: '', profile: 'p', endpoint: undefined, secret: 'x'} as never)).to.deep.equal({bucket: 'b', region: 'r', profile: 'p'})
    expect(hookTimeoutMs({PSB_PLUGIN_HOOK_TIMEOUT_MS: '500'})).to.equal(500)
    expect(hookTimeoutMs({PSB_PLUGIN_HOOK_TIMEOUT_MS: 'x'})).to.equal(30_000)
  })
})
