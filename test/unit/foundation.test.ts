import {expect} from 'chai'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {PsbError, EXIT, badInput, isPsbError, messageOf} from '../../src/lib/errors.js'
import {REDACTED, maskKeyId, redact, redactValue, registerSecret} from '../../src/lib/redact.js'
import {awsCall, translateAwsError, withBackoff, isAccessDenied} from '../../src/lib/aws/errors.js'
import {listProfiles, resolveRegion, requireRegion, configFilePath, credentialsFilePath} from '../../src/lib/files/aws-config.js'
import {checkProfile, adminProfileArg} from '../../src/hooks/init/aws-profile.js'
import {toPsbError} from '../../src/cli/base-command.js'
import {thrown} from '../support/errors.js'

const KEY_ID = 'AKIAIOSFODNN7EXAMPLE'
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'

/** An SDK-shaped error. */
function sdkError(name: string, message: string, status = 403): Error {
  return Object.assign(new Error(message), {name, $metadata: {httpStatusCode: status}})
}


describe('foundation: redaction', () => {
  it('masks access key ids as AKIA…XXXX', () => {
    expect(maskKeyId(KEY_ID)).to.equal('AKIA…MPLE')
    expect(maskKeyId(undefined)).to.equal('')
    expect(maskKeyId('short')).to.equal('…')
    expect(redact(`key ${KEY_ID} and ASIAABCDEFGHIJKLMNOP`)).to.equal('key AKIA…MPLE and ASIA…MNOP')
  })

  it('removes a registered secret wherever it appears', () => {
    registerSecret(SECRET)
    expect(redact(`oops: ${SECRET}!`)).to.equal(`oops: ${REDACTED}!`)
    expect(redact(`${SECRET}${SECRET}`)).to.not.include(SECRET)
  })

  it('removes unregistered secrets by shape next to a secret-ish name', () => {
    for (const text of [
      `aws_secret_access_key = ${SECRET}`,
      `AWS_SECRET_ACCESS_KEY=${SECRET}`,
      `{"SecretAccessKey":"${SECRET}"}`,
      `secretAccessKey: '${SECRET}'`,
      `aws_session_token=${'A'.repeat(100)}`,
    ]) {
      const out = redact(text)
      expect(out, text).to.include(REDACTED)
      expect(out, text).to.not.include(SECRET)
      expect(out, text).to.not.include('A'.repeat(100))
    }
    // Ordinary text is left alone.
    expect(redact('bucket acme-state in eu-west-1')).to.equal('bucket acme-state in eu-west-1')
  })

  it('redacts deep inside JSON values, by key name and by content', () => {
    registerSecret(SECRET)
    const value = redactValue({
      accessKeyId: KEY_ID,
      secretAccessKey: 'not-a-real-but-still-hidden',
      nested: [{note: `has ${SECRET} inside`, sessionToken: 'tok'}],
      n: 3,
      ok: true,
      when: new Date(0),
    })
    expect(value.accessKeyId).to.equal('AKIA…MPLE')
    expect(value.secretAccessKey).to.equal(REDACTED)
    expect(value.nested[0]).to.deep.equal({note: `has ${REDACTED} inside`, sessionToken: REDACTED})
    expect(value.n).to.equal(3)
    expect(value.ok).to.equal(true)
    expect(value.when).to.be.instanceOf(Date)
    expect(JSON.stringify(value)).to.not.include(SECRET)
  })
})

describe('foundation: errors', () => {
  it('PsbError carries message, hint, exit code and a code', () => {
    const e = new PsbError('it broke', {hint: 'fix it', code: 'Broke', data: {x: 1}})
    expect(e).to.be.instanceOf(Error)
    expect(e).to.include({message: 'it broke', hint: 'fix it', exitCode: EXIT.FAILED, code: 'Broke', name: 'PsbError'})
    expect(new PsbError('m').code).to.equal('Failed')
    const bad = badInput('bad', 'do this')
    expect(bad).to.include({exitCode: 2, code: 'BadInput', hint: 'do this'})
    expect(isPsbError(bad)).to.equal(true)
    expect(isPsbError(new Error('x'))).to.equal(false)
    expect(messageOf('plain')).to.equal('plain')
  })

  it('turns oclif parse errors into bad input (exit 2) and anything else into exit 1', () => {
    const parse = Object.assign(new Error('Unexpected argument: x'), {oclif: {exit: 2}})
    expect(toPsbError(parse)).to.include({exitCode: 2, code: 'BadInput'})
    const unknown = toPsbError(new TypeError('x is undefined'))
    expect(unknown).to.include({exitCode: 1, code: 'Unexpected'})
    expect(unknown.hint).to.match(/bug in psb/)
  })
})

