/**
 * What a user relies on from src/lib/files/credentials.ts, asserted exactly enough that a
 * changed rule or message fails a test (issue 10, "Test strength"): every input check with
 * its code, exit code, message and hint; the lines shown in a diff; the changes and the
 * messages of writeProfile. In process, importing src/ (a subprocess test of dist/ never
 * sees a Stryker mutant).
 */
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import {join} from 'node:path'
import {loadSharedConfigFiles} from '@smithy/shared-ini-file-loader'
import {
  diffLines,
  readProfileCredentials,
  redactIniLine,
  restoreFromBackup,
  validateAccessKeyId,
  validateProfileName,
  validateSecretAccessKey,
  writeProfile,
  type Env,
  type WriteProfileInput,
} from '../../src/lib/files/credentials.js'
import {listBackups, lockPathFor} from '../../src/lib/files/atomic.js'
import {redact} from '../../src/lib/redact.js'
import {rejection, thrown} from '../support/errors.js'

const PROFILE_HINT = 'Use a name of letters, digits and _ - . @ + % : / only, for example "pulumi" or "pulumi-prod".'
const AWS_ID_HINT =
  'Give the access key id as AWS shows it: 20 uppercase letters and digits starting with AKIA, e.g. AKIAIOSFODNN7EXAMPLE. For the key of another S3-compatible store (MinIO, R2, Ceph…), pass --endpoint or --non-aws-key.'
const STORE_ID_HINT = 'Give the access key id exactly as the store shows it (no spaces, line breaks, "[", "]" or "=").'
const AWS_SECRET_HINT = 'Give the secret exactly as AWS showed it when the key was created (40 characters of letters, digits, "/" and "+").'
const STORE_SECRET_HINT = 'Give the secret exactly as the store showed it when the key was created.'

/** The error a check throws, as {code, exit, message, hint}. */
function failure(fn: () => void): {code: string; exit: number; message: string; hint: string | undefined} {
  const e = thrown(fn)
  return {code: e.code, exit: e.exitCode, message: e.message, hint: e.hint}
}

