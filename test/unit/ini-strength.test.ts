/**
 * What a user relies on from src/lib/files/ini.ts, asserted exactly enough that a changed rule
 * fails a test (issue 10, "Test strength"): the parse errors (code, data, message), files
 * read exactly as the AWS SDK reads them, and the bytes an edit writes. In process.
 */
import {expect} from 'chai'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {loadSharedConfigFiles} from '@smithy/shared-ini-file-loader'
import {
  configSectionFor,
  configSectionProfile,
  IniParseError,
  parseIni,
  sameSection,
  sdkConfigData,
  sdkParse,
  sectionEntries,
  sectionKeyNames,
  serializeIni,
  serializeIniBytes,
  setSectionKeys,
} from '../../src/lib/files/ini.js'
import {thrown} from '../support/errors.js'

let dir: string
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'psb-ini-strength-'))
})
after(() => rmSync(dir, {recursive: true, force: true}))

let seq = 0
/** Our reading of `text` equals the AWS SDK's, as a credentials file and as a config file. */
async function agreesWithSdk(text: string): Promise<void> {
  const n = ++seq
  const filepath = join(dir, `cred-${n}`)
  const configFilepath = join(dir, `conf-${n}`)
  writeFileSync(filepath, text)
  writeFileSync(configFilepath, text)
  const sdk = await loadSharedConfigFiles({filepath, configFilepath, ignoreCache: true})
  const doc = parseIni(text)
  expect(serializeIni(doc)).to.equal(text)
  expect(sdkParse(doc), `credentials view of ${JSON.stringify(text)}`).to.deep.equal(sdk.credentialsFile)
  expect(sdkConfigData(sdkParse(doc)), `config view of ${JSON.stringify(text)}`).to.deep.equal(sdk.configFile)
}

function edit(text: string, name: string, values: Record<string, string | undefined>): string {
  const doc = parseIni(text)
  setSectionKeys(doc, name, values)
  return serializeIni(doc)
}

describe('ini strength: parse errors', () => {
  it('name the file and the line, as code IniParseError with exit 2 and data {file, line}', () => {
    const e = thrown(() => parseIni('[a]\nk = v\njunk\n', '/x/credentials'))
    expect(e).to.be.instanceOf(IniParseError)
    expect({code: e.code, exit: e.exitCode, data: e.data, message: e.message, hint: e.hint}).to.deep.equal({
      code: 'IniParseError',
      exit: 2,
      data: {file: '/x/credentials', line: 3},
      message: 'Cannot safely parse /x/credentials, line 3: a line that is neither a section, a comment nor a key = value pair.',
      hint: 'Fix or remove line 3 of /x/credentials by hand; psb does not rewrite a file it cannot read exactly as the AWS SDK does.',
    })
    expect(thrown(() => parseIni('junk')).message).to.equal('Cannot safely parse the file, line 1: a line that is neither a section, a comment nor a key = value pair.')
  })

  it('refuses keys and values it cannot write, with their codes', () => {
    const doc = parseIni('[p]\n')
    const key = thrown(() => setSectionKeys(doc, 'p', {'a b': 'x'}))
    expect([key.code, key.exitCode, key.message]).to.deep.equal(['IniKeyInvalid', 2, '"a b" is not a key psb can write to an AWS ini file.'])
    const removed = thrown(() => setSectionKeys(doc, 'p', {'a=b': undefined}))
    expect([removed.code, removed.exitCode, removed.message]).to.deep.equal(['IniKeyInvalid', 2, '"a=b" is not a key psb can write to an AWS ini file.'])
    const value = thrown(() => setSectionKeys(doc, 'p', {k: 'a # b'}))
    expect([value.code, value.exitCode]).to.deep.equal(['IniValueInvalid', 2])
    expect(value.message).to.equal(
      'The value for "k" cannot be written to an AWS ini file: it is empty, has leading or trailing spaces, a line break, or a "#"/";" after a space (the AWS SDK would cut it off there).',
    )
    expect(serializeIni(doc)).to.equal('[p]\n')
  })
})

