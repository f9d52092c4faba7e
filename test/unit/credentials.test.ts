import {expect} from 'chai'
import {spawn, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import {join} from 'node:path'
import {loadSharedConfigFiles} from '@smithy/shared-ini-file-loader'
import {
  diffLines,
  editIniFile,
  profilesHoldingKey,
  readProfileCredentials,
  redactIniLine,
  restoreFromBackup,
  validateAccessKeyId,
  validateProfileName,
  validateSecretAccessKey,
  writeProfile,
  type Env,
} from '../../src/lib/files/credentials.js'
import {listProfiles, resolveRegion} from '../../src/lib/files/aws-config.js'
import {PsbError} from '../../src/lib/errors.js'
import {acquireLock, listBackups, lockPathFor, withFileLock} from '../../src/lib/files/atomic.js'
import {setSectionKeys} from '../../src/lib/files/ini.js'
import {redact} from '../../src/lib/redact.js'

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
function newKeyId(): string {
  return 'AKIA' + Array.from(randomBytes(16), (b) => ALNUM[b % ALNUM.length]).join('')
}
function newSecret(): string {
  // 40 chars of the base64 alphabet, like an AWS secret access key.
  return randomBytes(30).toString('base64').slice(0, 38) + '+/'
}

interface Home {
  dir: string
  cred: string
  conf: string
  env: Env
}

const homes: string[] = []
function home(opts: {aws?: boolean} = {}): Home {
  const dir = mkdtempSync(join(tmpdir(), 'psb-cred-'))
  homes.push(dir)
  if (opts.aws !== false) mkdirSync(join(dir, '.aws'), {mode: 0o700})
  const cred = join(dir, '.aws', 'credentials')
  const conf = join(dir, '.aws', 'config')
  return {dir, cred, conf, env: {HOME: dir, AWS_SHARED_CREDENTIALS_FILE: cred, AWS_CONFIG_FILE: conf}}
}
after(() => {
  for (const d of homes) rmSync(d, {recursive: true, force: true})
})

function mode(path: string): number {
  return statSync(path).mode & 0o777
}

async function sdk(h: Home): Promise<{configFile: Record<string, Record<string, string>>; credentialsFile: Record<string, Record<string, string>>}> {
  return (await loadSharedConfigFiles({filepath: h.cred, configFilepath: h.conf, ignoreCache: true})) as never
}

/**
 * The AWS CLI's answers, by the bytes of both files and the arguments: the same files give
 * the same answer, so a repeated run (Stryker runs each test again for every mutant) asks
 * the CLI (2-3 s a call) only when a file's bytes differ from every run before.
 */
const awsAnswers = new Map<string, {status: number | null; stderr: string; stdout: string}>()

function awsGet(h: Home, args: string[]): string {
  const bytes = (f: string) => (existsSync(f) ? readFileSync(f).toString('base64') : '-')
  const key = JSON.stringify([bytes(h.cred), bytes(h.conf), args])
  let r = awsAnswers.get(key)
  if (!r) {
    r = spawnSync('aws', ['configure', 'get', ...args], {
      env: {PATH: process.env.PATH, HOME: h.dir, AWS_SHARED_CREDENTIALS_FILE: h.cred, AWS_CONFIG_FILE: h.conf},
      encoding: 'utf8',
    })
    awsAnswers.set(key, r)
  }
  expect(r.status, r.stderr).to.equal(0)
  return r.stdout.trim()
}

async function rejects(p: Promise<unknown>): Promise<PsbError> {
  try {
    await p
  } catch (error) {
    expect(error).to.be.instanceOf(PsbError)
    return error as PsbError
  }
  expect.fail('expected a PsbError')
}

const KEEP = `# Managed by hand. Do not lose this comment.
[default]
aws_access_key_id = AKIADEFAULTDEFAULT12
aws_secret_access_key = defaultSecretDefaultSecretDefaultSecret=
; the next profile holds an S3 sub-section
[work]
aws_access_key_id=AKIAWORKWORKWORKWORK
aws_secret_access_key=work/secret+with==equals
s3 =
    addressing_style = path
    max_concurrent_requests = 20

[pulumi]
# the key psb manages
aws_access_key_id = AKIAOLDOLDOLDOLDOLD1
aws_secret_access_key = oldSecretOldSecretOldSecretOldSecret1234
aws_session_token = IQoJb3JpZ2luX2VjEXAMPLETOKEN
mfa_serial = arn:aws:iam::123456789012:mfa/me
region = us-east-1 # keep me

[last]
k = v ; trailing`

describe('credentials: writeProfile', () => {
  it('creates both files 0600 in a new ~/.aws (0700), readable by the AWS SDK and the AWS CLI', async () => {
    const h = home({aws: false})
    const env = {HOME: h.dir}
    const id = newKeyId()
    const secret = newSecret()
    const r = await writeProfile({profile: 'pulumi', accessKeyId: id, secretAccessKey: secret, region: 'eu-west-1', env})
    expect(r.credentialsFile).to.equal(h.cred)
    expect(r.configFile).to.equal(h.conf)
    expect(r.credentialsChanged && r.configChanged).to.equal(true)
    expect(r.backup).to.equal(undefined)
    expect(mode(join(h.dir, '.aws'))).to.equal(0o700)
    expect(mode(h.cred)).to.equal(0o600)
    expect(mode(h.conf)).to.equal(0o600)
    expect(readFileSync(h.cred, 'utf8')).to.equal(`[pulumi]\naws_access_key_id = ${id}\naws_secret_access_key = ${secret}\n`)
    expect(readFileSync(h.conf, 'utf8')).to.equal('[profile pulumi]\nregion = eu-west-1\n')
    const s = await sdk(h)
    expect(s.credentialsFile.pulumi).to.deep.equal({aws_access_key_id: id, aws_secret_access_key: secret})
    expect(s.configFile.pulumi).to.deep.equal({region: 'eu-west-1'})
    expect(awsGet(h, ['aws_access_key_id', '--profile', 'pulumi'])).to.equal(id)
    expect(awsGet(h, ['aws_secret_access_key', '--profile', 'pulumi'])).to.equal(secret)
    expect(awsGet(h, ['region', '--profile', 'pulumi'])).to.equal('eu-west-1')
    expect(r.changes.map((c) => [c.item, c.status])).to.deep.equal([
      ['credentials: [pulumi] aws_access_key_id', 'created'],
      ['credentials: [pulumi] aws_secret_access_key', 'created'],
      ['config: [profile pulumi] region', 'created'],
    ])
    expect(JSON.stringify(r)).not.to.contain(secret)
    expect(JSON.stringify(r)).not.to.contain(id)
  })

  it('rewrites only the profile\'s key lines, keeps everything else byte for byte, drops the stale session token', async () => {
    const h = home()
    writeFileSync(h.cred, KEEP, {mode: 0o600})
    writeFileSync(h.conf, '[default]\nregion = us-east-2\n\n[profile pulumi]\nregion = us-east-1\noutput = json\n', {mode: 0o600})
    const id = newKeyId()
    const secret = newSecret()
    const r = await writeProfile({profile: 'pulumi', accessKeyId: id, secretAccessKey: secret, region: 'eu-central-1', env: h.env})
    const expected = KEEP.replace('AKIAOLDOLDOLDOLDOLD1', id)
      .replace('oldSecretOldSecretOldSecretOldSecret1234', secret)
      .replace('aws_session_token = IQoJb3JpZ2luX2VjEXAMPLETOKEN\n', '')
    expect(readFileSync(h.cred, 'utf8')).to.equal(expected)
    expect(readFileSync(h.conf, 'utf8')).to.equal('[default]\nregion = us-east-2\n\n[profile pulumi]\nregion = eu-central-1\noutput = json\n')
    expect(r.changes.find((c) => c.item.endsWith('aws_session_token'))).to.deep.equal({item: 'credentials: [pulumi] aws_session_token', status: 'deleted'})
    const s = await sdk(h)
    expect(s.credentialsFile.pulumi).to.deep.equal({aws_access_key_id: id, aws_secret_access_key: secret, mfa_serial: 'arn:aws:iam::123456789012:mfa/me', region: 'us-east-1'})
    expect(s.credentialsFile.work).to.deep.equal({
      aws_access_key_id: 'AKIAWORKWORKWORKWORK',
      aws_secret_access_key: 'work/secret+with==equals',
      's3.addressing_style': 'path',
      's3.max_concurrent_requests': '20',
    })
    expect(awsGet(h, ['aws_secret_access_key', '--profile', 'work'])).to.equal('work/secret+with==equals')
    expect(awsGet(h, ['aws_access_key_id', '--profile', 'pulumi'])).to.equal(id)
    // A backup of the previous content, 0600.
    expect(r.backup).to.be.a('string')
    expect(readFileSync(r.backup!, 'utf8')).to.equal(KEEP)
    expect(mode(r.backup!)).to.equal(0o600)
    expect(r.configBackup).to.be.a('string')
  })

  it('keeps a CRLF file CRLF and a missing final newline missing', async () => {
    const h = home()
    const crlf = '[a]\r\nk = v\r\n\r\n[pulumi]\r\naws_access_key_id = AKIAOLDOLDOLDOLDOLD1\r\n'
    writeFileSync(h.cred, crlf)
    const id = newKeyId()
    const secret = newSecret()
    await writeProfile({profile: 'pulumi', accessKeyId: id, secretAccessKey: secret, env: h.env})
    const out = readFileSync(h.cred, 'utf8')
    expect(out).to.equal(`[a]\r\nk = v\r\n\r\n[pulumi]\r\naws_access_key_id = ${id}\r\naws_secret_access_key = ${secret}\r\n`)
    await writeProfile({profile: 'b', accessKeyId: id, secretAccessKey: secret, env: h.env})
    expect(readFileSync(h.cred, 'utf8').replace(/\r\n/g, '')).not.to.contain('\n')

    const h2 = home()
    writeFileSync(h2.cred, '[a]\nk = v')
    await writeProfile({profile: 'pulumi', accessKeyId: id, secretAccessKey: secret, env: h2.env})
    expect(readFileSync(h2.cred, 'utf8')).to.equal(`[a]\nk = v\n\n[pulumi]\naws_access_key_id = ${id}\naws_secret_access_key = ${secret}`)
    expect((await sdk(h2)).credentialsFile.pulumi.aws_secret_access_key).to.equal(secret)
  })

  it('writes into an empty file and into a file of only comments', async () => {
    const id = newKeyId()
    const secret = newSecret()
    for (const start of ['', '# just a comment\n; another\n']) {
      const h = home()
      writeFileSync(h.cred, start)
      await writeProfile({profile: 'default', accessKeyId: id, secretAccessKey: secret, env: h.env})
      expect(readFileSync(h.cred, 'utf8')).to.equal(`${start}${start ? '\n' : ''}[default]\naws_access_key_id = ${id}\naws_secret_access_key = ${secret}\n`)
    }
  })

  it('uses [default] in the config file for the default profile, and [profile default] when the file has one', async () => {
    const h = home()
    await writeProfile({profile: 'default', accessKeyId: newKeyId(), secretAccessKey: newSecret(), region: 'us-west-2', env: h.env})
    expect(readFileSync(h.conf, 'utf8')).to.equal('[default]\nregion = us-west-2\n')
    writeFileSync(h.conf, '[default]\nregion = a-b-1\n[profile default]\nregion = us-east-1\n')
    await writeProfile({profile: 'default', accessKeyId: newKeyId(), secretAccessKey: newSecret(), region: 'eu-west-3', env: h.env})
    expect(readFileSync(h.conf, 'utf8')).to.equal('[default]\nregion = a-b-1\n[profile default]\nregion = eu-west-3\n')
    expect((await sdk(h)).configFile.default.region).to.equal('eu-west-3')
  })

  it('removes a stale session token from the config file too, even without --region', async () => {
    const h = home()
    writeFileSync(h.conf, '[profile pulumi]\naws_session_token = tok\nregion = us-east-1\n')
    const r = await writeProfile({profile: 'pulumi', accessKeyId: newKeyId(), secretAccessKey: newSecret(), env: h.env})
    expect(readFileSync(h.conf, 'utf8')).to.equal('[profile pulumi]\nregion = us-east-1\n')
    expect(r.configChanged).to.equal(true)
    // Without a token and without a region, the config file is not touched (nor created).
    const h2 = home()
    const r2 = await writeProfile({profile: 'pulumi', accessKeyId: newKeyId(), secretAccessKey: newSecret(), env: h2.env})
    expect(r2.configChanged).to.equal(false)
    expect(existsSync(h2.conf)).to.equal(false)
  })

  it('warns when the profile also has settings that override static keys', async () => {
    const h = home()
    writeFileSync(h.conf, '[profile pulumi]\nrole_arn = arn:aws:iam::123456789012:role/x\n')
    const r = await writeProfile({profile: 'pulumi', accessKeyId: newKeyId(), secretAccessKey: newSecret(), region: 'us-east-1', env: h.env})
    expect(r.warnings.join('\n')).to.match(/also sets role_arn/)
  })

  it('is idempotent: the same key again changes nothing and makes no backup', async () => {
    const h = home()
    const input = {profile: 'p', accessKeyId: newKeyId(), secretAccessKey: newSecret(), region: 'us-east-1', env: h.env}
    await writeProfile(input)
    const before = readFileSync(h.cred, 'utf8')
    const r = await writeProfile(input)
    expect(r.credentialsChanged || r.configChanged).to.equal(false)
    expect(r.changes.every((c) => c.status === 'unchanged')).to.equal(true)
    expect(listBackups(h.cred)).to.deep.equal([])
    expect(readFileSync(h.cred, 'utf8')).to.equal(before)
  })

  it('narrows a wider mode to 0600, with a warning', async () => {
    const h = home()
    writeFileSync(h.cred, '[a]\nk = v\n')
    chmodSync(h.cred, 0o644)
    const warned: string[] = []
    const r = await writeProfile({profile: 'p', accessKeyId: newKeyId(), secretAccessKey: newSecret(), env: h.env, logger: {warn: (m) => warned.push(m), info() {}}})
    expect(mode(h.cred)).to.equal(0o600)
    expect(r.warnings).to.have.length(1)
    expect(r.warnings[0]).to.match(/mode 0644.*narrowed it to 0600/)
    expect(warned).to.deep.equal(r.warnings)
    // Narrowed even when the content does not change.
    chmodSync(h.cred, 0o664)
    const again = await editIniFile(h.cred, () => false)
    expect(again.changed).to.equal(false)
    expect(mode(h.cred)).to.equal(0o600)
    expect(again.warnings[0]).to.match(/mode 0664/)
  })

  it('writes through a symlink to its target and keeps the link (also a dangling one)', async () => {
    const h = home()
    const real = join(h.dir, 'dotfiles', 'aws-credentials')
    mkdirSync(join(h.dir, 'dotfiles'))
    writeFileSync(real, '[a]\nk = v\n')
    symlinkSync('../dotfiles/aws-credentials', h.cred)
    const id = newKeyId()
    const r = await writeProfile({profile: 'p', accessKeyId: id, secretAccessKey: newSecret(), env: h.env})
    expect(lstatSync(h.cred).isSymbolicLink()).to.equal(true)
    expect(readlinkSync(h.cred)).to.equal('../dotfiles/aws-credentials')
    expect(r.credentialsFile).to.equal(real)
    expect(readFileSync(real, 'utf8')).to.contain(id)
    // The backup is not put in the dotfiles folder (a `git add` there would commit it): it is
    // in psb's state folder (0700), in a folder named after the real file.
    const backups = join(h.dir, '.local', 'state', 'psb', 'backups')
    expect(r.backup!.startsWith(join(backups, 'aws-credentials-'))).to.equal(true)
    expect(readdirSync(join(h.dir, 'dotfiles'))).to.deep.equal(['aws-credentials'])
    expect(mode(backups)).to.equal(0o700)
    expect(mode(r.backup!)).to.equal(0o600)
    expect(readFileSync(r.backup!, 'utf8')).to.equal('[a]\nk = v\n')
    expect(listBackups(h.cred, h.env)).to.deep.equal([r.backup])
    // The backup count rule holds there too, and XDG_STATE_HOME is honoured.
    const xdg = {...h.env, XDG_STATE_HOME: join(h.dir, 'xdg')}
    for (let i = 0; i < 7; i++) await writeProfile({profile: 'p', accessKeyId: newKeyId(), secretAccessKey: newSecret(), env: xdg})
    expect(listBackups(h.cred, xdg)).to.have.length(5)
    expect(listBackups(h.cred, xdg).every((b) => b.startsWith(join(h.dir, 'xdg', 'psb', 'backups', 'aws-credentials-')))).to.equal(true)
    expect(readdirSync(join(h.dir, 'dotfiles'))).to.deep.equal(['aws-credentials'])
    await restoreFromBackup(h.cred, listBackups(h.cred, xdg)[0], {env: xdg})
    expect(lstatSync(h.cred).isSymbolicLink()).to.equal(true)
    // A dangling link: the target is created.
    const h2 = home()
    symlinkSync(join(h2.dir, 'elsewhere'), h2.conf)
    await writeProfile({profile: 'p', accessKeyId: id, secretAccessKey: newSecret(), region: 'us-east-1', env: h2.env})
    expect(lstatSync(h2.conf).isSymbolicLink()).to.equal(true)
    expect(readFileSync(join(h2.dir, 'elsewhere'), 'utf8')).to.equal('[profile p]\nregion = us-east-1\n')
  })

  it('keeps at most 5 backups, 0600, the newest last', async () => {
    const h = home()
    const ids: string[] = []
    for (let i = 0; i < 8; i++) {
      ids.push(newKeyId())
      await writeProfile({profile: 'p', accessKeyId: ids[i], secretAccessKey: newSecret(), env: h.env})
    }
    const backups = listBackups(h.cred)
    expect(backups).to.have.length(5)
    for (const b of backups) expect(mode(b)).to.equal(0o600)
    // The backups hold keys 3..7 (the content before writes 4..8), oldest first.
    expect(backups.map((b) => ids.findIndex((id) => readFileSync(b, 'utf8').includes(id)))).to.deep.equal([2, 3, 4, 5, 6])
    const names = readdirSync(join(h.dir, '.aws'))
    expect(names.filter((n) => n.includes('psb-tmp') || n.includes('psb-lock'))).to.deep.equal([])
  })

  it('restores a backup, keeping what it replaces as a backup too', async () => {
    const h = home()
    const first = newKeyId()
    await writeProfile({profile: 'p', accessKeyId: first, secretAccessKey: newSecret(), env: h.env})
    const r = await writeProfile({profile: 'p', accessKeyId: newKeyId(), secretAccessKey: newSecret(), env: h.env})
    const second = readFileSync(h.cred, 'utf8')
    await restoreFromBackup(h.cred, r.backup!)
    expect(readProfileCredentials('p', h.env)!.accessKeyId).to.equal(first)
    expect(mode(h.cred)).to.equal(0o600)
    expect(readFileSync(listBackups(h.cred).at(-1)!, 'utf8')).to.equal(second)
    const e = await rejects(restoreFromBackup(h.cred, join(h.dir, 'no-such-backup')))
    expect(e.exitCode).to.equal(1)
  })

  it('dry run: plans the change, shows it redacted, and writes nothing at all', async () => {
    const h = home({aws: false})
    const id = newKeyId()
    const secret = newSecret()
    const r = await writeProfile({profile: 'p', accessKeyId: id, secretAccessKey: secret, region: 'us-east-1', dryRun: true, env: {HOME: h.dir}})
    expect(existsSync(join(h.dir, '.aws'))).to.equal(false)
    expect(r.dryRun).to.equal(true)
    expect(r.changes.map((c) => c.status)).to.deep.equal(['planned', 'planned', 'planned'])
    expect(r.diff.map((d) => `${d.op}${d.line} ${d.text}`)).to.deep.equal([
      `+1 [p]`,
      `+2 aws_access_key_id = ${id.slice(0, 4)}…${id.slice(-4)}`,
      '+3 aws_secret_access_key = ****',
      '+1 [profile p]',
      '+2 region = us-east-1',
    ])
    expect(JSON.stringify(r)).not.to.contain(secret)

    const h2 = home()
    writeFileSync(h2.cred, KEEP)
    chmodSync(h2.cred, 0o644)
    const mtime = statSync(h2.cred).mtimeMs
    const r2 = await writeProfile({profile: 'pulumi', accessKeyId: id, secretAccessKey: secret, dryRun: true, env: h2.env})
    expect(readFileSync(h2.cred, 'utf8')).to.equal(KEEP)
    expect(statSync(h2.cred).mtimeMs).to.equal(mtime)
    expect(mode(h2.cred)).to.equal(0o644)
    expect(readdirSync(join(h2.dir, '.aws'))).to.deep.equal(['credentials'])
    expect(r2.credentialsChanged).to.equal(true)
    expect(r2.warnings.join()).to.match(/would narrow it to 0600/)
    expect(r2.diff.map((d) => `${d.op}${d.line} ${d.text}`)).to.deep.equal([
      '-15 aws_access_key_id = AKIA…OLD1',
      '-16 aws_secret_access_key = ****',
      '-17 aws_session_token = ****',
      `+15 aws_access_key_id = ${id.slice(0, 4)}…${id.slice(-4)}`,
      '+16 aws_secret_access_key = ****',
    ])
    const shown = JSON.stringify(r2)
    for (const s of [secret, 'oldSecretOldSecretOldSecretOldSecret1234', 'IQoJb3JpZ2luX2VjEXAMPLETOKEN']) expect(shown).not.to.contain(s)
  })
})

describe('credentials: rejecting bad input (exit 2, files untouched)', () => {
  const good = {profile: 'p', accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'}

  it('rejects bad profile names', () => {
    for (const name of ['', 'a[b', 'a]b', '[a]', 'a=b', 'a\nb', 'a\r', ' a', 'a ', 'a b', 'a#b', 'a;b', '"a"', '__proto__', 'x'.repeat(257)]) {
      expect(() => validateProfileName(name), JSON.stringify(name)).to.throw(PsbError).with.property('exitCode', 2)
    }
    for (const name of ['default', 'pulumi', 'pulumi-prod', 'a_b.c@d+e%f:g/h', 'UPPER9']) expect(() => validateProfileName(name)).not.to.throw()
  })

  it('rejects malformed key ids and secrets without echoing them', () => {
    for (const id of ['', 'akiaiosfodnn7example', 'AKIA', 'AKIAIOSFODNN7EXAMPL!', ' AKIAIOSFODNN7EXAMPLE', 'A'.repeat(129), 'AKIA IOSFODNN7EXAMPLE']) {
      let message = ''
      expect(() => {
        try {
          validateAccessKeyId(id)
        } catch (error) {
          message = (error as Error).message
          throw error
        }
      }, JSON.stringify(id)).to.throw(PsbError)
      if (id.length > 4) expect(message).not.to.contain(id.trim())
    }
    for (const s of ['', 'short', 'has space in the middle of it, 40 chars', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n', 'x'.repeat(129), 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE!']) {
      try {
        validateSecretAccessKey(s)
        expect.fail(`accepted ${JSON.stringify(s)}`)
      } catch (error) {
        expect(error).to.be.instanceOf(PsbError)
        expect((error as PsbError).exitCode).to.equal(2)
        if (s.length > 5) expect((error as Error).message).not.to.contain(s.trim())
      }
    }
    expect(() => validateAccessKeyId('AKIAIOSFODNN7EXAMPLE')).not.to.throw()
    expect(() => validateSecretAccessKey('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')).not.to.throw()
    expect(() => validateSecretAccessKey('abc/def+ghi=jkl==')).not.to.throw()
  })

  it('changes nothing when any input is bad', async () => {
    const h = home()
    writeFileSync(h.cred, KEEP)
    writeFileSync(h.conf, '[default]\n')
    const bad = [
      {...good, profile: 'a]b'},
      {...good, accessKeyId: 'nope'},
      {...good, secretAccessKey: 'short'},
      {...good, region: 'moon-1'},
    ]
    for (const input of bad) {
      const e = await rejects(writeProfile({...input, env: h.env}))
      expect(e.exitCode).to.equal(2)
    }
    expect(readFileSync(h.cred, 'utf8')).to.equal(KEEP)
    expect(readdirSync(join(h.dir, '.aws')).sort()).to.deep.equal(['config', 'credentials'])
  })

  it('refuses a credentials file it cannot parse, naming the line, and writes nothing', async () => {
    const h = home()
    const broken = '[a]\nk = v\nthis line is garbage\n'
    writeFileSync(h.cred, broken)
    const e = await rejects(writeProfile({...good, env: h.env}))
    expect(e.exitCode).to.equal(2)
    expect(e.message).to.contain(`${h.cred}, line 3`)
    expect(readFileSync(h.cred, 'utf8')).to.equal(broken)
    expect(readdirSync(join(h.dir, '.aws'))).to.deep.equal(['credentials'])
  })

  it('refuses a config file it cannot parse before touching the credentials file', async () => {
    const h = home()
    writeFileSync(h.cred, KEEP)
    writeFileSync(h.conf, '[default]\n[profile x] junk\n')
    const e = await rejects(writeProfile({...good, profile: 'pulumi', region: 'us-east-1', env: h.env}))
    expect(e.exitCode).to.equal(2)
    expect(e.message).to.contain(`${h.conf}, line 2`)
    expect(readFileSync(h.cred, 'utf8')).to.equal(KEEP)
  })

  it('fails with exit 1 when the file cannot be written', async () => {
    const h = home()
    writeFileSync(join(h.dir, 'a-file'), '')
    const e = await rejects(writeProfile({...good, env: {HOME: h.dir, AWS_SHARED_CREDENTIALS_FILE: join(h.dir, 'a-file', 'credentials')}}))
    expect(e.exitCode).to.equal(1)
    expect(e.message).to.contain(join(h.dir, 'a-file'))
  })
})

describe('credentials: reading profiles', () => {
  it('reads keys as the SDK does (config, then the credentials file winning) and finds who holds a key', async () => {
    const h = home()
    writeFileSync(h.cred, '[a]\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA\naws_secret_access_key = secretA/secretA/secretA\n[b]\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA\naws_secret_access_key = secretB/secretB/secretB # c\n')
    writeFileSync(h.conf, '[profile b]\naws_access_key_id = AKIAOVERRIDDEN000000\naws_session_token = tokenB\n[profile c]\naws_access_key_id = AKIACCCCCCCCCCCCCCCC\naws_secret_access_key = secretC/secretC/secretC\n[profile d]\nregion = us-east-1\n[profile dotted.name]\naws_access_key_id = AKIADOTTEDDOTTED0000\naws_secret_access_key = secretD/secretD/secretD\n[sso-session c]\naws_access_key_id = AKIACCCCCCCCCCCCCCCC\n')
    expect(readProfileCredentials('a', h.env)).to.deep.equal({accessKeyId: 'AKIAAAAAAAAAAAAAAAAA', secretAccessKey: 'secretA/secretA/secretA'})
    expect(readProfileCredentials('b', h.env)).to.deep.equal({accessKeyId: 'AKIAAAAAAAAAAAAAAAAA', secretAccessKey: 'secretB/secretB/secretB', sessionToken: 'tokenB'})
    expect(readProfileCredentials('c', h.env)!.accessKeyId).to.equal('AKIACCCCCCCCCCCCCCCC')
    expect(readProfileCredentials('d', h.env)).to.equal(undefined)
    expect(readProfileCredentials('none', h.env)).to.equal(undefined)
    expect(profilesHoldingKey('AKIAAAAAAAAAAAAAAAAA', h.env)).to.deep.equal(['a', 'b'])
    expect(profilesHoldingKey('AKIAOVERRIDDEN000000', h.env)).to.deep.equal([])
    expect(profilesHoldingKey('AKIACCCCCCCCCCCCCCCC', h.env)).to.deep.equal(['c'])
    expect(profilesHoldingKey('AKIADOTTEDDOTTED0000', h.env)).to.deep.equal(['dotted.name'])
    // What was read is registered as secret: redaction hides it.
    expect(redact('x secretB/secretB/secretB y')).to.equal('x **** y')
    expect(readProfileCredentials('a', {HOME: join(h.dir, 'nothing')})).to.equal(undefined)
  })

  it('reads back, for listing and the region, what writeProfile wrote: [profile default] wins over [default]', async () => {
    const h = home()
    writeFileSync(h.conf, '[default]\nregion = us-east-1\n[profile default]\noutput = json\n[sso-session corp]\nsso_region = us-east-1\n')
    await writeProfile({profile: 'default', accessKeyId: newKeyId(), secretAccessKey: newSecret(), region: 'eu-west-3', env: h.env})
    expect((await sdk(h)).configFile.default.region).to.equal('eu-west-3')
    expect(resolveRegion(undefined, 'default', h.env)).to.equal('eu-west-3')
    expect(listProfiles(h.env)).to.deep.equal(['default'])
  })

  it('fails with exit 1, naming the file, when a file exists but cannot be read; writes nothing', async () => {
    const h = home()
    writeFileSync(h.cred, KEEP)
    mkdirSync(h.conf)
    for (const read of [() => readProfileCredentials('pulumi', h.env), () => listProfiles(h.env), () => resolveRegion(undefined, 'pulumi', h.env)]) {
      let e: unknown
      try {
        read()
      } catch (error) {
        e = error
      }
      expect(e).to.be.instanceOf(PsbError)
      expect((e as PsbError).exitCode).to.equal(1)
      expect((e as PsbError).message).to.contain(`Cannot read ${h.conf}`)
    }
    const e = await rejects(writeProfile({profile: 'pulumi', accessKeyId: newKeyId(), secretAccessKey: newSecret(), region: 'us-east-1', env: h.env}))
    expect(e.exitCode).to.equal(1)
    expect(e.message).to.contain(h.conf)
    expect(readFileSync(h.cred, 'utf8')).to.equal(KEEP)
    expect(readdirSync(join(h.dir, '.aws')).sort()).to.deep.equal(['config', 'credentials'])
  })
})

describe('credentials: editIniFile', () => {
  it('writes nothing, and makes no backup, when mutate reports no change', async () => {
    const h = home()
    writeFileSync(h.cred, '[a]\nk = v\n')
    const mtime = statSync(h.cred).mtimeMs
    const r = await editIniFile(h.cred, () => false)
    expect(r).to.include({changed: false, before: '[a]\nk = v\n', after: '[a]\nk = v\n', path: h.cred, created: false})
    expect(statSync(h.cred).mtimeMs).to.equal(mtime)
    expect(listBackups(h.cred)).to.deep.equal([])
  })

  it('edits any ini file with the same guarantees, and honours dryRun and backup: false', async () => {
    const h = home()
    writeFileSync(h.conf, '[profile x]\nregion = us-east-1\n')
    const planned = await editIniFile(h.conf, (doc) => setSectionKeys(doc, 'profile x', {region: 'eu-west-1'}), {dryRun: true})
    expect(planned.changed).to.equal(true)
    expect(planned.after).to.equal('[profile x]\nregion = eu-west-1\n')
    expect(readFileSync(h.conf, 'utf8')).to.equal('[profile x]\nregion = us-east-1\n')
    const r = await editIniFile(h.conf, (doc) => setSectionKeys(doc, 'profile x', {region: 'eu-west-1'}), {backup: false})
    expect(r.changed).to.equal(true)
    expect(r.backup).to.equal(undefined)
    expect(readFileSync(h.conf, 'utf8')).to.equal('[profile x]\nregion = eu-west-1\n')
  })

  it('removes temp files left by a killed writer', async () => {
    const h = home()
    writeFileSync(h.cred, '[a]\n')
    writeFileSync(join(h.dir, '.aws', '.credentials.psb-tmp-99999-abcd'), '[a]\nhalf')
    await editIniFile(h.cred, (doc) => setSectionKeys(doc, 'a', {k: 'v'}))
    expect(readdirSync(join(h.dir, '.aws')).filter((n) => n.includes('tmp'))).to.deep.equal([])
  })

  it('never loses an edit when 20 run at once in one process', async () => {
    const h = home()
    await Promise.all(Array.from({length: 20}, (_, i) => writeProfile({profile: `p${i}`, accessKeyId: newKeyId(), secretAccessKey: newSecret(), env: h.env, keepBackups: 2})))
    const s = await sdk(h)
    expect(Object.keys(s.credentialsFile).sort()).to.deep.equal(Array.from({length: 20}, (_, i) => `p${i}`).sort())
    expect(listBackups(h.cred)).to.have.length(2)
  })
})

describe('credentials: what psb does not own is kept (issue 10 defects 6-7 and smaller items, issue 9 items 10-11)', () => {
  it('writes into a profile spelled AWS_ACCESS_KEY_ID = … in place, keeping the spelling: the AWS CLI still reads every profile', async () => {
    const h = home()
    const old = newKeyId()
    writeFileSync(h.cred, `[up]\nAWS_ACCESS_KEY_ID = ${old}\nAws_Secret_Access_Key = oldsecret/oldsecret/old\nregion = eu-west-1\n\n[other]\naws_access_key_id = AKIAOTHEROTHEROTHER0\naws_secret_access_key = othersecret/othersecret\n`)
    // psb reads the capitalised names as the AWS CLI does, for the key and for who holds it.
    expect(readProfileCredentials('up', h.env)).to.deep.equal({accessKeyId: old, secretAccessKey: 'oldsecret/oldsecret/old'})
    expect(profilesHoldingKey(old, h.env)).to.deep.equal(['up'])
    const id = newKeyId()
    const sec = newSecret()
    const r = await writeProfile({profile: 'up', accessKeyId: id, secretAccessKey: sec, env: h.env})
    expect(readFileSync(h.cred, 'utf8')).to.equal(
      `[up]\nAWS_ACCESS_KEY_ID = ${id}\nAws_Secret_Access_Key = ${sec}\nregion = eu-west-1\n\n[other]\naws_access_key_id = AKIAOTHEROTHEROTHER0\naws_secret_access_key = othersecret/othersecret\n`,
    )
    expect(r.changes.map((c) => `${c.item} ${c.status}`)).to.deep.equal(['credentials: [up] aws_access_key_id updated', 'credentials: [up] aws_secret_access_key updated'])
    expect(r.warnings.join('\n')).to.match(/spells AWS_ACCESS_KEY_ID, Aws_Secret_Access_Key in capitals; psb kept that spelling/)
    // botocore refuses a section with the same key twice (in any case): it parses this file.
    expect(awsGet(h, ['aws_access_key_id', '--profile', 'up'])).to.equal(id)
    expect(awsGet(h, ['aws_access_key_id', '--profile', 'other'])).to.equal('AKIAOTHEROTHEROTHER0')
    expect(readProfileCredentials('up', h.env)).to.deep.equal({accessKeyId: id, secretAccessKey: sec})
    // A second run is no change.
    const again = await writeProfile({profile: 'up', accessKeyId: id, secretAccessKey: sec, env: h.env})
    expect(again.credentialsChanged).to.equal(false)
  })

  it('merges a key spelled twice in two cases into one line (the one the SDK reads, in its spelling)', async () => {
    const h = home()
    writeFileSync(h.cred, '[p]\nAWS_ACCESS_KEY_ID = AKIAFIRSTFIRSTFIRST0\naws_access_key_id = AKIASECONDSECONDSEC0\naws_secret_access_key = s/s/s/s/s/s/s/s/s/s\n')
    const id = newKeyId()
    const sec = newSecret()
    await writeProfile({profile: 'p', accessKeyId: id, secretAccessKey: sec, env: h.env})
    expect(readFileSync(h.cred, 'utf8')).to.equal(`[p]\naws_access_key_id = ${id}\naws_secret_access_key = ${sec}\n`)
    expect(awsGet(h, ['aws_access_key_id', '--profile', 'p'])).to.equal(id)
  })

  it('keeps a Latin-1 comment (E9 FF), a BOM, CRLF and a missing final newline byte for byte when writing another profile', async () => {
    const h = home()
    const original = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from('# caf'),
      Buffer.from([0xe9, 0x20, 0xff]),
      Buffer.from('\r\n[a]\r\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA\r\naws_secret_access_key = secretA/secretA/secretA ; '),
      Buffer.from([0xc3, 0x28, 0x80]),
      Buffer.from('\r\nnote = '),
      Buffer.from([0xe9, 0xe8]),
    ])
    writeFileSync(h.cred, original)
    const id = newKeyId()
    const sec = newSecret()
    const r = await writeProfile({profile: 'b', accessKeyId: id, secretAccessKey: sec, env: h.env})
    const after = readFileSync(h.cred)
    expect(after.subarray(0, original.length).equals(original), after.toString('latin1')).to.equal(true)
    expect(after.subarray(original.length).toString('utf8')).to.equal(`\r\n\r\n[b]\r\naws_access_key_id = ${id}\r\naws_secret_access_key = ${sec}`)
    // The backup is the old file, byte for byte; restoring it gives the old bytes back.
    expect(readFileSync(r.backup!).equals(original)).to.equal(true)
    await restoreFromBackup(h.cred, r.backup!)
    expect(readFileSync(h.cred).equals(original)).to.equal(true)
    // Editing the profile that has the invalid bytes keeps them too, outside the edited line.
    await writeProfile({profile: 'a', accessKeyId: id, secretAccessKey: sec, env: h.env})
    const lines = (b: Buffer) => b.toString('latin1').split('\n')
    const [o, n] = [lines(original), lines(readFileSync(h.cred))]
    expect(n.length).to.equal(o.length)
    expect(n.filter((l, i) => l !== o[i])).to.deep.equal([`aws_access_key_id = ${id}\r`, `aws_secret_access_key = ${sec} ; \u00c3(\u0080\r`])
  })

  it('random byte files: a write to another profile keeps every byte of the file (property test)', async () => {
    let seed = 11
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n)
    const noise = () => Buffer.from(Array.from({length: rand(12)}, () => [0x0a, 0x0d].includes(rand(256)) ? 0x41 : rand(256)).map((b) => (b === 0x0a || b === 0x0d ? 0x41 : b)))
    for (let round = 0; round < 60; round++) {
      const h = home()
      const eol = Buffer.from(rand(2) ? '\r\n' : '\n')
      const parts: Buffer[] = rand(3) === 0 ? [Buffer.from([0xef, 0xbb, 0xbf])] : []
      for (let s = 0; s < 1 + rand(4); s++) {
        parts.push(Buffer.from(`# `), noise(), eol, Buffer.from(`[s${s}]`), eol)
        for (let k = 0; k < rand(4); k++) parts.push(Buffer.from(`k${k} = v`), noise(), eol)
        if (rand(2)) parts.push(Buffer.from('; '), noise(), eol)
      }
      let original = Buffer.concat(parts)
      if (rand(3) === 0) original = original.subarray(0, original.length - eol.length)
      writeFileSync(h.cred, original)
      const id = newKeyId()
      await writeProfile({profile: 'psb-new', accessKeyId: id, secretAccessKey: newSecret(), env: h.env})
      const after = readFileSync(h.cred)
      expect(after.subarray(0, original.length).equals(original), `round ${round}: ${original.toString('latin1')}`).to.equal(true)
      expect(readProfileCredentials('psb-new', h.env)!.accessKeyId).to.equal(id)
    }
  })

  it('a write that fails (an immutable file) makes no backup and prunes none (issue 9 item 10)', async function () {
    const h = home()
    for (let i = 0; i < 6; i++) await writeProfile({profile: 'p', accessKeyId: newKeyId(), secretAccessKey: newSecret(), env: h.env})
    const backups = listBackups(h.cred)
    expect(backups).to.have.length(5)
    const before = readFileSync(h.cred)
    // Skip reason: an immutable file needs `chattr +i` (root, and a file system that supports it, not tmpfs); without it the failing write cannot be made.
    if (spawnSync('chattr', ['+i', h.cred]).status !== 0) this.skip()
    try {
      const e = await rejects(writeProfile({profile: 'q', accessKeyId: newKeyId(), secretAccessKey: newSecret(), env: h.env}))
      expect(e.exitCode).to.equal(1)
      expect(listBackups(h.cred)).to.deep.equal(backups)
      expect(readFileSync(h.cred).equals(before)).to.equal(true)
      expect(mode(h.cred)).to.equal(0o600)
      expect(readdirSync(join(h.dir, '.aws')).filter((n) => /psb-(tmp|lock)/.test(n))).to.deep.equal([])
    } finally {
      spawnSync('chattr', ['-i', h.cred])
    }
  })

  it('refuses to replace a read-only (0400) file: exit 1, untouched, hint chmod u+w (issue 9 item 11)', async () => {
    const h = home()
    const id = newKeyId()
    const sec = newSecret()
    await writeProfile({profile: 'p', accessKeyId: id, secretAccessKey: sec, env: h.env})
    const before = readFileSync(h.cred)
    chmodSync(h.cred, 0o400)
    const e = await rejects(writeProfile({profile: 'q', accessKeyId: newKeyId(), secretAccessKey: newSecret(), env: h.env}))
    expect(e.exitCode).to.equal(1)
    expect(e.code).to.equal('FileReadOnly')
    expect(e.hint).to.equal(`If psb should change it, make it writable first: chmod u+w ${h.cred}`)
    expect(readFileSync(h.cred).equals(before)).to.equal(true)
    expect(mode(h.cred)).to.equal(0o400)
    expect(listBackups(h.cred)).to.deep.equal([])
    // --dry-run says so too.
    expect((await rejects(writeProfile({profile: 'q', accessKeyId: newKeyId(), secretAccessKey: newSecret(), env: h.env, dryRun: true}))).code).to.equal('FileReadOnly')
    // Nothing to change: it stays read-only; a read-only file readable by others is narrowed to 0400, never made writable.
    expect((await writeProfile({profile: 'p', accessKeyId: id, secretAccessKey: sec, env: h.env})).credentialsChanged).to.equal(false)
    expect(mode(h.cred)).to.equal(0o400)
    chmodSync(h.cred, 0o444)
    const r = await writeProfile({profile: 'p', accessKeyId: id, secretAccessKey: sec, env: h.env})
    expect(r.warnings.join('\n')).to.include('psb narrowed it to 0400')
    expect(mode(h.cred)).to.equal(0o400)
  })

  it('removes only stale temp files of its own name pattern: a dead writer\'s, or an old one; never a live writer\'s', async () => {
    const h = home()
    writeFileSync(h.cred, '[a]\n')
    writeFileSync(h.conf, '[profile a]\nregion = us-east-1\n')
    const live = spawn('sleep', ['30'])
    try {
      const aws = (n: string) => join(h.dir, '.aws', n)
      const files = {
        dead: `.credentials.psb-tmp-${2 ** 22 + 17}-0a1b2c3d`,
        live: `.credentials.psb-tmp-${live.pid}-0a1b2c3d`,
        oldLive: `.credentials.psb-tmp-${live.pid}-99aa`,
        foreign: '.credentials.psb-tmp-notes',
        other: '.credentials-other.psb-tmp-1-ab',
        configDead: `.config.psb-tmp-${2 ** 22 + 17}-ab`,
        backupCopyDead: `.credentials.psb-backup-20261128T170000123Z.psb-tmp-${2 ** 22 + 17}-ab`,
      }
      for (const n of Object.values(files)) writeFileSync(aws(n), 'aws_secret_access_key = deleted/secret/deleted', {mode: 0o600})
      const old = new Date(Date.now() - 11 * 60 * 1000)
      utimesSync(aws(files.oldLive), old, old)
      await writeProfile({profile: 'a', accessKeyId: newKeyId(), secretAccessKey: newSecret(), env: h.env})
      const left = readdirSync(join(h.dir, '.aws')).filter((n) => n.includes('psb-tmp')).sort()
      // The config file was not written (no --region), but its dead writer's temp file went too.
      expect(left).to.deep.equal([files.other, files.foreign, files.live].sort())
    } finally {
      live.kill()
    }
  })
})

