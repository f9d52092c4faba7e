/**
 * Verify's check units that need no AWS call, run with a hand-made context (the AWS ones
 * are covered against moto in test/moto/verify.test.ts), and the verify rendering.
 */
import {expect} from 'chai'
import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Chalk} from 'chalk'
import type {VerifyContext, VerifyOptions} from '../../src/lib/verify/run.js'
import {credentialsFileCheck} from '../../src/lib/verify/checks/files.js'
import {keyAgeVerdict, keyCountCheck} from '../../src/lib/verify/checks/keys.js'
import {judgeLogin, pulumiBackendEnvCheck, pulumiCliCheck} from '../../src/lib/verify/checks/pulumi.js'
import {renderVerify, verifyDocument} from '../../src/cli/checks.js'

const URL = 's3://state?region=eu-west-1&awssdk=v2&profile=p'
const KEY = 'AKIAIOSFODNN7EXAMPLE'
const OTHER = 'AKIAI44QH8DHBEXAMPLE'

function context(over: Partial<VerifyContext> = {}, opts: Partial<VerifyOptions> = {}): VerifyContext {
  return {
    opts: {profile: 'p', bucket: 'state', region: 'eu-west-1', ...opts},
    env: {},
    now: () => new Date('2026-06-01T00:00:00Z'),
    maxAgeDays: 90,
    aws: undefined as never,
    who: 'profile p',
    bucketArn: 'arn:aws:s3:::state',
    facts: {identity: {account: '123456789012', arn: 'arn:aws:iam::123456789012:user/pulumi', user: 'pulumi', accessKeyId: KEY}, url: URL},
    ...over,
  }
}

describe('verify checks (no AWS call)', () => {
  it('key-age: passes a young key, warns an old one with a rotate hint, masks key ids', () => {
    const v = context()
    const id = v.facts.identity!
    const young = keyAgeVerdict(v, id, [{AccessKeyId: KEY, CreateDate: new Date('2026-05-31T00:00:00Z')}])
    expect(young).to.deep.equal({status: 'pass', detail: 'AKIA…MPLE is 1 day old'})
    const old = keyAgeVerdict(v, id, [{AccessKeyId: KEY, CreateDate: new Date('2026-01-01T00:00:00Z')}])
    expect(old.status).to.equal('warn')
    expect(old.hint).to.equal('Rotate it: `psb keys rotate --profile p`.')
    expect(keyAgeVerdict(v, id, [{AccessKeyId: OTHER}]).detail).to.match(/is not among user pulumi's keys/)
    expect(JSON.stringify([young, old])).to.not.include(KEY)
  })

  it('key-count: no line when the keys could not be listed; one key passes; two warn, naming the other masked', async () => {
    expect(await keyCountCheck.run(context())).to.equal(undefined)
    const one = context()
    one.facts.accessKeys = [{AccessKeyId: KEY, Status: 'Active'}]
    expect(await keyCountCheck.run(one)).to.deep.equal({status: 'pass', detail: '1 key'})
    const two = context()
    two.facts.accessKeys = [{AccessKeyId: KEY, Status: 'Active'}, {AccessKeyId: OTHER, Status: 'Inactive'}]
    const r = await keyCountCheck.run(two)
    expect(r?.status).to.equal('warn')
    expect(r?.detail).to.include('2 keys (1 active)').and.not.include(OTHER)
  })

  it('pulumi: no Pulumi check with pulumi false; PULUMI_BACKEND_URL elsewhere fails, the same URL passes', async () => {
    expect(await pulumiCliCheck.run(context({}, {pulumi: false}))).to.equal(undefined)
    expect(await pulumiBackendEnvCheck.run(context())).to.deep.equal({status: 'pass', detail: 'not set'})
    expect(await pulumiBackendEnvCheck.run(context({env: {PULUMI_BACKEND_URL: URL}}))).to.deep.equal({status: 'pass', detail: 'set to the expected URL'})
    const other = await pulumiBackendEnvCheck.run(context({env: {PULUMI_BACKEND_URL: 's3://elsewhere'}}))
    expect(other?.status).to.equal('fail')
  })

  it('pulumi-login: judges the reported URL by meaning (same, other parameters, other backend)', () => {
    const v = context()
    expect(judgeLogin(v, URL, '').status).to.equal('pass')
    expect(judgeLogin(v, 's3://state?region=eu-west-1&awssdk=v2&profile=other', '').status).to.equal('warn')
    const f = judgeLogin(v, 's3://elsewhere?region=eu-west-1', '')
    expect(f.status).to.equal('fail')
    expect(f.hint).to.equal(`Log in: \`psb login --bucket state --region eu-west-1 --profile p\` (or \`pulumi login '${URL}'\`).`)
  })

  it('credentials-file: 0600 passes, 0644 fails with chmod, a missing file fails only when the key came from it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psb-verify-'))
    try {
      const file = join(dir, 'credentials')
      const env = {AWS_SHARED_CREDENTIALS_FILE: file}
      expect(credentialsFileCheck.run(context({env}))).to.include({status: 'warn'})
      expect(credentialsFileCheck.run(context({env, fileCreds: {accessKeyId: KEY, secretAccessKey: 'x'}}))).to.include({status: 'fail'})
      writeFileSync(file, '[p]\n', {mode: 0o600})
      chmodSync(file, 0o600)
      expect(credentialsFileCheck.run(context({env}))).to.deep.equal({status: 'pass', detail: `${file} is 0600`})
      chmodSync(file, 0o644)
      expect(credentialsFileCheck.run(context({env}))).to.deep.include({status: 'fail', hint: `chmod 600 ${file}`})
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('renders the verify header and checklist, and the --json document', () => {
    const opts: VerifyOptions = {profile: 'p', bucket: 'state', prefix: 'team', region: 'eu-west-1'}
    const r = {ok: true, checks: [{id: 'credentials', title: 'Profile credentials resolve', status: 'pass' as const}]}
    const text = renderVerify(opts, r, new Chalk({level: 0}))
    expect(text.split('\n')[0]).to.equal('psb verify: profile p, s3://state/team/ (eu-west-1)')
    expect(text).to.include('Profile credentials resolve').and.include('1 check: 1 passed')
    expect(verifyDocument(opts, r)).to.deep.equal({ok: true, profile: 'p', bucket: 'state', prefix: 'team', region: 'eu-west-1', url: null, identity: null, checks: r.checks})
  })
})
