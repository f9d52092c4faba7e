/**
 * What a user relies on from src/lib/files/credentials.ts, asserted exactly enough that a
 * changed rule or message fails a test (issue 10, "Test strength"): every input check with
 * its code, exit code, message and hint; the lines shown in a diff; the changes and the
 * messages of writeProfile. In process, importing src/ (a subprocess test of dist/ never
 * sees a Stryker mutant).
 */
import {expect} from 'chai'
import {
  validateAccessKeyId,
  validateProfileName,
  validateSecretAccessKey,
} from '../../src/lib/files/credentials.js'
import {thrown} from '../support/errors.js'

const PROFILE_HINT = 'Use a name of letters, digits and _ - . @ + % : / only, for example "pulumi" or "pulumi-prod".'
const AWS_ID_HINT =
  'Give the access key id as AWS shows it: 20 uppercase letters and digits starting with AKIA, e.g. AKIAIOSFODNN7EXAMPLE. For the key of another S3-compatible store (MinIO, R2, Ceph…), pass --endpoint or --non-aws-key.'
const STORE_ID_HINT = 'Give the access key id exactly as the store shows it (no spaces, line breaks, "[", "]" or "=").'
const AWS_SECRET_HINT = 'Give the secret exactly as AWS showed it when the key was created (40 characters of letters, digits, "/" and "+").'
const STORE_SECRET_HINT = 'Give the secret exactly as the store showed it when the key was created.'

/** The error a check throws, as {code, exit, message, hint}. */
function failure(fn: () => void): {code: string; exit: number; message: string; hint: string | undefined} {
  const e = thrown(fn)
  return {code: e.code, exit: e.exitCode, message: e.message, hint: e.hint}
}

