import {expect} from 'chai'
import {
  DEFAULT_BUCKET_TEMPLATE,
  expandTemplate,
  parseShard,
  parseTarget,
  parseTargetsFile,
  resolveTargets,
  shardTargets,
  validateOuIds,
  type Target,
} from '../../src/lib/fleet/targets.js'
import {EXIT} from '../../src/lib/errors.js'
import {thrown} from '../support/errors.js'

const SECRET = 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12'

function bad(fn: () => unknown, code: string, ...parts: string[]): string {
  const e = thrown(fn)
  expect(e.exitCode, e.message).to.equal(EXIT.USAGE)
  expect(e.code, e.message).to.equal(code)
  for (const p of parts) expect(e.message).to.contain(p)
  expect(e.message + (e.hint ?? '')).not.to.contain(SECRET)
  return e.message
}

describe('fleet targets: parseTarget', () => {
  it('reads ACCOUNT/REGION, the aws:// form and every override', () => {
    expect(parseTarget('123456789012/eu-west-1')).to.deep.equal({account: '123456789012', region: 'eu-west-1', source: '--target'})
    expect(parseTarget('aws://012345678901/us-east-1', 'f line 1')).to.deep.equal({account: '012345678901', region: 'us-east-1', source: 'f line 1'})
    expect(parseTarget('  123456789012/eu-west-1   bucket=acme-state  prefix=/team-a/  profile=acme-prod ')).to.deep.equal({
      account: '123456789012',
      region: 'eu-west-1',
      bucket: 'acme-state',
      prefix: 'team-a',
      profile: 'acme-prod',
      source: '--target',
    })
  })

  it('refuses a bad account id (not 12 digits), with the source named', () => {
    bad(() => parseTarget('12345678901/eu-west-1'), 'AccountIdInvalid', '--target', '"12345678901"', 'not 12 digits')
    bad(() => parseTarget('1234567890123/eu-west-1', 'fleet.txt line 4'), 'AccountIdInvalid', 'fleet.txt line 4')
    bad(() => parseTarget('acme/eu-west-1'), 'AccountIdInvalid', '"acme"')
  })

  it('refuses a bad or unknown region', () => {
    bad(() => parseTarget('123456789012/eu-west-99', 'f line 2'), 'RegionUnknown', 'f line 2', 'eu-west-99')
    bad(() => parseTarget('123456789012/EU_WEST'), 'RegionInvalid', '--target')
  })

  it('refuses what is not ACCOUNT/REGION, and an empty target', () => {
    bad(() => parseTarget('123456789012'), 'TargetInvalid', 'not ACCOUNT/REGION')
    bad(() => parseTarget('123456789012/eu-west-1/x'), 'TargetInvalid', 'not ACCOUNT/REGION')
    bad(() => parseTarget('   '), 'TargetInvalid', 'empty')
  })

  it('refuses an unknown key with the closest one, a repeated key, an empty value and a bare word', () => {
    bad(() => parseTarget('123456789012/eu-west-1 buckt=x'), 'TargetInvalid', '"buckt"', 'Did you mean bucket=?')
    bad(() => parseTarget('123456789012/eu-west-1 bucket=a-b bucket=c-d'), 'TargetInvalid', 'given twice')
    bad(() => parseTarget('123456789012/eu-west-1 profile='), 'TargetInvalid', 'profile= has no value')
    bad(() => parseTarget('123456789012/eu-west-1 oops'), 'TargetInvalid', '"oops"')
  })

  it('checks a prefix and a profile override where they are read', () => {
    bad(() => parseTarget('123456789012/eu-west-1 prefix=a/../b', 'f line 9'), 'PrefixInvalid', 'f line 9')
    bad(() => parseTarget('123456789012/eu-west-1 profile=a;b'), 'ProfileNameInvalid', '--target')
  })

  it('never echoes a secret-shaped value (account, key, word, region)', () => {
    const msgs = [
      bad(() => parseTarget(`${SECRET}/eu-west-1`), 'AccountIdInvalid'),
      bad(() => parseTarget(`123456789012/eu-west-1 ${SECRET}=x`), 'TargetInvalid'),
      bad(() => parseTarget(`123456789012/eu-west-1 ${SECRET}`), 'TargetInvalid'),
      bad(() => parseTarget(`123456789012/${SECRET}`), 'RegionInvalid'),
      bad(() => parseTarget(SECRET), 'TargetInvalid'),
    ]
    for (const m of msgs) expect(m).to.match(/of \d+ characters/)
  })
})

