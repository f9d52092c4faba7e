/**
 * The pure parts of `psb destroy`: which principals are psb's for a bucket and prefix, which
 * OIDC providers a trust policy names, and the profile edits (every other byte kept).
 */
import {expect} from 'chai'
import {readFileSync, writeFileSync} from 'node:fs'
import {ownership, trustedProviders} from '../../src/lib/destroy/iam.js'
import {applyProfiles, planProfiles} from '../../src/lib/destroy/profiles.js'
import {validateDestroyOptions} from '../../src/lib/destroy/destroy.js'
import {tempHomeDir} from '../support/keys-fixture.js'
import {thrown} from '../support/errors.js'

const KEY = 'AKIAPSBDESTROYKEY001'
const OTHER = 'AKIAOTHERKEY00000001'
const SECRET = 'abcdefghijklmnopqrstuvwxyz0123456789ABCD'

describe('destroy: what is psb\'s', () => {
  const tags = (extra: Record<string, string> = {}) => ({'managed-by': 'psb', 'psb-bucket': 'b', ...extra})

  it('a whole-bucket destroy takes every psb user of the bucket, whatever its prefix', () => {
    expect(ownership(tags(), 'b', undefined).ours).to.equal(true)
    expect(ownership(tags({'psb-prefix': 'team-a'}), 'b', undefined).ours).to.equal(true)
    expect(ownership(tags(), 'other', undefined)).to.deep.equal({ours: false})
  })

  it('--prefix takes only that prefix\'s user; another prefix and a whole-bucket user are left, with why', () => {
    expect(ownership(tags({'psb-prefix': 'team-a'}), 'b', 'team-a').ours).to.equal(true)
    expect(ownership(tags({'psb-prefix': 'team-b'}), 'b', 'team-a')).to.deep.equal({ours: false, why: 'belongs to the prefix team-b'})
    expect(ownership(tags(), 'b', 'team-a').why).to.match(/whole bucket/)
  })

  it('a user tagged for the bucket but not managed-by=psb is left, with why', () => {
    expect(ownership({'psb-bucket': 'b'}, 'b', undefined).why).to.match(/psb did not make it/)
  })

  it('reads the OIDC providers of a trust policy (URL-encoded as IAM lists it)', () => {
    const arn = 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com'
    const doc = {Statement: [{Principal: {Federated: arn}}, {Principal: {Service: 'ec2.amazonaws.com'}}, {Principal: {Federated: ['cognito-identity.amazonaws.com']}}]}
    expect(trustedProviders(encodeURIComponent(JSON.stringify(doc)))).to.deep.equal([arn])
    expect(trustedProviders(JSON.stringify({Statement: {Principal: {Federated: arn}}}))).to.deep.equal([arn])
    expect(trustedProviders('not json')).to.deep.equal([])
  })

  it('refuses bad input before any call: a bad bucket name, an empty prefix', () => {
    expect(() => validateDestroyOptions({bucket: 'Bad_Bucket', region: 'us-east-1'})).to.throw(/bucket/i)
    const e = thrown(() => validateDestroyOptions({bucket: 'good-bucket', prefix: '/', region: 'us-east-1'}))
    expect(e.exitCode).to.equal(2)
    expect(validateDestroyOptions({bucket: 'good-bucket', prefix: '/team-a/', region: 'us-east-1'}).prefix).to.equal('team-a')
  })
})

describe('destroy: the profile edits', () => {
  it('removes the key from every profile holding it; a profile left empty goes from both files; every other byte stays', async () => {
    const h = tempHomeDir('psb-destroy-unit-')
    const creds = `# mine\n[admin]\naws_access_key_id = ${OTHER}\naws_secret_access_key = ${SECRET}\n\n[pulumi]\naws_access_key_id = ${KEY}\naws_secret_access_key = ${SECRET}\n\n[ci]\n# CI uses it too\naws_access_key_id = ${KEY}\naws_secret_access_key = ${SECRET}\noutput = json\n`
    const conf = `[profile admin]\nregion = eu-west-1\n\n[profile pulumi]\nregion = us-east-1\n\n[profile ci]\nregion = us-east-1\n`
    writeFileSync(h.credentialsFile, creds, {mode: 0o600})
    writeFileSync(h.configFile, conf, {mode: 0o600})

    const edits = planProfiles([KEY], h.env)
    expect(edits).to.deep.equal([
      {profile: 'ci', keys: [KEY], config: false},
      {profile: 'pulumi', keys: [KEY], config: true},
    ])
    const backups = await applyProfiles(edits, h.env, [])
    expect(readFileSync(h.credentialsFile, 'utf8')).to.equal(`# mine\n[admin]\naws_access_key_id = ${OTHER}\naws_secret_access_key = ${SECRET}\n\n[ci]\n# CI uses it too\noutput = json\n`)
    expect(readFileSync(h.configFile, 'utf8')).to.equal(`[profile admin]\nregion = eu-west-1\n\n[profile ci]\nregion = us-east-1\n`)
    expect(backups).to.have.length(2)
    expect(readFileSync(backups.find((b) => b.includes('credentials'))!, 'utf8')).to.equal(creds)

    // A second run finds nothing to edit.
    expect(planProfiles([KEY], h.env)).to.deep.equal([])
  })
})
