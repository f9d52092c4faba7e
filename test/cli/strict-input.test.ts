/**
 * Exit 2 means nothing changed, and psb never repeats what it was not asked to print (issue 9):
 * every command, run as a real subprocess (the built bin/run.js), with a stray secret-shaped
 * argument or a secret as the value of a flag that rejects it. Each run must exit 2, make no
 * AWS call (a counting server is the endpoint, and PSB_CALL_LOG stays empty), leave the AWS
 * files as they were, and never show the value: not on stdout, stderr, nor in --json.
 * Needs a fresh `npm run build`.
 */
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {CountingServer} from '../support/counting-server.js'
import {RUN_JS, TempHome, baseEnv, runProcess, runPsb} from '../support/cli.js'
import {useMoto} from '../support/moto.js'

/** Shaped like an AWS secret access key (40 characters of base64). */
const SECRET = 'q8Hn2VbR7xYt0LmK4pWz9sJd3GfA6cEeU1oIhN5r'
/** Shaped like a session token / base64 blob with "/" and "+". */
const TOKEN = 'IQoJb3JpZ2luX2VjEJr/+/////////wEaCXVzLWVhc3QtMSJHMEUCIQ'
const KEY_ID = 'AKIAIOSFODNN7EXAMPLE'

const CREDENTIALS = `[ci]\naws_access_key_id = ${KEY_ID}\naws_secret_access_key = ciSecretKeyciSecretKeyciSecretKeyciSecre\n\n[admin]\naws_access_key_id = AKIAI44QH8DHBEXAMPLE\naws_secret_access_key = adminSecretKeyadminSecretKeyadminSecretK\n`
const CONFIG = '[profile ci]\nregion = us-east-1\n\n[profile admin]\nregion = us-east-1\n'

/** A valid base command line for each command (it would call AWS, or Pulumi, if run). */
const COMMANDS: Record<string, string[]> = {
  'bucket create': ['bucket', 'create', '--bucket', 'good-bucket', '--region', 'us-east-1', '--admin-profile', 'admin'],
  'user create': ['user', 'create', '--bucket', 'good-bucket', '--region', 'us-east-1', '--admin-profile', 'admin'],
  'keys rotate': ['keys', 'rotate', '--profile', 'ci', '--region', 'us-east-1'],
  'keys list': ['keys', 'list', '--profile', 'ci', '--region', 'us-east-1'],
  'keys schedule install': ['keys', 'schedule', 'install', '--profile', 'ci', '--every', '30d', '--scheduler', 'systemd', '--region', 'us-east-1'],
  'creds write': ['creds', 'write', '--profile', 'ci', '--access-key-id', KEY_ID],
  login: ['login', '--bucket', 'good-bucket', '--region', 'us-east-1', '--profile', 'ci'],
  verify: ['verify', '--profile', 'ci', '--bucket', 'good-bucket', '--region', 'us-east-1'],
  init: ['init', '--bucket', 'good-bucket', '--region', 'us-east-1', '--user', 'pulumi', '--profile', 'pulumi', '--admin-profile', 'admin', '--yes'],
  destroy: ['destroy', '--bucket', 'good-bucket', '--region', 'us-east-1', '--admin-profile', 'admin', '--yes'],
}

/** A secret given as the value of a flag that rejects it, per command. */
const BAD_FLAG_VALUES: Array<[string, string[]]> = [
  ['bucket create', ['--tag', SECRET]],
  ['bucket create', ['--kms-key', SECRET]],
  ['bucket create', ['--noncurrent-days', SECRET]],
  ['user create', ['--attach-policy', SECRET]],
  ['user create', ['--path', TOKEN]],
  ['keys rotate', ['--profile', SECRET]],
  ['keys rotate', ['--max-age', SECRET]],
  ['keys rotate', ['--bucket', SECRET]],
  ['keys rotate', ['--user', TOKEN]],
  ['keys list', ['--user', TOKEN]],
  ['keys list', ['--profile', SECRET]],
  ['keys schedule install', ['--profile', SECRET]],
  ['keys schedule install', ['--every', SECRET]],
  ['keys schedule install', ['--max-age', SECRET]],
  ['keys schedule install', ['--at', SECRET]],
  ['keys schedule install', ['--random-delay', SECRET]],
  ['creds write', ['--secret-env', SECRET]],
  ['creds write', ['--region', SECRET]],
  ['login', ['--prefix', `${TOKEN}/../x`]],
  ['verify', ['--max-key-age', SECRET]],
  ['verify', ['--profile', TOKEN]],
  ['init', ['--wait', SECRET]],
  ['init', ['--confirmations', SECRET]],
  ['init', ['--interval', TOKEN]],
  ['keys rotate', ['--confirmations', SECRET]],
  ['keys rotate', ['--interval', SECRET]],
  ['init', ['--tag', TOKEN]],
  ['destroy', ['--bucket', SECRET]],
  ['destroy', ['--prefix', `${TOKEN}/../x`]],
]

