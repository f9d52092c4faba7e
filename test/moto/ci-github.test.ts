/**
 * `psb ci github` as a user runs it, against moto: the role's ARN looked up by name with the
 * admin's credentials (one iam:GetRole, nothing else), the --json document, a missing role
 * (exit 2, nothing written), --role-arn with no AWS call at all, and --write twice (0 writes).
 */
import {expect} from 'chai'
import {existsSync, mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parse} from 'yaml'
import {IAMClient, CreateRoleCommand} from '@aws-sdk/client-iam'
import {useMoto, ACCOUNT_ID} from '../support/moto.js'
import {runPsb, TempHome} from '../support/cli.js'

const REGION = 'us-east-1'
const TRUST = JSON.stringify({Version: '2012-10-17', Statement: [{Effect: 'Allow', Principal: {AWS: `arn:aws:iam::${ACCOUNT_ID}:root`}, Action: 'sts:AssumeRole'}]})

describe('psb ci github against moto (IAM enforcement on)', function () {
  this.timeout(60_000)
  const moto = useMoto()
  let home: TempHome
  let logDir: string
  beforeEach(() => {
    home = new TempHome()
    logDir = mkdtempSync(join(tmpdir(), 'psb-ci-log-'))
  })
  afterEach(() => {
    home.cleanup()
    rmSync(logDir, {recursive: true, force: true})
  })
  const calls = () => (existsSync(join(logDir, 'calls.log')) ? readFileSync(join(logDir, 'calls.log'), 'utf8').trim().split('\n').filter(Boolean) : [])
  const run = (args: string[]) =>
    runPsb(['ci', 'github', '--repo', 'acme/infra', '--bucket', 'acme-pulumi-state', '--region', REGION, '--stack', 'prod', '--endpoint', moto.endpoint, ...args], home, {
      env: {AWS_ACCESS_KEY_ID: moto.admin.accessKeyId, AWS_SECRET_ACCESS_KEY: moto.admin.secretAccessKey, PSB_CALL_LOG: join(logDir, 'calls.log')},
    })

  it('looks the role up by name (read calls only), prints --json with the workflow, and writes it once (a second --write: 0 writes)', async () => {
    const iam = new IAMClient({region: REGION, endpoint: moto.endpoint, credentials: moto.admin, maxAttempts: 1})
    const arn = (await iam.send(new CreateRoleCommand({RoleName: 'pulumi-ci', Path: '/ci/', AssumeRolePolicyDocument: TRUST}))).Role!.Arn!
    const r = await run(['--role', 'pulumi-ci', '--json'])
    expect(r.code, r.stderr).to.equal(0)
    const doc = JSON.parse(r.stdout)
    expect(doc.roleArn).to.equal(arn).and.to.contain(':role/ci/pulumi-ci')
    expect(doc.status).to.equal('printed')
    expect(parse(doc.workflow).jobs.pulumi.steps[1].with['role-to-assume']).to.equal(arn)
    // Read calls only: the role looked up, nothing changed.
    expect(calls()).to.include('iam GetRole')
    expect(calls().every((c) => /^iam (Get|List)/.test(c))).to.equal(true)

    const path = home.path('repo', '.github', 'workflows', 'pulumi.yml')
    const w1 = await run(['--role', 'pulumi-ci', '--write', path])
    expect(w1.code, w1.stderr).to.equal(0)
    expect(w1.stdout).to.match(/pulumi\.yml: created/)
    const st = statSync(path)
    const w2 = await run(['--role', 'pulumi-ci', '--write', path, '--json'])
    expect(JSON.parse(w2.stdout).status).to.equal('unchanged')
    expect(statSync(path).mtimeMs).to.equal(st.mtimeMs)
  })

  it('a missing role is exit 2 naming it, and nothing is written', async () => {
    const path = home.path('pulumi.yml')
    const r = await run(['--role', 'no-such-role', '--write', path])
    expect(r.code).to.equal(2)
    expect(r.stderr).to.match(/no IAM role no-such-role/)
    expect(existsSync(path)).to.equal(false)
  })

  it('--role-arn makes no AWS call; a file psb did not write is refused (exit 2) unless --force', async () => {
    const arn = `arn:aws:iam::${ACCOUNT_ID}:role/pulumi-state`
    const out = await run(['--role-arn', arn])
    expect(out.code, out.stderr).to.equal(0)
    expect(parse(out.stdout).permissions).to.deep.equal({'id-token': 'write', contents: 'read'})
    expect(calls()).to.deep.equal([])
    const path = home.path('deploy.yml')
    const {writeFileSync} = await import('node:fs')
    writeFileSync(path, 'name: mine\n')
    const refused = await run(['--role-arn', arn, '--write', path, '--json'])
    expect(refused.code).to.equal(2)
    expect(JSON.parse(refused.stdout).error.code).to.equal('WorkflowNotPsbs')
    expect(readFileSync(path, 'utf8')).to.equal('name: mine\n')
    const forced = await run(['--role-arn', arn, '--write', path, '--force'])
    expect(forced.code, forced.stderr).to.equal(0)
    expect(readFileSync(path, 'utf8').split('\n')[0]).to.match(/^# psb-managed/)
  })
})