describe('ini strength: read as the AWS SDK reads it', () => {
  it('sections with a trailing comment, indented keys after a section or after a plain value, look-alike section names', async () => {
    for (const text of [
      '[a]  ; note\nk = v # c\n',
      '[b]\t# note\n',
      '[a]\ns3 =\n  x = 1\n[b]\n  k = v\n',
      '[a]\nk = v\n  j = w\n',
      '[profileX]\nk = v\n[unknown.x]\nk = v\n[profile y]\nk = v\n',
      '[profile.x]\nregion = a\n[profile x]\noutput = json\n',
      '[default]\nk = v\n[sso-session s]\nk = w\n',
    ]) {
      await agreesWithSdk(text)
    }
    expect(sectionEntries(parseIni('[a]\ns3 =\n  x = 1\n[b]\n  k = v\n'), 'b')).to.deep.equal({k: 'v'})
    expect(sectionEntries(parseIni('[a]\nk = v\n  j = w\n'), 'a')).to.deep.equal({k: 'v', j: 'w'})
  })

  it('gives a section\'s entries without the keys that open sub-keys, and its key names as spelled', () => {
    const doc = parseIni('[p]\ns3 =\n  a = 1\nK = v\n[q]\nz = 1\n[p]\nM = 2\n')
    expect(sectionEntries(doc, 'p')).to.deep.equal({k: 'v', m: '2'})
    expect(sectionKeyNames(doc, 'p')).to.deep.equal(['s3', 'K', 'M'])
    expect(sectionKeyNames(doc, 'r')).to.deep.equal([])
  })

  it('takes [profile.x] for the same section as [profile x] (the SDK files both as profile.x), as it does [profile "x"]', async () => {
    expect(sameSection('profile.x', 'profile x')).to.equal(true)
    expect(sameSection('profile x', 'profile "x"')).to.equal(true)
    expect(sameSection('profile x', 'profile y')).to.equal(false)
    expect(sameSection('foo x', 'foo x ')).to.equal(false)
    expect(sameSection('a', 'b')).to.equal(false)
    const text = '[profile.x]\naws_session_token = tok\nregion = a\n'
    const out = edit(text, 'profile x', {aws_session_token: undefined, region: 'b'})
    expect(out).to.equal('[profile.x]\nregion = b\n')
    await agreesWithSdk(out)
  })

  it('names the profile of a config section, and the section of a profile', () => {
    expect(configSectionProfile('foo bar')).to.equal(undefined)
    expect(configSectionProfile('profile "x"')).to.equal('x')
    expect(configSectionFor(parseIni('[profile default]\n[default]\n'), 'x')).to.equal('profile x')
    expect(configSectionFor(parseIni('[profile default]\n'), 'default')).to.equal('profile default')
    expect(configSectionFor(parseIni('[default]\n'), 'default')).to.equal('default')
  })
})

