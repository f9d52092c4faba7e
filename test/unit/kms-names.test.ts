/** The pure rules of the kms/ domain and of `psb stack secrets`: alias, provider URL, key and grant policies, inputs. */
import {expect} from 'chai'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {thrown} from '../support/errors.js'
import {KEY_SID, SECRETS_SID, defaultAlias, kmsEndpointEnv, mergeGrantPolicy, mergeKeyPolicy, parseProviderUrl, providerUrl, usePrincipals, validateAlias} from '../../src/lib/kms/names.js'
import {validateSecretsKeyOptions, wantedTags} from '../../src/lib/kms/key.js'
import {stackProvider, validateStackSecrets} from '../../src/lib/pulumi/stack-secrets.js'
import {kmsOptionsFromFlags} from '../../src/cli/kms.js'
import {stackSecretsOptionsFromFlags} from '../../src/cli/stack-secrets.js'
import type {PolicyStatement} from '../../src/lib/iam/policy.js'

const ACCOUNT = '123456789012'
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`

describe('kms: alias and provider URL', () => {
  it('the default alias is alias/pulumi-<bucket>[-<prefix>], with "." made "-"', () => {
    expect(defaultAlias('acme-state')).to.equal('alias/pulumi-acme-state')
    expect(defaultAlias('acme.state', 'team-a')).to.equal('alias/pulumi-acme-state-team-a')
    expect(defaultAlias('acme', 'projects/web.v2')).to.equal('alias/pulumi-acme-projects/web-v2')
    expect(() => validateAlias(defaultAlias('acme.state', 'a.b'))).not.to.throw()
  })

  it('refuses aliases KMS would refuse, and alias/aws/ (exit 2)', () => {
    for (const bad of ['pulumi', 'alias/', 'alias/a b', 'alias/aws/s3']) expect(thrown(() => validateAlias(bad))?.exitCode, bad).to.equal(2)
  })

  it('builds and parses awskms:// URLs as gocloud does', () => {
    expect(providerUrl('alias/pulumi-acme', 'eu-west-1')).to.equal('awskms://alias/pulumi-acme?region=eu-west-1')
    expect(parseProviderUrl('awskms://alias/pulumi-acme?region=eu-west-1')).to.include({keyId: 'alias/pulumi-acme', region: 'eu-west-1'})
    expect(parseProviderUrl(`awskms:///${KEY}?region=us-east-1&awssdk=v2`).keyId).to.equal(KEY)
    expect(parseProviderUrl('awskms://alias/x').region).to.equal(undefined)
    for (const bad of ['passphrase', 'awskms://', 'gcpkms://x', 'default']) expect(thrown(() => parseProviderUrl(bad))?.code, bad).to.equal('SecretsProviderInvalid')
  })

  it('names the KMS endpoint variable only with an endpoint', () => {
    expect(kmsEndpointEnv(undefined)).to.equal(undefined)
    expect(kmsEndpointEnv('http://127.0.0.1:5000')).to.equal('AWS_ENDPOINT_URL_KMS=http://127.0.0.1:5000')
  })
})