describe('strict input: exit 2, no AWS call, nothing echoed (subprocess)', function () {
  this.timeout(120_000)
  const server = new CountingServer()
  let home: TempHome

  before(() => server.start())
  after(() => server.stop())
  beforeEach(() => {
    home = new TempHome('psb-strict-')
    writeFileSync(home.credentialsFile, CREDENTIALS, {mode: 0o600})
    writeFileSync(home.configFile, CONFIG, {mode: 0o600})
    server.requests = 0
  })
  afterEach(() => home.cleanup())

  /** Runs psb against the counting server and checks the promises of exit 2. */
  async function expectRefused(args: string[], hidden: string[]): Promise<void> {
    const log = home.path('calls.log')
    const env = {AWS_ENDPOINT_URL: server.endpoint, PSB_CALL_LOG: log, AWS_SECRET_ACCESS_KEY: 'envSecretKeyenvSecretKeyenvSecretKeyenvS', PSB_MAX_ATTEMPTS: '1'}
    for (const json of [false, true]) {
      const r = await runPsb(json ? [...args, '--json'] : args, home, {env})
      const what = `psb ${args.join(' ')}${json ? ' --json' : ''}\n${r.stderr}`
      expect(r.code, what).to.equal(2)
      expect(server.requests, `${what}: AWS calls`).to.equal(0)
      expect(existsSync(log), `${what}: call log`).to.equal(false)
      for (const h of hidden) {
        expect(r.stdout, `${what}: stdout`).to.not.include(h)
        expect(r.stderr, `${what}: stderr`).to.not.include(h)
      }
      expect(r.stderr, what).to.match(/^Error: /m)
      if (json) {
        const doc = JSON.parse(r.stdout)
        expect(doc.error.exitCode, what).to.equal(2)
        expect(JSON.stringify(doc), what).to.not.include(hidden[0])
      }
    }
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(CREDENTIALS)
    expect(readFileSync(home.configFile, 'utf8')).to.equal(CONFIG)
  }

  describe('a stray secret-shaped argument', () => {
    for (const [name, base] of Object.entries(COMMANDS)) {
      it(`psb ${name} … <secret>`, async () => {
        await expectRefused([...base, SECRET], [SECRET])
        await expectRefused([...base, TOKEN], [TOKEN])
      })
    }
  })

  /** The command line with `flag value` in place of the flag's value in it (if any). */
  function withFlag(base: string[], flag: string, value: string): string[] {
    return [...base.filter((a, i, all) => a !== flag && all[i - 1] !== flag), flag, value]
  }

  describe('a secret as the value of a flag that rejects it', () => {
    for (const [name, [flag, value]] of BAD_FLAG_VALUES) {
      it(`psb ${name} ${flag} <secret>`, async () => {
        await expectRefused(withFlag(COMMANDS[name], flag, value), [value.split('/../')[0]])
      })
    }
    for (const name of Object.keys(COMMANDS)) {
      it(`psb ${name} --region <secret>`, async () => {
        await expectRefused(withFlag(COMMANDS[name], '--region', SECRET), [SECRET])
      })
    }
  })

  it('keys rotate --profile ci <stray word>: nothing rotated, not even ci; the word is not taken as a profile', async () => {
    const log = home.path('calls.log')
    const r = await runPsb([...COMMANDS['keys rotate'], 'ci-typo', '--json'], home, {env: {AWS_ENDPOINT_URL: server.endpoint, PSB_CALL_LOG: log}})
    expect(r.code, r.stderr).to.equal(2)
    expect(server.requests).to.equal(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.results, 'no per-profile results: nothing ran').to.equal(undefined)
    expect(doc.error.message).to.equal('Unexpected argument: "ci-typo". psb takes no arguments here, only flags.')
  })

  it('keys rotate with one missing profile among good ones rotates none of them (exit 2, Did you mean)', async () => {
    const r = await runPsb(['keys', 'rotate', '--profile', 'ci', '--profile', 'admni', '--region', 'us-east-1'], home, {env: {AWS_ENDPOINT_URL: server.endpoint}})
    expect(r.code, r.stderr).to.equal(2)
    expect(server.requests).to.equal(0)
    expect(r.stderr).to.include('The AWS profile "admni" (from --profile) does not exist. Did you mean "admin"?')
  })

  it('verify --profile nosuch: exit 2 with "Did you mean", not a failed check (3)', async () => {
    const r = await runPsb(['verify', '--profile', 'cj', '--bucket', 'good-bucket', '--region', 'us-east-1'], home, {env: {AWS_ENDPOINT_URL: server.endpoint}})
    expect(r.code, r.stderr).to.equal(2)
    expect(server.requests).to.equal(0)
    expect(r.stderr).to.include('The AWS profile "cj" (from --profile) does not exist. Did you mean "ci"?')
    expect(r.stderr).to.not.include('psb keys rotate --profile cj')
  })

  it('keys list --user X with no admin profile and no profile: a hint to use --admin-profile', async () => {
    writeFileSync(home.credentialsFile, '[admin]\naws_access_key_id = AKIAI44QH8DHBEXAMPLE\naws_secret_access_key = adminSecretKeyadminSecretKeyadminSecretK\n')
    const r = await runPsb(['keys', 'list', '--user', 'pulumi', '--region', 'us-east-1'], home, {env: {AWS_ENDPOINT_URL: server.endpoint}})
    expect(r.code, r.stderr).to.equal(2)
    expect(server.requests).to.equal(0)
    expect(r.stderr).to.match(/^Hint: .*psb keys list --user pulumi --admin-profile <admin>/m)
  })

  it('init --user a,b: the message says the profile defaults to the user name, and how to choose another', async () => {
    const r = await runPsb(['init', '--user', 'a,b', '--bucket', 'good-bucket', '--region', 'us-east-1', '--yes', '--admin-profile', 'admin'], home, {env: {AWS_ENDPOINT_URL: server.endpoint}})
    expect(r.code, r.stderr).to.equal(2)
    expect(server.requests).to.equal(0)
    expect(r.stderr).to.include('The profile Pulumi gets defaults to the user name (--user "a,b"), which cannot be a profile name')
    expect(r.stderr).to.not.match(/The profile name "a,b"/)
    expect(r.stderr).to.match(/^Hint: .*--profile/m)
  })

  it('a misspelled flag: "Did you mean", and one line about --help', async () => {
    const r = await runPsb(['bucket', 'create', '--buckte', 'good-bucket', '--region', 'us-east-1'], home)
    expect(r.code).to.equal(2)
    expect(r.stderr).to.include('Nonexistent flag: "--buckte". Did you mean --bucket?')
    expect(r.stderr.match(/--help/g) ?? []).to.have.length(1)
  })

  it('a misspelled command: exit 2 off a terminal, with "Did you mean"', async () => {
    const r = await runPsb(['verfy', '--profile', 'ci'], home)
    expect(r.code).to.equal(2)
    expect(r.stderr).to.include('"verfy" is not a psb command. Did you mean "psb verify"?')
    for (const args of [[SECRET], ['bucket', SECRET], ['help', SECRET]]) {
      const long = await runPsb(args, home)
      expect(long.code, args.join(' ')).to.equal(2)
      expect(long.stderr + long.stdout, args.join(' ')).to.not.include(SECRET)
    }
  })

  it('-h works as --help for every command', async () => {
    for (const base of Object.values(COMMANDS)) {
      const id = ['login', 'verify', 'init', 'destroy'].includes(base[0]) ? [base[0]] : base.slice(0, 2)
      const r = await runPsb([...id, '-h'], home)
      expect(r.code, `${id.join(' ')} -h: ${r.stderr}`).to.equal(0)
      expect(r.stdout, id.join(' ')).to.include(`$ psb ${id.join(' ')}`)
    }
  })

})

