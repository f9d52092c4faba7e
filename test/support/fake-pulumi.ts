/**
 * A fake `pulumi` executable for tests: a small node script in a temp folder that records
 * each call (argv, cwd and the Pulumi/AWS environment) and behaves like the real CLI where
 * psb depends on it:
 *   pulumi version      -> `v<version>`
 *   pulumi login <url>  -> checks the URL's query parameters the way that Pulumi version's
 *                          S3 driver does (unknown ones fail), then writes
 *                          credentials.json {current: url} into PULUMI_CREDENTIALS_PATH,
 *                          else PULUMI_HOME, else ~/.pulumi
 *   pulumi whoami [-v]  -> the user; with -v `User:`, `Organizations:`, `Backend URL:` lines
 *                          (PULUMI_BACKEND_URL wins over the login, as in Pulumi)
 * and can be told to fail a command with a given stderr and exit code.
 *
 *   const fake = new FakePulumi({version: '3.274.1'})
 *   runPsb([...], home, {env: fake.env()})   // PATH with the fake first
 *   fake.calls()                             // what psb ran
 */
import {chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {delimiter, join} from 'node:path'

export interface FakePulumiConfig {
  /** What `pulumi version` reports (without or with the `v`). Default 3.274.1. */
  version?: string
  /** Make a command (`version`, `login`, `whoami`) fail with this stderr and exit code. */
  fail?: {command: string; stderr: string; code: number}
  /** What `whoami -v` reports as the Backend URL instead of the real current login. */
  whoamiUrl?: string
  /** The user whoami reports. Default `fake-user`. */
  user?: string
}

export interface FakePulumiCall {
  argv: string[]
  cwd: string
  env: {
    PULUMI_HOME?: string
    PULUMI_BACKEND_URL?: string
    PULUMI_CREDENTIALS_PATH?: string
    PULUMI_SKIP_UPDATE_CHECK?: string
    AWS_PROFILE?: string
  }
}

const SCRIPT = String.raw`
const fs = require('node:fs')
const path = require('node:path')
const os = require('node:os')
const here = __dirname
const cfg = JSON.parse(fs.readFileSync(path.join(here, 'config.json'), 'utf8'))
const argv = process.argv.slice(2)
const e = process.env
fs.appendFileSync(path.join(here, 'calls.jsonl'), JSON.stringify({argv, cwd: process.cwd(), env: {
  PULUMI_HOME: e.PULUMI_HOME, PULUMI_BACKEND_URL: e.PULUMI_BACKEND_URL, PULUMI_CREDENTIALS_PATH: e.PULUMI_CREDENTIALS_PATH,
  PULUMI_SKIP_UPDATE_CHECK: e.PULUMI_SKIP_UPDATE_CHECK, AWS_PROFILE: e.AWS_PROFILE}}) + '\n')
const args = argv.filter((a) => !a.startsWith('-'))
const cmd = args[0]
if (cfg.fail && cfg.fail.command === cmd) { process.stderr.write(cfg.fail.stderr + '\n'); process.exit(cfg.fail.code) }
// Like Pulumi: the account's home directory (the password database), not $HOME.
const credDir = e.PULUMI_CREDENTIALS_PATH || e.PULUMI_HOME || path.join(os.userInfo().homedir, '.pulumi')
const credFile = path.join(credDir, 'credentials.json')
const version = String(cfg.version || '3.274.1').replace(/^v/, '')
const [maj, min] = version.split('.').map(Number)
const atLeast = (m) => maj > 3 || (maj === 3 && min >= m)
function checkUrl(url) {
  if (!url.startsWith('s3://')) return
  const u = new URL(url)
  const q = [...u.searchParams.keys()]
  let allowed
  if (atLeast(245)) allowed = ['region', 'profile', 'endpoint', 'use_path_style', 's3ForcePathStyle', 'disable_https', 'disableSSL', 'ssetype', 'kmskeyid', 'role', 'fips', 'dualstack', 'hostname_immutable', 'anonymous', 'request_checksum_calculation', 'response_checksum_validation', 'awssdk']
  else if (atLeast(113) && u.searchParams.get('awssdk') === 'v2') allowed = ['awssdk', 'region', 'endpoint', 'profile']
  else if (atLeast(113)) allowed = ['awssdk', 'region', 'endpoint', 'disableSSL', 's3ForcePathStyle', 'profile']
  else allowed = ['region', 'endpoint', 'disableSSL', 's3ForcePathStyle']
  for (const k of q) if (!allowed.includes(k)) {
    process.stderr.write('error: could not log in to the state backend "' + url + '": open bucket ' + url + ': unknown query parameter "' + k + '"\n')
    process.exit(255)
  }
}
function current() {
  try { return JSON.parse(fs.readFileSync(credFile, 'utf8')).current } catch { return undefined }
}
if (cmd === 'version') { process.stdout.write('v' + version + '\n'); process.exit(0) }
if (cmd === 'login') {
  const url = args[1] || e.PULUMI_BACKEND_URL
  if (!url) { process.stderr.write('error: psb-fake: login without a URL\n'); process.exit(255) }
  checkUrl(url)
  let creds = {}
  try { creds = JSON.parse(fs.readFileSync(credFile, 'utf8')) } catch {}
  creds.current = url
  creds.accessTokens = Object.assign({}, creds.accessTokens, {[url]: ''})
  creds.accounts = Object.assign({}, creds.accounts, {[url]: {lastValidatedAt: '0001-01-01T00:00:00Z'}})
  fs.mkdirSync(credDir, {recursive: true})
  fs.writeFileSync(credFile, JSON.stringify(creds, null, 4))
  process.stdout.write('Logged in to fake-host as ' + (cfg.user || 'fake-user') + ' (' + url + ')\n')
  process.exit(0)
}
if (cmd === 'whoami') {
  const url = e.PULUMI_BACKEND_URL || current()
  if (!url) { process.stderr.write('error: this command requires logging in; try running \x60pulumi login\x60 first\n'); process.exit(255) }
  const user = cfg.user || 'fake-user'
  if (argv.includes('-v') || argv.includes('--verbose')) {
    process.stdout.write('Access token source: none\nUser: ' + user + '\nOrganizations: \nBackend URL: ' + (cfg.whoamiUrl || url) + '\nToken type: personal\n')
  } else process.stdout.write(user + '\n')
  process.exit(0)
}
process.stderr.write('error: psb-fake: unknown command ' + JSON.stringify(argv) + '\n')
process.exit(255)
`

export class FakePulumi {
  readonly dir: string
  readonly bin: string

  constructor(config: FakePulumiConfig = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'psb-fake-pulumi-'))
    this.bin = join(this.dir, 'pulumi')
    // CommonJS (.cjs would change the name): a folder-local package.json keeps it CommonJS.
    writeFileSync(join(this.dir, 'package.json'), '{"type": "commonjs"}\n')
    writeFileSync(this.bin, `#!${process.execPath}\n${SCRIPT}`)
    chmodSync(this.bin, 0o755)
    this.configure(config)
  }

  /** Changes how the fake behaves from now on. */
  configure(config: FakePulumiConfig): void {
    writeFileSync(join(this.dir, 'config.json'), JSON.stringify(config))
  }

  /** The calls made so far, in order. */
  calls(): FakePulumiCall[] {
    const file = join(this.dir, 'calls.jsonl')
    if (!existsSync(file)) return []
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as FakePulumiCall)
  }

  /** Environment for a psb run that finds this fake first on PATH. */
  /** PATH with the fake first; PULUMI_HOME in the fake's folder unless given (never the account's real ~/.pulumi). */
  env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
    return {PATH: `${this.dir}${delimiter}${process.env.PATH ?? ''}`, PULUMI_HOME: this.home, ...extra}
  }

  /** The default PULUMI_HOME of env(). */
  get home(): string {
    return join(this.dir, 'pulumi-home')
  }

  cleanup(): void {
    rmSync(this.dir, {recursive: true, force: true})
  }
}
