import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {Config, type Command} from '@oclif/core'
import {ROOT, RUN_JS, TempHome, baseEnv, runNode, runPsb} from '../support/cli.js'

// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[0-9;?]*[A-Za-z]/

/** Command ids and topics from the built command files (dist/commands). */
function builtCommands(): {ids: string[]; topics: string[]} {
  const dir = join(ROOT, 'dist', 'commands')
  const ids: string[] = []
  const topics: string[] = []
  const walk = (d: string, prefix: string[]) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name)
      if (statSync(p).isDirectory()) {
        if (prefix.length === 0) topics.push(name)
        walk(p, [...prefix, name])
      } else if (name.endsWith('.js')) ids.push([...prefix, name.slice(0, -3)].join(' '))
    }
  }
  walk(dir, [])
  return {ids, topics}
}

let configPromise: Promise<Config> | undefined
/** The CLI's oclif configuration, loaded in-process from the built files. */
function loadConfig(): Promise<Config> {
  configPromise ??= Config.load({root: ROOT})
  return configPromise
}

describe('psb foundation (subprocess)', () => {
  let home: TempHome
  beforeEach(() => {
    home = new TempHome()
  })
  afterEach(() => home.cleanup())

  it('psb --help lists every command and topic with a description', async () => {
    const r = await runPsb(['--help'], home)
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.match(/^Set up and maintain a hardened, self-managed Pulumi state backend/)
    const {ids, topics} = builtCommands()
    expect(ids).to.include('login')
    const topLevel = ids.filter((id) => !id.includes(' '))
    for (const name of [...topLevel, ...topics]) {
      // `  name   Description...`
      expect(r.stdout, name).to.match(new RegExp(`^  ${name} +\\S.{10,}`, 'm'))
    }
    expect(r.stdout).to.match(/^ {2}help +Display help for psb/m)
    // examples of how the commands fit together, each naming a real command
    const examples = r.stdout.slice(r.stdout.indexOf('\nEXAMPLES\n'))
    expect(examples).to.match(/\$ psb init --bucket /)
    for (const m of examples.matchAll(/\$ psb ([a-z]+(?: [a-z]+)?) /g)) {
      const id = ids.includes(m[1]) ? m[1] : m[1].split(' ')[0]
      expect(ids, m[0]).to.include(id)
    }
    expect(r.stdout).to.not.match(ANSI)
  })

  it('bin/dev.js runs psb from the TypeScript sources', async () => {
    const r = await runNode([join(ROOT, 'bin', 'dev.js'), 'creds', 'write', '--help'], {env: baseEnv(home.dir), cwd: ROOT})
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.match(/^Write an access key/)
    expect(r.stderr).to.equal('')
  })

  it('a closed pipe (psb ... | head) is not an error', async () => {
    const r = await runNode(['-e', `
      const {spawn} = require('node:child_process')
      const psb = spawn(process.execPath, [${JSON.stringify(RUN_JS)}, 'creds', 'write', '--help'], {stdio: ['ignore', 'pipe', 'pipe']})
      let err = ''
      psb.stderr.on('data', (d) => (err += d))
      psb.stdout.once('data', () => psb.stdout.destroy())
      psb.on('close', (code) => { process.stdout.write(JSON.stringify({code, err})) })
    `], {env: baseEnv(home.dir)})
    const out = JSON.parse(r.stdout) as {code: number; err: string}
    expect(out.err).to.not.match(/unsettled top-level await|EPIPE/)
    expect(out.code).to.equal(0)
  })

  it('every command has a summary, a description, examples, and a description on each flag', async () => {
    const config = await loadConfig()
    const ours = config.commands.filter((c) => c.pluginName === 'psb')
    expect(ours.map((c) => c.id)).to.include('login')
    for (const cmd of ours) {
      const loaded = (await cmd.load()) as Command.Class
      expect(loaded.summary ?? loaded.description, `${cmd.id} summary`).to.be.a('string').with.length.greaterThan(10)
      expect(loaded.description, `${cmd.id} description`).to.be.a('string').with.length.greaterThan(40)
      expect(loaded.examples?.length ?? 0, `${cmd.id} examples`).to.be.greaterThan(0)
      for (const [name, flag] of Object.entries(cmd.flags)) {
        expect(flag.description ?? flag.summary, `${cmd.id} --${name}`).to.be.a('string').with.length.greaterThan(5)
      }
    }
  })

  it('psb --version prints name, version, platform and node', async () => {
    const r = await runPsb(['--version'], home)
    expect(r.code, r.stderr).to.equal(0)
    expect(r.stdout).to.match(/^psb\/0\.1\.0 \S+ node-v\d+\.\d+\.\d+\n$/)
  })

  it('an unknown command is bad input (exit 2) with "Did you mean", on a terminal and off one', async function () {
    const r = await runPsb(['logn'], home)
    expect(r.code).to.equal(2)
    expect(r.stderr).to.include('"logn" is not a psb command. Did you mean "psb login"?')
    expect(r.stderr).to.match(/^Hint: Run `psb --help` for the list of commands\.$/m)
    // On a terminal too: no prompt, the same answer (`script` gives the CLI a terminal).
    const script = spawnSync('script', ['--version'], {encoding: 'utf8'})
    if (script.error) {
      // Skipped only off CI, on a machine without util-linux's `script` (no pseudo-terminal).
      if (process.env.CI) throw new Error('`script` (util-linux) is needed for the terminal test')
      this.skip()
    }
    const tty = spawnSync('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(RUN_JS)} logn`, '/dev/null'], {
      encoding: 'utf8',
      env: {...baseEnv(home.dir), NO_COLOR: '1'},
      timeout: 30_000,
    })
    expect(tty.stdout).to.include('Did you mean "psb login"?')
    expect(tty.status).to.equal(2)
  })

  it('a bad flag: exit 2, a clear message, no stack trace; DEBUG=1 adds the stack', async () => {
    const r = await runPsb(['login', '--bucket', 'b', '--region', 'us-east-1', '--no-such-flag'], home)
    expect(r.code).to.equal(2)
    expect(r.stderr).to.match(/^Error: Nonexistent flag: "--no-such-flag"\./m)
    expect(r.stderr).to.match(/^Hint: /m)
    expect(r.stderr).to.not.match(/^\s+at /m)
    expect(r.stdout).to.equal('')
    const debug = await runPsb(['login', '--bucket', 'b', '--region', 'us-east-1', '--no-such-flag'], home, {env: {DEBUG: '1'}})
    expect(debug.code).to.equal(2)
    expect(debug.stderr).to.match(/^\s+at .*\.js:\d+:\d+\)?$/m)
    // The bundle's source maps: the trace names psb's sources, not the chunk it runs from.
    expect(debug.stderr).to.match(/^\s+at .*src\/cli\/base-command\.ts:\d+:\d+\)?$/m)
  })

  it('--json errors are one JSON document on stdout', async () => {
    const r = await runPsb(['login', '--bucket', 'Not_A_Bucket', '--region', 'us-east-1', '--json'], home)
    expect(r.code).to.equal(2)
    const doc = JSON.parse(r.stdout)
    expect(doc.error).to.include({code: 'BucketNameInvalid', exitCode: 2})
  })

  it('refuses to run on Node < 22 with a one-line message (exit 2)', async () => {
    // A real old Node when the machine has one (Debian's /usr/bin/node is 20 here); else this
    // Node with process.versions.node set to 20 by a preload: the hook reads only that.
    const systemNode = '/usr/bin/node'
    const systemVersion = existsSync(systemNode) ? spawnSync(systemNode, ['-p', 'process.versions.node'], {encoding: 'utf8'}).stdout.trim() : ''
    let command: string[]
    let version: string
    if (systemVersion && Number(systemVersion.split('.')[0]) < 22) {
      command = [systemNode]
      version = systemVersion
    } else {
      version = '20.11.1'
      const preload = join(home.dir, 'node20.mjs')
      writeFileSync(preload, `Object.defineProperty(process.versions, 'node', {value: '${version}'})\n`)
      command = [process.execPath, '--import', preload]
    }
    const r = spawnSync(command[0], [...command.slice(1), RUN_JS, '--version'], {env: baseEnv(home.dir), cwd: home.dir, encoding: 'utf8', timeout: 60_000})
    expect(r.status, r.stderr).to.equal(2)
    // Exactly one line on stderr (oclif's own engines warning is switched off in bin/run.js).
    expect(r.stderr).to.equal(`Error: psb needs Node.js 22 or newer, and this is Node.js ${version}; install Node.js 22 (for example \`npm install -g node@22\`) and run psb again.\n`)
    expect(r.stdout).to.equal('')
  }).timeout(60_000)

  describe('a missing or misspelled AWS profile (the aws-profile init hook)', () => {
    let adminCommand: string[] | undefined
    before(async () => {
      const config = await loadConfig()
      const cmd = config.commands.find((c) => c.pluginName === 'psb' && c.flags['admin-profile'])
      adminCommand = cmd?.id.split(':')
    })
    beforeEach(function () {
      // Fails rather than skips: psb's AWS commands all take --admin-profile.
      expect(adminCommand, 'a command with --admin-profile').to.not.equal(undefined)
      writeFileSync(home.credentialsFile, '[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = x\n')
      writeFileSync(home.configFile, '[profile admin]\nregion = us-east-1\n\n[profile production]\nregion = eu-west-1\n')
    })

    it('--admin-profile with a typo: exit 2, the closest profile and the list, before any AWS call', async () => {
      const log = home.path('calls.log')
      const r = await runPsb([...adminCommand!, '--admin-profile', 'prodution', '--region', 'us-east-1'], home, {env: {PSB_CALL_LOG: log}})
      expect(r.code, r.stderr).to.equal(2)
      expect(r.stderr).to.include('The AWS profile "prodution" (from --admin-profile) does not exist. Did you mean "production"?')
      expect(r.stderr).to.include('Profiles found: admin, default, production.')
      expect(r.stderr).to.not.match(/^\s+at /m)
      expect(existsSync(log)).to.equal(false)
    })

    it('AWS_PROFILE with a typo: the same, and --json gives the error as JSON', async () => {
      const r = await runPsb([...adminCommand!, '--region', 'us-east-1', '--json'], home, {env: {AWS_PROFILE: 'admn'}})
      expect(r.code).to.equal(2)
      const doc = JSON.parse(r.stdout)
      expect(doc.error.code).to.equal('ProfileNotFound')
      expect(doc.error.message).to.include('"admn" (from AWS_PROFILE) does not exist. Did you mean "admin"?')
    })
  })

  it('colour only when asked: none on a pipe or with NO_COLOR; FORCE_COLOR turns it on', async () => {
    const args = ['login', '--region', 'us-east-1']
    const plain = await runPsb(args, home)
    expect(plain.code).to.equal(2)
    expect(plain.stderr).to.include('Error:')
    expect(plain.stderr).to.not.match(ANSI)
    const forced = await runPsb(args, home, {env: {FORCE_COLOR: '1'}})
    expect(forced.stderr).to.match(ANSI)
    const no = await runPsb(args, home, {env: {FORCE_COLOR: '1', NO_COLOR: '1'}})
    expect(no.stderr).to.not.match(ANSI)
    const help = await runPsb(['login', '--help'], home, {env: {NO_COLOR: '1'}})
    expect(help.stdout).to.include('EXAMPLES')
    expect(help.stdout).to.not.match(ANSI)
  })
})
