import {expect} from 'chai'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {loadSharedConfigFiles} from '@smithy/shared-ini-file-loader'
import {
  IniParseError,
  configSectionFor,
  configSectionName,
  configSectionProfile,
  parseIni,
  sameSection,
  sdkConfigData,
  sdkParse,
  sdkSectionKey,
  sectionEntries,
  sectionNames,
  serializeIni,
  serializeIniBytes,
  setSectionKeys,
} from '../../src/lib/files/ini.js'

let dir: string
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'psb-ini-'))
})
after(() => rmSync(dir, {recursive: true, force: true}))

let seq = 0
/** What the AWS SDK itself reads from `text`, as a credentials file and as a config file. */
async function sdkRead(text: string): Promise<{credentials: Record<string, unknown>; config: Record<string, unknown>}> {
  const n = ++seq
  const filepath = join(dir, `cred-${n}`)
  const configFilepath = join(dir, `conf-${n}`)
  writeFileSync(filepath, text)
  writeFileSync(configFilepath, text)
  const r = await loadSharedConfigFiles({filepath, configFilepath, ignoreCache: true})
  return {credentials: r.credentialsFile, config: r.configFile}
}

/** Our parser must read exactly what the SDK reads, and write back exactly what it read. */
async function agreesWithSdk(text: string): Promise<void> {
  const doc = parseIni(text)
  expect(serializeIni(doc)).to.equal(text)
  const sdk = await sdkRead(text)
  const ours = sdkParse(doc)
  expect(ours, `credentials view of ${JSON.stringify(text)}`).to.deep.equal(sdk.credentials)
  expect(sdkConfigData(ours), `config view of ${JSON.stringify(text)}`).to.deep.equal(sdk.config)
}

function parseError(text: string): IniParseError {
  try {
    parseIni(text, '/x/credentials')
  } catch (error) {
    expect(error).to.be.instanceOf(IniParseError)
    return error as IniParseError
  }
  expect.fail(`expected ${JSON.stringify(text)} to be rejected`)
}

const TRICKY = [
  '',
  '\n',
  '# only a comment\n; and another\n',
  '# only comments, no final newline',
  '[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = abc/def+ghi==\n',
  '[default]\r\naws_access_key_id = A\r\nregion = us-east-1\r\n',
  '[default]\nkey = value',
  '[a]\nx=1\n[b]\nx=2\n[a]\ny=3\nx=4\n',
  '[default]\nregion = us-east-1 # a trailing comment\nnote = a;b#c\nother = v ;c\n',
  '  # indented comment\n[p]\n\t; tab comment\nk = v\n',
  '[profile pulumi]\nregion = eu-west-1\ns3 =\n  addressing_style = path\n  use_accelerate_endpoint = false\noutput = json\n',
  '[default]\ns3 =\n  a = 1\n\n  # comment inside\n  b = 2\nnext = 3\n',
  '[default]\nempty =\n',
  '[default]\n  indented_top = 1\nk = v\n',
  '[profile "quoted"]\nregion = us-west-2\n',
  "[profile 'single']\nregion = us-west-2\n",
  '[sso-session corp]\nsso_region = us-east-1\n[services local]\ns3 =\n  endpoint_url = http://localhost\n',
  '[default]\nregion = a\n[profile default]\nregion = b\n',
  '[foo bar]\nk = v\n[ spaced ]\nk = w\n',
  '[default] ; comment after header\nk = v\n',
  '[default]\nk = v = w == x\nsecret = abc==\n',
  '\uFEFF[default]\nk = v\n',
  '[a]\nk=v\n\n\n[b]\n',
  '[a]\nk = 1\nk = 2\n',
  '[profile x]\nsso_session = s\n[sso-session s]\nsso_start_url = https://x.awsapps.com/start#/\n',
]

