/**
 * `psb init --no-iam` refuses bad input before any AWS call (exit 2, nothing written): a
 * profile with no store key, IAM-only flags, --access-key-id where psb makes the key itself,
 * a store key that could break the file. (The chain itself runs against MinIO: test/minio.)
 */
import {expect} from 'chai'
import {existsSync, readFileSync} from 'node:fs'
import {TempHome, runPsb} from '../support/cli.js'

describe('psb init --no-iam: bad input, exit 2, no AWS call', function () {
  this.timeout(60_000)
  let home: TempHome
  beforeEach(() => {
    home = new TempHome('psb-noiam-')
  })
  afterEach(() => home.cleanup())

  const base = ['init', '--bucket', 'state', '--region', 'us-east-1', '--endpoint', 'http://127.0.0.1:1', '--profile', 'pulumi', '--yes']
  async function refused(args: string[], input?: string) {
    const log = home.path('calls.log')
    const r = await runPsb(args, home, {env: {PSB_CALL_LOG: log, AWS_ACCESS_KEY_ID: 'minioadmin', AWS_SECRET_ACCESS_KEY: 'minioadmin-secret'}, input})
    expect(r.code, `${r.stdout}\n${r.stderr}`).to.equal(2)
    expect(existsSync(log) ? readFileSync(log, 'utf8') : '').to.equal('')
    expect(existsSync(home.credentialsFile) ? readFileSync(home.credentialsFile, 'utf8') : '').to.equal('')
    return r
  }

  it('a profile that holds no store key, and no --access-key-id: exit 2 naming the store\'s tools', async () => {
    const r = await refused([...base, '--no-iam'])
    expect(r.stderr).to.contain('holds no access key').and.contain('mc admin user add').and.contain('--access-key-id')
  })

  it('IAM-only flags with --no-iam: exit 2', async () => {
    const r = await refused([...base, '--no-iam', '--attach-policy', 'arn:aws:iam::aws:policy/ReadOnlyAccess', '--adopt'])
    expect(r.stderr).to.contain('--attach-policy, --adopt are about the AWS IAM user')
  })

  it('--access-key-id where psb makes the key (AWS, no --endpoint): exit 2', async () => {
    const r = await refused(['init', '--bucket', 'state', '--region', 'us-east-1', '--profile', 'pulumi', '--yes', '--access-key-id', 'AKIAIOSFODNN7EXAMPLE', '--secret-stdin'], 'x'.repeat(40))
    expect(r.stderr).to.contain('--access-key-id is for a store without AWS IAM')
  })

  it('a store key id with "=" or a secret with a space: exit 2, the secret never printed', async () => {
    const a = await refused([...base, '--no-iam', '--access-key-id', 'bad=id', '--secret-stdin'], 'store-secret-1')
    expect(a.stderr).to.contain('contains "="')
    const b = await refused([...base, '--no-iam', '--access-key-id', 'pulumi', '--secret-stdin'], 'two words here')
    expect(b.stderr).to.contain('contains spaces').and.not.contain('two words here')
  })
})
