/**
 * End to end with the REAL Pulumi CLI on a keyless profile (`psb init --keyless`): the profile
 * in the AWS config file has role_arn + source_profile = the admin profile, and no access key
 * exists for Pulumi anywhere (no AWS_ACCESS_KEY_ID in any environment, nothing for the profile
 * in the credentials file). Pulumi itself assumes the role: every request goes through a
 * counting proxy (test/support/fault-proxy.ts, no fault) in front of moto, which shows
 * Pulumi's AssumeRole calls.
 *
 * Only v3.274.1 (AWS SDK for Go v2): it sends its AssumeRole to the URL's `endpoint` (gocloud
 * sets it as the SDK's base endpoint, which the assume-role STS client inherits). v3.200.0's
 * default SDK v1 sends it to sts.amazonaws.com whatever the URL says and reads no per-service
 * endpoint variable; its `awssdk=v2` mode takes AWS_ENDPOINT_URL_STS but has no path-style
 * addressing, so it cannot reach an emulator's bucket (docs/keyless.md, "Proven where").
 */
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {sharedMoto, type MotoServer} from '../support/moto.js'
import {TempHome, baseEnv, runPsb, type RunResult} from '../support/cli.js'
import {usePulumiBuild} from '../support/pulumi.js'
import {FaultProxy} from '../support/fault-proxy.js'
import {VERIFY_SENTINEL_CALLS, mutatingCalls} from '../support/calls.js'

const REGION = 'us-west-1'
const BUCKET = 'e2e-keyless-state'
const PULUMI_YAML = `name: psb-keyless
runtime: yaml
variables:
  message: hello from a role
outputs:
  message: \${message}
`

describe('end to end: the real Pulumi CLI v3.274.1 on a keyless profile (role_arn + source_profile), against moto', function () {
  this.timeout(240_000)
  const pulumi = usePulumiBuild('v3.274.1')
  let moto: MotoServer
  let home: TempHome
  let proxy: FaultProxy
  let adminCreds: string

  before(async function () {
    this.timeout(60_000)
    moto = await sharedMoto()
    await moto.reset()
    home = new TempHome('psb-e2e-keyless-')
    adminCreds = `[admin]\naws_access_key_id = ${moto.admin.accessKeyId}\naws_secret_access_key = ${moto.admin.secretAccessKey}\n`
    writeFileSync(home.credentialsFile, adminCreds, {mode: 0o600})
    proxy = new FaultProxy(moto.endpoint)
    await proxy.start()
  })
  after(async () => {
    await proxy?.stop()
    home?.cleanup()
  })

  const env = () => ({
    PATH: `${pulumi.build.dir}:${process.env.PATH}`,
    PULUMI_HOME: home.path('.pulumi'),
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    PULUMI_CONFIG_PASSPHRASE: 'keyless e2e',
    PSB_CALL_LOG: home.path('calls.log'),
  })
  const ok = (r: RunResult, what: string) => expect(r.code, `${what} exited ${r.code}\n${r.stdout}\n${r.stderr}`).to.equal(0)
  const init = () => runPsb(['init', '--keyless', '--bucket', BUCKET, '--region', REGION, '--endpoint', proxy.endpoint, '--admin-profile', 'admin', '--json'], home, {env: env(), timeoutMs: 120_000})

  function runPulumi(args: string[], cwd: string): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const e: Record<string, string> = {...baseEnv(home.dir), ...env()}
      delete e.PSB_CALL_LOG
      const child = spawn(pulumi.build.pulumi, [...args, '--non-interactive'], {cwd, env: e, stdio: ['ignore', 'pipe', 'pipe']})
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
      child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
      child.on('error', reject)
      child.on('close', (code, signal) => {
        clearTimeout(timer)
        resolve({code, signal, stdout, stderr})
      })
    })
  }

  it('psb init --keyless logs Pulumi in with the role profile; stack init, up, refresh run as the role, with no access key for Pulumi anywhere', async () => {
    const r = await init()
    ok(r, 'psb init --keyless')
    const doc = JSON.parse(r.stdout)
    expect(doc.backendUrl).to.contain('profile=pulumi-state')
    expect(doc.steps.login.status).to.equal('updated')
    // psb verify (part of init) passes on the role profile, with the real Pulumi's login checked too.
    expect(doc.verify.ok, JSON.stringify(doc.verify.checks.filter((c: {status: string}) => c.status !== 'pass'))).to.equal(true)
    expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(adminCreds)
    expect(readFileSync(home.configFile, 'utf8')).to.match(/^\[profile pulumi-state\]\nrole_arn = arn:aws:iam::\d{12}:role\/pulumi-state\nsource_profile = admin\nregion = us-west-1\n$/)
    expect(readFileSync(home.path('calls.log'), 'utf8')).not.to.contain('CreateAccessKey')

    const dir = home.path('project')
    mkdirSync(dir, {recursive: true})
    writeFileSync(join(dir, 'Pulumi.yaml'), PULUMI_YAML)
    const before = proxy.calls.length
    for (const args of [['stack', 'init', 'dev'], ['up', '--yes', '--skip-preview'], ['refresh', '--yes', '--skip-preview'], ['stack', 'output', 'message']]) {
      const p = await runPulumi(args, dir)
      ok(p, `pulumi ${args.join(' ')}`)
      if (args[0] === 'stack' && args[1] === 'output') expect(p.stdout.trim()).to.equal('hello from a role')
    }
    const pulumiCalls = proxy.calls.slice(before)
    // Pulumi assumed the role with the admin's (source profile's) key, then used the role's session.
    const assumes = pulumiCalls.filter((c) => c.action === 'AssumeRole')
    expect(assumes.length).to.be.greaterThan(0)
    expect(new Set(assumes.map((c) => c.keyId))).to.deep.equal(new Set([moto.admin.accessKeyId]))
    const s3Keys = new Set(pulumiCalls.filter((c) => c.service === 's3').map((c) => c.keyId))
    expect(s3Keys.has(moto.admin.accessKeyId)).to.equal(false)
    expect([...s3Keys].every((k) => k?.startsWith('ASIA'))).to.equal(true)
  })

  it('a second psb init --keyless makes 0 writes (but verify\'s sentinel object)', async () => {
    writeFileSync(home.path('calls.log'), '')
    ok(await init(), 'psb init --keyless (again)')
    expect(mutatingCalls(readFileSync(home.path('calls.log'), 'utf8')).sort()).to.deep.equal(VERIFY_SENTINEL_CALLS)
  })
})