describe('ini: parsing', () => {
  it('reads every tricky file exactly as the AWS SDK does, and writes it back byte for byte', async () => {
    for (const text of TRICKY) await agreesWithSdk(text)
  })

  it('classifies lines: comments (# ; indented), sections, entries, sub-entries, blanks', () => {
    const doc = parseIni('# c\n[p]\n ; c2\nk = v # c3\ns3 =\n  sub = 1\n\nk2=v2')
    expect(doc.lines.map((l) => l.kind)).to.deep.equal(['comment', 'section', 'comment', 'entry', 'entry', 'subentry', 'blank', 'entry'])
    expect(doc.lines[3]).to.include({key: 'k', value: 'v'})
    expect(doc.lines[5]).to.include({key: 'sub', value: '1'})
    expect(doc.lines.at(-1)!.eol).to.equal('')
  })

  it('splits key and value at the first "=" only', () => {
    const doc = parseIni('[p]\naws_secret_access_key = abc==\nx = a=b=c\n')
    expect(sectionEntries(doc, 'p')).to.deep.equal({aws_secret_access_key: 'abc==', x: 'a=b=c'})
  })

  it('cuts a comment at # or ; after whitespace, not inside a value', () => {
    const doc = parseIni('[p]\na = v # c\nb = v;c\nc = v#c\nd = v\t;c\n')
    expect(sectionEntries(doc, 'p')).to.deep.equal({a: 'v', b: 'v;c', c: 'v#c', d: 'v'})
  })

  it('keeps the eol of each line and picks CRLF for new lines when the file uses it', () => {
    const doc = parseIni('[p]\r\nk = v\r\n')
    expect(doc.eol).to.equal('\r\n')
    expect(doc.lines.map((l) => l.eol)).to.deep.equal(['\r\n', '\r\n'])
    expect(parseIni('[p]\nk = v\r\n').eol).to.equal('\n')
    expect(parseIni('').eol).to.equal('\n')
  })

  it('parses an empty file and a file of only comments into no sections', () => {
    expect(parseIni('').lines).to.deep.equal([])
    const doc = parseIni('# a\n;b\n\n#c')
    expect(sectionNames(doc)).to.deep.equal([])
    expect(serializeIni(doc)).to.equal('# a\n;b\n\n#c')
  })

  it('merges duplicate sections like the SDK, the later key winning', () => {
    const doc = parseIni('[a]\nx=1\ny=1\n[b]\n[a]\nx=2\n')
    expect(sectionEntries(doc, 'a')).to.deep.equal({x: '2', y: '1'})
    expect(sectionNames(doc)).to.deep.equal(['a', 'b'])
    expect(sectionEntries(doc, 'missing')).to.equal(undefined)
  })

  it('rejects what it cannot read safely, naming the line', () => {
    const cases: [string, number, RegExp][] = [
      ['[p]\nk = v\rx = y\n', 2, /carriage return/],
      ['[p]\nk = v\n[q] trailing\n', 3, /malformed section header/],
      ['[p]\n[q]#c\n', 2, /malformed section header/],
      ['[p]\njust words\n', 2, /neither a section/],
      ['k = v\n[p]\n', 1, /before any \[section\]/],
      ['[p]\n= v\n', 2, /no key/],
      ['[]\n', 1, /empty section name/],
      ['[  ]\n', 1, /empty section name/],
      ['[p]\n[a[b]\n', 2, /"\[" or "\]" inside/],
      ['[p]\n[a]b]\n', 2, /"\[" or "\]" inside/],
      ['[__proto__]\nk = v\n', 1, /refuses/],
      ['[profile __proto__]\nk = v\n', 1, /refuses/],
      ['[p]\n[unclosed\n', 2, /malformed/],
    ]
    for (const [text, line, reason] of cases) {
      const e = parseError(text)
      expect(e.line, JSON.stringify(text)).to.equal(line)
      expect(e.message).to.match(reason)
      expect(e.message).to.contain(`/x/credentials, line ${line}`)
      expect(e.exitCode).to.equal(2)
      expect(e.hint).to.contain(`line ${line}`)
    }
  })

  it('names sections as the SDK does', () => {
    expect(sdkSectionKey('default')).to.equal('default')
    expect(sdkSectionKey('profile x')).to.equal('profile.x')
    expect(sdkSectionKey('profile "x"')).to.equal('profile.x')
    expect(sdkSectionKey("profile 'x'")).to.equal('profile.x')
    expect(sdkSectionKey('sso-session corp')).to.equal('sso-session.corp')
    expect(sdkSectionKey('foo bar')).to.equal(undefined)
    expect(sdkSectionKey(' spaced ')).to.equal(' spaced ')
    expect(sameSection('profile x', 'profile "x"')).to.equal(true)
    expect(sameSection('x', 'profile x')).to.equal(false)
    expect(sameSection('foo bar', 'foo bar')).to.equal(true)
    expect(sameSection('foo bar', 'foo baz')).to.equal(false)
    expect(configSectionProfile('default')).to.equal('default')
    expect(configSectionProfile('profile default')).to.equal('default')
    expect(configSectionProfile('profile "q"')).to.equal('q')
    expect(configSectionProfile('sso-session q')).to.equal(undefined)
    expect(configSectionProfile('pulumi')).to.equal(undefined)
    expect(configSectionName('default')).to.equal('default')
    expect(configSectionName('pulumi')).to.equal('profile pulumi')
    expect(configSectionFor(parseIni('[default]\n'), 'default')).to.equal('default')
    expect(configSectionFor(parseIni('[default]\n[profile default]\n'), 'default')).to.equal('profile default')
  })
})

