import {expect} from 'chai'
import {
  SID,
  STATE_POLICY_NAME,
  broadPolicyWarning,
  buildStatePolicy,
  canonicalPolicy,
  normalizePrefix,
  parsePolicyDocument,
  policiesEquivalent,
  summarizePolicy,
  type PolicyDocument,
  type PolicyStatement,
} from '../../src/lib/iam/policy.js'
import {PsbError} from '../../src/lib/errors.js'
import {thrown} from '../support/errors.js'

const USER = 'arn:aws:iam::123456789012:user/pulumi'
const statements = (d: PolicyDocument) => d.Statement as PolicyStatement[]
const bySid = (d: PolicyDocument, sid: string) => statements(d).find((s) => s.Sid === sid)


describe('buildStatePolicy', () => {
  it('without a prefix: one statement per purpose, each with a Sid, in a fixed order', () => {
    const p = buildStatePolicy({bucket: 'acme-state', userArn: USER})
    expect(p.Version).to.equal('2012-10-17')
    expect(statements(p).map((s) => s.Sid)).to.deep.equal([SID.list, SID.objects, SID.verifyBucket, SID.verifyOwnPermissions, SID.rotation])
    expect(statements(p).every((s) => s.Effect === 'Allow')).to.equal(true)
    expect(bySid(p, SID.list)).to.deep.equal({Sid: 'PulumiStateList', Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::acme-state'})
    expect(bySid(p, SID.objects)).to.deep.equal({
      Sid: 'PulumiStateObjects',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      Resource: 'arn:aws:s3:::acme-state/*',
    })
    expect(STATE_POLICY_NAME).to.equal('psb-pulumi-state')
  })

  it('reads the bucket settings verify checks, on the bucket ARN only', () => {
    const s = bySid(buildStatePolicy({bucket: 'acme-state', userArn: USER}), SID.verifyBucket)!
    expect(s.Resource).to.equal('arn:aws:s3:::acme-state')
    expect(s.Action).to.have.members([
      's3:GetBucketVersioning',
      's3:GetEncryptionConfiguration',
      's3:GetBucketPublicAccessBlock',
      's3:GetBucketOwnershipControls',
      's3:GetBucketPolicy',
      's3:GetLifecycleConfiguration',
      's3:GetBucketTagging',
      's3:GetBucketLocation',
    ])
    // read-only: no Put/Delete anywhere in this statement
    expect((s.Action as string[]).filter((a) => !/^s3:Get/.test(a))).to.deep.equal([])
  })

  it('limits key rotation (and the self-inspection) to the user\'s own ARN, path included', () => {
    const arn = 'arn:aws:iam::123456789012:user/ci/pulumi'
    const p = buildStatePolicy({bucket: 'acme-state', userArn: arn})
    const rot = bySid(p, SID.rotation)!
    expect(rot.Resource).to.equal(arn)
    expect(rot.Action).to.have.members(['iam:GetUser', 'iam:ListAccessKeys', 'iam:CreateAccessKey', 'iam:UpdateAccessKey', 'iam:DeleteAccessKey', 'iam:GetAccessKeyLastUsed'])
    expect(bySid(p, SID.verifyOwnPermissions)!.Resource).to.equal(arn)
    expect(bySid(p, SID.verifyOwnPermissions)!.Action).to.have.members(['iam:ListAttachedUserPolicies', 'iam:ListUserPolicies', 'iam:GetUserPolicy'])
    // nothing in the policy names a wildcard resource
    for (const s of statements(p)) expect(String(s.Resource)).to.not.match(/^\*$|:\*$/)
  })

  it('with a prefix: lists only under it (s3:prefix condition) and touches objects only under it', () => {
    const p = buildStatePolicy({bucket: 'acme-state', prefix: '/team-a/', userArn: USER})
    expect(bySid(p, SID.list)).to.deep.equal({
      Sid: 'PulumiStateList',
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: 'arn:aws:s3:::acme-state',
      Condition: {StringLike: {'s3:prefix': ['team-a/*', 'team-a']}},
    })
    expect(bySid(p, SID.objects)!.Resource).to.equal('arn:aws:s3:::acme-state/team-a/*')
    const nested = buildStatePolicy({bucket: 'acme-state', prefix: 'projects/web', userArn: USER})
    expect(bySid(nested, SID.objects)!.Resource).to.equal('arn:aws:s3:::acme-state/projects/web/*')
  })

  it('adds the KMS statement only for a customer key: on the key ARN, or by alias with kms:ResourceAliases', () => {
    expect(bySid(buildStatePolicy({bucket: 'acme-state', userArn: USER}), SID.kms)).to.equal(undefined)
    const key = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'
    const p = buildStatePolicy({bucket: 'acme-state', userArn: USER, kmsKeyArn: key})
    expect(statements(p).map((s) => s.Sid)).to.deep.equal([SID.list, SID.objects, SID.kms, SID.verifyBucket, SID.verifyOwnPermissions, SID.rotation])
    expect(bySid(p, SID.kms)).to.deep.equal({Sid: 'PulumiStateKms', Effect: 'Allow', Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], Resource: key})
    const alias = buildStatePolicy({bucket: 'acme-state', userArn: USER, kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:alias/pulumi-state'})
    expect(bySid(alias, SID.kms)).to.deep.equal({
      Sid: 'PulumiStateKms',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
      Resource: 'arn:aws:kms:eu-west-1:123456789012:key/*',
      Condition: {'ForAnyValue:StringEquals': {'kms:ResourceAliases': 'alias/pulumi-state'}},
    })
  })

  it('uses the partition of the user ARN', () => {
    const p = buildStatePolicy({bucket: 'acme-state', userArn: 'arn:aws-cn:iam::123456789012:user/pulumi'})
    expect(bySid(p, SID.list)!.Resource).to.equal('arn:aws-cn:s3:::acme-state')
  })

  it('refuses inputs that would widen the policy (exit 2)', () => {
    expect(thrown(() => buildStatePolicy({bucket: 'acme-*', userArn: USER})).exitCode).to.equal(2)
    expect(thrown(() => buildStatePolicy({bucket: 'a/b', userArn: USER})).exitCode).to.equal(2)
    expect(thrown(() => buildStatePolicy({bucket: 'acme-state', prefix: 'team-*', userArn: USER})).code).to.equal('PrefixInvalid')
    expect(thrown(() => buildStatePolicy({bucket: 'acme-state', prefix: 'a/../b', userArn: USER})).code).to.equal('PrefixInvalid')
    expect(thrown(() => buildStatePolicy({bucket: 'acme-state', prefix: '${aws:username}', userArn: USER})).code).to.equal('PrefixInvalid')
    expect(thrown(() => buildStatePolicy({bucket: 'acme-state', userArn: 'arn:aws:iam::123456789012:role/x'})).code).to.equal('UserArnInvalid')
    expect(thrown(() => buildStatePolicy({bucket: 'acme-state', userArn: USER, kmsKeyArn: 'not-a-key'})).code).to.equal('KmsKeyInvalid')
  })

  it('summarizes one line per statement', () => {
    const rows = summarizePolicy(buildStatePolicy({bucket: 'acme-state', prefix: 'team-a', userArn: USER}))
    expect(rows[0]).to.deep.equal({sid: 'PulumiStateList', effect: 'Allow', actions: ['s3:ListBucket'], resources: ['arn:aws:s3:::acme-state'], condition: 'StringLike s3:prefix team-a/* | team-a'})
    expect(rows).to.have.length(5)
  })
})

describe('normalizePrefix', () => {
  it('strips slashes; no prefix is undefined, but an empty or slash-only one is exit 2 (never the whole bucket)', () => {
    expect(normalizePrefix(undefined)).to.equal(undefined)
    for (const empty of ['', '/', '//', '///']) {
      expect(() => normalizePrefix(empty), JSON.stringify(empty)).to.throw(PsbError).with.property('code', 'PrefixInvalid')
      expect(() => buildStatePolicy({bucket: 'b', prefix: empty, userArn: 'arn:aws:iam::123456789012:user/u'})).to.throw(PsbError).with.property('exitCode', 2)
    }
    expect(normalizePrefix('/team-a/')).to.equal('team-a')
    expect(normalizePrefix('a/b.c_d')).to.equal('a/b.c_d')
  })
  it('rejects wildcards, variables, spaces and empty segments', () => {
    for (const bad of ['a*', 'a?', 'a b', 'a//b', './a', '${x}', 'x'.repeat(513)]) {
      expect(thrown(() => normalizePrefix(bad)).exitCode, bad).to.equal(2)
    }
  })
})

describe('policiesEquivalent', () => {
  const base = buildStatePolicy({bucket: 'acme-state', prefix: 'team-a', userArn: USER})

  it('ignores statement, action and resource order, string vs one-element array, Sids, case of actions', () => {
    const shuffled: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [...statements(base)].reverse().map((s) => ({
        Effect: s.Effect,
        Action: Array.isArray(s.Action) ? [...s.Action].reverse().map((a) => a.toLowerCase()) : [s.Action!],
        Resource: Array.isArray(s.Resource) ? s.Resource : [s.Resource!],
        ...(s.Condition ? {Condition: {StringLike: {'S3:Prefix': ['team-a', 'team-a/*']}}} : {}),
      })),
    }
    expect(policiesEquivalent(base, shuffled)).to.equal(true)
    expect(policiesEquivalent(base, JSON.stringify(shuffled))).to.equal(true)
    expect(policiesEquivalent(encodeURIComponent(JSON.stringify(base)), base)).to.equal(true)
  })

  it('a single statement object equals a one-element array', () => {
    const one: PolicyStatement = {Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*'}
    expect(policiesEquivalent({Version: '2012-10-17', Statement: one}, {Version: '2012-10-17', Statement: [{...one, Action: ['s3:GetObject']}]})).to.equal(true)
  })

  it('sees real differences: an extra action, another resource, a dropped condition, a Deny, another Version', () => {
    const edit = (f: (s: PolicyStatement[]) => void, version = '2012-10-17'): PolicyDocument => {
      const copy = JSON.parse(JSON.stringify(base)) as PolicyDocument
      f(statements(copy))
      copy.Version = version
      return copy
    }
    expect(policiesEquivalent(base, edit((s) => (s[1].Action as string[]).push('s3:PutObjectAcl')))).to.equal(false)
    expect(policiesEquivalent(base, edit((s) => (s[1].Resource = 'arn:aws:s3:::acme-state/*')))).to.equal(false)
    expect(policiesEquivalent(base, edit((s) => delete s[0].Condition))).to.equal(false)
    expect(policiesEquivalent(base, edit((s) => (s[4].Effect = 'Deny')))).to.equal(false)
    expect(policiesEquivalent(base, edit((s) => s.pop()))).to.equal(false)
    expect(policiesEquivalent(base, edit(() => {}, '2008-10-17'))).to.equal(false)
    const noVersion = JSON.parse(JSON.stringify(base)) as PolicyDocument
    delete noVersion.Version
    expect(policiesEquivalent(base, noVersion)).to.equal(false)
  })

  it('a duplicated statement means the same', () => {
    const dup = {...base, Statement: [...statements(base), statements(base)[0]]}
    expect(canonicalPolicy(dup)).to.equal(canonicalPolicy(base))
  })

  it('parses IAM\'s URL-encoded documents', () => {
    expect(parsePolicyDocument(encodeURIComponent(JSON.stringify(base)))).to.deep.equal(base)
  })
})

describe('broadPolicyWarning', () => {
  it('warns for AdministratorAccess that it grants the whole account, and not for other policies', () => {
    expect(broadPolicyWarning('arn:aws:iam::aws:policy/AdministratorAccess', '123456789012')).to.match(/grants the whole account 123456789012/)
    expect(broadPolicyWarning('arn:aws:iam::aws:policy/PowerUserAccess')).to.match(/almost the whole account/)
    expect(broadPolicyWarning('arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess')).to.equal(undefined)
    expect(broadPolicyWarning('arn:aws:iam::123456789012:policy/AdministratorAccess')).to.equal(undefined)
  })
})
