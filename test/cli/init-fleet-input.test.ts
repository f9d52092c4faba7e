/**
 * `psb init` over many targets: every bad input is exit 2 before any AWS call (the endpoint
 * is a closed port: a call would fail with exit 1), and the credentials file is untouched.
 */
import {expect} from 'chai'
import {readFileSync, writeFileSync} from 'node:fs'
import {TempHome, runPsb} from '../support/cli.js'

const A = '111111111111'
const B = '222222222222'

describe('psb init over many targets: bad input is exit 2, before any AWS call', function () {
  this.timeout(60_000)
  let home: TempHome
  const CREDS = '[admin]\naws_access_key_id = AKIAADMINADMINADMIN1\naws_secret_access_key = adminadminadminadminadminadminadminadmin\n[admin2]\naws_access_key_id = AKIAADMINADMINADMIN2\naws_secret_access_key = adminadminadminadminadminadminadminadmi2\n'
  beforeEach(() => {
    home = new TempHome('psb-fleet-input-')
    writeFileSync(home.credentialsFile, CREDS, {mode: 0o600})
  })
  afterEach(() => home.cleanup())

  const cases: {name: string; args: string[]; says: RegExp}[] = [
    {name: 'an account id that is not 12 digits', args: ['--target', '12345/us-east-1'], says: /account id "12345" is not 12 digits/},
    {name: 'a region AWS does not list', args: ['--target', `${A}/us-east-9`], says: /region/i},
    {name: 'the same target twice', args: ['--target', `${A}/us-east-1`, '--target', `${A}/us-east-1`], says: /given twice/},
    {name: 'a bucket template giving an invalid name', args: ['--target', `${A}/us-east-1`, '--bucket-template', 'State_{account}'], says: /target 111111111111\/us-east-1/},
    {name: 'an unknown placeholder', args: ['--target', `${A}/us-east-1`, '--bucket-template', 'state-{acount}-{region}'], says: /Did you mean \{account\}/},
    {name: 'a profile template giving one profile to two targets', args: ['--target', `${A}/us-east-1`, '--target', `${B}/us-east-1`, '--profile-template', 'pulumi-{region}'], says: /share the profile pulumi-us-east-1/},
    {name: '--bucket with targets', args: ['--target', `${A}/us-east-1`, '--bucket', 'one-bucket'], says: /--bucket cannot be combined with --target/},
    {name: '--profile with targets', args: ['--target', `${A}/us-east-1`, '--profile', 'p'], says: /--profile cannot be combined/},
    {name: '--kms-key with targets', args: ['--target', `${A}/us-east-1`, '--kms-key', 'alias/x'], says: /--kms-key cannot be combined/},
    {name: '--secrets kms: a target whose KMS alias would be invalid', args: ['--target', `${A}/us-east-1 prefix=${'p'.repeat(240)}`, '--secrets', 'kms'], says: /alias/i},
    {name: '--keyless --retire-user with targets', args: ['--target', `${A}/us-east-1`, '--keyless', '--retire-user', 'pulumi', '--yes'], says: /--retire-user cannot be combined with --target.*lives in one account/},
    {name: '--keyless: a target profile holding a key in the credentials file', args: ['--target', `${A}/us-east-1 profile=admin2`, '--keyless'], says: /profile "admin2" holds an access key/},
    {name: '--keyless: a --role that makes a role name too long', args: ['--target', `${A}/ap-southeast-2`, '--keyless', '--role', 'r'.repeat(60)], says: /too long/},
    {name: '--keyless: a bad --trust among several', args: ['--target', `${A}/us-east-1`, '--keyless', '--trust', 'github:acme/infra', '--trust', 'github:*'], says: /trust/i},
    {name: '--no-iam with targets', args: ['--target', `${A}/us-east-1`, '--no-iam'], says: /--no-iam cannot be combined/},
    {name: '--ou without --org-accounts', args: ['--target', `${A}/us-east-1`, '--ou', 'ou-ab12-cd34ef56'], says: /--ou and --exclude filter --org-accounts/},
    {name: 'a shard out of range', args: ['--target', `${A}/us-east-1`, '--shard', '3/2'], says: /--shard "3\/2" is not I\/N/},
    {name: 'a role ARN instead of a role name', args: ['--target', `${A}/us-east-1`, '--assume-role-name', `arn:aws:iam::${A}:role/x`], says: /is not an IAM role name/},
    {name: '--confirmations outside its limits with targets', args: ['--target', `${A}/us-east-1`, '--confirmations', '11'], says: /--confirmations "11" is not a whole number from 1 to 10/},
    {name: '--interval too long for --wait with targets', args: ['--target', `${A}/us-east-1`, '--confirmations', '3', '--interval', '30s', '--wait', '10s'], says: /--wait 10s is too short for 3 confirmations/},
    {name: '--concurrency 0', args: ['--target', `${A}/us-east-1`, '--concurrency', '0'], says: /concurrency/},
    {name: 'a targets file that cannot be read', args: ['--targets', '/nonexistent/fleet.txt'], says: /--targets .* cannot be read/},
    {name: 'an --exclude that is not an account id', args: ['--org-accounts', '--exclude', '42'], says: /--exclude/},
    {name: 'a fleet flag without targets', args: ['--bucket', 'b', '--shard', '1/2'], says: /--shard applies to a run over several targets/},
    {name: 'a target profile that is the admin profile', args: ['--target', `${A}/us-east-1 profile=admin`], says: /(administrator|admin)/},
  ]

  for (const c of cases) {
    it(c.name, async () => {
      const r = await runPsb(['init', ...c.args, '--admin-profile', 'admin', '--region', 'us-east-1', '--endpoint', 'http://127.0.0.1:9', '--yes', '--json'], home, {env: {PSB_MAX_ATTEMPTS: '1'}})
      expect(r.code, `${r.stdout}\n${r.stderr}`).to.equal(2)
      const doc = JSON.parse(r.stdout) as {error: {message: string; exitCode: number}}
      expect(doc.error.message).to.match(c.says)
      expect(readFileSync(home.credentialsFile, 'utf8')).to.equal(CREDS)
    })
  }

  it('a targets file: its bad line is named', async () => {
    writeFileSync(home.path('fleet.txt'), `# the fleet\n${A}/us-east-1\n\n${B}/eu-west-1 bucket=ok-bucket-name colour=blue\n`)
    const r = await runPsb(['init', '--targets', home.path('fleet.txt'), '--admin-profile', 'admin', '--endpoint', 'http://127.0.0.1:9', '--json'], home)
    expect(r.code).to.equal(2)
    expect(JSON.parse(r.stdout).error.message).to.contain('fleet.txt line 4')
  })
})