describe('credentials strength: every input check says what is wrong and what to do (exit 2)', () => {
  it('profile names: each rule in turn, the name echoed only when it cannot be a secret', () => {
    const cases: [string, string][] = [
      ['', 'The profile name "" is empty.'],
      ['a\nb', 'The profile name (a profile name of 3 characters) contains a line break.'],
      ['a\rb', 'The profile name (a profile name of 3 characters) contains a line break.'],
      ['a[b', 'The profile name "a[b" contains "[" or "]" (it would break the section header).'],
      ['a]b', 'The profile name "a]b" contains "[" or "]" (it would break the section header).'],
      ['a=b', 'The profile name "a=b" contains "=".'],
      [' a', 'The profile name " a" has leading or trailing spaces.'],
      ['a\t', 'The profile name (a profile name of 2 characters) has leading or trailing spaces.'],
      ['__proto__', 'The profile name "__proto__" is reserved.'],
      ['x'.repeat(257), 'The profile name (a profile name of 257 characters) is longer than 256 characters.'],
      ['a b', 'The profile name "a b" contains characters the AWS SDK does not accept in a profile name (such as spaces, quotes, "#" or ";").'],
      ['a#b', 'The profile name "a#b" contains characters the AWS SDK does not accept in a profile name (such as spaces, quotes, "#" or ";").'],
    ]
    for (const [name, message] of cases) {
      expect(failure(() => validateProfileName(name)), JSON.stringify(name)).to.deep.equal({code: 'ProfileNameInvalid', exit: 2, message, hint: PROFILE_HINT})
    }
    for (const name of ['x'.repeat(256), 'default', 'a_b.c@d+e%f:g/h', 'UPPER9', '9']) expect(() => validateProfileName(name), name).not.to.throw()
  })

  it('AWS access key ids: each rule in turn, the id never echoed', () => {
    const other = 'contains characters other than uppercase letters and digits'
    const cases: [string, string][] = [
      ['', 'is empty'],
      [' AKIAIOSFODNN7EXAMPLE', 'has leading or trailing spaces'],
      ['AKIAIOSFODNN7EXAMPLE\n', 'has leading or trailing spaces'],
      ['akiaiosfodnn7example', 'contains lowercase letters'],
      ['AKIAIOSFODNN7EXAMPLe', 'contains lowercase letters'],
      ['a', 'contains lowercase letters'],
      ['!akiaiosfodnn7exampl', other],
      ['akiaiosfodnn7exampl!', other],
      ['akia iosfodnn7exampl', other],
      ['AKIA', 'is 4 characters long (AWS access key ids are 16 to 128)'],
      ['AKIA!', 'is 5 characters long (AWS access key ids are 16 to 128)'],
      ['A'.repeat(15), 'is 15 characters long (AWS access key ids are 16 to 128)'],
      ['A'.repeat(129), 'is 129 characters long (AWS access key ids are 16 to 128)'],
      ['AKIAIOSFODNN7EX!', other],
      ['AKIA' + 'B'.repeat(123) + '!', other],
      ['AKIAIOSFODNN7EXAMPL!', other],
    ]
    for (const [id, why] of cases) {
      const f = failure(() => validateAccessKeyId(id))
      expect(f, JSON.stringify(id)).to.deep.equal({code: 'AccessKeyIdInvalid', exit: 2, message: `The access key id ${why}.`, hint: AWS_ID_HINT})
    }
    for (const id of ['AKIAIOSFODNN7EXAMPLE', 'A'.repeat(16), 'A'.repeat(128), '0123456789ABCDEF']) expect(() => validateAccessKeyId(id), id).not.to.throw()
    expect(() => validateAccessKeyId('AKIAIOSFODNN7EXAMPLE', {})).not.to.throw()
    expect(() => validateAccessKeyId('minioadmin', {nonAws: false})).to.throw(/lowercase/)
  })

  it('AWS secret access keys: each rule in turn, the secret never echoed', () => {
    const other = 'contains characters other than letters, digits, "/", "+" and "="'
    const cases: [string, string][] = [
      ['', 'is empty'],
      [' wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'has leading or trailing whitespace (or more than one line)'],
      ['wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n', 'has leading or trailing whitespace (or more than one line)'],
      ['short', 'is 5 characters long (AWS secret access keys are 40; psb accepts 16 to 128)'],
      ['short!', 'is 6 characters long (AWS secret access keys are 40; psb accepts 16 to 128)'],
      ['x'.repeat(15), 'is 15 characters long (AWS secret access keys are 40; psb accepts 16 to 128)'],
      ['x'.repeat(129), 'is 129 characters long (AWS secret access keys are 40; psb accepts 16 to 128)'],
      ['abcdefghijklmno!', other],
      ['a'.repeat(127) + '!', other],
      ['wJalrXUtnFEMI/K7MDENG bPxRfiCYEXAMPLEKEY', other],
    ]
    for (const [secret, why] of cases) {
      const f = failure(() => validateSecretAccessKey(secret))
      expect(f, JSON.stringify(secret)).to.deep.equal({code: 'SecretAccessKeyInvalid', exit: 2, message: `The secret access key ${why}.`, hint: AWS_SECRET_HINT})
    }
    for (const s of ['x'.repeat(16), 'x'.repeat(128), 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'abc/def+ghi=jkl==']) expect(() => validateSecretAccessKey(s), s).not.to.throw()
    expect(() => validateSecretAccessKey('x'.repeat(16), {})).not.to.throw()
    expect(() => validateSecretAccessKey('minio-secret-of-twenty', {nonAws: false})).to.throw(/other than letters/)
  })

  it('another store\'s access key id (--endpoint, --non-aws-key): any printable ASCII of 3 to 256 characters, without what breaks the file', () => {
    const nonAws = {nonAws: true}
    const cases: [string, string][] = [
      ['', 'is empty'],
      ['ab\ncd', 'contains a line break'],
      ['ab\rcd', 'contains a line break'],
      ['ab cd', 'contains spaces'],
      ['ab\tcd', 'contains spaces'],
      ['a[b', 'contains "[" or "]" (it would break the file\'s sections)'],
      ['a]b', 'contains "[" or "]" (it would break the file\'s sections)'],
      ['a=b', 'contains "="'],
      ['abcé', 'contains characters other than printable ASCII'],
      ['éabc', 'contains characters other than printable ASCII'],
      ['ab\u0000c', 'contains characters other than printable ASCII'],
      ['ab', 'is 2 characters long (psb accepts 3 to 256 for a store\'s own key)'],
      ['x'.repeat(257), 'is 257 characters long (psb accepts 3 to 256 for a store\'s own key)'],
    ]
    for (const [id, why] of cases) {
      const f = failure(() => validateAccessKeyId(id, nonAws))
      expect(f, JSON.stringify(id)).to.deep.equal({code: 'AccessKeyIdInvalid', exit: 2, message: `The access key id ${why}.`, hint: STORE_ID_HINT})
    }
    for (const id of ['abc', 'minioadmin', 'x'.repeat(256), 'a!~#;"\'b', '0123456789abcdef0123456789abcdef', 'AKIAIOSFODNN7EXAMPLE']) {
      expect(() => validateAccessKeyId(id, nonAws), id).not.to.throw()
    }
  })

  it('another store\'s secret: any printable ASCII of 8 to 256 characters ("[", "]" and "=" allowed)', () => {
    const nonAws = {nonAws: true}
    const cases: [string, string][] = [
      ['', 'is empty'],
      ['abcd\nefgh', 'contains a line break'],
      ['abcd efgh', 'contains spaces'],
      ['abcdéfgh', 'contains characters other than printable ASCII'],
      ['abcdefg', 'is 7 characters long (psb accepts 8 to 256 for a store\'s own key)'],
      ['x'.repeat(257), 'is 257 characters long (psb accepts 8 to 256 for a store\'s own key)'],
    ]
    for (const [secret, why] of cases) {
      const f = failure(() => validateSecretAccessKey(secret, nonAws))
      expect(f, JSON.stringify(secret)).to.deep.equal({code: 'SecretAccessKeyInvalid', exit: 2, message: `The secret access key ${why}.`, hint: STORE_SECRET_HINT})
    }
    for (const s of ['abcdefgh', 'x'.repeat(256), 'minio[secret]=1', 'a=b[c]d!', 'minioadmin']) expect(() => validateSecretAccessKey(s, nonAws), s).not.to.throw()
  })
})
