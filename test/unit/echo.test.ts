import {expect} from 'chai'
import {Flags, Parser} from '@oclif/core'
import {toPsbError} from '../../src/cli/base-command.js'
import {ensureTerminalWidth} from '../../src/cli/style.js'
import {summarizeChecks} from '../../src/cli/checks.js'
import {NAME_SHAPE, describeValue, echo, looksLikeSecret, mayEcho, plural, registerArgvSecrets, scrubArgv} from '../../src/lib/echo.js'
import {checkProfile, validateRegion} from '../../src/lib/files/aws-config.js'
import {parseDays} from '../../src/lib/duration.js'
import {clearRegisteredSecrets, redact} from '../../src/lib/redact.js'
import {closestMatch} from '../../src/lib/suggest.js'
import {validatePolicyArn} from '../../src/lib/iam/user.js'
import {validateBucketName} from '../../src/lib/bucket/name.js'
import {parseTags} from '../../src/commands/bucket/create.js'
import {bucketOptionsFromFlags} from '../../src/commands/bucket/create.js'
import {verifyOptionsFromFlags} from '../../src/commands/verify.js'
import {thrown} from '../support/errors.js'

/** Secret-shaped values: an AWS secret access key, a session-token-like string, a base64 password. */
const SECRETS = ['wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ', 'pul-0123456789abcdef0123456789abcdef01234567']


async function parseError(argv: string[], flags: Parameters<typeof Parser.parse>[1]['flags']): Promise<unknown> {
  try {
    await Parser.parse(argv, {flags, strict: true})
  } catch (error) {
    return error
  }
  throw new Error('expected a parse error')
}