describe('ini strength: edits keep every other byte', () => {
  it('keeps the bytes of a line that is not valid UTF-8 but decodes to as many bytes (a cut 4-byte sequence)', () => {
    const bytes = Buffer.concat([Buffer.from('# '), Buffer.from([0xf0, 0x90, 0x80]), Buffer.from('\n[a]\nk = v\n')])
    const doc = parseIni(bytes)
    setSectionKeys(doc, 'b', {x: '1'})
    expect(serializeIniBytes(doc).equals(Buffer.concat([bytes, Buffer.from('\n[b]\nx = 1\n')]))).to.equal(true)
  })

  it('writes a new value over a value that was not valid UTF-8, also when set twice', () => {
    const bytes = Buffer.concat([Buffer.from('[a]\nk = ' + 'v'.repeat(20)), Buffer.from([0xff]), Buffer.from('\nz = 1 # '), Buffer.from([0xe9]), Buffer.from('\n')])
    const doc = parseIni(bytes)
    setSectionKeys(doc, 'a', {k: 'first'})
    expect(serializeIniBytes(doc).toString('latin1')).to.equal('[a]\nk = first\nz = 1 # \u00e9\n')
    setSectionKeys(doc, 'a', {k: 'second', z: '2'})
    setSectionKeys(doc, 'a', {z: '3'})
    expect(serializeIniBytes(doc).toString('latin1')).to.equal('[a]\nk = second\nz = 3 # \u00e9\n')
  })

  it('sets a key that opened sub-keys, keeping its comment; removes a key with all its sub-keys and only those', () => {
    expect(edit('[p]\ns3 =   # opens sub-keys\n  a = 1\n', 'p', {s3: 'x'})).to.equal('[p]\ns3 = x   # opens sub-keys\n')
    expect(edit('[p]\nk = v\ns3 =\n  a = 1\n  # about b\n  b = 2\n', 'p', {s3: undefined})).to.equal('[p]\nk = v\n  # about b\n')
    expect(edit('[p]\ns3 =\n  a = 1\nk = v\nt =\n  b = 2\n', 'p', {s3: undefined})).to.equal('[p]\nk = v\nt =\n  b = 2\n')
  })

  it('writes a new key in the style of the section\'s first plain entry', () => {
    expect(edit('[p]\n#style=none\nk = v\n', 'p', {n: '1'})).to.equal('[p]\n#style=none\nk = v\nn = 1\n')
    expect(edit('[p]\ns3 =\n  a=1\nkey=v\n', 'p', {n: '1'})).to.equal('[p]\ns3 =\n  a=1\nkey=v\nn=1\n')
    expect(edit('[p]\nk = a=b\n', 'p', {n: '1'})).to.equal('[p]\nk = a=b\nn = 1\n')
    expect(edit('[p]\n  key=v\n', 'p', {n: '1'})).to.equal('[p]\n  key=v\nn=1\n')
    expect(edit('[p]\nkey=v\n', 'p', {n: '1'})).to.equal('[p]\nkey=v\nn=1\n')
  })

  it('puts new keys after the last entry that stays, and removes the right lines around them', () => {
    expect(edit('[p]\na = 1\n# about t\nt = x\n', 'p', {t: undefined, n: '1'})).to.equal('[p]\na = 1\nn = 1\n# about t\n')
    expect(edit('[p]\nt = x\na = 1\n', 'p', {t: undefined, n: '1'})).to.equal('[p]\na = 1\nn = 1\n')
    expect(edit('[p]\na = 1\nt = x\n', 'p', {t: undefined, n: '1'})).to.equal('[p]\na = 1\nn = 1\n')
    expect(edit('[p]\n# c\nt = x\n', 'p', {t: undefined, n: '1'})).to.equal('[p]\nn = 1\n# c\n')
    expect(edit('[p]\nk = v\nt = x\n', 'p', {t: undefined})).to.equal('[p]\nk = v\n')
    expect(edit('[p]\nk = v\nt = x', 'p', {t: undefined})).to.equal('[p]\nk = v')
  })

  it('sees a key it added, and adds after a blank line it appended in the same document', () => {
    const doc = parseIni('[a]\nk = v\n')
    setSectionKeys(doc, 'a', {n: '1'})
    expect(sectionEntries(doc, 'a')).to.deep.equal({k: 'v', n: '1'})
    setSectionKeys(doc, 'b', {x: '1'})
    setSectionKeys(doc, 'a', {m: '2'})
    expect(serializeIni(doc)).to.equal('[a]\nk = v\nn = 1\nm = 2\n\n[b]\nx = 1\n')
  })

  it('appends a section without changing the end-of-line of the last line (a file mixing CRLF and LF)', () => {
    expect(edit('[a]\r\nk = v\n', 'b', {x: '1'})).to.equal('[a]\r\nk = v\n\r\n[b]\r\nx = 1\r\n')
  })
})