describe('credentials strength: every input check says what is wrong and what to do (exit 2)', () => {
  it('profile names: each rule in turn, the name echoed only when it cannot be a secret', () => {
    const cases: [string, string][] = [
      ['', 'The profile name "" is empty.'],
      ['a\nb', 'The profile name (a profile name of 3 characters) contains a line break.'],
      ['a\rb', 'The profile name (a profile name of 3 characters) contains a line break.'],
      ['a[b', 'The profile name "a[b" contains "[" or "]" (it would break the section header).'],
      ['a]b', 'The profile name "a]b" contains "[" or "]" (it would break the section header).'],
      ['a=b', 'The profile name "a=b" contains "=".'],
      [' a', 'The profile name " a" has leading or trailing spaces.'],
      ['a\t', 'The profile name (a profile name of 2 characters) has leading or trailing spaces.'],
      ['__proto__', 'The profile name "__proto__" is reserved.'],
      ['x'.repeat(257), 'The profile name (a profile name of 257 characters) is longer than 256 characters.'],
      ['a b', 'The profile name "a b" contains characters the AWS SDK does not accept in a profile name (such as spaces, quotes, "#" or ";").'],
      ['a#b', 'The profile name "a#b" contains characters the AWS SDK does not accept in a profile name (such as spaces, quotes, "#" or ";").'],
    ]
    for (const [name, message] of cases) {
      expect(failure(() => validateProfileName(name)), JSON.stringify(name)).to.deep.equal({code: 'ProfileNameInvalid', exit: 2, message, hint: PROFILE_HINT})
    }
    for (const name of ['x'.repeat(256), 'default', 'a_b.c@d+e%f:g/h', 'UPPER9', '9']) expect(() => validateProfileName(name), name).not.to.throw()
  })

  it('AWS access key ids: each rule in turn, the id never echoed', () => {
    const other = 'contains characters other than uppercase letters and digits'
    const cases: [string, string][] = [
      ['', 'is empty'],
      [' AKIAIOSFODNN7EXAMPLE', 'has leading or trailing spaces'],
      ['AKIAIOSFODNN7EXAMPLE\n', 'has leading or trailing spaces'],
      ['akiaiosfodnn7example', 'contains lowercase letters'],
      ['AKIAIOSFODNN7EXAMPLe', 'contains lowercase letters'],
      ['a', 'contains lowercase letters'],
      ['!akiaiosfodnn7exampl', other],
      ['akiaiosfodnn7exampl!', other],
      ['akia iosfodnn7exampl', other],
      ['AKIA', 'is 4 characters long (AWS access key ids are 16 to 128)'],
      ['AKIA!', 'is 5 characters long (AWS access key ids are 16 to 128)'],
      ['A'.repeat(15), 'is 15 characters long (AWS access key ids are 16 to 128)'],
      ['A'.repeat(129), 'is 129 characters long (AWS access key ids are 16 to 128)'],
      ['AKIAIOSFODNN7EX!', other],
      ['AKIA' + 'B'.repeat(123) + '!', other],
      ['AKIAIOSFODNN7EXAMPL!', other],
    ]
    for (const [id, why] of cases) {
      const f = failure(() => validateAccessKeyId(id))
      expect(f, JSON.stringify(id)).to.deep.equal({code: 'AccessKeyIdInvalid', exit: 2, message: `The access key id ${why}.`, hint: AWS_ID_HINT})
    }
    for (const id of ['AKIAIOSFODNN7EXAMPLE', 'A'.repeat(16), 'A'.repeat(128), '0123456789ABCDEF']) expect(() => validateAccessKeyId(id), id).not.to.throw()
    expect(() => validateAccessKeyId('AKIAIOSFODNN7EXAMPLE', {})).not.to.throw()
    expect(() => validateAccessKeyId('minioadmin', {nonAws: false})).to.throw(/lowercase/)
  })

  it('AWS secret access keys: each rule in turn, the secret never echoed', () => {
    const other = 'contains characters other than letters, digits, "/", "+" and "="'
    const cases: [string, string][] = [
      ['', 'is empty'],
      [' wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'has leading or trailing whitespace (or more than one line)'],
      ['wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n', 'has leading or trailing whitespace (or more than one line)'],
      ['short', 'is 5 characters long (AWS secret access keys are 40; psb accepts 16 to 128)'],
      ['short!', 'is 6 characters long (AWS secret access keys are 40; psb accepts 16 to 128)'],
      ['x'.repeat(15), 'is 15 characters long (AWS secret access keys are 40; psb accepts 16 to 128)'],
      ['x'.repeat(129), 'is 129 characters long (AWS secret access keys are 40; psb accepts 16 to 128)'],
      ['abcdefghijklmno!', other],
      ['a'.repeat(127) + '!', other],
      ['wJalrXUtnFEMI/K7MDENG bPxRfiCYEXAMPLEKEY', other],
    ]
    for (const [secret, why] of cases) {
      const f = failure(() => validateSecretAccessKey(secret))
      expect(f, JSON.stringify(secret)).to.deep.equal({code: 'SecretAccessKeyInvalid', exit: 2, message: `The secret access key ${why}.`, hint: AWS_SECRET_HINT})
    }
    for (const s of ['x'.repeat(16), 'x'.repeat(128), 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'abc/def+ghi=jkl==']) expect(() => validateSecretAccessKey(s), s).not.to.throw()
    expect(() => validateSecretAccessKey('x'.repeat(16), {})).not.to.throw()
    expect(() => validateSecretAccessKey('minio-secret-of-twenty', {nonAws: false})).to.throw(/other than letters/)
  })

  it('another store\'s access key id (--endpoint, --non-aws-key): any printable ASCII of 3 to 256 characters, without what breaks the file', () => {
    const nonAws = {nonAws: true}
    const cases: [string, string][] = [
      ['', 'is empty'],
      ['ab\ncd', 'contains a line break'],
      ['ab\rcd', 'contains a line break'],
      ['ab cd', 'contains spaces'],
      ['ab\tcd', 'contains spaces'],
      ['a[b', 'contains "[" or "]" (it would break the file\'s sections)'],
      ['a]b', 'contains "[" or "]" (it would break the file\'s sections)'],
      ['a=b', 'contains "="'],
      ['abcé', 'contains characters other than printable ASCII'],
      ['éabc', 'contains characters other than printable ASCII'],
      ['ab\u0000c', 'contains characters other than printable ASCII'],
      ['ab', 'is 2 characters long (psb accepts 3 to 256 for a store\'s own key)'],
      ['x'.repeat(257), 'is 257 characters long (psb accepts 3 to 256 for a store\'s own key)'],
    ]
    for (const [id, why] of cases) {
      const f = failure(() => validateAccessKeyId(id, nonAws))
      expect(f, JSON.stringify(id)).to.deep.equal({code: 'AccessKeyIdInvalid', exit: 2, message: `The access key id ${why}.`, hint: STORE_ID_HINT})
    }
    for (const id of ['abc', 'minioadmin', 'x'.repeat(256), 'a!~#;"\'b', '0123456789abcdef0123456789abcdef', 'AKIAIOSFODNN7EXAMPLE']) {
      expect(() => validateAccessKeyId(id, nonAws), id).not.to.throw()
    }
  })

  it('another store\'s secret: any printable ASCII of 8 to 256 characters ("[", "]" and "=" allowed)', () => {
    const nonAws = {nonAws: true}
    const cases: [string, string][] = [
      ['', 'is empty'],
      ['abcd\nefgh', 'contains a line break'],
      ['abcd efgh', 'contains spaces'],
      ['abcdéfgh', 'contains characters other than printable ASCII'],
      ['abcdefg', 'is 7 characters long (psb accepts 8 to 256 for a store\'s own key)'],
      ['x'.repeat(257), 'is 257 characters long (psb accepts 8 to 256 for a store\'s own key)'],
    ]
    for (const [secret, why] of cases) {
      const f = failure(() => validateSecretAccessKey(secret, nonAws))
      expect(f, JSON.stringify(secret)).to.deep.equal({code: 'SecretAccessKeyInvalid', exit: 2, message: `The secret access key ${why}.`, hint: STORE_SECRET_HINT})
    }
    for (const s of ['abcdefgh', 'x'.repeat(256), 'minio[secret]=1', 'a=b[c]d!', 'minioadmin']) expect(() => validateSecretAccessKey(s, nonAws), s).not.to.throw()
  })
})

// ------------------------------------------------------------------ writeProfile

const ID1 = 'AKIAIOSFODNN7EXAMPL1'
const ID2 = 'AKIAIOSFODNN7EXAMPL2'
const SECRET1 = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE1'
const SECRET2 = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE2'

interface Home {
  dir: string
  aws: string
  cred: string
  conf: string
  env: Env
}
const homes: string[] = []
function home(): Home {
  const dir = mkdtempSync(join(tmpdir(), 'psb-cred-strength-'))
  homes.push(dir)
  const aws = join(dir, '.aws')
  mkdirSync(aws, {mode: 0o700})
  const cred = join(aws, 'credentials')
  const conf = join(aws, 'config')
  return {dir, aws, cred, conf, env: {HOME: dir, AWS_SHARED_CREDENTIALS_FILE: cred, AWS_CONFIG_FILE: conf}}
}
/** A file as the user keeps it: 0600. */
function put(path: string, text: string): void {
  writeFileSync(path, text, {mode: 0o600})
}
after(() => {
  for (const d of homes) rmSync(d, {recursive: true, force: true})
})

/** writeProfile with a logger that records what it says. */
async function write(input: Partial<WriteProfileInput> & {env: Env}): Promise<{r: Awaited<ReturnType<typeof writeProfile>>; infos: string[]; warns: string[]}> {
  const infos: string[] = []
  const warns: string[] = []
  const r = await writeProfile({
    profile: 'p',
    accessKeyId: ID1,
    secretAccessKey: SECRET1,
    logger: {info: (m) => infos.push(m), warn: (m) => warns.push(m)},
    ...input,
  })
  return {r, infos, warns}
}

describe('credentials strength: writeProfile reports each change, and says when there is nothing to write', () => {
  it('lists each key it created, updated or deleted, with the value shown masked or redacted', async () => {
    const h = home()
    put(h.cred, `[p]\naws_access_key_id = ${ID2}\naws_secret_access_key = ${SECRET2}\naws_session_token = tokentokentoken\n`)
    put(h.conf, '[profile p]\nregion = us-east-1\n')
    const {r} = await write({env: h.env, region: 'eu-west-1'})
    expect(r.changes).to.deep.equal([
      {item: 'credentials: [p] aws_access_key_id', status: 'updated', detail: 'AKIA…MPL1'},
      {item: 'credentials: [p] aws_secret_access_key', status: 'updated', detail: '****'},
      {item: 'credentials: [p] aws_session_token', status: 'deleted'},
      {item: 'config: [profile p] region', status: 'updated', detail: 'eu-west-1'},
    ])
    const again = await write({env: h.env, region: 'eu-west-1'})
    expect(again.r.changes).to.deep.equal([
      {item: 'credentials: [p] aws_access_key_id', status: 'unchanged', detail: 'AKIA…MPL1'},
      {item: 'credentials: [p] aws_secret_access_key', status: 'unchanged', detail: '****'},
      {item: 'config: [profile p] region', status: 'unchanged', detail: 'eu-west-1'},
    ])
  })

  it('dry run: each change planned with its verb (create, update, delete), unchanged keys stay unchanged', async () => {
    const h = home()
    put(h.cred, `[p]\naws_access_key_id = ${ID1}\naws_secret_access_key = ${SECRET2}\naws_security_token = tokentokentoken\n`)
    const {r, infos} = await write({env: h.env, region: 'eu-west-1', dryRun: true})
    expect(r.changes).to.deep.equal([
      {item: 'credentials: [p] aws_access_key_id', status: 'unchanged', detail: 'AKIA…MPL1'},
      {item: 'credentials: [p] aws_secret_access_key', status: 'planned', detail: 'update: ****'},
      {item: 'credentials: [p] aws_security_token', status: 'planned', detail: 'delete'},
      {item: 'config: [profile p] region', status: 'planned', detail: 'create: eu-west-1'},
    ])
    expect(infos).to.deep.equal([])
    expect(existsSync(h.conf)).to.equal(false)
    // The same key again, as a dry run: nothing planned, and no "nothing to write" either.
    put(h.cred, `[p]\naws_access_key_id = ${ID1}\naws_secret_access_key = ${SECRET1}\n`)
    const same = await write({env: h.env, dryRun: true})
    expect(same.r.changes.map((c) => c.status)).to.deep.equal(['unchanged', 'unchanged'])
    expect(same.infos).to.deep.equal([])
  })

  it('says "nothing to write" only when nothing was written, naming the region when one was given', async () => {
    const h = home()
    const first = await write({env: h.env})
    expect(first.infos).to.deep.equal([])
    const same = await write({env: h.env})
    expect(same.infos).to.deep.equal(['The profile "p" already holds this key; nothing to write.'])
    const withRegion = await write({env: h.env, region: 'us-east-2'})
    expect(withRegion.infos).to.deep.equal([])
    const both = await write({env: h.env, region: 'us-east-2'})
    expect(both.infos).to.deep.equal(['The profile "p" already holds this key and region; nothing to write.'])
    // The key unchanged but the region new: something was written.
    const region = await write({env: h.env, region: 'us-west-1'})
    expect(region.infos).to.deep.equal([])
    const key = await write({env: h.env, region: 'us-west-1', secretAccessKey: SECRET2})
    expect(key.infos).to.deep.equal([])
  })

  it('warns about a temporary (ASIA…) AWS key only', async () => {
    const h = home()
    const asia = await write({env: h.env, accessKeyId: 'ASIAIOSFODNN7EXAMPLE'})
    expect(asia.warns).to.deep.equal([
      'The key ASIA…MPLE is a temporary (ASIA…) key: it works only with its session token, which psb does not write. Write a long-term IAM user key (AKIA…) instead.',
    ])
    expect(asia.r.warnings).to.deep.equal(asia.warns)
    for (const input of [{accessKeyId: 'AKIAIOSFODNN7EXAASIA'}, {accessKeyId: 'ASIAminio', nonAwsKey: true}]) {
      const r = await write({env: h.env, ...input})
      expect(r.warns, input.accessKeyId).to.deep.equal([])
    }
  })

  it('writes another store\'s key (--non-aws-key) that AWS\'s rules would refuse', async () => {
    const h = home()
    await write({env: h.env, accessKeyId: 'minioadmin', secretAccessKey: 'minio[secret]', nonAwsKey: true})
    expect(readFileSync(h.cred, 'utf8')).to.equal('[p]\naws_access_key_id = minioadmin\naws_secret_access_key = minio[secret]\n')
  })

  it('registers the secret for redaction before checking anything else', async () => {
    const h = home()
    const secret = 'eIvbUwwz8x1iU4vLNQ4DGyRXsFyKpTRUgfjaL9pA'
    const e = await rejection(writeProfile({profile: 'a b', accessKeyId: ID1, secretAccessKey: secret, env: h.env}))
    expect(e.code).to.equal('ProfileNameInvalid')
    expect(redact(`pasted ${secret} here`)).to.equal('pasted **** here')
  })

  it('warns about settings that override the key, in either file, naming each', async () => {
    const h = home()
    put(h.cred, '[p]\ncredential_process = /bin/creds\n')
    put(h.conf, '[profile p]\nrole_arn = arn:aws:iam::123456789012:role/x\nsso_session = s\n')
    const {warns} = await write({env: h.env})
    expect(warns).to.deep.equal([
      `The profile "p" also sets role_arn, credential_process, sso_session: AWS tools may use that instead of the access key psb wrote. Remove it from ${h.conf} if the profile should use the key.`,
    ])
  })

  it('warns about key names spelled in capitals, once each, and only those psb writes', async () => {
    const h = home()
    put(h.cred, `[p]\nAWS_ACCESS_KEY_ID = ${ID2}\nMFA_Serial = x\naws_secret_access_key = ${SECRET2}\n[p]\nAWS_ACCESS_KEY_ID = ${ID2}\nAws_Session_Token = t\n`)
    const {warns} = await write({env: h.env})
    expect(warns).to.deep.equal([
      'The profile "p" spells AWS_ACCESS_KEY_ID, Aws_Session_Token in capitals; psb kept that spelling. The AWS CLI (botocore) reads it, but the AWS SDK for JavaScript reads only lower-case names: write them in lower case if a JavaScript tool uses this profile.',
    ])
    const h2 = home()
    put(h2.cred, `[p]\naws_access_key_id = ${ID2}\nmfa_serial = x\n`)
    expect((await write({env: h2.env})).warns).to.deep.equal([])
  })

  it('without --region, leaves a config file without a session token alone: not read for a lock, not listed, no temp files removed on a dry run', async () => {
    const h = home()
    put(h.conf, '[profile p]\nregion = us-east-1\noutput = json\n')
    // A live process holds the config file's lock: a write that does not need the file never waits for it.
    const holder = spawn('sleep', ['30'])
    try {
      writeFileSync(lockPathFor(h.conf), JSON.stringify({pid: holder.pid, host: hostname(), nonce: 'x', time: Date.now()}))
      const {r} = await write({env: {...h.env, PSB_LOCK_TIMEOUT_MS: '300'}})
      expect(r.configChanged).to.equal(false)
      expect(r.changes.map((c) => c.item)).to.deep.equal(['credentials: [p] aws_access_key_id', 'credentials: [p] aws_secret_access_key'])
      expect(r.configFile).to.equal(h.conf)
    } finally {
      holder.kill('SIGKILL')
    }
    rmSync(lockPathFor(h.conf))
    const dead = `.config.psb-tmp-${2 ** 22 + 17}-ab`
    writeFileSync(join(h.aws, dead), 'half', {mode: 0o600})
    await write({env: h.env, secretAccessKey: SECRET2, dryRun: true})
    expect(readdirSync(h.aws).sort()).to.deep.equal([dead, 'config', 'credentials'].sort())
    await write({env: h.env, secretAccessKey: SECRET2})
    expect(readdirSync(h.aws).filter((n) => n.includes('psb-tmp'))).to.deep.equal([])
  })

  it('removes a stale session token from [profile.x], which the SDK reads as [profile x]', async () => {
    const h = home()
    put(h.conf, '[profile.x]\naws_session_token = stale-token\nregion = us-east-1\n')
    expect((await loadSharedConfigFiles({filepath: h.cred, configFilepath: h.conf, ignoreCache: true})).configFile.x).to.deep.equal({aws_session_token: 'stale-token', region: 'us-east-1'})
    await write({env: h.env, profile: 'x'})
    expect(readFileSync(h.conf, 'utf8')).to.equal('[profile.x]\nregion = us-east-1\n')
    expect((await loadSharedConfigFiles({filepath: h.cred, configFilepath: h.conf, ignoreCache: true})).configFile.x).to.deep.equal({region: 'us-east-1'})
  })

  it('without --region, leaves a config file without the profile\'s section alone', async () => {
    const h = home()
    put(h.conf, '[profile other]\naws_session_token = tok\n')
    const {r} = await write({env: h.env})
    expect(r.configChanged).to.equal(false)
    expect(readFileSync(h.conf, 'utf8')).to.equal('[profile other]\naws_session_token = tok\n')
  })

  it('without --region, still warns about an overriding setting in the config file', async () => {
    const h = home()
    put(h.conf, '[profile p]\ncredential_source = Ec2InstanceMetadata\n')
    const {warns, r} = await write({env: h.env})
    expect(r.configChanged).to.equal(false)
    expect(warns.join('\n')).to.contain('also sets credential_source')
  })

  it('restores a backup with the options given (how many backups to keep), and names an unreadable backup', async () => {
    const h = home()
    const env = {...h.env, PSB_BACKUPS_KEEP: '5'}
    for (const s of [SECRET1, SECRET2, SECRET1, SECRET2]) await write({env, secretAccessKey: s})
    expect(listBackups(h.cred)).to.have.length(3)
    const oldest = listBackups(h.cred)[0]
    await restoreFromBackup(h.cred, oldest, {keepBackups: 1, env})
    expect(listBackups(h.cred)).to.have.length(1)
    const missing = join(h.dir, 'no-such-backup')
    const e = await rejection(restoreFromBackup(h.cred, missing))
    expect(e.message).to.match(new RegExp(`^Cannot read the backup ${missing}: ENOENT`))
  })
})

describe('credentials strength: reading a profile', () => {
  it('registers the secret and the session token it reads for redaction', () => {
    const h = home()
    const token = 'FwoGZXIvYXdzEXAMPLEtokenEXAMPLEtoken'
    put(h.cred, `[p]\naws_access_key_id = ${ID1}\naws_secret_access_key = ${SECRET1}\naws_session_token = ${token}\n`)
    expect(readProfileCredentials('p', h.env)).to.deep.equal({accessKeyId: ID1, secretAccessKey: SECRET1, sessionToken: token})
    expect(redact(`a ${token} b ${SECRET1}`)).to.equal('a **** b ****')
  })
})

describe('credentials strength: the diff shown for a write', () => {
  /** The length of a longest common subsequence (the reference for a minimal diff). */
  function lcs(a: string[], b: string[]): number {
    const L = Array.from({length: a.length + 1}, () => Array.from({length: b.length + 1}, () => 0))
    for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--) L[i][j] = a[i] === b[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1])
    return L[0][0]
  }
  /** Applies a diff to the old lines: the new lines, when the diff is right. */
  function apply(a: string[], d: ReturnType<typeof diffLines>): string[] {
    const removed = new Set(d.filter((x) => x.op === '-').map((x) => x.line))
    for (const x of d.filter((y) => y.op === '-')) expect(a[x.line - 1]).to.equal(x.text)
    const out = a.filter((_, i) => !removed.has(i + 1))
    for (const x of d.filter((y) => y.op === '+')) out.splice(x.line - 1, 0, x.text)
    return out
  }

  it('is minimal: it removes and adds only the lines outside a longest common run (random edits)', () => {
    let seed = 11
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const words = ['a', 'b', 'c', 'k = v', '', '[p]']
    for (let n = 0; n < 300; n++) {
      const a = Array.from({length: Math.floor(rand() * 10)}, () => words[Math.floor(rand() * words.length)])
      const b = rand() < 0.3 ? Array.from({length: Math.floor(rand() * 10)}, () => words[Math.floor(rand() * words.length)]) : [...a]
      for (let e = Math.floor(rand() * 3); e >= 0; e--) {
        const at = Math.floor(rand() * (b.length + 1))
        if (rand() < 0.5 && b.length > 0) b.splice(Math.min(at, b.length - 1), 1)
        else b.splice(at, 0, words[Math.floor(rand() * words.length)])
      }
      const eol = rand() < 0.5 ? '\n' : '\r\n'
      const text = (l: string[]) => l.map((x) => x + eol).join('')
      const d = diffLines('f', text(a), text(b))
      const what = `${JSON.stringify(text(a))} -> ${JSON.stringify(text(b))}`
      expect(apply(a, d), what).to.deep.equal(b)
      expect(d.length, what).to.equal(a.length + b.length - 2 * lcs(a, b))
      // Removals come before additions at the same place, each in line order.
      expect(d.every((x) => x.file === 'f'), what).to.equal(true)
    }
  })

  it('shows one changed line of a big file (5,000 lines, 150 kB) as that line only, wherever it is', () => {
    const a = Array.from({length: 5000}, (_, i) => `key_${i} = value number ${i} of the big file`)
    const text = (l: string[]) => l.join('\n') + '\n'
    for (const at of [0, 1, 2500, 4998, 4999]) {
      const b = [...a]
      b[at] = `key_${at} = changed`
      expect(diffLines('f', text(a), text(b)), String(at)).to.deep.equal([
        {file: 'f', line: at + 1, op: '-', text: a[at]},
        {file: 'f', line: at + 1, op: '+', text: b[at]},
      ])
    }
    // A line added at the end, at the start, and one removed from the middle.
    expect(diffLines('f', text(a), text([...a, 'new = 1']))).to.deep.equal([{file: 'f', line: 5001, op: '+', text: 'new = 1'}])
    expect(diffLines('f', text(a), text(['new = 1', ...a]))).to.deep.equal([{file: 'f', line: 1, op: '+', text: 'new = 1'}])
    expect(diffLines('f', text(['new = 1', ...a]), text(a))).to.deep.equal([{file: 'f', line: 1, op: '-', text: 'new = 1'}])
    expect(diffLines('f', text(a), text(a.filter((_, i) => i !== 3000)))).to.deep.equal([{file: 'f', line: 3001, op: '-', text: a[3000]}])
    // A line that only grows at its end, and one whose start changes.
    const grown = [...a]
    grown[4000] += ' and more'
    expect(diffLines('f', text(a), text(grown)).map((x) => `${x.op}${x.line}`)).to.deep.equal(['-4001', '+4001'])
    const shorter = [...a]
    shorter[10] = shorter[10].slice(3)
    expect(diffLines('f', text(shorter), text(a)).map((x) => `${x.op}${x.line}`)).to.deep.equal(['-11', '+11'])
  })

  it('finds the common start and end of a big file in steps of any size (40,000 short lines, 230 kB)', () => {
    const a = Array.from({length: 40_000}, (_, i) => String(i))
    const text = (l: string[]) => l.join('\n') + '\n'
    for (const at of [7, 1000, 12_345, 20_000, 33_333, 39_990]) {
      const b = [...a]
      b[at] = 'changed'
      expect(diffLines('f', text(a), text(b)).map((x) => `${x.op}${x.line} ${x.text}`), String(at)).to.deep.equal([`-${at + 1} ${at}`, `+${at + 1} changed`])
    }
  })

  it('keeps the common end of the file aligned with the end (lines added before a repeated last line)', () => {
    expect(diffLines('f', 'h\nm\n', 'h\nx\nm\nm\n').map((x) => `${x.op}${x.line} ${x.text}`)).to.deep.equal(['+2 x', '+3 m'])
  })

  it('shows a change at the start of a last line that has no newline', () => {
    expect(diffLines('f', 'x\nab', 'x\ncb')).to.deep.equal([
      {file: 'f', line: 2, op: '-', text: 'ab'},
      {file: 'f', line: 2, op: '+', text: 'cb'},
    ])
    expect(diffLines('f', 'ab', 'cb').map((x) => x.op + x.text)).to.deep.equal(['-ab', '+cb'])
  })

  it('aligns up to 4,000,000 line pairs; beyond that it shows every old line removed and every new one added', () => {
    const block = (tag: string, n: number) => Array.from({length: n}, (_, i) => `${tag}${i}`)
    const text = (l: string[]) => l.join('\n') + '\n'
    // 2,000 x 2,000 lines that share one line in the middle: aligned, the shared line kept.
    const a = [...block('a', 1000), 'shared', ...block('b', 999)]
    const b = [...block('c', 1000), 'shared', ...block('d', 999)]
    const d = diffLines('f', text(a), text(b))
    expect(d).to.have.length(3998)
    expect(d.some((x) => x.text === 'shared')).to.equal(false)
    // One line more: 2,001 x 2,000 = 4,002,000 pairs, too many: all of it, removals first.
    const a2 = [...a, 'b999']
    const d2 = diffLines('f', text(a2), text(b))
    expect(d2).to.have.length(4001)
    expect(d2.slice(0, 2001).map((x) => `${x.op}${x.line} ${x.text}`)).to.deep.equal(a2.map((t, i) => `-${i + 1} ${t}`))
    expect(d2.slice(2001).map((x) => `${x.op}${x.line} ${x.text}`)).to.deep.equal(b.map((t, i) => `+${i + 1} ${t}`))
  })

  it('redacts the value of a secret-like key and masks an access key id, whatever the store', () => {
    const cases: [string, string][] = [
      ['aws_secret_access_key = abc', 'aws_secret_access_key = ****'],
      ['  Secret_Key=x', '  Secret_Key=****'],
      ['db_password = hunter2', 'db_password = ****'],
      ['aws_secret_access_key =', 'aws_secret_access_key ='],
      ['aws_session_token = ', 'aws_session_token = '],
      ['aws_access_key_id = XYZW0123456789ABCDEF', 'aws_access_key_id = XYZW…CDEF'],
      ['AWS_ACCESS_KEY_ID = AKIAIOSFODNN7EXAMPLE # mine', 'AWS_ACCESS_KEY_ID = AKIA…MPLE # mine'],
      ['aws_access_key_id = minioadmin', 'aws_access_key_id = minioadmin'],
      ['aws_access_key_id =', 'aws_access_key_id ='],
      ['role_session_name = ABCDEFGHIJKLMNOPQRST', 'role_session_name = ABCDEFGHIJKLMNOPQRST'],
      ['note = AKIAIOSFODNN7EXAMPLE', 'note = AKIA…MPLE'],
      ['[profile p]', '[profile p]'],
      // A value with a line or paragraph separator in it (the SDK reads it as one line).
      ['aws_secret_access_key = abc\u2028defghijklmnopqrstuvwxyz0123', 'aws_secret_access_key = ****'],
    ]
    for (const [line, shown] of cases) expect(redactIniLine(line), JSON.stringify(line)).to.equal(shown)
  })
})