describe('fleet targets: parseTargetsFile', () => {
  it('reads one target per line, skipping comments and blank lines, naming each line', () => {
    const text = '# the fleet\n\n123456789012/eu-west-1\r\n  210987654321/us-east-1 bucket=b-one # trailing comment\n\t\n# 111111111111/us-east-1\n'
    expect(parseTargetsFile(text, 'fleet.txt')).to.deep.equal([
      {account: '123456789012', region: 'eu-west-1', source: 'fleet.txt line 3'},
      {account: '210987654321', region: 'us-east-1', bucket: 'b-one', source: 'fleet.txt line 4'},
    ])
  })

  it('refuses a duplicate target naming both lines, a bad line by its number, and a file with none', () => {
    bad(() => parseTargetsFile('123456789012/eu-west-1\n123456789012/eu-west-1 bucket=x-y\n', 'f.txt'), 'TargetDuplicate', 'f.txt line 2', 'first at f.txt line 1')
    bad(() => parseTargetsFile('123456789012/eu-west-1\n\n12/eu-west-1\n', 'f.txt'), 'AccountIdInvalid', 'f.txt line 3')
    bad(() => parseTargetsFile('# nothing\n\n', 'f.txt'), 'TargetsEmpty', 'f.txt lists no target')
  })

  it('allows one account in many regions and one region in many accounts', () => {
    expect(parseTargetsFile('123456789012/eu-west-1\n123456789012/us-east-1\n210987654321/eu-west-1', 'f')).to.have.length(3)
  })
})

describe('fleet targets: resolveTargets', () => {
  const specs = parseTargetsFile('123456789012/eu-west-1\n210987654321/us-east-1 bucket=own-bucket profile=own prefix=team-b', 'fleet.txt')

  it('fills the default templates, and keeps every override', () => {
    expect(resolveTargets(specs, {})).to.deep.equal([
      {id: '123456789012/eu-west-1', account: '123456789012', region: 'eu-west-1', bucket: 'pulumi-state-123456789012-eu-west-1', profile: 'pulumi-123456789012-eu-west-1'},
      {id: '210987654321/us-east-1', account: '210987654321', region: 'us-east-1', bucket: 'own-bucket', prefix: 'team-b', profile: 'own'},
    ])
  })

  it('fills given templates and the common prefix', () => {
    const [t] = resolveTargets(specs, {bucketTemplate: 'acme-{region}-{account}', profileTemplate: 'acme-{account}', prefix: '/shared/'})
    expect(t).to.include({bucket: 'acme-eu-west-1-123456789012', profile: 'acme-123456789012', prefix: 'shared'})
  })

  it('refuses an unknown placeholder with the closest one', () => {
    bad(() => resolveTargets(specs, {bucketTemplate: 'state-{acount}-{region}'}), 'TemplateInvalid', '--bucket-template', '{acount}', 'Did you mean {account}?')
    expect(() => expandTemplate(DEFAULT_BUCKET_TEMPLATE, 'x', {account: '1', region: 'r'})).not.to.throw()
  })

  it('checks every bucket name offline, naming the target and its line', () => {
    bad(() => resolveTargets(specs, {bucketTemplate: 'State_{account}-{region}'}), 'BucketNameInvalid', 'target 123456789012/eu-west-1 (fleet.txt line 1)', 'not valid')
    const long = parseTargetsFile('123456789012/eu-west-1\n210987654321/ap-southeast-2', 'g.txt')
    // 63 characters at most: fine for eu-west-1, one too many for ap-southeast-2 (the second target).
    const template = `${'x'.repeat(63 - 'eu-west-1'.length - 12 - 2)}-{account}-{region}`
    bad(() => resolveTargets(long, {bucketTemplate: template}), 'BucketNameInvalid', 'target 210987654321/ap-southeast-2 (g.txt line 2)')
    bad(() => resolveTargets([parseTarget('123456789012/eu-west-1 bucket=Bad_Name')], {}), 'BucketNameInvalid', 'target 123456789012/eu-west-1:')
  })

  it('refuses two targets sharing a bucket or a profile, and a duplicate across sources', () => {
    bad(() => resolveTargets(parseTargetsFile('123456789012/eu-west-1\n123456789012/us-east-1', 'f'), {bucketTemplate: 'state-{account}'}), 'TargetBucketShared', 'state-123456789012')
    bad(() => resolveTargets(parseTargetsFile('123456789012/eu-west-1\n210987654321/us-east-1', 'f'), {profileTemplate: 'pulumi'}), 'TargetProfileShared')
    bad(() => resolveTargets([...specs, parseTarget('123456789012/eu-west-1')], {}), 'TargetDuplicate', '--target', 'fleet.txt line 1')
  })
})

