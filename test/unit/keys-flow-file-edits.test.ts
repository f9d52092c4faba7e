/**
 * The credentials-file edits of a rotation's undo (src/lib/keys/file-edits.ts), on real files
 * in a temp home: which profiles hold a key, the warning about the config file, putting the
 * old key back (or taking a first key out) byte for byte, removing the emptied section, and
 * rollBack's summary when the file cannot be restored. No AWS call is needed for these,
 * except one deletion that fails on a closed port.
 */
import {expect} from 'chai'
import {chmodSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {dirname} from 'node:path'
import {hostname} from 'node:os'
import {appendedBy, profilesWithKeyIn, putBackOldKey, removeEmptySection, rollBack, warnIfInConfigFile} from '../../src/lib/keys/file-edits.js'
import {parseIni, serializeIni} from '../../src/lib/files/ini.js'
import {makeState, type RunState} from '../../src/lib/keys/run.js'
import {createAwsContext} from '../../src/lib/aws/client.js'
import {maskKeyId} from '../../src/lib/redact.js'
import {tempHomeDir} from '../support/keys-fixture.js'

const OLD = {accessKeyId: 'AKIAOLDOLDOLDOLD0001', secretAccessKey: 'old/secret/value/00000000000000000000000'}
const NEW = {accessKeyId: 'AKIANEWNEWNEWNEW0001', secretAccessKey: 'new/secret/value/00000000000000000000000'}

describe('keys file edits: pure parts (profilesWithKeyIn, removeEmptySection, appendedBy)', () => {
  const edit = (text: string, name: string) => {
    const doc = parseIni(text)
    removeEmptySection(doc, name)
    return serializeIni(doc)
  }

  it('profilesWithKeyIn: the sections whose aws_access_key_id is the key, in file order', () => {
    const doc = parseIni(`[b]\naws_access_key_id = ${NEW.accessKeyId}\n[a]\nregion = x\n[c]\naws_access_key_id=${NEW.accessKeyId}\n[d]\naws_access_key_id = ${OLD.accessKeyId}\n`)
    expect(profilesWithKeyIn(doc, NEW.accessKeyId)).to.deep.equal(['b', 'c'])
    expect(profilesWithKeyIn(doc, 'AKIANOBODY0000000001')).to.deep.equal([])
  })

  it('removeEmptySection removes a section of blank lines with the blank line before it, and nothing else', () => {
    expect(edit('[a]\nx = 1\n\n[p]\n\n[b]\ny = 2\n', 'p')).to.equal('[a]\nx = 1\n[b]\ny = 2\n')
    expect(edit('[a]\nx = 1\n[p]\n[b]\ny = 2\n', 'p')).to.equal('[a]\nx = 1\n[b]\ny = 2\n')
    expect(edit('[p]\n\n[b]\ny = 2\n', 'p')).to.equal('[b]\ny = 2\n')
    expect(edit('\n[p]\n[b]\n', 'p')).to.equal('[b]\n')
    expect(edit('[a]\nx = 1\n\n[p]\n\n', 'p')).to.equal('[a]\nx = 1\n')
  })

  it('removeEmptySection keeps a section with anything but blank lines, and a missing one is no change', () => {
    const withComment = '[a]\nx = 1\n\n[p]\n# mine\n'
    expect(edit(withComment, 'p')).to.equal(withComment)
    const withEntry = '[a]\nx = 1\n\n[p]\n\nregion = y\n'
    expect(edit(withEntry, 'p')).to.equal(withEntry)
    expect(edit('[a]\nx = 1\n', 'p')).to.equal('[a]\nx = 1\n')
  })

  it('removeEmptySection at the end of a file without a final newline keeps it without one', () => {
    expect(edit('[a]\nx = 1\n\n[p]', 'p')).to.equal('[a]\nx = 1')
    expect(edit('[a]\nx = 1\n[p]', 'p')).to.equal('[a]\nx = 1')
    expect(edit('[p]', 'p')).to.equal('')
    // A final newline stays.
    expect(edit('[a]\nx = 1\n\n[p]\n', 'p')).to.equal('[a]\nx = 1\n')
  })

  it('appendedBy: the common head, then what the write added and what it replaced', () => {
    expect(appendedBy('abc', 'abcdef')).to.deep.equal({suffix: 'def', replaced: ''})
    expect(appendedBy('abX', 'abYZ')).to.deep.equal({suffix: 'YZ', replaced: 'X'})
    expect(appendedBy('abc', 'ab')).to.deep.equal({suffix: '', replaced: 'c'})
    expect(appendedBy('', 'xy')).to.deep.equal({suffix: 'xy', replaced: ''})
    expect(appendedBy('same', 'same')).to.deep.equal({suffix: '', replaced: ''})
    expect(appendedBy('xab', 'yab')).to.deep.equal({suffix: 'yab', replaced: 'xab'})
  })
})

describe('keys file edits: on the credentials file (putBackOldKey, warnIfInConfigFile, rollBack)', () => {
  let home: ReturnType<typeof tempHomeDir>
  let state: RunState
  const text = () => readFileSync(home.credentialsFile, 'utf8')
  const section = (p: string, k: typeof OLD) => `[${p}]\naws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey}\n`

  beforeEach(() => {
    home = tempHomeDir()
    state = makeState({region: 'us-east-1', env: home.env})
  })
  afterEach(() => rmSync(home.dir, {recursive: true, force: true}))

  it('the old key goes back into every profile holding the new key; every other byte is kept', async () => {
    writeFileSync(home.credentialsFile, `# top\n${section('a', NEW)}region = eu-west-1\n\n${section('other', OLD)}\n${section('b', NEW)}`)
    chmodSync(home.credentialsFile, 0o644)
    await putBackOldKey(state, NEW.accessKeyId, OLD, 'a')
    expect(text()).to.equal(`# top\n${section('a', OLD)}region = eu-west-1\n\n${section('other', OLD)}\n${section('b', OLD)}`)
    // Written with the credentials file's mode, and no backup beside it (the old key's secret would linger there).
    expect(statSync(home.credentialsFile).mode & 0o777).to.equal(0o600)
    expect(readdirSync(dirname(home.credentialsFile)).sort()).to.deep.equal(['credentials'])
  })

  it('a first key psb appended goes byte for byte when it is still the end of the file', async () => {
    const before = '[x]\nregion = y'
    const after = `${before}\n\n${section('newp', NEW)}`
    writeFileSync(home.credentialsFile, after)
    await putBackOldKey(state, NEW.accessKeyId, undefined, 'newp', {before, after})
    expect(text()).to.equal(before)
  })

  it('a first key with something written after it: its key lines and its emptied section go, the rest stays', async () => {
    const before = '[x]\nregion = y\n'
    const after = `${before}\n${section('newp', NEW)}`
    writeFileSync(home.credentialsFile, `${after}\n[later]\nregion = z\n`)
    await putBackOldKey(state, NEW.accessKeyId, undefined, 'newp', {before, after})
    expect(text()).to.equal(`${before}[later]\nregion = z\n`)
  })

  it('a first key in a profile with other settings: only its key lines go (no undo texts)', async () => {
    writeFileSync(home.credentialsFile, `[x]\nregion = y\n\n${section('newp', NEW)}region = eu-west-1\n`)
    await putBackOldKey(state, NEW.accessKeyId, undefined, 'newp')
    expect(text()).to.equal('[x]\nregion = y\n\n[newp]\nregion = eu-west-1\n')
  })

  it("the undo texts do not apply when the appended part is not this profile's or not this key's: the section edit runs instead", async () => {
    const before = '[x]\nregion = y\n'
    const after = `${before}\n${section('newp', NEW)}`
    writeFileSync(home.credentialsFile, after)
    // Named for another profile: the profile holding the key is edited (its section emptied and removed).
    await putBackOldKey(state, NEW.accessKeyId, undefined, 'newp', {before, after: after.replace('[newp]', '[other]')})
    expect(text()).to.equal(before)
    writeFileSync(home.credentialsFile, after + '# kept\n')
    await putBackOldKey(state, NEW.accessKeyId, undefined, 'newp', {before, after})
    expect(text()).to.equal(`${before}\n[newp]\n# kept\n`)
  })

  it('nothing holds the new key: the file is left as it is, an empty section of the profile too', async () => {
    const start = `${section('a', OLD)}\n[newp]\n\n[a2]\n\n`
    writeFileSync(home.credentialsFile, start)
    await putBackOldKey(state, NEW.accessKeyId, undefined, 'newp')
    await putBackOldKey(state, NEW.accessKeyId, OLD, 'a2')
    expect(text()).to.equal(start)
    // The old key goes back where the new key is; an empty section of the named profile stays.
    writeFileSync(home.credentialsFile, `${section('a', NEW)}\n[a2]\n\n[z]\n`)
    await putBackOldKey(state, NEW.accessKeyId, OLD, 'a2')
    expect(text()).to.equal(`${section('a', OLD)}\n[a2]\n\n[z]\n`)
  })

  it("the undo texts of another profile's appended section do not apply: only the keys go from the section that holds them", async () => {
    const before = '[x]\nregion = y\n'
    const after = `${before}\n${section('other', NEW)}`
    writeFileSync(home.credentialsFile, after)
    await putBackOldKey(state, NEW.accessKeyId, undefined, 'newp', {before, after})
    expect(text()).to.equal(`${before}\n[other]\n`)
  })

  it('nothing holds the new key: the file is left as it is', async () => {
    const start = `${section('a', OLD)}\n`
    writeFileSync(home.credentialsFile, start)
    await putBackOldKey(state, NEW.accessKeyId, OLD, 'a')
    await putBackOldKey(state, NEW.accessKeyId, undefined, 'a')
    expect(text()).to.equal(start)
  })

  it('warnIfInConfigFile warns when the config file holds the old key too, and only then', () => {
    const warnings: string[] = []
    warnIfInConfigFile(state, OLD.accessKeyId, warnings)
    expect(warnings).to.deep.equal([])
    writeFileSync(home.configFile, '[profile a]\nregion = x\n')
    warnIfInConfigFile(state, OLD.accessKeyId, warnings)
    expect(warnings).to.deep.equal([])
    writeFileSync(home.configFile, `[profile a]\naws_access_key_id = ${OLD.accessKeyId}\n`)
    warnIfInConfigFile(state, OLD.accessKeyId, warnings)
    expect(warnings).to.deep.equal([
      `The config file ${home.configFile} also holds the old key ${maskKeyId(OLD.accessKeyId)}; psb updated only the credentials file (which wins). Remove the key from the config file.`,
    ])
  })

  it('rollBack that cannot edit the file keeps the new key and says so, naming the backup', async () => {
    const start = section('a', NEW)
    writeFileSync(home.credentialsFile, start)
    writeFileSync(`${home.credentialsFile}.psb-lock`, JSON.stringify({pid: process.pid, host: hostname(), nonce: 'x', time: Date.now()}))
    state = makeState({region: 'us-east-1', env: {...home.env, PSB_LOCK_TIMEOUT_MS: '100'}})
    const actor = {ctx: createAwsContext({region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: OLD}), label: 'x', fresh: false}
    const o = {actor, user: 'u', arn: 'user u', oldCreds: OLD, newKeyId: NEW.accessKeyId, profiles: ['a']}
    const r = await rollBack(state, {...o, backup: '/b/credentials.bak'})
    expect(r.fileRestored).to.equal(false)
    expect(r.newKeyDeleted).to.equal(false)
    expect(r.summary).to.match(
      new RegExp(
        `^The credentials file could NOT be restored \\(.+\\); its backup is /b/credentials\\.bak\\. It holds the new key ${maskKeyId(NEW.accessKeyId)}, which is kept \\(the old key ${maskKeyId(OLD.accessKeyId)} too\\); the next run finishes the rotation\\.$`,
      ),
    )
    expect(r.hint).to.equal('Fix what stopped the write, then run psb keys rotate again.')
    const noBackup = await rollBack(state, o)
    expect(noBackup.summary).to.match(/^The credentials file could NOT be restored \([^;]+\)\. It holds the new key/)
    expect(text()).to.equal(start)
  })

  it('rollBack with the file already free of the new key: only the deletion runs; a failed deletion is said, the next run deletes it', async () => {
    const start = section('a', OLD)
    writeFileSync(home.credentialsFile, start)
    const prev = process.env.PSB_MAX_ATTEMPTS
    process.env.PSB_MAX_ATTEMPTS = '1'
    try {
      const actor = {ctx: createAwsContext({region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: OLD, maxAttempts: 1}), label: 'x', fresh: false}
      const r = await rollBack(state, {actor, user: 'u', arn: 'user u', oldCreds: OLD, newKeyId: NEW.accessKeyId, profiles: ['a', 'b']})
      writeFileSync(home.credentialsFile, section('a', NEW))
      const back = await rollBack(state, {actor, user: 'u', arn: 'user u', oldCreds: OLD, newKeyId: NEW.accessKeyId, profiles: ['a']})
      expect(back.summary).to.match(new RegExp(`^The old key is back in the credentials file, the new key ${maskKeyId(NEW.accessKeyId)} could NOT be deleted \\(.+\\); the next run deletes it; profile\\(s\\) a still hold`))
      expect(text()).to.equal(start)
      expect(r).to.deep.include({fileRestored: true, newKeyDeleted: false})
      expect(r.hint).to.equal(undefined)
      expect(r.summary).to.match(
        new RegExp(
          `^The credentials file is unchanged, the new key ${maskKeyId(NEW.accessKeyId)} could NOT be deleted \\(.+\\); the next run deletes it; profile\\(s\\) a, b still hold the old key ${maskKeyId(OLD.accessKeyId)}, which works\\.$`,
        ),
      )
    } finally {
      if (prev === undefined) delete process.env.PSB_MAX_ATTEMPTS
      else process.env.PSB_MAX_ATTEMPTS = prev
    }
    expect(text()).to.equal(start)
  })
})