function edit(text: string, name: string, values: Record<string, string | undefined>): {out: string; changed: boolean} {
  const doc = parseIni(text)
  const changed = setSectionKeys(doc, name, values)
  const out = serializeIni(doc)
  // Whatever we write, we can read back.
  expect(serializeIni(parseIni(out))).to.equal(out)
  return {out, changed}
}

describe('ini: editing', () => {
  it('updates a value in place, keeping key order, spacing and the trailing comment', () => {
    const {out, changed} = edit('[p]\nregion  =  us-east-1   # main\noutput = json\n', 'p', {region: 'eu-west-1'})
    expect(changed).to.equal(true)
    expect(out).to.equal('[p]\nregion  =  eu-west-1   # main\noutput = json\n')
  })

  it('reports no change when values are already set', () => {
    const text = '[p]\nregion = us-east-1\n'
    expect(edit(text, 'p', {region: 'us-east-1', gone: undefined})).to.deep.equal({out: text, changed: false})
  })

  it('adds a missing key after the last entry, before trailing blank lines and comments, in the section\'s style', () => {
    expect(edit('[p]\nk = v\n\n# about q\n[q]\n', 'p', {region: 'eu-west-1'}).out).to.equal('[p]\nk = v\nregion = eu-west-1\n\n# about q\n[q]\n')
    expect(edit('[p]\nk=v\n', 'p', {region: 'eu-west-1'}).out).to.equal('[p]\nk=v\nregion=eu-west-1\n')
    expect(edit('[p]\n[q]\n', 'p', {a: '1'}).out).to.equal('[p]\na = 1\n[q]\n')
  })

  it('adds a key after indented sub-keys, which stay with their parent', () => {
    const text = '[p]\ns3 =\n  addressing_style = path\n'
    const {out} = edit(text, 'p', {region: 'eu-west-1'})
    expect(out).to.equal('[p]\ns3 =\n  addressing_style = path\nregion = eu-west-1\n')
    expect(sdkParse(parseIni(out)).p).to.deep.equal({'s3.addressing_style': 'path', region: 'eu-west-1'})
  })

  it('appends a missing section at the end, separated by a blank line', () => {
    expect(edit('[a]\nk = v\n', 'b', {x: '1', y: undefined}).out).to.equal('[a]\nk = v\n\n[b]\nx = 1\n')
    expect(edit('[a]\nk = v\n\n', 'b', {x: '1'}).out).to.equal('[a]\nk = v\n\n[b]\nx = 1\n')
    expect(edit('', 'b', {x: '1'}).out).to.equal('[b]\nx = 1\n')
    expect(edit('# only comments\n', 'b', {x: '1'}).out).to.equal('# only comments\n\n[b]\nx = 1\n')
    expect(edit('[a]\n', 'b', {x: undefined})).to.deep.equal({out: '[a]\n', changed: false})
  })

  it('keeps a missing final newline missing, whether it edits, adds or appends', () => {
    expect(edit('[p]\nk = v', 'p', {k: 'w'}).out).to.equal('[p]\nk = w')
    expect(edit('[p]\nk = v', 'p', {n: '1'}).out).to.equal('[p]\nk = v\nn = 1')
    expect(edit('[p]\nk = v', 'q', {n: '1'}).out).to.equal('[p]\nk = v\n\n[q]\nn = 1')
    expect(edit('[p]\nk = v\nt = x', 'p', {t: undefined}).out).to.equal('[p]\nk = v')
    expect(edit('#c', 'q', {n: '1'}).out).to.equal('#c\n\n[q]\nn = 1')
  })

  it('keeps CRLF files CRLF', () => {
    const {out} = edit('[a]\r\nk = v\r\n', 'a', {n: '1'})
    expect(out).to.equal('[a]\r\nk = v\r\nn = 1\r\n')
    const {out: out2} = edit('[a]\r\nk = v\r\n', 'b', {n: '1'})
    expect(out2).to.equal('[a]\r\nk = v\r\n\r\n[b]\r\nn = 1\r\n')
    expect(out2.replace(/\r\n/g, '')).not.to.contain('\n')
  })

  it('removes a key, with its sub-keys, from every duplicate section', () => {
    const text = '[p]\naws_session_token = t1\nk = v\n[q]\nx = 1\n[p]\naws_session_token = t2\ns3 =\n  a = 1\nz = 2\n'
    const {out} = edit(text, 'p', {aws_session_token: undefined, s3: undefined})
    expect(out).to.equal('[p]\nk = v\n[q]\nx = 1\n[p]\nz = 2\n')
  })

  it('sets a duplicated key at its last occurrence and drops the others', () => {
    const {out} = edit('[p]\nk = 1\n[q]\n[p]\nk = 2\nk = 3\n', 'p', {k: 'new'})
    expect(out).to.equal('[p]\n[q]\n[p]\nk = new\n')
    expect(sectionEntries(parseIni(out), 'p')).to.deep.equal({k: 'new'})
  })

  it('adds a new key to the last of duplicate sections', () => {
    expect(edit('[p]\na = 1\n[q]\n[p]\nb = 2\n', 'p', {c: '3'}).out).to.equal('[p]\na = 1\n[q]\n[p]\nb = 2\nc = 3\n')
  })

  it('finds [profile "x"] for "profile x" and leaves the SDK-ignored look-alikes alone', () => {
    expect(edit('[profile "x"]\nregion = a\n', 'profile x', {region: 'b'}).out).to.equal('[profile "x"]\nregion = b\n')
    expect(edit('[ x ]\nregion = a\n', 'x', {region: 'b'}).out).to.equal('[ x ]\nregion = a\n\n[x]\nregion = b\n')
  })

  it('turns a key that opened sub-keys into a plain value, dropping its sub-keys', () => {
    expect(edit('[p]\ns3 =\n  a = 1\nk = v\n', 'p', {s3: 'x'}).out).to.equal('[p]\ns3 = x\nk = v\n')
  })

  it('refuses values the SDK would read differently', () => {
    for (const v of ['', ' lead', 'trail ', 'two\nlines', 'a #comment', 'a ;c']) {
      expect(() => setSectionKeys(parseIni('[p]\n'), 'p', {k: v}), JSON.stringify(v)).to.throw(/cannot be written/)
    }
    expect(() => setSectionKeys(parseIni('[p]\n'), 'p', {'bad key': 'v'})).to.throw(/not a key/)
    expect(() => setSectionKeys(parseIni('[p]\n'), 'p', {'a=b': undefined})).to.throw(/not a key/)
  })

  it('keeps values with "=" and other sections byte for byte', () => {
    const other = '[other]\n; comment\naws_secret_access_key = abc/def+==\nmulti = a=b=c\n  s3 =\n'
    const {out} = edit(`${other}[p]\nk = v\n`, 'p', {k: 'w'})
    expect(out).to.equal(`${other}[p]\nk = w\n`)
  })
})