describe('a terminal 0 columns wide (subprocess on a pseudo-terminal, moto)', function () {
  this.timeout(120_000)
  const moto = useMoto()
  let home: TempHome
  beforeEach(() => {
    home = new TempHome('psb-cols-')
  })
  afterEach(() => home.cleanup())

  it('falls back to 80 columns (no one-character lines) in init\'s task list', async function () {
    const script = spawnSync('script', ['--version'], {encoding: 'utf8'})
    if (script.error) {
      // Skip reason: off CI only, on a machine without util-linux's `script` (no pseudo-terminal); under CI it fails instead.
      if (process.env.CI) throw new Error('`script` (util-linux) is needed for the terminal test')
      this.skip()
    }
    writeFileSync(home.credentialsFile, `[admin]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n`, {mode: 0o600})
    const cmd = [process.execPath, RUN_JS, ...COMMANDS.init, '--endpoint', moto.endpoint, '--no-login', '--no-verify'].map((a) => JSON.stringify(a)).join(' ')
    const r = await runProcess('script', ['-qec', `stty cols 0 rows 0; ${cmd}`, '/dev/null'], {env: {...baseEnv(home.dir), TERM: 'xterm'}})
    // eslint-disable-next-line no-control-regex
    const lines = r.stdout.replaceAll(/\u001B\[[0-9;?]*[A-Za-z]/g, '').split(/\r?\n/)
    expect(r.code, lines.join('\n')).to.equal(0)
    expect(lines.join('\n')).to.include('Bucket s3://good-bucket')
    expect(lines.filter((l) => /^\s*\S\s*$/.test(l)).length, lines.join('\n')).to.be.below(3)
  })
})