describe('files: the lock', () => {
  function writeLock(target: string, pid: number, ageMs = 0): void {
    const path = lockPathFor(target)
    writeFileSync(path, JSON.stringify({pid, host: hostname(), nonce: 'x', time: Date.now()}))
    if (ageMs) utimesSync(path, new Date(Date.now() - ageMs), new Date(Date.now() - ageMs))
  }

  it('breaks at once a lock whose holder is no longer running', async () => {
    const h = home()
    const dead = spawnSync(process.execPath, ['-e', ''])
    expect(dead.status).to.equal(0)
    writeLock(h.cred, dead.pid!)
    const infos: string[] = []
    const t0 = Date.now()
    await withFileLock(h.cred, () => {}, {timeoutMs: 5000, logger: {warn() {}, info: (m) => infos.push(m)}})
    expect(Date.now() - t0).to.be.lessThan(1000)
    expect(infos.join()).to.match(/no longer running/)
    expect(existsSync(lockPathFor(h.cred))).to.equal(false)
  })

  it('waits for a live holder, then gives up with a clear error (exit 1)', async () => {
    const h = home()
    const child = spawn('sleep', ['30'])
    try {
      writeLock(h.cred, child.pid!)
      const e = await rejects(acquireLock(h.cred, {timeoutMs: 300, staleMs: 30000}))
      expect(e.code).to.equal('FileLocked')
      expect(e.exitCode).to.equal(1)
      expect(e.message).to.contain(`pid ${child.pid}`)
      expect(e.hint).to.contain(lockPathFor(h.cred))
      // Once it is older than the stale time, it is broken even though the pid lives.
      writeLock(h.cred, child.pid!, 60_000)
      await withFileLock(h.cred, () => {}, {timeoutMs: 1000, staleMs: 30000})
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('breaks an empty lock file (a holder killed while creating it) after a short while', async () => {
    const h = home()
    // A fresh one may be a holder that is writing it right now: respected.
    writeFileSync(lockPathFor(h.cred), '')
    const young = await rejects(acquireLock(h.cred, {timeoutMs: 300, staleMs: 30000}))
    expect(young.code).to.equal('FileLocked')
    expect(readFileSync(lockPathFor(h.cred), 'utf8')).to.equal('')
    // Left for 3 s: its holder was killed; broken at once, and the lock is ours.
    const past = new Date(Date.now() - 3000)
    utimesSync(lockPathFor(h.cred), past, past)
    const infos: string[] = []
    const t0 = Date.now()
    let ran = false
    await withFileLock(h.cred, (lock) => {
      ran = lock.held()
    }, {timeoutMs: 1000, logger: {warn() {}, info: (m) => infos.push(m)}})
    expect(ran).to.equal(true)
    expect(Date.now() - t0).to.be.lessThan(1000)
    expect(infos.join()).to.match(/empty or unreadable/)
    expect(existsSync(lockPathFor(h.cred))).to.equal(false)
  })

  it('refuses to write when its lock was taken over meanwhile', async () => {
    const h = home()
    writeFileSync(h.cred, '[a]\n')
    const e = await rejects(
      editIniFile(h.cred, (doc) => {
        writeFileSync(lockPathFor(h.cred), 'someone else')
        return setSectionKeys(doc, 'a', {k: 'v'})
      }),
    )
    expect(e.code).to.equal('FileLocked')
    expect(e.message).to.equal(`The lock ${lockPathFor(h.cred)} was taken over while psb was writing ${h.cred}; nothing was written.`)
    expect(e.hint).to.match(/Run the command again/)
    expect(readFileSync(h.cred, 'utf8')).to.equal('[a]\n')
    // The write did not go ahead, so no backup was made (issue 9 item 10).
    expect(listBackups(h.cred)).to.deep.equal([])
    rmSync(lockPathFor(h.cred))
  })
})

describe('credentials: diff and redaction helpers', () => {
  it('lists only the changed lines with their numbers', () => {
    expect(diffLines('f', 'a\nb\nc\n', 'a\nB\nc\nd\n')).to.deep.equal([
      {file: 'f', line: 2, op: '-', text: 'b'},
      {file: 'f', line: 2, op: '+', text: 'B'},
      {file: 'f', line: 4, op: '+', text: 'd'},
    ])
    expect(diffLines('f', 'same\r\n', 'same\r\n')).to.deep.equal([])
    expect(diffLines('f', 'x\ny\n', 'xzy\n').map((d) => d.op + d.text)).to.deep.equal(['-x', '-y', '+xzy'])
    expect(diffLines('f', '', 'a\n').map((d) => d.op + d.text)).to.deep.equal(['+a'])
    expect(diffLines('f', 'a\r\nb\r\n', 'a\r\nc\r\nb\r\n')).to.deep.equal([{file: 'f', line: 2, op: '+', text: 'c'}])
  })

  it('gives a diff that turns the old lines into the new ones (random edits)', () => {
    let seed = 7
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const words = ['alpha', 'beta', 'gamma', '', '[p]', 'k = v']
    for (let n = 0; n < 200; n++) {
      const a = Array.from({length: Math.floor(rand() * 12)}, () => words[Math.floor(rand() * words.length)])
      const b = [...a]
      for (let e = Math.floor(rand() * 4); e >= 0; e--) {
        const at = Math.floor(rand() * (b.length + 1))
        if (rand() < 0.5 && b.length > 0) b.splice(Math.min(at, b.length - 1), 1)
        else b.splice(at, 0, words[Math.floor(rand() * words.length)])
      }
      const eol = rand() < 0.5 ? '\n' : '\r\n'
      const text = (l: string[]) => l.map((x) => x + eol).join('')
      const d = diffLines('f', text(a), text(b))
      const removed = new Set(d.filter((x) => x.op === '-').map((x) => x.line))
      d.filter((x) => x.op === '-').forEach((x) => expect(a[x.line - 1]).to.equal(x.text))
      const rebuilt = a.filter((_, i) => !removed.has(i + 1))
      for (const x of d.filter((y) => y.op === '+')) rebuilt.splice(x.line - 1, 0, x.text)
      expect(rebuilt, `${JSON.stringify(a)} -> ${JSON.stringify(b)}`).to.deep.equal(b)
    }
  })

  it('redacts secrets and tokens and masks key ids in shown lines', () => {
    expect(redactIniLine('aws_secret_access_key = abc/def+ghi==')).to.equal('aws_secret_access_key = ****')
    expect(redactIniLine('  aws_session_token=tok')).to.equal('  aws_session_token=****')
    expect(redactIniLine('aws_access_key_id = AKIAIOSFODNN7EXAMPLE')).to.equal('aws_access_key_id = AKIA…MPLE')
    expect(redactIniLine('region = us-east-1')).to.equal('region = us-east-1')
  })
})