describe('echo: the rule for showing a rejected value', () => {
  const table: Array<{value: string; shape?: RegExp; shown: boolean; why: string}> = [
    {value: 'typo', shown: true, why: 'short'},
    {value: 'us-west-99', shown: true, why: 'short'},
    {value: 'sixteen-chars-ok', shown: true, why: 'exactly 16 characters'},
    {value: 'seventeen-chars-x', shown: false, why: 'longer than 16, no shape'},
    {value: 'pulumi-team-a-production', shape: NAME_SHAPE, shown: true, why: 'a name of short lowercase words'},
    {value: 'arn:aws:iam::aws:policy/AdministratorAccess', shape: /^arn:[\w:/+=,.@-]+$/, shown: true, why: 'the expected shape'},
    {value: 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12', shape: /^[A-Za-z0-9]+$/, shown: false, why: 'secret-shaped, whatever the shape says'},
    {value: 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12', shape: NAME_SHAPE, shown: false, why: 'an AWS secret access key'},
    {value: 'pul-0123456789abcdef0123456789abcdef01234567', shape: NAME_SHAPE, shown: false, why: 'a token: a 40-character word is no name'},
    {value: '3f2a9c1e-1b2c-4d5e-8f90-a1b2c3d4e5f6', shape: NAME_SHAPE, shown: false, why: 'a UUID: its last word is 12 characters'},
    {value: 'a\u001b[2Jb', shown: false, why: 'a control character'},
    {value: '', shown: true, why: 'empty'},
  ]
  for (const row of table) {
    it(`${JSON.stringify(row.value).slice(0, 30)}: ${row.shown ? 'shown' : 'described'} (${row.why})`, () => {
      expect(mayEcho(row.value, row.shape)).to.equal(row.shown)
      const text = echo(row.value, {what: 'argument', shape: row.shape})
      if (row.shown) expect(text).to.equal(JSON.stringify(row.value))
      else {
        expect(text).to.equal(`(an argument of ${plural([...row.value].length, 'character')})`)
        expect(text).to.not.include(row.value)
      }
    })
  }

  it('describes with the right article and plural', () => {
    expect(describeValue('x', 'argument')).to.equal('an argument of 1 character')
    expect(describeValue('xy', 'value')).to.equal('a value of 2 characters')
    expect(plural(1, 'setting')).to.equal('1 setting')
    expect(plural(8, 'setting')).to.equal('8 settings')
  })

  it('knows a secret from a name', () => {
    for (const s of SECRETS.slice(0, 3)) expect(looksLikeSecret(s), s).to.equal(true)
    for (const n of ['pulumi-state-123456789012-us-east-1', 'AKIAIOSFODNN7EXAMPLE', 'arn:aws:iam::aws:policy/AdministratorAccess', 'PulumiDeployUser-2024-Production', 'short1A'])
      expect(looksLikeSecret(n), n).to.equal(false)
  })

  it('scrubs the words of argv that may not be shown from a message, keeping short ones and flag names', () => {
    const argv = ['--profile', 'ci', SECRETS[0], `--region=${SECRETS[1]}`, '--permissions-boundary']
    const text = `Unexpected argument: ${SECRETS[0]}; --region=${SECRETS[1]}; --profile ci; --permissions-boundary`
    const out = scrubArgv(text, argv)
    expect(out).to.equal('Unexpected argument: an argument of 40 characters; --region=an argument of 40 characters; --profile ci; --permissions-boundary')
  })

  it('registers secret-shaped words of argv with the redaction rule (the safety net)', () => {
    clearRegisteredSecrets()
    registerArgvSecrets(['--bucket', 'pulumi-state-123456789012-us-east-1', `--x=${SECRETS[1]}`, SECRETS[0]])
    expect(redact(`a ${SECRETS[0]} b ${SECRETS[1]} c pulumi-state-123456789012-us-east-1`)).to.equal('a **** b **** c pulumi-state-123456789012-us-east-1')
    clearRegisteredSecrets()
  })

  describe('every rejecting validator describes a secret-shaped value instead of echoing it', () => {
    // A lowercase token (the 4th) is a valid bucket name: psb takes it, so it is not rejected there.
    const cases: Array<[string, (v: string) => unknown, string[]?]> = [
      ['region', (v) => validateRegion(v)],
      ['--tag', (v) => parseTags([v])],
      ['--attach-policy', (v) => validatePolicyArn(v)],
      ['--noncurrent-days', (v) => parseDays(v, {flag: '--noncurrent-days'})],
      ['--max-key-age', (v) => parseDays(v, {flag: '--max-key-age', min: 1})],
      ['--bucket', (v) => validateBucketName(v), SECRETS.slice(0, 3)],
      ['--kms-key', (v) => bucketOptionsFromFlags({bucket: 'good-bucket', 'kms-key': v}, 'us-east-1')],
      ['--profile (missing)', (v) => checkProfile(v, '--profile', {HOME: '/nonexistent'})],
    ]
    for (const [name, fn, values = SECRETS] of cases) {
      it(name, () => {
        for (const s of values) {
          const e = thrown(() => fn(s))
          expect(e.exitCode, `${name} ${s}`).to.equal(2)
          expect(`${e.message} ${e.hint}`, `${name} ${s}`).to.not.include(s)
          expect(`${e.message} ${e.hint}`.toLowerCase(), `${name} ${s}, lowercased`).to.not.include(s.toLowerCase())
          expect(e.message).to.match(/of \d+ characters/)
        }
      })
    }
    it('and still shows a short or well-shaped rejected value', () => {
      expect(thrown(() => validateRegion('us-west-99x')).message).to.include('"us-west-99x"')
      expect(thrown(() => parseTags(['novalue'])).message).to.equal('--tag "novalue" is not key=value.')
      expect(thrown(() => validatePolicyArn('arn:aws:iam::aws:role/NotAPolicy')).message).to.include('"arn:aws:iam::aws:role/NotAPolicy"')
    })
  })
})

describe("oclif's parse errors through toPsbError", () => {
  const flags = {bucket: Flags.string(), region: Flags.string(), profile: Flags.string({multiple: true, multipleNonGreedy: true})}

  it('an unexpected argument: exit 2, described, not echoed; one "see --help"', async () => {
    const e = toPsbError(await parseError(['--bucket', 'b', SECRETS[0]], flags), {argv: ['--bucket', 'b', SECRETS[0]], flags: Object.keys(flags)})
    expect(e.exitCode).to.equal(2)
    expect(e.message).to.equal('Unexpected argument: an argument of 40 characters. psb takes no arguments here, only flags.')
    expect(e.message).to.not.match(/--help/)
    expect(e.hint).to.match(/--help/)
    expect(String((e.cause as Error).stack)).to.not.include(SECRETS[0])
  })

  it('a short stray word is shown', async () => {
    const e = toPsbError(await parseError(['--bucket', 'b', 'typo'], flags), {argv: ['--bucket', 'b', 'typo']})
    expect(e.message).to.include('Unexpected argument: "typo".')
  })

  it('a repeatable flag takes one value: --profile ci <word> leaves the word a stray argument', async () => {
    const e = toPsbError(await parseError(['--profile', 'ci', SECRETS[0]], flags), {argv: ['--profile', 'ci', SECRETS[0]]})
    expect(e.message).to.match(/^Unexpected argument: an argument of 40 characters/)
  })

  it('a misspelled flag: "Did you mean", the flag name only (never a value after =)', async () => {
    const argv = ['--buckte', 'b']
    const e = toPsbError(await parseError(argv, flags), {argv, flags: Object.keys(flags)})
    expect(e.message).to.equal('Nonexistent flag: "--buckte". Did you mean --bucket?')
    const withValue = [`--regoin=${SECRETS[0]}`]
    const e2 = toPsbError(await parseError(withValue, flags), {argv: withValue, flags: Object.keys(flags)})
    expect(e2.message).to.equal('Nonexistent flag: "--regoin". Did you mean --region?')
  })
})

describe('one duration syntax for days', () => {
  it('takes bare days and whole-day durations', () => {
    expect(parseDays('90', {flag: '--max-key-age'})).to.equal(90)
    expect(parseDays('90d', {flag: '--max-key-age'})).to.equal(90)
    expect(parseDays('2w', {flag: '--noncurrent-days'})).to.equal(14)
    expect(parseDays('48h', {flag: '--noncurrent-days'})).to.equal(2)
    expect(parseDays(0, {flag: '--noncurrent-days'})).to.equal(0)
    expect(thrown(() => parseDays('12h', {flag: '--max-key-age', min: 1})).message).to.equal('--max-key-age "12h" is not a whole number of days from 1 to 36500.')
    expect(thrown(() => parseDays('0', {flag: '--max-key-age', min: 1})).exitCode).to.equal(2)
  })

  it('verify --max-key-age 90d and --noncurrent-days 12w parse', () => {
    const v = verifyOptionsFromFlags({bucket: 'good-bucket', region: 'us-east-1', profile: 'p', 'max-key-age': '90d'}, {})
    expect(v.maxKeyAgeDays).to.equal(90)
    expect(verifyOptionsFromFlags({bucket: 'good-bucket', region: 'us-east-1', profile: 'p', 'max-key-age': '30'}, {}).maxKeyAgeDays).to.equal(30)
    expect(bucketOptionsFromFlags({bucket: 'good-bucket', 'noncurrent-days': '12w'}, 'us-east-1').noncurrentDays).to.equal(84)
  })
})

describe('small conventions', () => {
  it('small words are proper plurals: 1 check, 1 warning, 1 character, 1 setting', () => {
    const check = {id: 'x', title: 'X', status: 'warn'} as const
    expect(summarizeChecks([check])).to.equal('1 check: 0 passed, 1 warning, 0 failed')
    expect(summarizeChecks([check, {...check, status: 'pass'}])).to.equal('2 checks: 1 passed, 1 warning, 0 failed')
    expect(thrown(() => validateBucketName('a')).message).to.include('(it has 1 character)')
  })

  it('closestMatch finds a likely typo and nothing for a far name', () => {
    expect(closestMatch('--buckte', ['--bucket', '--region'])).to.equal('--bucket')
    expect(closestMatch('zzzzzzzz', ['--bucket', '--region'])).to.equal(undefined)
  })

  it('a terminal 0 columns wide gets 80; a real width and a pipe are left alone', () => {
    const zero = {isTTY: true, columns: 0} as NodeJS.WriteStream
    const wide = {isTTY: true, columns: 132} as NodeJS.WriteStream
    const pipe = {isTTY: false} as NodeJS.WriteStream
    ensureTerminalWidth([zero, wide, pipe])
    expect([zero.columns, wide.columns, pipe.columns]).to.deep.equal([80, 132, undefined])
  })
})
