/**
 * `psb creds write` as a real subprocess (the built bin/run.js): exit codes, output,
 * parallel writers, and writers killed mid-write. Needs a fresh `npm run build`.
 */
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {loadSharedConfigFiles} from '@smithy/shared-ini-file-loader'
import {editIniFile} from '../../src/lib/files/credentials.js'
import {listBackups, lockPathFor} from '../../src/lib/files/atomic.js'
import {parseIni, setSectionKeys} from '../../src/lib/files/ini.js'
import {RUN_JS, TempHome, baseEnv, runPsb, type RunOptions, type RunResult} from '../support/cli.js'

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
function newKeyId(): string {
  return 'AKIA' + Array.from(randomBytes(16), (b) => ALNUM[b % ALNUM.length]).join('')
}
function newSecret(): string {
  return randomBytes(30).toString('base64').slice(0, 38) + '+/'
}

const homes: TempHome[] = []
function tempHome(): TempHome {
  const h = new TempHome('psb-creds-cli-')
  homes.push(h)
  return h
}
after(() => {
  for (const h of homes) h.cleanup()
})

/** Every secret any test handed to psb: none may ever appear in any output. */
const secrets = new Set<string>()
function secret(): string {
  const s = newSecret()
  secrets.add(s)
  return s
}
function expectNoSecret(r: RunResult): void {
  for (const s of secrets) {
    expect(r.stdout, 'stdout shows a secret').not.to.contain(s)
    expect(r.stderr, 'stderr shows a secret').not.to.contain(s)
  }
}

async function psb(args: string[], home: TempHome, opts: RunOptions = {}): Promise<RunResult> {
  const r = await runPsb(['creds', 'write', ...args], home, opts)
  expectNoSecret(r)
  return r
}

async function sdkProfiles(h: TempHome): Promise<Record<string, Record<string, string>>> {
  return (await loadSharedConfigFiles({filepath: h.credentialsFile, configFilepath: h.configFile, ignoreCache: true})).credentialsFile as never
}

function awsDirEntries(h: TempHome): string[] {
  return readdirSync(h.path('.aws')).sort()
}

