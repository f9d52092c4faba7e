/**
 * Redaction and verify rules that Stryker's mutants of src/lib/redact.ts and
 * src/lib/verify/rules.ts got past (npm run mutation; docs/testing.md).
 */
import {expect} from 'chai'
import {REDACTED, clearRegisteredSecrets, maskKeyId, redact, redactValue, registerSecret} from '../../src/lib/redact.js'
import {allowsEverything, isAdministratorAccess, prefixBase} from '../../src/lib/verify/rules.js'

describe('redaction: edges of the rule', () => {
  it('registers secrets of 8 characters or more only (a short one would blank ordinary words)', () => {
    registerSecret('seven77')
    registerSecret('eight888')
    registerSecret(undefined)
    registerSecret('')
    expect(redact('seven77 and eight888')).to.equal(`seven77 and ${REDACTED}`)
  })

  it('forgets registered secrets when cleared', () => {
    registerSecret('a-registered-secret')
    expect(redact('x a-registered-secret')).to.equal(`x ${REDACTED}`)
    clearRegisteredSecrets()
    expect(redact('x a-registered-secret')).to.equal('x a-registered-secret')
  })

  it('masks an id of 8 characters or fewer whole, a longer one as first 4 … last 4', () => {
    expect(maskKeyId('12345678')).to.equal('…')
    expect(maskKeyId('123456789')).to.equal('1234…6789')
    expect(maskKeyId(undefined)).to.equal('')
  })

  it('replaces by key name only string values of secret-ish keys; other values keep their shape', () => {
    const value = {profile: 'pulumi', count: 3, nested: {region: 'us-east-1', list: ['a', 1]}, secretAccessKey: 'abc', sessionToken: {not: 'a string'}, when: new Date(0)}
    expect(redactValue(value)).to.deep.equal({...value, secretAccessKey: REDACTED})
  })
})

describe('verify rules: edges', () => {
  it('prefixBase trims leading and trailing slashes only', () => {
    expect(prefixBase('//team-a//')).to.equal('team-a/')
    expect(prefixBase('/team/a/')).to.equal('team/a/')
    expect(prefixBase('team/a')).to.equal('team/a/')
    expect(prefixBase('///')).to.equal('')
    expect(prefixBase(undefined)).to.equal('')
  })

  it('isAdministratorAccess matches the AWS-managed policy ARN exactly, in any partition', () => {
    expect(isAdministratorAccess('arn:aws:iam::aws:policy/AdministratorAccess')).to.equal(true)
    expect(isAdministratorAccess('arn:aws-us-gov:iam::aws:policy/AdministratorAccess')).to.equal(true)
    expect(isAdministratorAccess('arn:aws-cn:iam::aws:policy/AdministratorAccess')).to.equal(true)
    expect(isAdministratorAccess('xarn:aws:iam::aws:policy/AdministratorAccess')).to.equal(false)
    expect(isAdministratorAccess('arn:aws:iam::aws:policy/AdministratorAccessLookalike')).to.equal(false)
    expect(isAdministratorAccess('arn:aws:iam::123456789012:policy/AdministratorAccess')).to.equal(false)
    expect(isAdministratorAccess(undefined)).to.equal(false)
  })

  it('allowsEverything: any Allow statement with the action "*"; not a Deny, not "s3:*", not no policy', () => {
    expect(allowsEverything(undefined)).to.equal(false)
    expect(allowsEverything({Statement: [{Effect: 'Allow', Action: 's3:GetObject'}, {Effect: 'Allow', Action: '*'}] as never})).to.equal(true)
    expect(allowsEverything({Statement: [{Effect: 'Allow', Action: ['s3:GetObject', '*']}] as never})).to.equal(true)
    expect(allowsEverything({Statement: [{Effect: 'Deny', Action: '*'}] as never})).to.equal(false)
    expect(allowsEverything({Statement: [{Effect: 'Allow', Action: ['s3:*']}] as never})).to.equal(false)
    expect(allowsEverything({Statement: []})).to.equal(false)
  })
})