/** A tiny deterministic PRNG, so a failing case can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

const FRAGMENTS = [
  '[default]', '[p]', '[q]', '[profile p]', '[profile "q"]', '[sso-session s]', '[x y]', '[ p ]', '[p] # c',
  'k = v', 'k=v', 'key = a=b', 'region = us-east-1 # c', 'n = v;c', 'empty =', 's3 =', '  sub = 1', '\tsub2 = 2',
  '  nested =', '# comment', '; comment', '   # indented', '', '   ', 'aws_access_key_id = AKIAIOSFODNN7EXAMPLE',
  'aws_secret_access_key = abc/DEF+ghi==', 'aws_session_token = tok', '  k = indented',
]

describe('ini: random files (differential against the SDK)', () => {
  it('parses, round-trips and edits 300 random files the way the SDK reads them', async () => {
    const rand = rng(20261126)
    const pick = <T>(a: T[]) => a[Math.floor(rand() * a.length)]
    let checked = 0
    for (let n = 0; n < 300; n++) {
      const eol = rand() < 0.3 ? '\r\n' : '\n'
      const lines = Array.from({length: 1 + Math.floor(rand() * 14)}, () => pick(FRAGMENTS))
      if (!lines[0].startsWith('[') && rand() < 0.8) lines.unshift(pick(FRAGMENTS.filter((f) => f.startsWith('['))))
      const text = lines.join(eol) + (rand() < 0.8 ? eol : '')
      let doc
      try {
        doc = parseIni(text)
      } catch (error) {
        expect(error, JSON.stringify(text)).to.be.instanceOf(IniParseError)
        continue
      }
      checked++
      await agreesWithSdk(text)
      // Edit a profile; the SDK must then read the new values, and every other section as before.
      const target = pick(['p', 'q', 'default', 'new'])
      const before = sdkParse(doc)
      setSectionKeys(doc, target, {aws_access_key_id: 'AKIANEWNEWNEWNEW1234', aws_secret_access_key: 'new/secret==', aws_session_token: undefined})
      const out = serializeIni(doc)
      const sdk = (await sdkRead(out)).credentials as Record<string, Record<string, string>>
      expect(sdk[target].aws_access_key_id, out).to.equal('AKIANEWNEWNEWNEW1234')
      expect(sdk[target].aws_secret_access_key).to.equal('new/secret==')
      expect(sdk[target].aws_session_token).to.equal(undefined)
      for (const [name, values] of Object.entries(before)) if (name !== target) expect(sdk[name], `${name} in ${JSON.stringify(out)}`).to.deep.equal(values)
      const {aws_access_key_id: _a, aws_secret_access_key: _s, aws_session_token: _t, ...rest} = before[target] ?? {}
      const {aws_access_key_id: _a2, aws_secret_access_key: _s2, ...restAfter} = sdk[target]
      expect(restAfter, `other keys of ${target} in ${JSON.stringify(out)}`).to.deep.equal(rest)
      if (eol === '\r\n') expect(out.replace(/\r\n/g, ''), 'no bare LF in a CRLF file').not.to.contain('\n')
    }
    expect(checked).to.be.greaterThan(100)
  })
})

describe('ini: bytes and key case (issue 10 defects 6, 7)', () => {
  it('parses bytes as the SDK reads the file, and writes every unchanged line back byte for byte', () => {
    const bytes = Buffer.concat([Buffer.from('\ufeff# a'), Buffer.from([0xe9, 0xff]), Buffer.from('\r\n[p]\r\nk = v ; '), Buffer.from([0xfe]), Buffer.from('\r\nx = '), Buffer.from([0xc0])])
    const doc = parseIni(bytes)
    // Same reading as the text the SDK decodes (invalid bytes as U+FFFD).
    expect(sdkParse(doc)).to.deep.equal(sdkParse(parseIni(bytes.toString('utf8'))))
    expect(sectionEntries(doc, 'p')).to.deep.equal({k: 'v', x: '\ufffd'})
    expect(serializeIniBytes(doc).equals(bytes)).to.equal(true)
    expect(setSectionKeys(doc, 'p', {k: 'w', y: 'z'})).to.equal(true)
    expect(serializeIniBytes(doc).toString('latin1')).to.equal(
      Buffer.concat([Buffer.from('\ufeff# a'), Buffer.from([0xe9, 0xff]), Buffer.from('\r\n[p]\r\nk = w ; '), Buffer.from([0xfe]), Buffer.from('\r\nx = '), Buffer.from([0xc0]), Buffer.from('\r\ny = z')]).toString('latin1'),
    )
    // A valid UTF-8 file carries no raw bytes at all.
    expect(parseIni(Buffer.from('[p]\nk = caf\u00e9\n')).lines.some((l) => l.raw)).to.equal(false)
  })

  it('matches key names whatever their case, keeps the spelling, and reads them in lower case', () => {
    const doc = parseIni('[p]\nAWS_ACCESS_KEY_ID = A\nRegion=eu-west-1\n')
    expect(sectionEntries(doc, 'p')).to.deep.equal({aws_access_key_id: 'A', region: 'eu-west-1'})
    expect(setSectionKeys(doc, 'p', {aws_access_key_id: 'B', region: 'us-east-1', aws_session_token: undefined})).to.equal(true)
    expect(serializeIni(doc)).to.equal('[p]\nAWS_ACCESS_KEY_ID = B\nRegion=us-east-1\n')
    expect(setSectionKeys(doc, 'p', {AWS_ACCESS_KEY_ID: undefined})).to.equal(true)
    expect(serializeIni(doc)).to.equal('[p]\nRegion=us-east-1\n')
  })
})
