/**
 * The role's trust policy and state policy as data (moto does not check web-identity tokens,
 * so the exact `sub` / `aud` conditions GitHub documents are proven here), every wildcard that
 * would let anyone in refused with exit 2, and the merge rules of a re-run.
 */
import {expect} from 'chai'
import {SID, buildStatePolicy, type PolicyDocument, type PolicyStatement} from '../../src/lib/iam/policy.js'
import {VERIFY_OWN_ROLE_ACTIONS, buildRoleStatePolicy} from '../../src/lib/iam/role-policy.js'
import {DEFAULT_ROLE, validateRoleOptions, type RoleOptions} from '../../src/lib/iam/role.js'
import {judgeTrust, mergeTrust, parseTrust, parseTrusts, trustPolicyDocument, trustSid, type TrustEntry} from '../../src/lib/iam/trust.js'
import {refuseRoleProfile} from '../../src/lib/keys/run.js'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {thrown} from '../support/errors.js'

const ACCOUNT = '123456789012'
const O = {partition: 'aws', accountId: ACCOUNT}
const PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`
const stmts = (d: PolicyDocument) => d.Statement as PolicyStatement[]
const one = (spec: string, o: Parameters<typeof trustPolicyDocument>[1] = O) => {
  const s = stmts(trustPolicyDocument([parseTrust(spec)], o))
  expect(s).to.have.length(1)
  const {Sid, ...rest} = s[0]
  expect(Sid).to.match(/^Psb(Github|Aws)[0-9A-F]{10}$/)
  return rest
}

describe('role trust: every --trust form gives the conditions GitHub and AWS document', () => {
  const github = (condition: object) => ({Effect: 'Allow', Principal: {Federated: PROVIDER}, Action: 'sts:AssumeRoleWithWebIdentity', Condition: condition})

  it('github:OWNER/REPO: any ref (StringLike sub repo:OWNER/REPO:*), aud sts.amazonaws.com (StringEquals)', () => {
    expect(one('github:acme/infra')).to.deep.equal(
      github({
        StringEquals: {'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com'},
        StringLike: {'token.actions.githubusercontent.com:sub': 'repo:acme/infra:*'},
      }),
    )
  })

  it('github:OWNER/REPO:ref:refs/heads/main: exactly that branch (StringEquals sub)', () => {
    expect(one('github:acme/infra:ref:refs/heads/main')).to.deep.equal(
      github({StringEquals: {'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com', 'token.actions.githubusercontent.com:sub': 'repo:acme/infra:ref:refs/heads/main'}}),
    )
    expect(parseTrust('github:acme/infra:ref:refs/tags/v1.2.0')).to.include({ref: 'refs/tags/v1.2.0'})
  })

  it('github:OWNER/REPO:environment:prod and :pull_request', () => {
    expect(one('github:acme/infra:environment:prod')).to.deep.equal(
      github({StringEquals: {'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com', 'token.actions.githubusercontent.com:sub': 'repo:acme/infra:environment:prod'}}),
    )
    expect(one('github:Acme-Corp/web.app:pull_request')).to.deep.equal(
      github({StringEquals: {'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com', 'token.actions.githubusercontent.com:sub': 'repo:Acme-Corp/web.app:pull_request'}}),
    )
  })

  it('every github statement has the audience condition, on the given provider ARN', () => {
    const doc = trustPolicyDocument(parseTrusts(['github:a/b', 'github:a/b:pull_request', 'github:a/b:environment:x', 'github:a/b:ref:refs/heads/x']), {...O, oidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/other'})
    for (const s of stmts(doc)) {
      expect(s.Condition!.StringEquals['token.actions.githubusercontent.com:aud']).to.equal('sts.amazonaws.com')
      expect(s.Principal).to.deep.equal({Federated: 'arn:aws:iam::123456789012:oidc-provider/other'})
    }
  })

  it('aws:<ARN>: sts:AssumeRole by that principal; with requireMfa Bool aws:MultiFactorAuthPresent true', () => {
    const sso = 'arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef'
    expect(one(`aws:${sso}`)).to.deep.equal({Effect: 'Allow', Principal: {AWS: sso}, Action: 'sts:AssumeRole'})
    expect(one('aws:arn:aws:iam::123456789012:user/alice', {...O, requireMfa: true})).to.deep.equal({
      Effect: 'Allow',
      Principal: {AWS: 'arn:aws:iam::123456789012:user/alice'},
      Action: 'sts:AssumeRole',
      Condition: {Bool: {'aws:MultiFactorAuthPresent': 'true'}},
    })
    expect(one('aws:arn:aws:iam::210987654321:root')).to.deep.equal({Effect: 'Allow', Principal: {AWS: 'arn:aws:iam::210987654321:root'}, Action: 'sts:AssumeRole'})
  })

  it('aws:<12 digits> is that account root, written as IAM stores it', () => {
    expect(parseTrust('aws:210987654321')).to.deep.equal({kind: 'aws', principal: 'arn:aws:iam::210987654321:root', spec: 'aws:210987654321'})
  })

  it('requireMfa never touches github statements', () => {
    expect(one('github:acme/infra', {...O, requireMfa: true}).Condition).to.not.have.property('Bool')
  })

  it('Sids are stable per trusted subject, different per form', () => {
    const sids = ['github:a/b', 'github:a/b:pull_request', 'github:a/c', 'aws:111111111111'].map((s) => trustSid(parseTrust(s)))
    expect(new Set(sids).size).to.equal(4)
    expect(trustSid(parseTrust('github:a/b'))).to.equal(trustSid(parseTrust('github:a/b')))
  })
})

describe('role trust: a trust that would let anyone in, and every malformed form, is exit 2', () => {
  const refused = (spec: string, re: RegExp) => {
    const e = thrown(() => parseTrust(spec))
    expect(e.exitCode, spec).to.equal(2)
    expect(e.code, spec).to.equal('TrustInvalid')
    expect(e.message, spec).to.match(re)
  }
  it('github:* and every owner wildcard', () => {
    for (const s of ['github:*', 'github:*/*', 'github:*/infra', 'github:ac*/infra', 'github:?cme/infra', 'github:*:pull_request']) refused(s, /owner|wildcard/)
  })
  it('repository wildcards, and wildcards in a ref or environment', () => {
    for (const s of ['github:acme/*', 'github:acme/inf*', 'github:acme/infra:ref:refs/heads/*', 'github:acme/infra:environment:*']) refused(s, /wildcard/)
  })
  it('aws:* and any wildcard principal', () => {
    for (const s of ['aws:*', 'aws:arn:aws:iam::*:root', 'aws:arn:aws:iam::123456789012:role/*', 'aws:arn:aws:iam::123456789012:user/a?']) refused(s, /wildcard/)
  })
  it('malformed forms', () => {
    for (const s of [
      '',
      ' ',
      'github',
      'github:',
      'github:acme',
      'github:acme/',
      'github:/infra',
      'github:-acme/infra',
      'github:acme/infra:ref:main',
      'github:acme/infra:ref:refs/heads/',
      'github:acme/infra:environment:',
      'github:acme/infra:branch:main',
      'github:acme/infra:pull_request:x',
      'github:acme/..',
      'gitlab:acme/infra',
      'aws:',
      'aws:arn:aws:s3:::bucket',
      'aws:arn:aws:iam::123456789012:group/admins',
      'aws:arn:aws:sts::123456789012:assumed-role/x/y',
      'aws:12345',
      'acme/infra',
    ]) {
      const e = thrown(() => parseTrust(s))
      expect(e.exitCode, s).to.equal(2)
    }
  })
  it('parseTrusts checks every item before any is used, and drops duplicates', () => {
    expect(thrown(() => parseTrusts(['github:acme/infra', 'aws:*'])).exitCode).to.equal(2)
    expect(parseTrusts(['github:acme/infra', 'github:acme/infra', 'aws:111111111111', 'aws:arn:aws:iam::111111111111:root'])).to.have.length(2)
  })
  it('a long rejected value that looks like a secret is described, never echoed', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
    const e = thrown(() => parseTrust(`aws:${secret}`))
    expect(e.message).to.not.include(secret)
    expect(e.message).to.include('(a value of 44 characters)')
    // An ARN- or slug-shaped value cannot be a secret: it is quoted, so the user sees what was refused.
    expect(thrown(() => parseTrust('aws:arn:aws:iam::123456789012:role/*')).message).to.include('"aws:arn:aws:iam::123456789012:role/*"')
    expect(thrown(() => parseTrust('github:acme-corp/*')).message).to.include('"github:acme-corp/*"')
  })
})

describe('role trust: a re-run keeps what psb did not write and never weakens', () => {
  const foreign: PolicyStatement = {Sid: 'LambdaCanAssume', Effect: 'Allow', Principal: {Service: 'lambda.amazonaws.com'}, Action: 'sts:AssumeRole'}
  const entries = parseTrusts(['github:acme/infra', 'aws:arn:aws:iam::123456789012:user/alice'])

  it('same entries again: nothing added, the document is the same', () => {
    const doc = trustPolicyDocument(entries, O)
    const m = mergeTrust(doc, entries, O)
    expect(m.added).to.deep.equal([])
    expect(m.document).to.deep.equal(doc)
  })

  it('keeps a statement psb did not write, adds what is missing', () => {
    const m = mergeTrust({Version: '2012-10-17', Statement: [foreign]}, entries, O)
    expect(m.foreign).to.equal(1)
    expect(stmts(m.document)[0]).to.deep.equal(foreign)
    expect(m.added).to.deep.equal(['github:acme/infra', 'aws:arn:aws:iam::123456789012:user/alice'])
  })

  it('keeps psb\'s other statements, unless replace (foreign ones stay even then)', () => {
    const old = trustPolicyDocument([...parseTrusts(['github:acme/old']), ...entries], O)
    ;(old.Statement as PolicyStatement[]).push(foreign)
    expect(stmts(mergeTrust(old, entries, O).document)).to.have.length(4)
    const replaced = mergeTrust(old, entries, O, true)
    expect(replaced.removed).to.deep.equal([trustSid(parseTrust('github:acme/old'))])
    expect(stmts(replaced.document).map((s) => s.Sid)).to.deep.equal(['LambdaCanAssume', ...entries.map(trustSid)])
  })

  it('--require-mfa adds MFA to an existing aws statement; a run without it keeps the MFA', () => {
    const plain = trustPolicyDocument(entries, O)
    const strengthened = mergeTrust(plain, entries, {...O, requireMfa: true})
    expect(strengthened.added).to.deep.equal(['aws:arn:aws:iam::123456789012:user/alice'])
    const alice = stmts(strengthened.document)[1]
    expect(alice.Condition).to.deep.equal({Bool: {'aws:MultiFactorAuthPresent': 'true'}})
    const again = mergeTrust(strengthened.document, entries, O)
    expect(again.added).to.deep.equal([])
    expect(stmts(again.document)[1].Condition).to.deep.equal({Bool: {'aws:MultiFactorAuthPresent': 'true'}})
  })

  it('--require-mfa on a run that names no aws: entry still puts MFA on psb\'s existing aws: statements (not on others)', () => {
    const hand: PolicyStatement = {Sid: 'Ops', Effect: 'Allow', Principal: {AWS: 'arn:aws:iam::123456789012:root'}, Action: 'sts:AssumeRole'}
    const doc = trustPolicyDocument(entries, O)
    ;(doc.Statement as PolicyStatement[]).push(hand)
    const m = mergeTrust(doc, parseTrusts(['github:acme/infra']), {...O, requireMfa: true})
    expect(m.added).to.deep.equal(['MFA for aws:arn:aws:iam::123456789012:user/alice'])
    expect(stmts(m.document).find((s) => s.Sid === trustSid(entries[1]))!.Condition).to.deep.equal({Bool: {'aws:MultiFactorAuthPresent': 'true'}})
    expect(stmts(m.document).find((s) => s.Sid === 'Ops')).to.deep.equal(hand)
  })

  it('a psb statement narrowed by hand is kept as it is, with a warning', () => {
    const doc = trustPolicyDocument(entries, O)
    const gh = stmts(doc)[0]
    gh.Condition = {...gh.Condition, StringEquals: {...gh.Condition!.StringEquals, 'token.actions.githubusercontent.com:job_workflow_ref': 'acme/infra/.github/workflows/deploy.yml@refs/heads/main'}}
    const m = mergeTrust(doc, entries, O)
    expect(m.added).to.deep.equal([])
    expect(stmts(m.document)[0]).to.deep.equal(gh)
    expect(m.warnings.join('\n')).to.match(/changed by hand; psb keeps it/)
  })
})

describe('the role state policy: the user policy minus self-rotation', () => {
  const ROLE = 'arn:aws:iam::123456789012:role/ci/pulumi-state'
  it('same bucket, prefix and KMS statements as the user\'s; verify reads the role\'s own policies; no key rotation', () => {
    const kms = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'
    const role = stmts(buildRoleStatePolicy({bucket: 'acme-state', prefix: 'team-a', kmsKeyArn: kms, roleArn: ROLE}))
    const user = stmts(buildStatePolicy({bucket: 'acme-state', prefix: 'team-a', kmsKeyArn: kms, userArn: 'arn:aws:iam::123456789012:user/pulumi'}))
    expect(role.slice(0, 4)).to.deep.equal(user.slice(0, 4))
    expect(role.map((s) => s.Sid)).to.deep.equal([SID.list, SID.objects, SID.kms, SID.verifyBucket, SID.verifyOwnPermissions])
    expect(role[4]).to.deep.equal({Sid: SID.verifyOwnPermissions, Effect: 'Allow', Action: VERIFY_OWN_ROLE_ACTIONS, Resource: ROLE})
    expect(JSON.stringify(role)).to.not.match(/AccessKey|SelfServiceKeyRotation/)
  })
  it('refuses a user ARN', () => {
    expect(thrown(() => buildRoleStatePolicy({bucket: 'acme-state', roleArn: 'arn:aws:iam::123456789012:user/pulumi'})).exitCode).to.equal(2)
  })
})

describe('validateRoleOptions (offline, exit 2)', () => {
  const base: RoleOptions = {role: DEFAULT_ROLE, maxSessionSeconds: 3600, bucket: 'acme-state', attachPolicies: [], trust: parseTrusts(['github:acme/infra']), requireMfa: false, adopt: false, dryRun: false}
  const bad = (o: Partial<RoleOptions>, code: string) => {
    const e = thrown(() => validateRoleOptions({...base, ...o}))
    expect(e.exitCode).to.equal(2)
    expect(e.code).to.equal(code)
  }
  it('accepts the defaults', () => validateRoleOptions(base))
  it('role name, path, bucket, prefix, session bounds, every --attach-policy item, the boundary, the KMS key', () => {
    bad({role: 'bad role'}, 'RoleNameInvalid')
    bad({role: 'x'.repeat(65)}, 'RoleNameInvalid')
    bad({path: 'ci'}, 'IamPathInvalid')
    bad({bucket: 'Bad_Bucket'}, 'BucketNameInvalid')
    bad({prefix: 'a*'}, 'PrefixInvalid')
    bad({maxSessionSeconds: 1800}, 'MaxSessionInvalid')
    bad({maxSessionSeconds: 43201}, 'MaxSessionInvalid')
    bad({attachPolicies: ['arn:aws:iam::aws:policy/ReadOnlyAccess', 'not-an-arn']}, 'PolicyArnInvalid')
    bad({permissionsBoundary: 'nope'}, 'PolicyArnInvalid')
    bad({kmsKeyArn: 'arn:aws:s3:::x'}, 'KmsKeyInvalid')
  })
  it('a hand-built trust entry that its spec does not describe', () => {
    const forged: TrustEntry = {kind: 'github', owner: '*', repo: 'x', spec: 'github:acme/infra'}
    bad({trust: [forged]}, 'TrustInvalid')
  })
})

describe('judgeTrust (verify\'s role-trust check, as data)', () => {
  const doc = (...specs: string[]) => trustPolicyDocument(parseTrusts(specs), O)
  it('psb\'s own forms for one repository: nothing broad, a summary per statement', () => {
    const f = judgeTrust(doc('github:acme/infra:ref:refs/heads/main', 'github:acme/infra:pull_request', 'aws:arn:aws:iam::123456789012:user/alice'), false)
    expect(f.broad).to.deep.equal([])
    expect(f.summary).to.deep.equal(['github repo:acme/infra:ref:refs/heads/main', 'github repo:acme/infra:pull_request', 'aws arn:aws:iam::123456789012:user/alice'])
  })
  it('two repositories, a wildcard subject, no audience, no subject, AWS "*": broad', () => {
    expect(judgeTrust(doc('github:acme/infra', 'github:acme/app'), false).broad).to.deep.equal(['2 repositories may assume it (acme/app, acme/infra)'])
    const gh = (condition: object): PolicyDocument => ({Statement: [{Sid: 'Hand', Effect: 'Allow', Principal: {Federated: PROVIDER}, Action: 'sts:AssumeRoleWithWebIdentity', Condition: condition as never}]})
    expect(judgeTrust(gh({StringLike: {'token.actions.githubusercontent.com:sub': 'repo:acme/*', 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com'}}), false).broad).to.deep.equal(['repo:acme/* matches more than one repository'])
    expect(judgeTrust(gh({StringLike: {'token.actions.githubusercontent.com:sub': 'repo:acme/infra:*'}}), false).broad).to.deep.equal(['Hand has no audience (token.actions.githubusercontent.com:aud) condition'])
    expect(judgeTrust(gh({StringEquals: {'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com'}}), false).broad[0]).to.match(/no subject \(sub\) condition/)
    expect(judgeTrust({Statement: [{Effect: 'Allow', Principal: {AWS: '*'}, Action: 'sts:AssumeRole'}]}, false).broad[0]).to.match(/any AWS principal/)
    expect(judgeTrust({Statement: [{Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole'}]}, false).broad[0]).to.match(/any AWS principal/)
  })
  it('with requireMfa: an AWS principal without the MFA condition is named; with it, none', () => {
    expect(judgeTrust(doc('aws:arn:aws:iam::123456789012:user/alice'), true).noMfa).to.deep.equal(['arn:aws:iam::123456789012:user/alice'])
    expect(judgeTrust(trustPolicyDocument(parseTrusts(['aws:arn:aws:iam::123456789012:user/alice']), {...O, requireMfa: true}), true).noMfa).to.deep.equal([])
    expect(judgeTrust(doc('aws:arn:aws:iam::123456789012:user/alice'), false).noMfa).to.deep.equal([])
  })
  it('a Deny statement is not judged as letting anyone in', () => {
    expect(judgeTrust({Statement: [{Effect: 'Deny', Principal: {AWS: '*'}, Action: 'sts:AssumeRole'}]}, false).broad).to.deep.equal([])
  })
})

describe('refuseRoleProfile (keys rotate / keys list)', () => {
  it('exit 2 for a profile with role_arn in the config file, naming the role; nothing for a key profile', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psb-role-profile-'))
    try {
      writeFileSync(join(dir, 'config'), '[profile ci]\nrole_arn = arn:aws:iam::123456789012:role/pulumi-state\nsource_profile = admin\n[profile other]\nregion = us-east-1\n')
      writeFileSync(join(dir, 'credentials'), '[other]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = x\n')
      const env = {AWS_CONFIG_FILE: join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials')}
      const e = thrown(() => refuseRoleProfile('ci', 'rotate', env))
      expect(e.exitCode).to.equal(2)
      expect(e.code).to.equal('ProfileAssumesRole')
      expect(e.message).to.contain('The profile "ci" has no key to rotate: it assumes arn:aws:iam::123456789012:role/pulumi-state')
      refuseRoleProfile('other', 'list', env)
      refuseRoleProfile('missing', 'list', env)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