describe('foundation: AWS errors', () => {
  it('an access-denied error names the action and the resource', () => {
    const e = translateAwsError(sdkError('AccessDenied', 'User: arn:aws:iam::123456789012:user/x is not authorized'), {
      action: 's3:PutBucketVersioning',
      resource: 'arn:aws:s3:::acme-state',
      principal: 'profile admin',
    })
    expect(e.code).to.equal('AccessDenied')
    expect(e.exitCode).to.equal(1)
    expect(e.message).to.include('AWS denied s3:PutBucketVersioning on arn:aws:s3:::acme-state')
    expect(e.hint).to.include('Allow s3:PutBucketVersioning on arn:aws:s3:::acme-state')
    expect(e.hint).to.include('(profile admin)')
    expect(e.data).to.deep.equal({action: 's3:PutBucketVersioning', resource: 'arn:aws:s3:::acme-state'})
  })

  it('classifies bad credentials, network failures and missing credentials, and redacts the SDK message', () => {
    const creds = translateAwsError(sdkError('InvalidClientTokenId', `The key ${KEY_ID} is invalid`), {action: 'sts:GetCallerIdentity'})
    expect(creds.code).to.equal('BadCredentials')
    expect(creds.message).to.include('AKIA…MPLE').and.not.include(KEY_ID)
    const net = translateAwsError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {code: 'ECONNREFUSED'}), {action: 's3:ListBuckets'})
    expect(net.code).to.equal('NetworkError')
    expect(net.hint).to.include('--endpoint')
    const none = translateAwsError(sdkError('CredentialsProviderError', 'Could not load credentials from any providers'), {action: 'iam:GetUser'})
    expect(none.code).to.equal('NoCredentials')
    const other = translateAwsError(sdkError('NoSuchBucket', 'The specified bucket does not exist', 404), {action: 's3:GetBucketTagging', resource: 'arn:aws:s3:::b'})
    expect(other.code).to.equal('NoSuchBucket')
    expect(other.message).to.equal('s3:GetBucketTagging on arn:aws:s3:::b failed (NoSuchBucket): The specified bucket does not exist')
    // a PsbError passes through unchanged
    const mine = new PsbError('mine')
    expect(translateAwsError(mine, {action: 'x'})).to.equal(mine)
  })

  it('awsCall translates what the call throws', async () => {
    const err = await awsCall({action: 'iam:CreateUser', resource: 'arn:aws:iam::123456789012:user/p'}, async () => {
      throw sdkError('AccessDenied', 'no')
    }).catch((e: unknown) => e as PsbError)
    expect(err.message).to.include('iam:CreateUser on arn:aws:iam::123456789012:user/p')
    expect(isAccessDenied(sdkError('AccessDeniedException', ''))).to.equal(true)
  })

  it('withBackoff retries what it should, within the total time, and no more', async () => {
    const delays: number[] = []
    let calls = 0
    const ok = await withBackoff(
      async () => {
        calls++
        if (calls < 3) throw sdkError('SlowDown', 'slow', 503)
        return 'done'
      },
      {maxMs: 10_000, baseMs: 100, capMs: 1000, retryIf: () => true, sleep: async (ms) => void delays.push(ms)},
    )
    expect(ok).to.equal('done')
    expect(calls).to.equal(3)
    expect(delays).to.have.length(2)
    // full jitter between half and all of 100 ms, then of 200 ms
    expect(delays[0]).to.be.within(50, 100)
    expect(delays[1]).to.be.within(100, 200)

    let tries = 0
    const notRetried = await withBackoff(
      async () => {
        tries++
        throw sdkError('AccessDenied', 'no')
      },
      {maxMs: 10_000, retryIf: (e) => !isAccessDenied(e), sleep: async () => {}},
    ).catch((e: Error) => e)
    expect(tries).to.equal(1)
    expect((notRetried as Error).name).to.equal('AccessDenied')

    // Bounded: gives up once the total time is spent (real clock, small numbers).
    const start = Date.now()
    let n = 0
    await withBackoff(
      async () => {
        n++
        throw new Error('always')
      },
      {maxMs: 150, baseMs: 20, capMs: 40, retryIf: () => true},
    ).catch(() => undefined)
    const took = Date.now() - start
    expect(took).to.be.within(100, 600)
    expect(n).to.be.greaterThan(2)
  })
})

