import {expect} from 'chai'
import {buildBackendUrl, dialectFor, normalizePrefix, parseVersion, planBackendUrl, shellQuote, type BackendUrlOptions} from '../../src/lib/pulumi/backend-url.js'
import {PsbError} from '../../src/lib/errors.js'
import {describeRejections, eraOf, rejectionsOf} from '../../src/lib/pulumi/url-dialects.js'
import {resolveBackendUrl} from '../../src/lib/pulumi/login.js'

/** The query parameters each Pulumi version's S3 driver accepts (docs: shared/notes/pulumi-s3-backend.md). */
function accepted(version: string, params: URLSearchParams): string[] {
  const [, minor] = version.split('.').map(Number)
  if (minor >= 245) return ['region', 'profile', 'endpoint', 'use_path_style', 'disable_https', 'awssdk']
  if (minor >= 113 && params.get('awssdk') === 'v2') return ['awssdk', 'region', 'endpoint', 'profile']
  if (minor >= 113) return ['awssdk', 'region', 'endpoint', 'disableSSL', 's3ForcePathStyle', 'profile']
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
      // 3.113–3.244: SDK v1 reads profile (measured on 3.200.0): no awssdk=v2, no AWS_PROFILE
      ['3.113.0', {profile: 'pulumi'}, 's3://acme-state?region=eu-west-1&profile=pulumi'],
      ['3.200.0', {profile: 'pulumi'}, 's3://acme-state?region=eu-west-1&profile=pulumi'],
      ['3.244.0', {profile: 'pulumi'}, 's3://acme-state?region=eu-west-1&profile=pulumi'],
      ['3.245.0', {profile: 'pulumi'}, 's3://acme-state?region=eu-west-1&profile=pulumi'],
      ['3.274.1', {profile: 'team a+b'}, 's3://acme-state?region=eu-west-1&profile=team%20a%2Bb'],
      // endpoints: http and https
      ['3.100.0', {endpoint: 'http://127.0.0.1:5000'}, 's3://acme-state?region=eu-west-1&endpoint=http%3A%2F%2F127.0.0.1%3A5000&s3ForcePathStyle=true&disableSSL=true'],
      ['3.200.0', {endpoint: 'https://s3.example.com/'}, 's3://acme-state?region=eu-west-1&endpoint=https%3A%2F%2Fs3.example.com&s3ForcePathStyle=true'],
      ['3.244.0', {endpoint: 'http://minio:9000', profile: 'p'}, 's3://acme-state?region=eu-west-1&profile=p&endpoint=http%3A%2F%2Fminio%3A9000&s3ForcePathStyle=true&disableSSL=true'],
      ['3.200.0', {endpoint: 'http://127.0.0.1:5000', profile: 'p'}, 's3://acme-state?region=eu-west-1&profile=p&endpoint=http%3A%2F%2F127.0.0.1%3A5000&s3ForcePathStyle=true&disableSSL=true'],
      ['3.245.0', {endpoint: 'https://s3.example.com'}, 's3://acme-state?region=eu-west-1&endpoint=https%3A%2F%2Fs3.example.com&use_path_style=true'],
      ['3.274.1', {endpoint: 'http://127.0.0.1:5000', profile: 'p'}, 's3://acme-state?region=eu-west-1&profile=p&endpoint=http%3A%2F%2F127.0.0.1%3A5000&use_path_style=true&disable_https=true'],
      // prefixes, encoded per segment, slashes kept
      ['3.274.1', {prefix: 'team-a'}, 's3://acme-state/team-a?region=eu-west-1'],
      ['3.274.1', {prefix: '/teams/a b/'}, 's3://acme-state/teams/a%20b?region=eu-west-1'],
      ['3.200.0', {prefix: 'é?#&%', profile: 'p'}, 's3://acme-state/%C3%A9%3F%23%26%25?region=eu-west-1&profile=p'],
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

  describe('--dialect: one URL for the Pulumi versions that read it', () => {
    const ep = {...base, profile: 'p', endpoint: 'http://127.0.0.1:5000'}
    const LEGACY = 's3://acme-state?region=eu-west-1&profile=p&endpoint=http%3A%2F%2F127.0.0.1%3A5000&s3ForcePathStyle=true&disableSSL=true'
    const NEW = 's3://acme-state?region=eu-west-1&profile=p&endpoint=http%3A%2F%2F127.0.0.1%3A5000&use_path_style=true&disable_https=true'
    const rows: Array<[string, 'native' | 'portable' | 'v1' | 'v2' | 'current', string]> = [
      ['3.200.0', 'native', LEGACY],
      ['3.274.1', 'native', NEW],
      ['3.245.0', 'native', NEW],
      ['3.200.0', 'portable', LEGACY],
      ['3.274.1', 'portable', LEGACY],
      ['3.245.0', 'portable', LEGACY],
      ['3.274.1', 'v1', LEGACY],
      ['3.200.0', 'current', NEW],
      ['3.274.1', 'v2', 's3://acme-state?awssdk=v2&region=eu-west-1&profile=p&endpoint=http%3A%2F%2F127.0.0.1%3A5000'],
    ]
    for (const [version, dialect, want] of rows) {
      it(`${dialect} on ${version}`, () => {
        const plan = planBackendUrl({...ep, pulumiVersion: version, dialect})
        expect(plan.url).to.equal(want)
        expect(plan.env).to.deep.equal({})
        expect(plan.dialect).to.equal(dialect)
      })
    }

    it('portable without an endpoint is region + profile, read by every Pulumi from 3.113 on', () => {
      for (const v of ['3.113.0', '3.200.0', '3.245.0', '3.274.1']) {
        const plan = planBackendUrl({...base, profile: 'p', pulumiVersion: v, dialect: 'portable'})
        expect(plan.url).to.equal('s3://acme-state?region=eu-west-1&profile=p')
        expect(plan.rejectedBy).to.deep.equal([])
      }
    })

    it('portable with an https endpoint is read by every Pulumi from 3.113 on (3.245 reads s3ForcePathStyle as an alias)', () => {
      const plan = planBackendUrl({...base, profile: 'p', endpoint: 'https://s3.example.com', pulumiVersion: '3.274.1', dialect: 'portable'})
      expect(plan.url).to.equal('s3://acme-state?region=eu-west-1&profile=p&endpoint=https%3A%2F%2Fs3.example.com&s3ForcePathStyle=true')
      expect(plan.rejectedBy).to.deep.equal([])
    })

    it('names the versions that refuse each form', () => {
      expect(describeRejections(LEGACY)).to.equal('Pulumi 3.245.x rejects "disableSSL" (it reads only disable_https; 3.246 translates it again)')
      expect(rejectionsOf(NEW).map((r) => r.era)).to.deep.equal(['3.113-3.244'])
      expect(describeRejections(NEW)).to.include('"use_path_style", "disable_https"')
      expect(describeRejections('s3://b?awssdk=v2&region=r&s3ForcePathStyle=true')).to.include('under awssdk=v2 (pulumi#18645)')
      expect(describeRejections('s3://b?region=r&profile=p')).to.equal(undefined)
      expect(describeRejections('not a url')).to.equal(undefined)
    })

    it('sorts versions into eras', () => {
      expect(['3.112.0', '3.113.0', '3.244.9', '3.245.0', '3.245.3', '3.246.0', '3.274.1'].map((v) => eraOf(v))).to.deep.equal(['pre-3.113', '3.113-3.244', '3.113-3.244', '3.245', '3.245', '3.246+', '3.246+'])
      expect(eraOf(undefined)).to.equal('3.246+')
    })

    it('says so when Pulumi 3.245.x is installed, and warns when a shared URL is one it refuses', async () => {
      const r = await resolveBackendUrl({...ep, pulumiVersion: '3.245.0', dialect: 'portable', shared: true})
      const all = r.warnings.join('\n')
      expect(all).to.include('3.245.x) reads only the new URL names')
      expect(all).to.include('Pulumi 3.245.x rejects "disableSSL"')
      const newest = await resolveBackendUrl({...ep, pulumiVersion: '3.274.1', dialect: 'current', shared: true})
      expect(newest.warnings.join('\n')).to.include('Pulumi 3.113–3.244 rejects')
      expect(newest.warnings.join('\n')).to.include('--dialect portable')
      // A login's own URL (not shared): no cross-version warning.
      const login = await resolveBackendUrl({...ep, pulumiVersion: '3.274.1'})
      expect(login.warnings).to.deep.equal([])
    })
  })
})