describe('fleet targets: shards', () => {
  it('parses I/N with 1 ≤ I ≤ N, and refuses anything else', () => {
    expect(parseShard('1/1')).to.deep.equal({index: 1, count: 1})
    expect(parseShard('3/7')).to.deep.equal({index: 3, count: 7})
    for (const s of ['0/2', '3/2', '1/0', '1', '1/2/3', 'a/b', '-1/2', '']) bad(() => parseShard(s), 'ShardInvalid', '--shard')
    bad(() => parseShard(SECRET), 'ShardInvalid')
  })

  const fleet: Target[] = Array.from({length: 1000}, (_, i) => {
    const account = String(100000000000 + i * 7919)
    const region = ['us-east-1', 'eu-west-1', 'ap-southeast-2'][i % 3]!
    return {id: `${account}/${region}`, account, region, bucket: `b-${i}`, profile: `p-${i}`}
  })

  it('over 1,000 targets and N = 1..7: disjoint shards, union = all, sizes within one, file order kept', () => {
    for (let n = 1; n <= 7; n++) {
      const shards = Array.from({length: n}, (_, i) => shardTargets(fleet, {index: i + 1, count: n}))
      const ids = shards.flat().map((t) => t.id)
      expect(ids, `N=${n}`).to.have.length(fleet.length)
      expect(new Set(ids).size, `N=${n}: disjoint`).to.equal(fleet.length)
      const sizes = shards.map((s) => s.length)
      expect(Math.max(...sizes) - Math.min(...sizes), `N=${n}: ${sizes.join(',')}`).to.be.at.most(1)
      for (const s of shards) expect(s.map((t) => fleet.indexOf(t))).to.deep.equal(s.map((t) => fleet.indexOf(t)).sort((a, b) => a - b))
    }
  })

  it('is stable: the same split whatever the order of the list, run after run', () => {
    const shuffled = [...fleet].reverse().sort((a, b) => (a.bucket.length - b.bucket.length) || (a.account < b.account ? 1 : -1))
    for (let n = 2; n <= 7; n++)
      for (let i = 1; i <= n; i++) {
        const a = shardTargets(fleet, {index: i, count: n}).map((t) => t.id).sort()
        const b = shardTargets(shuffled, {index: i, count: n}).map((t) => t.id).sort()
        expect(a, `${i}/${n}`).to.deep.equal(b)
      }
  })

  it('depends on account and region only (not on bucket or profile names)', () => {
    const renamed = fleet.map((t) => ({...t, bucket: `other-${t.bucket}`, profile: `other-${t.profile}`}))
    expect(shardTargets(renamed, {index: 2, count: 3}).map((t) => t.id)).to.deep.equal(shardTargets(fleet, {index: 2, count: 3}).map((t) => t.id))
  })
})

describe('fleet targets: OU ids', () => {
  it('accepts OU and root ids, refuses anything else', () => {
    expect(() => validateOuIds(['ou-ab12-cd34ef56', 'r-ab12'])).not.to.throw()
    bad(() => validateOuIds(['ou-x']), 'OuIdInvalid', '"ou-x"')
    bad(() => validateOuIds([SECRET]), 'OuIdInvalid')
  })
})