describe('foundation: AWS config files, regions and the profile check', () => {
  let dir: string
  let env: Record<string, string>
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'psb-awscfg-'))
    env = {HOME: dir, AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'), AWS_CONFIG_FILE: join(dir, 'config')}
    writeFileSync(env.AWS_SHARED_CREDENTIALS_FILE, `[default]\naws_access_key_id = ${KEY_ID}\n\n[pulumi-state]\naws_access_key_id = ${KEY_ID}\n`)
    writeFileSync(env.AWS_CONFIG_FILE, '[default]\nregion = us-east-1\n\n[profile admin]\nregion = eu-west-2\n\n[profile production]\nregion = ap-southeast-1\n\n[sso-session corp]\nsso_region = us-east-1\n')
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  it('finds the files from the environment, else under HOME', () => {
    expect(credentialsFilePath(env)).to.equal(join(dir, 'credentials'))
    expect(configFilePath({HOME: '/h'})).to.equal('/h/.aws/config')
    expect(credentialsFilePath({HOME: '/h', AWS_SHARED_CREDENTIALS_FILE: '~/c'})).to.equal('/h/c')
  })

  it('lists the profiles of both files (config "profile x" sections, not sso-session)', () => {
    expect(listProfiles(env)).to.deep.equal(['admin', 'default', 'production', 'pulumi-state'])
    expect(listProfiles({HOME: join(dir, 'nothing-here')})).to.deep.equal([])
  })

  it('resolves the region: flag, then AWS_REGION, AWS_DEFAULT_REGION, then the profile', () => {
    expect(resolveRegion('eu-central-1', 'admin', {...env, AWS_REGION: 'us-west-2'})).to.equal('eu-central-1')
    expect(resolveRegion(undefined, 'admin', {...env, AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'us-west-1'})).to.equal('us-west-2')
    expect(resolveRegion(undefined, 'admin', {...env, AWS_DEFAULT_REGION: 'us-west-1'})).to.equal('us-west-1')
    expect(resolveRegion(undefined, 'admin', env)).to.equal('eu-west-2')
    expect(resolveRegion(undefined, undefined, {...env, AWS_PROFILE: 'production'})).to.equal('ap-southeast-1')
    expect(resolveRegion(undefined, undefined, env)).to.equal('us-east-1')
    expect(resolveRegion(undefined, 'pulumi-state', {HOME: dir, AWS_CONFIG_FILE: join(dir, 'none')})).to.equal(undefined)
    expect(thrown(() => resolveRegion('moon-1', undefined, env)).code).to.equal('RegionInvalid')
    expect(thrown(() => requireRegion(undefined, 'x', {HOME: join(dir, 'nothing-here')})).exitCode).to.equal(2)
  })

  it('checkProfile accepts a profile that exists and suggests the closest for a typo (exit 2)', () => {
    checkProfile('admin', '--admin-profile', env)
    const typo = thrown(() => checkProfile('prodution', 'AWS_PROFILE', env))
    expect(typo.exitCode).to.equal(2)
    expect(typo.code).to.equal('ProfileNotFound')
    expect(typo.message).to.include('"prodution" (from AWS_PROFILE) does not exist')
    expect(typo.message).to.include('Did you mean "production"?')
    expect(typo.message).to.include('Profiles found: admin, default, production, pulumi-state.')
    expect(typo.hint).to.include('aws configure --profile prodution')
    const far = thrown(() => checkProfile('zzzzzzzzzz', '--admin-profile', env))
    expect(far.message).to.not.include('Did you mean')
    const empty = thrown(() => checkProfile('x', '--admin-profile', {HOME: join(dir, 'nothing-here')}))
    expect(empty.message).to.include('(none: the credentials and config files have no profiles)')
  })

  it('reads --admin-profile from argv in both spellings, and stops at --', () => {
    expect(adminProfileArg(['bucket', 'create', '--admin-profile', 'a'])).to.equal('a')
    expect(adminProfileArg(['--admin-profile=b'])).to.equal('b')
    expect(adminProfileArg(['--', '--admin-profile', 'c'])).to.equal(undefined)
    expect(adminProfileArg(['--region', 'x'])).to.equal(undefined)
  })
})
