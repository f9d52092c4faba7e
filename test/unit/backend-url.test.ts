import {expect} from 'chai'
import {buildBackendUrl, dialectFor, normalizePrefix, parseVersion, planBackendUrl, shellQuote, type BackendUrlOptions} from '../../src/lib/pulumi/backend-url.js'
import {PsbError} from '../../src/lib/errors.js'

/** The query parameters each Pulumi version's S3 driver accepts (docs: shared/notes/pulumi-s3-backend.md). */
function accepted(version: string, params: URLSearchParams): string[] {
  const [, minor] = version.split('.').map(Number)
  if (minor >= 245) return ['region', 'profile', 'endpoint', 'use_path_style', 'disable_https', 'awssdk']
  if (minor >= 113 && params.get('awssdk') === 'v2') return ['awssdk', 'region', 'endpoint', 'profile']
  if (minor >= 113) return ['awssdk', 'region', 'endpoint', 'disableSSL', 's3ForcePathStyle']
  return ['region', 'endpoint', 'disableSSL', 's3ForcePathStyle']
}

const base = {bucket: 'acme-state', region: 'eu-west-1'}

describe('backend URL', () => {
  describe('a table across Pulumi versions', () => {
    // [version, options, expected URL, AWS_PROFILE Pulumi then needs]
    const rows: Array<[string, Partial<BackendUrlOptions>, string, string?]> = [
      // no profile, no endpoint: the same everywhere
      ['3.100.0', {}, 's3://acme-state?region=eu-west-1'],
      ['3.113.0', {}, 's3://acme-state?region=eu-west-1'],
      ['3.245.0', {}, 's3://acme-state?region=eu-west-1'],
      // profile
      ['3.100.0', {profile: 'pulumi'}, 's3://acme-state?region=eu-west-1', 'pulumi'],
      ['3.113.0', {profile: 'pulumi'}, 's3://acme-state?awssdk=v2&region=eu-west-1&profile=pulumi'],
      ['3.200.0', {profile: 'pulumi'}, 's3://acme-state?awssdk=v2&region=eu-west-1&profile=pulumi'],
      ['3.244.0', {profile: 'pulumi'}, 's3://acme-state?awssdk=v2&region=eu-west-1&profile=pulumi'],
      ['3.245.0', {profile: 'pulumi'}, 's3://acme-state?region=eu-west-1&profile=pulumi'],
      ['3.274.1', {profile: 'team a+b'}, 's3://acme-state?region=eu-west-1&profile=team%20a%2Bb'],
      // endpoints: http and https
      ['3.100.0', {endpoint: 'http://127.0.0.1:5000'}, 's3://acme-state?region=eu-west-1&endpoint=http%3A%2F%2F127.0.0.1%3A5000&s3ForcePathStyle=true&disableSSL=true'],
      ['3.200.0', {endpoint: 'https://s3.example.com/'}, 's3://acme-state?region=eu-west-1&endpoint=https%3A%2F%2Fs3.example.com&s3ForcePathStyle=true'],
      ['3.244.0', {endpoint: 'http://minio:9000', profile: 'p'}, 's3://acme-state?region=eu-west-1&endpoint=http%3A%2F%2Fminio%3A9000&s3ForcePathStyle=true&disableSSL=true', 'p'],
      ['3.245.0', {endpoint: 'https://s3.example.com'}, 's3://acme-state?region=eu-west-1&endpoint=https%3A%2F%2Fs3.example.com&use_path_style=true'],
      ['3.274.1', {endpoint: 'http://127.0.0.1:5000', profile: 'p'}, 's3://acme-state?region=eu-west-1&profile=p&endpoint=http%3A%2F%2F127.0.0.1%3A5000&use_path_style=true&disable_https=true'],
      // prefixes, encoded per segment, slashes kept
      ['3.274.1', {prefix: 'team-a'}, 's3://acme-state/team-a?region=eu-west-1'],
      ['3.274.1', {prefix: '/teams/a b/'}, 's3://acme-state/teams/a%20b?region=eu-west-1'],
      ['3.200.0', {prefix: 'é?#&%', profile: 'p'}, 's3://acme-state/%C3%A9%3F%23%26%25?awssdk=v2&region=eu-west-1&profile=p'],
      ['3.100.0', {prefix: 'x+y'}, 's3://acme-state/x%2By?region=eu-west-1'],
    ]
    for (const [version, extra, want, awsProfile] of rows) {
      const label = `${version} ${JSON.stringify(extra)}`
      it(label, () => {
        const plan = planBackendUrl({...base, ...extra, pulumiVersion: version})
        expect(plan.url).to.equal(want)
        expect(plan.env.AWS_PROFILE).to.equal(awsProfile)
        if (awsProfile) expect(plan.warnings.join('\n')).to.include(`AWS_PROFILE=${awsProfile}`)
        else expect(plan.warnings).to.deep.equal([])
        // Every parameter is one that Pulumi version accepts, and each value decodes back.
        const u = new URL(plan.url)
        for (const k of u.searchParams.keys()) expect(accepted(version, u.searchParams), `${k} on ${version}`).to.include(k)
        expect(u.searchParams.get('region')).to.equal('eu-west-1')
        if (extra.endpoint) expect(u.searchParams.get('endpoint')).to.equal(extra.endpoint.replace(/\/+$/, ''))
        if (extra.profile && !awsProfile) expect(u.searchParams.get('profile')).to.equal(extra.profile)
        if (extra.prefix) expect(decodeURIComponent(u.pathname.slice(1))).to.equal(extra.prefix.replace(/^\/+|\/+$/g, ''))
        expect(u.host).to.equal('acme-state')
      })
    }
  })

  it('uses the newest dialect when the version is unknown or unparseable', () => {
    const opts = {...base, profile: 'p', endpoint: 'http://127.0.0.1:5000'}
    const newest = buildBackendUrl({...opts, pulumiVersion: '3.274.1'})
    expect(buildBackendUrl(opts)).to.equal(newest)
    expect(buildBackendUrl({...opts, pulumiVersion: 'dev build'})).to.equal(newest)
    expect(buildBackendUrl({...opts, pulumiVersion: 'v4.0.0'})).to.equal(newest)
  })

  it('reads versions as printed by pulumi version', () => {
    expect(parseVersion('v3.274.1')).to.deep.equal([3, 274, 1])
    expect(parseVersion('3.245.0-alpha.1+dirty')).to.deep.equal([3, 245, 0])
    expect(parseVersion('nope')).to.equal(undefined)
    expect(dialectFor('v3.244.9')).to.equal('v1-or-v2')
    expect(dialectFor('v3.245.0')).to.equal('v2')
    expect(dialectFor('v3.112.99')).to.equal('v1')
    expect(dialectFor('v3.113.0')).to.equal('v1-or-v2')
  })

  describe('bad input (exit 2)', () => {
    const bad: Array<[string, Partial<BackendUrlOptions>, string]> = [
      ['an upper-case bucket', {bucket: 'Acme'}, 'BucketNameInvalid'],
      ['a bucket with a slash', {bucket: 'a/b'}, 'BucketNameInvalid'],
      ['a bucket with ..', {bucket: 'a..b'}, 'BucketNameInvalid'],
      ['a prefix with ..', {prefix: 'a/../b'}, 'PrefixInvalid'],
      ['a prefix with an empty segment', {prefix: 'a//b'}, 'PrefixInvalid'],
      ['a prefix with a newline', {prefix: 'a\nb'}, 'PrefixInvalid'],
      ['an endpoint that is not a URL', {endpoint: 'localhost:5000'}, 'EndpointInvalid'],
      ['an ftp endpoint', {endpoint: 'ftp://x'}, 'EndpointInvalid'],
      ['an endpoint with user:password@', {endpoint: 'https://admin:s3cretPassw0rd@s3.example.com'}, 'EndpointHasCredentials'],
      ['an endpoint with a user name only', {endpoint: 'http://admin@127.0.0.1:5000'}, 'EndpointHasCredentials'],
      ['an empty prefix', {prefix: ''}, 'PrefixInvalid'],
      ['a prefix of one slash', {prefix: '/'}, 'PrefixInvalid'],
      ['a prefix of slashes only', {prefix: '//'}, 'PrefixInvalid'],
      ['no region', {region: ''}, 'RegionMissing'],
      ['a profile with a bracket', {profile: 'a]b'}, 'ProfileNameInvalid'],
    ]
    for (const [what, extra, code] of bad) {
      it(`rejects ${what}`, () => {
        let caught: unknown
        try {
          buildBackendUrl({...base, ...extra})
        } catch (error) {
          caught = error
        }
        expect(caught).to.be.instanceOf(PsbError)
        expect((caught as PsbError).exitCode).to.equal(2)
        expect((caught as PsbError).code).to.equal(code)
      })
    }
  })

  it('refuses a prefix that normalises to nothing (an unset $TEAM must not mean the whole bucket)', () => {
    for (const p of ['', '/', '//', ' / '.trim()]) expect(() => normalizePrefix(p)).to.throw(PsbError).with.property('exitCode', 2)
    expect(normalizePrefix(undefined)).to.equal(undefined)
    expect(normalizePrefix('/team-a/')).to.equal('team-a')
  })

  it('never echoes the password of an endpoint it refuses', () => {
    let caught: PsbError | undefined
    try {
      buildBackendUrl({...base, endpoint: 'https://admin:s3cretPassw0rd@s3.example.com'})
    } catch (error) {
      caught = error as PsbError
    }
    expect(caught?.exitCode).to.equal(2)
    expect(`${caught?.message} ${caught?.hint}`).not.to.include('s3cretPassw0rd')
    expect(`${caught?.message} ${caught?.hint}`).not.to.include('admin')
  })

  it('shell-quotes values that need it, safely', () => {
    expect(shellQuote('plain-name')).to.equal('plain-name')
    expect(shellQuote("it's")).to.equal(`'it'\\''s'`)
    expect(shellQuote('s3://b?region=x&y=1')).to.equal(`'s3://b?region=x&y=1'`)
  })
})