describe('kms: the key policy and the grant', () => {
  const userA = `arn:aws:iam::${ACCOUNT}:user/pulumi-a`
  const userB = `arn:aws:iam::${ACCOUNT}:user/pulumi-b`

  it('administration for the account, use only through IAM for the named principals', () => {
    const {policy} = mergeKeyPolicy(undefined, ACCOUNT, 'aws', [userA])
    const [admin, use] = policy.Statement as PolicyStatement[]
    expect(admin).to.include({Sid: KEY_SID.admin, Resource: '*'})
    expect(admin.Principal).to.deep.equal({AWS: `arn:aws:iam::${ACCOUNT}:root`})
    expect(admin.Action).to.not.include.members(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:*'])
    expect(use.Action).to.deep.equal(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'])
    expect(use.Condition).to.deep.equal({ArnEquals: {'aws:PrincipalArn': [userA]}})
    expect(mergeKeyPolicy(undefined, ACCOUNT, 'aws', []).policy.Statement).to.have.length(1)
  })

  it('a merge keeps foreign statements and every principal already named; the same input is no change', () => {
    const first = mergeKeyPolicy(undefined, ACCOUNT, 'aws', [userA]).policy
    const foreign: PolicyStatement = {Sid: 'Auditors', Effect: 'Allow', Principal: {AWS: 'arn:aws:iam::1:role/x'}, Action: 'kms:DescribeKey', Resource: '*'}
    const withForeign = {...first, Statement: [...(first.Statement as PolicyStatement[]), foreign]}
    expect(mergeKeyPolicy(withForeign, ACCOUNT, 'aws', [userA]).changed).to.equal(false)
    expect(mergeKeyPolicy(withForeign, ACCOUNT, 'aws', []).changed).to.equal(false)
    const more = mergeKeyPolicy(withForeign, ACCOUNT, 'aws', [userB])
    expect(more.changed).to.equal(true)
    expect(more.added).to.deep.equal([userB])
    expect(usePrincipals(more.policy)).to.deep.equal([userA, userB])
    expect(more.policy.Statement).to.deep.include(foreign)
  })

  it('a hand-weakened psb statement is put back (e.g. kms:* for everyone)', () => {
    const first = mergeKeyPolicy(undefined, ACCOUNT, 'aws', [userA]).policy
    const weakened = {...first, Statement: (first.Statement as PolicyStatement[]).map((s) => (s.Sid === KEY_SID.use ? {...s, Action: 'kms:*', Condition: undefined} : s))}
    const r = mergeKeyPolicy(weakened, ACCOUNT, 'aws', [userA])
    expect(r.changed).to.equal(true)
    const use = (r.policy.Statement as PolicyStatement[]).find((s) => s.Sid === KEY_SID.use)!
    expect(use.Action).to.deep.equal(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'])
    expect(use.Condition).to.deep.equal({ArnEquals: {'aws:PrincipalArn': [userA]}})
    // Naming nobody, the weakened statement is not kept either.
    expect(JSON.stringify(mergeKeyPolicy(weakened, ACCOUNT, 'aws', []).policy)).not.to.contain('kms:*')
  })

  it('the grant covers every key granted so far and keeps other statements', () => {
    const one = mergeGrantPolicy(undefined, KEY)
    expect(one.policy.Statement).to.deep.equal([{Sid: SECRETS_SID, Effect: 'Allow', Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], Resource: KEY}])
    expect(mergeGrantPolicy(one.policy, KEY).changed).to.equal(false)
    const other = KEY.replace('1234abcd', 'ffffffff')
    const two = mergeGrantPolicy({...one.policy, Statement: [...(one.policy.Statement as PolicyStatement[]), {Sid: 'Mine', Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*'}]}, other)
    expect((two.policy.Statement as PolicyStatement[])[0].Resource).to.deep.equal([KEY, other].sort())
    expect((two.policy.Statement as PolicyStatement[]).map((s) => s.Sid)).to.deep.equal([SECRETS_SID, 'Mine'])
  })
})

describe('kms create / stack secrets: inputs (exit 2 before any call)', () => {
  it('checks every item of --for-user and --for-role, the tags psb owns, the bucket and prefix', () => {
    const base = {bucket: 'acme-state'}
    expect(thrown(() => kmsOptionsFromFlags({...base, 'for-user': ['pulumi', 'bad user']}, 'us-east-1'))?.exitCode).to.equal(2)
    expect(thrown(() => kmsOptionsFromFlags({...base, 'for-role': ['ci', 'arn:aws:iam::1:role/x']}, 'us-east-1'))?.code).to.equal('RoleNameInvalid')
    expect(thrown(() => kmsOptionsFromFlags({...base, tag: ['psb-bucket=other']}, 'us-east-1'))?.code).to.equal('TagInvalid')
    expect(thrown(() => kmsOptionsFromFlags({...base, prefix: '/'}, 'us-east-1'))?.exitCode).to.equal(2)
    expect(thrown(() => kmsOptionsFromFlags({bucket: 'Bad_Bucket'}, 'us-east-1'))?.exitCode).to.equal(2)
    const ok = kmsOptionsFromFlags({...base, prefix: '/team-a/', 'for-user': ['pulumi'], 'for-role': ['ci'], tag: ['team=platform']}, 'us-east-1')
    expect(ok.principals).to.deep.equal([{kind: 'user', name: 'pulumi'}, {kind: 'role', name: 'ci'}])
    expect(validateSecretsKeyOptions(ok)).to.equal('alias/pulumi-acme-state-team-a')
    expect(wantedTags(ok)).to.deep.equal({team: 'platform', 'managed-by': 'psb', 'psb-bucket': 'acme-state', 'psb-prefix': 'team-a', 'psb-purpose': 'pulumi-secrets'})
  })

  it('stack secrets: the URL from the flags, psb\'s key for the bucket, or the backend Pulumi is logged in to', () => {
    const dir = mkdtempSync(join(tmpdir(), 'psb-stack-'))
    try {
      writeFileSync(join(dir, 'Pulumi.yaml'), 'name: p\nruntime: yaml\n')
      expect(stackSecretsOptionsFromFlags({project: dir, stack: 'dev', bucket: 'acme', prefix: 'team-a', region: 'eu-west-1'}, {}).providerUrl).to.equal('awskms://alias/pulumi-acme-team-a?region=eu-west-1')
      writeFileSync(join(dir, 'credentials'), '[team-b]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n')
      const files = {AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'), AWS_CONFIG_FILE: join(dir, 'config')}
      expect(thrown(() => stackSecretsOptionsFromFlags({project: dir, stack: 'dev', bucket: 'acme', region: 'eu-west-1', profile: 'team-c'}, files))?.code).to.equal('ProfileNotFound')
      const fromLogin = stackSecretsOptionsFromFlags({project: dir, stack: 'dev'}, {...files, PULUMI_BACKEND_URL: 's3://acme/team-b?region=us-west-2&profile=team-b&endpoint=http%3A%2F%2F127.0.0.1%3A5000'})
      expect(fromLogin).to.include({providerUrl: 'awskms://alias/pulumi-acme-team-b?region=us-west-2', profile: 'team-b', endpoint: 'http://127.0.0.1:5000'})
      expect(thrown(() => stackSecretsOptionsFromFlags({project: dir, stack: 'dev', 'secrets-provider': 'passphrase'}, {}))?.exitCode).to.equal(2)
      expect(thrown(() => validateStackSecrets({project: join(dir, 'nope'), stack: 'dev', providerUrl: 'awskms://alias/x'}))?.code).to.equal('ProjectNotFound')
      expect(thrown(() => validateStackSecrets({project: dir, stack: 'a b', providerUrl: 'awskms://alias/x'}))?.code).to.equal('StackNameInvalid')
      expect(stackProvider(dir, 'dev')).to.equal(undefined)
      writeFileSync(join(dir, 'Pulumi.dev.yaml'), 'encryptionsalt: v1:abc\nconfig:\n  p:token:\n    secure: v1:xyz\n')
      expect(stackProvider(dir, 'dev')).to.equal('passphrase')
      writeFileSync(join(dir, 'Pulumi.dev.yaml'), 'secretsprovider: awskms://alias/x?region=eu-west-1\nencryptedkey: AQID\n')
      expect(stackProvider(dir, 'org/p/dev')).to.equal('awskms://alias/x?region=eu-west-1')
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
