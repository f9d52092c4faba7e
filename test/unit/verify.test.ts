import {expect} from 'chai'
import type {LifecycleRule} from '@aws-sdk/client-s3'
import {
  allowsEverything,
  compareBackendUrls,
  hasTlsOnlyStatement,
  isAdministratorAccess,
  noncurrentExpiryDays,
  parseBackendUrl,
  parsePolicy,
  prefixBase,
  regionOfLocation,
  userNameOfArn,
} from '../../src/lib/verify/rules.js'
import {renderChecks, summarizeChecks} from '../../src/cli/checks.js'
import {Chalk} from 'chalk'

const tls = (over: Record<string, unknown> = {}) => ({
  Statement: [
    {
      Sid: 'Whatever',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: ['arn:aws:s3:::b1', 'arn:aws:s3:::b1/*'],
      Condition: {Bool: {'aws:SecureTransport': 'false'}},
      ...over,
    },
  ],
})

describe('verify: pure helpers', () => {
  it('recognises a TLS-only statement by meaning, whatever its Sid or spelling', () => {
    expect(hasTlsOnlyStatement(tls(), 'b1')).to.equal(true)
    expect(hasTlsOnlyStatement(tls({Principal: {AWS: '*'}, Condition: {Bool: {'aws:securetransport': false}}}), 'b1')).to.equal(true)
    expect(hasTlsOnlyStatement(tls({Condition: {Bool: {'aws:SecureTransport': ['false']}}}), 'b1')).to.equal(true)
    expect(hasTlsOnlyStatement(tls({Action: ['*'], Resource: '*'}), 'b1')).to.equal(true)
  })

  it('rejects statements that do not deny plain HTTP on the bucket and its objects', () => {
    expect(hasTlsOnlyStatement(tls({Effect: 'Allow'}), 'b1'), 'Allow').to.equal(false)
    expect(hasTlsOnlyStatement(tls({Resource: 'arn:aws:s3:::b1/*'}), 'b1'), 'objects only').to.equal(false)
    expect(hasTlsOnlyStatement(tls({Condition: {Bool: {'aws:SecureTransport': 'true'}}}), 'b1'), 'true').to.equal(false)
    expect(hasTlsOnlyStatement(tls({Action: 's3:GetObject'}), 'b1'), 'one action').to.equal(false)
    expect(hasTlsOnlyStatement(tls({Principal: {AWS: 'arn:aws:iam::1:root'}}), 'b1'), 'one principal').to.equal(false)
    expect(hasTlsOnlyStatement(tls(), 'other-bucket'), 'other bucket').to.equal(false)
  })

  it('judges the TLS statement by the rule psb bucket create applies: nothing may narrow the deny', () => {
    // An extra condition (or a NotPrincipal) leaves plain HTTP open to most callers.
    expect(hasTlsOnlyStatement(tls({Condition: {Bool: {'aws:SecureTransport': 'false'}, IpAddress: {'aws:SourceIp': '10.0.0.0/8'}}}), 'b1'), 'extra condition').to.equal(false)
    expect(hasTlsOnlyStatement(tls({NotPrincipal: {AWS: 'arn:aws:iam::123456789012:root'}}), 'b1'), 'NotPrincipal').to.equal(false)
    // Resources spread over two qualifying statements, and a wildcard, still cover both ARNs.
    const split = {Statement: [tls({Resource: 'arn:aws:s3:::b1'}).Statement[0], tls({Resource: 'arn:aws:s3:::b1/*'}).Statement[0]]}
    expect(hasTlsOnlyStatement(split, 'b1'), 'split').to.equal(true)
    expect(hasTlsOnlyStatement(tls({Resource: ['arn:aws:s3:::b*']}), 'b1'), 'wildcard').to.equal(true)
    // The bucket's partition comes from its region.
    const cn = tls({Resource: ['arn:aws-cn:s3:::b1', 'arn:aws-cn:s3:::b1/*']})
    expect(hasTlsOnlyStatement(cn, 'b1', 'cn-north-1'), 'aws-cn').to.equal(true)
    expect(hasTlsOnlyStatement(cn, 'b1'), 'aws-cn ARNs for an aws bucket').to.equal(false)
  })

  it('counts only an enabled whole-bucket rule as expiring old state versions', () => {
    const rule = (over: Partial<LifecycleRule>): LifecycleRule => ({ID: 'x', Status: 'Enabled', Filter: {Prefix: ''}, NoncurrentVersionExpiration: {NoncurrentDays: 30}, ...over})
    expect(noncurrentExpiryDays(undefined)).to.equal(undefined)
    expect(noncurrentExpiryDays([rule({})])).to.equal(30)
    expect(noncurrentExpiryDays([rule({Filter: {}})])).to.equal(30)
    expect(noncurrentExpiryDays([rule({Filter: {Prefix: 'logs/'}})]), 'another prefix').to.equal(undefined)
    expect(noncurrentExpiryDays([rule({Status: 'Disabled'})]), 'disabled').to.equal(undefined)
    expect(noncurrentExpiryDays([rule({NoncurrentVersionExpiration: undefined}), rule({ID: 'y', NoncurrentVersionExpiration: {NoncurrentDays: 7}})])).to.equal(7)
  })

  it('parses plain and URL-encoded policy documents', () => {
    const doc = {Version: '2012-10-17', Statement: {Effect: 'Allow', Action: '*', Resource: '*'}}
    expect(parsePolicy(JSON.stringify(doc))?.Statement).to.have.length(1)
    expect(allowsEverything(parsePolicy(encodeURIComponent(JSON.stringify(doc))))).to.equal(true)
    expect(allowsEverything(parsePolicy(JSON.stringify({Statement: [{Effect: 'Allow', Action: 's3:*', Resource: '*'}]})))).to.equal(false)
    expect(parsePolicy('not json')).to.equal(undefined)
  })

  it('compares backend URLs by meaning', () => {
    const a = 's3://b/team-a?region=us-east-1&profile=p&endpoint=http%3A%2F%2F127.0.0.1%3A5000&use_path_style=true&disable_https=true'
    const b = 's3://b/team-a/?profile=p&region=us-east-1&disable_https=true&use_path_style=true&endpoint=http://127.0.0.1:5000'
    expect(compareBackendUrls(a, b)).to.equal('same')
    expect(compareBackendUrls(a, 's3://b/team-a?region=us-east-1')).to.equal('params')
    expect(compareBackendUrls(a, 's3://b/team-b?region=us-east-1')).to.equal('other')
    expect(compareBackendUrls(a, 's3://c/team-a?region=us-east-1')).to.equal('other')
    expect(compareBackendUrls('file:///tmp', a)).to.equal('other')
    expect(parseBackendUrl('s3://b?s3ForcePathStyle=true&disableSSL=true')?.params.get('use_path_style')).to.equal('true')
  })

  it('derives regions, prefixes and user names', () => {
    expect(regionOfLocation(undefined)).to.equal('us-east-1')
    expect(regionOfLocation('')).to.equal('us-east-1')
    expect(regionOfLocation('EU')).to.equal('eu-west-1')
    expect(regionOfLocation('us-west-1')).to.equal('us-west-1')
    expect(prefixBase(undefined)).to.equal('')
    expect(prefixBase('/team-a/')).to.equal('team-a/')
    expect(userNameOfArn('arn:aws:iam::123456789012:user/ci/pulumi')).to.equal('pulumi')
    expect(userNameOfArn('arn:aws:sts::123456789012:assumed-role/r/s')).to.equal(undefined)
    expect(userNameOfArn('arn:aws-us-gov:iam::123456789012:user/pulumi')).to.equal('pulumi')
    expect(userNameOfArn('arn:aws:iam::123456789012:role/pulumi')).to.equal(undefined)
    expect(isAdministratorAccess('arn:aws:iam::aws:policy/AdministratorAccess')).to.equal(true)
    expect(isAdministratorAccess('arn:aws:iam::123456789012:policy/AdministratorAccess')).to.equal(false)
  })

  it('renders a checklist with hints under warnings and failures, plain without colour', () => {
    const plain = new Chalk({level: 0})
    const text = renderChecks(
      [
        {id: 'a', title: 'A', status: 'pass', detail: 'fine', hint: 'never shown'},
        {id: 'b', title: 'B', status: 'warn', detail: 'meh', hint: 'do x'},
        {id: 'c', title: 'C', status: 'fail', hint: 'do y'},
      ],
      plain,
    )
    expect(text).to.equal(['  pass  A: fine', '  warn  B: meh', '        fix: do x', '  fail  C', '        fix: do y', '3 checks: 1 passed, 1 warning, 1 failed'].join('\n'))
    // eslint-disable-next-line no-control-regex
    expect(text).not.to.match(/\u001B\[/)
    expect(summarizeChecks([])).to.equal('0 checks: 0 passed, 0 warnings, 0 failed')
  })
})