describe('cli: psb creds write', () => {
  it('writes the key from stdin and the region, and says what changed where', async () => {
    const h = tempHome()
    const id = newKeyId()
    const s = secret()
    const r = await psb(['--profile', 'pulumi', '--access-key-id', id, '--region', 'eu-west-1', '--secret-stdin'], h, {input: `${s}\n`})
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.contain('Wrote the profile "pulumi"')
    expect(r.stdout).to.contain(`${id.slice(0, 4)}…${id.slice(-4)}`)
    expect(r.stdout).not.to.contain(id)
    expect(r.stdout).to.contain(h.credentialsFile)
    expect(r.stdout).to.contain(h.configFile)
    expect(readFileSync(h.credentialsFile, 'utf8')).to.equal(`[pulumi]\naws_access_key_id = ${id}\naws_secret_access_key = ${s}\n`)
    expect(readFileSync(h.configFile, 'utf8')).to.equal('[profile pulumi]\nregion = eu-west-1\n')
  })

  it('takes the secret from AWS_SECRET_ACCESS_KEY or from the variable named by --secret-env', async () => {
    const h = tempHome()
    const s1 = secret()
    const r1 = await psb(['--profile', 'a', '--access-key-id', newKeyId()], h, {env: {AWS_SECRET_ACCESS_KEY: s1}})
    expect(r1.code, r1.stderr).to.equal(0)
    const s2 = secret()
    const r2 = await psb(['--profile', 'b', '--access-key-id', newKeyId(), '--secret-env', 'MY_SECRET'], h, {env: {MY_SECRET: s2, AWS_SECRET_ACCESS_KEY: s1}})
    expect(r2.code, r2.stderr).to.equal(0)
    const p = await sdkProfiles(h)
    expect(p.a.aws_secret_access_key).to.equal(s1)
    expect(p.b.aws_secret_access_key).to.equal(s2)
  })

  it('follows AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE', async () => {
    const h = tempHome()
    const env = {AWS_SHARED_CREDENTIALS_FILE: h.path('elsewhere', 'creds'), AWS_CONFIG_FILE: h.path('elsewhere', 'conf'), AWS_SECRET_ACCESS_KEY: secret()}
    const r = await psb(['--profile', 'x', '--access-key-id', newKeyId(), '--region', 'us-east-2'], h, {env})
    expect(r.code, r.stderr).to.equal(0)
    expect(readFileSync(h.path('elsewhere', 'conf'), 'utf8')).to.equal('[profile x]\nregion = us-east-2\n')
    expect(existsSync(h.credentialsFile)).to.equal(false)
  })

  it('--json prints exactly one JSON document: the result, redacted', async () => {
    const h = tempHome()
    writeFileSync(h.credentialsFile, '[x]\naws_access_key_id = AKIAOLDOLDOLDOLDOLD1\naws_secret_access_key = oldOldOldOldOldOldOldOld\n', {mode: 0o644})
    secrets.add('oldOldOldOldOldOldOldOld')
    const id = newKeyId()
    const r = await psb(['--profile', 'x', '--access-key-id', id, '--secret-stdin', '--json'], h, {input: secret()})
    expect(r.code, r.stderr).to.equal(0)
    const doc = JSON.parse(r.stdout)
    expect(doc).to.include({profile: 'x', credentialsFile: h.credentialsFile, credentialsChanged: true, configChanged: false, dryRun: false})
    expect(doc.backup).to.match(/credentials\.psb-backup-\d{8}T\d{9}Z$/)
    expect(doc.changes.map((c: {status: string}) => c.status)).to.deep.equal(['updated', 'updated'])
    expect(doc.warnings[0]).to.match(/mode 0644/)
    expect(r.stderr).to.match(/warning: .*mode 0644/)
    expect(r.stdout).not.to.contain(id)
  })

  it('--dry-run shows the changing lines, secret redacted, and writes nothing', async () => {
    const h = tempHome()
    const before = '# keep\n[x]\naws_access_key_id = AKIAOLDOLDOLDOLDOLD1\naws_secret_access_key = oldOldOldOldOldOldOldOld\n'
    writeFileSync(h.credentialsFile, before)
    const id = newKeyId()
    const r = await psb(['--profile', 'x', '--access-key-id', id, '--region', 'ap-south-1', '--secret-stdin', '--dry-run'], h, {input: secret()})
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.contain('Dry run: nothing was written')
    expect(r.stdout).to.contain('-    3: aws_access_key_id = AKIA…OLD1')
    expect(r.stdout).to.contain(`+    3: aws_access_key_id = ${id.slice(0, 4)}…${id.slice(-4)}`)
    expect(r.stdout).to.contain('+    4: aws_secret_access_key = ****')
    expect(r.stdout).to.contain('+    2: region = ap-south-1')
    expect(readFileSync(h.credentialsFile, 'utf8')).to.equal(before)
    expect(awsDirEntries(h)).to.deep.equal(['credentials'])
    const j = await psb(['--profile', 'x', '--access-key-id', id, '--secret-stdin', '--dry-run', '--json'], h, {input: secret()})
    expect(JSON.parse(j.stdout).diff).to.have.length(4)
  })

  it('exit 2, file untouched, for bad names, key ids, secrets, regions and flags', async () => {
    const h = tempHome()
    const before = '[keep]\nk = v\n'
    writeFileSync(h.credentialsFile, before)
    const id = newKeyId()
    const cases: [string[], string | undefined, RegExp][] = [
      [['--profile', 'a]b', '--access-key-id', id, '--secret-stdin'], secret(), /profile name "a\]b" contains "\[" or "\]"/],
      [['--profile', ' x', '--access-key-id', id, '--secret-stdin'], secret(), /leading or trailing spaces/],
      [['--profile', 'a=b', '--access-key-id', id, '--secret-stdin'], secret(), /contains "="/],
      [['--profile', 'a\nb', '--access-key-id', id, '--secret-stdin'], secret(), /line break/],
      [['--profile', '', '--access-key-id', id, '--secret-stdin'], secret(), /./],
      [['--profile', 'x', '--access-key-id', 'akia123', '--secret-stdin'], secret(), /access key id/],
      [['--profile', 'x', '--access-key-id', id, '--secret-stdin'], 'tooShort', /secret access key is 8 characters long/],
      [['--profile', 'x', '--access-key-id', id, '--secret-stdin'], `${secret()}\n\n`, /secret access key has leading or trailing whitespace/],
      [['--profile', 'x', '--access-key-id', id, '--secret-stdin'], '', /stdin was empty/],
      [['--profile', 'x', '--access-key-id', id, '--region', 'mars-1', '--secret-stdin'], secret(), /not an AWS region/],
      [['--profile', 'x', '--access-key-id', id], undefined, /AWS_SECRET_ACCESS_KEY is not set/],
      [['--profile', 'x', '--access-key-id', id, '--secret-env', 'NOPE'], undefined, /NOPE is not set/],
      [['--profile', 'x', '--access-key-id', id, '--secret-env', 'NOT-A-NAME'], undefined, /not an environment variable name/],
      [['--access-key-id', id, '--secret-stdin'], secret(), /profile/],
      [['--profile', 'x', '--secret-stdin', '--secret-env', 'X'], secret(), /./],
    ]
    for (const [args, input, msg] of cases) {
      const r = await psb(args, h, {input})
      expect(r.code, `${JSON.stringify(args)}: ${r.stderr}`).to.equal(2)
      expect(r.stderr).to.match(msg)
      expect(readFileSync(h.credentialsFile, 'utf8')).to.equal(before)
    }
    expect(awsDirEntries(h)).to.deep.equal(['credentials'])
  })

  it('refuses a secret on the command line without printing it', async () => {
    const h = tempHome()
    const s = secret()
    const id = newKeyId()
    for (const args of [
      ['--profile', 'x', '--access-key-id', id, '--secret-access-key', s],
      ['--profile', 'x', '--access-key-id', id, `--secret=${s}`],
      ['--profile', 'x', '--access-key-id', id, s],
    ]) {
      const r = await psb(args, h, {env: {AWS_SECRET_ACCESS_KEY: secret()}})
      expect(r.code, r.stderr).to.equal(2)
      expect(existsSync(h.credentialsFile)).to.equal(false)
    }
    const r = await psb(['--profile', 'x', '--access-key-id', id, '--secret-access-key', s, '--json'], h)
    expect(JSON.parse(r.stdout).error.code).to.equal('SecretOnCommandLine')
  })

  it('exit 2 for a file it cannot parse, naming the line; exit 1 when it cannot write', async () => {
    const h = tempHome()
    const broken = '[a]\nk = v\n[b] garbage\n'
    writeFileSync(h.credentialsFile, broken)
    const r = await psb(['--profile', 'x', '--access-key-id', newKeyId(), '--secret-stdin'], h, {input: secret()})
    expect(r.code).to.equal(2)
    expect(r.stderr).to.contain(`${h.credentialsFile}, line 3`)
    expect(readFileSync(h.credentialsFile, 'utf8')).to.equal(broken)
    writeFileSync(h.path('plain-file'), '')
    const r2 = await psb(['--profile', 'x', '--access-key-id', newKeyId(), '--secret-stdin'], h, {input: secret(), env: {AWS_SHARED_CREDENTIALS_FILE: h.path('plain-file', 'credentials')}})
    expect(r2.code).to.equal(1)
    expect(r2.stderr).to.match(/Cannot (read|create the folder) .*plain-file.*not a directory/)
  })

  it('a read-only (0400) credentials file: exit 1, untouched and still 0400, the hint says chmod u+w', async () => {
    const h = tempHome()
    const before = Buffer.from('# caf\u00e9 \n[keep]\nk = v\n', 'latin1')
    writeFileSync(h.credentialsFile, before, {mode: 0o400})
    chmodSync(h.credentialsFile, 0o400)
    const r = await psb(['--profile', 'p', '--access-key-id', newKeyId(), '--secret-stdin'], h, {input: secret()})
    expect(r.code, r.stderr).to.equal(1)
    expect(r.stderr).to.include('is read-only')
    expect(r.stderr).to.include(`chmod u+w ${h.credentialsFile}`)
    expect(readFileSync(h.credentialsFile).equals(before)).to.equal(true)
    expect(statSync(h.credentialsFile).mode & 0o777).to.equal(0o400)
    expect(awsDirEntries(h).filter((n) => /psb-(tmp|lock|backup)/.test(n))).to.deep.equal([])
    // Made writable, the same write goes through and keeps the Latin-1 byte of the comment.
    chmodSync(h.credentialsFile, 0o600)
    const ok = await psb(['--profile', 'p', '--access-key-id', newKeyId(), '--secret-stdin'], h, {input: secret()})
    expect(ok.code, ok.stderr).to.equal(0)
    expect(readFileSync(h.credentialsFile).subarray(0, before.length).equals(before)).to.equal(true)
  })

  it('20 processes at once on 20 profiles: all 20 are there', async () => {
    const h = tempHome()
    writeFileSync(h.credentialsFile, '# existing\n[keep]\nk = v\n')
    const want = Array.from({length: 20}, (_, i) => ({profile: `p${i}`, id: newKeyId(), secret: secret()}))
    const results = await Promise.all(
      want.map((w) => psb(['--profile', w.profile, '--access-key-id', w.id, '--region', 'us-east-1', '--secret-stdin'], h, {input: w.secret})),
    )
    for (const r of results) expect(r.code, r.stderr).to.equal(0)
    const p = await sdkProfiles(h)
    for (const w of want) expect(p[w.profile], w.profile).to.deep.equal({aws_access_key_id: w.id, aws_secret_access_key: w.secret})
    expect(p.keep).to.deep.equal({k: 'v'})
    const conf = (await loadSharedConfigFiles({filepath: h.credentialsFile, configFilepath: h.configFile, ignoreCache: true})).configFile
    expect(Object.keys(conf).sort()).to.deep.equal(want.map((w) => w.profile).sort())
    expect(readFileSync(h.credentialsFile, 'utf8').startsWith('# existing\n[keep]\nk = v\n')).to.equal(true)
    expect(listBackups(h.credentialsFile).length).to.be.within(1, 5)
    expect(awsDirEntries(h).filter((n) => /psb-(tmp|lock)/.test(n))).to.deep.equal([])
  })

  it('a writer killed before its rename leaves the old file, and its lock does not block the next run', async () => {
    const h = tempHome()
    const old = Array.from({length: 500}, (_, i) => `[old${i}]\naws_access_key_id = ${newKeyId()}\naws_secret_access_key = x${i}/secretsecretsecret\n`).join('\n')
    writeFileSync(h.credentialsFile, old, {mode: 0o600})
    const child = spawn(process.execPath, [RUN_JS, 'creds', 'write', '--profile', 'victim', '--access-key-id', newKeyId(), '--secret-stdin'], {
      cwd: h.dir,
      env: {...baseEnv(h.dir), PSB_TEST_PAUSE_BEFORE_RENAME_MS: '20000'},
      stdio: ['pipe', 'ignore', 'ignore'],
    })
    child.stdin.end(secret())
    const closed = new Promise((r) => child.on('close', r))
    const deadline = Date.now() + 20000
    while (!awsDirEntries(h).some((n) => n.includes('.psb-tmp-')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    await new Promise((r) => setTimeout(r, 200))
    child.kill('SIGKILL')
    await closed
    expect(readFileSync(h.credentialsFile, 'utf8')).to.equal(old)
    expect(existsSync(lockPathFor(h.credentialsFile)), 'the killed writer held the lock').to.equal(true)
    expect(awsDirEntries(h).some((n) => n.includes('.psb-tmp-'))).to.equal(true)

    const id = newKeyId()
    const t0 = Date.now()
    const r = await psb(['--profile', 'next', '--access-key-id', id, '--secret-stdin'], h, {input: secret()})
    expect(r.code, r.stderr).to.equal(0)
    expect(Date.now() - t0, 'the stale lock was broken at once').to.be.lessThan(10000)
    const text = readFileSync(h.credentialsFile, 'utf8')
    expect(text.startsWith(old)).to.equal(true)
    expect((await sdkProfiles(h)).next.aws_access_key_id).to.equal(id)
    expect(awsDirEntries(h).filter((n) => /psb-(tmp|lock)/.test(n))).to.deep.equal([])
  })

  it('writers killed at random moments leave the old file or the new one, never a mix', async () => {
    const h = tempHome()
    let current = Array.from({length: 10000}, (_, i) => `[p${i}]\naws_access_key_id = AKIA${String(i).padStart(16, '0')}\naws_secret_access_key = secret/${i}/secretsecret\n`).join('')
    writeFileSync(h.credentialsFile, current, {mode: 0o600})
    const outcomes: string[] = []
    const lock = lockPathFor(h.credentialsFile)
    const temps = () => awsDirEntries(h).filter((n) => n.startsWith('.credentials.psb-tmp-'))
    /** Starts a writer; resolves when it holds the lock, with the time the lock appeared. */
    async function start(profile: string, id: string, s: string, pauseMs = 0) {
      const child = spawn(process.execPath, [RUN_JS, 'creds', 'write', '--profile', profile, '--access-key-id', id, '--secret-stdin'], {
        cwd: h.dir,
        env: {...baseEnv(h.dir), ...(pauseMs ? {PSB_TEST_PAUSE_BEFORE_RENAME_MS: String(pauseMs)} : {})},
        stdio: ['pipe', 'ignore', 'ignore'],
      })
      child.stdin.end(s)
      const closed = new Promise((r) => child.on('close', r))
      const deadline = Date.now() + 15000
      while (!existsSync(lock) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setImmediate(r))
      return {child, closed, locked: Date.now()}
    }
    // How long a writer holds the lock on this file, so the kills land anywhere inside it.
    const first = await start('measure', newKeyId(), secret())
    while (existsSync(lock)) await new Promise((r) => setImmediate(r))
    const held = Math.min(400, Math.max(20, Date.now() - first.locked))
    await first.closed
    current = readFileSync(h.credentialsFile, 'utf8')
    for (let round = 0; round < 8; round++) {
      const profile = `kill${round}`
      const id = newKeyId()
      const s = secret()
      const planned = await editIniFile(h.credentialsFile, (doc) => setSectionKeys(doc, profile, {aws_access_key_id: id, aws_secret_access_key: s, aws_session_token: undefined, aws_security_token: undefined}), {dryRun: true})
      // Even rounds: killed while the new file is written but not yet renamed (the writer
      // pauses before its rename; the kill lands at a random moment of the pause, and the
      // temp file is there when it does). Odd rounds: anywhere from "just locked" to "long
      // done" (the lock time varies a lot on a busy machine).
      const midWrite = round % 2 === 0
      const leftBefore = new Set(temps())
      const fresh = () => temps().filter((n) => !leftBefore.has(n))
      const {child, closed} = await start(profile, id, s, midWrite ? 3000 : 0)
      if (midWrite) {
        const deadline = Date.now() + 15000
        while (!fresh().length && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 1000)))
        const [tmp] = fresh()
        expect(tmp, `round ${round}: no temp file at the kill`).to.be.a('string')
        // The temp file is complete (written and fsync'ed before the pause): the kill lands between write and rename.
        expect(readFileSync(h.path('.aws', tmp), 'utf8'), `round ${round}: the temp file`).to.equal(planned.after)
      } else await new Promise((r) => setTimeout(r, Math.floor(Math.random() * held * 3)))
      child.kill('SIGKILL')
      await closed
      const now = readFileSync(h.credentialsFile, 'utf8')
      if (midWrite) expect(now === current, `round ${round}: killed before the rename, the file must be the old one, whole`).to.equal(true)
      if (now === current) outcomes.push('old')
      else {
        expect(now, `round ${round}: neither the old nor the new file`).to.equal(planned.after)
        outcomes.push('new')
        current = now
      }
      parseIni(now)
    }
    if (process.env.PSB_TEST_VERBOSE) console.log(`lock held ${held} ms; outcomes: ${outcomes.join(', ')}`)
    // The next run is never blocked by what the killed ones left.
    const r = await psb(['--profile', 'final', '--access-key-id', newKeyId(), '--secret-stdin'], h, {input: secret()})
    expect(r.code, `${outcomes.join(',')} ${r.stderr}`).to.equal(0)
    expect(awsDirEntries(h).filter((n) => /psb-(tmp|lock)/.test(n))).to.deep.equal([])
  })

  it('--help explains the command to a newcomer', async () => {
    const h = tempHome()
    const r = await runPsb(['creds', 'write', '--help'], h)
    expect(r.code).to.equal(0)
    for (const s of ['--profile', '--access-key-id', '--region', '--secret-stdin', '--secret-env', '--dry-run', '--json', 'EXAMPLES', 'never a command-line argument']) {
      expect(r.stdout).to.contain(s)
    }
  })
})
