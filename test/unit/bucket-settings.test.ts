/**
 * The plan of each bucket setting (src/lib/bucket/settings/*), by meaning and never weaker,
 * and the table the run loops over.
 */
import {expect} from 'chai'
import {planEncryption} from '../../src/lib/bucket/settings/encryption.js'
import {SETTINGS} from '../../src/lib/bucket/settings/index.js'
import {DELETE_MARKER_RULE_ID, MULTIPART_RULE_ID, NONCURRENT_RULE_ID, planLifecycleSetting} from '../../src/lib/bucket/settings/lifecycle.js'
import {planOwnership} from '../../src/lib/bucket/settings/ownership.js'
import {planPublicAccessBlock} from '../../src/lib/bucket/settings/public-access-block.js'
import {ITEMS, row, type SettingIO} from '../../src/lib/bucket/settings/setting.js'
import {planTagSetting} from '../../src/lib/bucket/settings/tags.js'
import {planPolicySetting, TLS_SID, tlsOnlyStatement} from '../../src/lib/bucket/settings/tls-policy.js'
import {planVersioning} from '../../src/lib/bucket/settings/versioning.js'
import {thrown} from '../support/errors.js'

const B = 'psb-settings'
const ARN = `arn:aws:s3:::${B}`
const KEY = '1234abcd-12ab-34cd-56ef-1234567890ab'
const KEY_ARN = `arn:aws:kms:us-east-1:123456789012:key/${KEY}`


describe('bucket settings: plan by meaning, never weaker', () => {
  it('the table lists every setting once, in the order the changes are reported', () => {
    expect(SETTINGS.flatMap((s) => s.items)).to.deep.equal(Object.values(ITEMS).filter((i) => i !== ITEMS.bucket))
    expect(new Set(SETTINGS.map((s) => s.id)).size).to.equal(SETTINGS.length)
    const requiredOnEndpointStores = SETTINGS.filter((s) => !s.optional(true)).map((s) => s.id)
    expect(requiredOnEndpointStores).to.deep.equal(['versioning'])
    expect(SETTINGS.filter((s) => !s.optional(false)).map((s) => s.id)).to.deep.equal(['versioning', 'encryption', 'tls-only-policy'])
  })

  it('a row reads nothing for a bucket that does not exist yet (fresh) and binds the write of its plan', async () => {
    let reads = 0
    const io = {read: async () => ((reads += 1), undefined)} as unknown as SettingIO
    const planned = await row({id: 'x', items: ['x'], optional: () => false, action: 's3:X', read: async (i) => i.read('s3:GetX', undefined, async () => 'y'), plan: () => ({changes: [], change: 1}), apply: async () => 'done'}).plan(io, {bucket: B, arn: ARN}, true)
    expect(reads).to.equal(0)
    expect(await planned.apply!()).to.equal('done')
  })

  it('versioning: Enabled is kept; Suspended is turned back on', () => {
    expect(planVersioning('Enabled')).to.deep.equal({changes: [{item: 'versioning', status: 'unchanged', detail: 'Enabled'}]})
    expect(planVersioning('Suspended')).to.deep.include({change: 'Enabled', changes: [{item: 'versioning', status: 'updated', detail: 'Suspended → Enabled'}]})
    expect(planVersioning(undefined).changes[0].status).to.equal('created')
  })

  it('encryption without --kms-key: SSE-KMS and DSSE-KMS are kept, never lowered to SSE-S3', () => {
    const kms = planEncryption({ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'aws:kms', KMSMasterKeyID: KEY}}, undefined, B)
    expect(kms.change).to.equal(undefined)
    expect(kms.encryption).to.deep.equal({algorithm: 'aws:kms', kmsKeyId: KEY})
    const dsse = planEncryption({ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'aws:kms:dsse'}}, undefined, B)
    expect(dsse.change).to.equal(undefined)
    expect(dsse.changes[0].detail).to.equal('DSSE-KMS kept')
    const none = planEncryption(undefined, undefined, B)
    expect(none.change).to.deep.equal({ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'AES256'}})
    expect(none.encryption).to.deep.equal({algorithm: 'AES256'})
  })

  it('encryption with --kms-key: the same key in another form is kept (bucket key turned on); another key stops the run', () => {
    const same = planEncryption({ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'aws:kms', KMSMasterKeyID: KEY_ARN}}, KEY, B)
    expect(same.changes[0].status).to.equal('updated')
    expect(same.change).to.deep.equal({ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'aws:kms', KMSMasterKeyID: KEY_ARN}, BucketKeyEnabled: true})
    const on = planEncryption({ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'aws:kms', KMSMasterKeyID: KEY_ARN}, BucketKeyEnabled: true}, KEY, B)
    expect(on.change).to.equal(undefined)
    const other = thrown(() => planEncryption({ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'ffffffff-12ab-34cd-56ef-1234567890ab'}}, KEY, B))
    expect(other.code).to.equal('KmsKeyMismatch')
    expect(thrown(() => planEncryption({ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'aws:kms:dsse'}}, KEY, B)).code).to.equal('KmsKeyMismatch')
    expect(planEncryption({ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'aws:kms:dsse', KMSMasterKeyID: KEY}}, KEY, B).change).to.equal(undefined)
    expect(thrown(() => planEncryption({ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'aws:fsx' as never}}, KEY, B)).code).to.equal('EncryptionUnknown')
    const up = planEncryption({ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'AES256'}}, KEY, B)
    expect(up.change).to.deep.equal({ApplyServerSideEncryptionByDefault: {SSEAlgorithm: 'aws:kms', KMSMasterKeyID: KEY}, BucketKeyEnabled: true})
  })

  it('public access block: only the switches that are off are named, and all four are written on', () => {
    const plan = planPublicAccessBlock({BlockPublicAcls: true, IgnorePublicAcls: false, BlockPublicPolicy: true})
    expect(plan.changes[0]).to.deep.equal({item: 'public-access-block', status: 'updated', detail: 'turned on IgnorePublicAcls, RestrictPublicBuckets'})
    expect(plan.change).to.deep.equal({BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true})
    expect(planPublicAccessBlock({BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}).change).to.equal(undefined)
  })

  it('object ownership: anything but BucketOwnerEnforced is changed to it', () => {
    expect(planOwnership('ObjectWriter')).to.deep.include({change: 'BucketOwnerEnforced'})
    expect(planOwnership('ObjectWriter').changes[0].detail).to.equal('ObjectWriter → BucketOwnerEnforced (ACLs disabled)')
    expect(planOwnership('BucketOwnerEnforced').change).to.equal(undefined)
  })

  it('TLS policy: an equivalent statement under another Sid is no change; foreign statements are kept', () => {
    const equivalent = {...tlsOnlyStatement(ARN), Sid: 'TheirsTls', Principal: {AWS: '*'}}
    expect(planPolicySetting(JSON.stringify({Statement: [equivalent]}), ARN).change).to.equal(undefined)
    const foreign = {Sid: 'Read', Effect: 'Allow', Principal: {AWS: 'arn:aws:iam::111122223333:root'}, Action: 's3:GetObject', Resource: `${ARN}/*`}
    const plan = planPolicySetting(JSON.stringify({Version: '2012-10-17', Statement: [foreign]}), ARN)
    const doc = JSON.parse(plan.change!) as {Statement: {Sid: string}[]}
    expect(doc.Statement.map((s) => s.Sid)).to.deep.equal(['Read', TLS_SID])
  })

  it('lifecycle: a foreign noncurrent rule is not fought (a note says so); the minimum object size is kept on write', () => {
    const theirs = {ID: 'keep-30', Status: 'Enabled' as const, Filter: {Prefix: ''}, NoncurrentVersionExpiration: {NoncurrentDays: 30}}
    const plan = planLifecycleSetting({rules: [theirs], minSize: 'varies_by_storage_class'}, undefined)
    expect(plan.changes.map((c) => c.status)).to.deep.equal(['unchanged', 'created', 'created'])
    expect(plan.info).to.have.length(1)
    expect(plan.change?.rules.map((r) => r.ID)).to.deep.equal(['keep-30', MULTIPART_RULE_ID, DELETE_MARKER_RULE_ID])
    expect(plan.change?.minSize).to.equal('varies_by_storage_class')
    const off = planLifecycleSetting({rules: [{ID: NONCURRENT_RULE_ID, Status: 'Enabled', Filter: {Prefix: ''}, NoncurrentVersionExpiration: {NoncurrentDays: 9}}]}, 0)
    expect(off.changes[0]).to.deep.equal({item: 'lifecycle-noncurrent-expiry', status: 'updated', detail: `removed ${NONCURRENT_RULE_ID} (--noncurrent-days 0)`})
    expect(off.change?.rules.map((r) => r.ID)).to.deep.equal([MULTIPART_RULE_ID, DELETE_MARKER_RULE_ID])
  })

  it('lifecycle: expired delete markers are removed by a rule of its own; no existing rule is changed or weakened', () => {
    const theirs = [
      {ID: 'keep-30', Status: 'Enabled' as const, Filter: {Prefix: ''}, NoncurrentVersionExpiration: {NoncurrentDays: 30}, Expiration: {Days: 400}},
      {ID: 'logs-markers', Status: 'Enabled' as const, Filter: {Prefix: 'logs/'}, Expiration: {ExpiredObjectDeleteMarker: true}},
      {ID: 'off-markers', Status: 'Disabled' as const, Filter: {Prefix: ''}, Expiration: {ExpiredObjectDeleteMarker: true}},
    ]
    const before = JSON.stringify(theirs)
    const plan = planLifecycleSetting({rules: theirs}, undefined)
    const item = plan.changes.find((c) => c.item === 'lifecycle-expired-delete-markers')
    expect(item).to.deep.equal({item: 'lifecycle-expired-delete-markers', status: 'created', detail: 'expired delete markers are removed'})
    const rules = plan.change!.rules
    expect(rules.slice(0, 3)).to.deep.equal(theirs)
    expect(JSON.stringify(theirs)).to.equal(before)
    expect(rules.at(-1)).to.deep.equal({ID: DELETE_MARKER_RULE_ID, Status: 'Enabled', Filter: {Prefix: ''}, Expiration: {ExpiredObjectDeleteMarker: true}})
    // A whole-bucket rule of someone else that already does it counts: nothing added.
    const done = [{ID: 'markers', Status: 'Enabled' as const, Filter: {Prefix: ''}, Expiration: {ExpiredObjectDeleteMarker: true}}]
    const kept = planLifecycleSetting({rules: [...done, {ID: NONCURRENT_RULE_ID, Status: 'Enabled', Filter: {Prefix: ''}, NoncurrentVersionExpiration: {NoncurrentDays: 90}}, {ID: MULTIPART_RULE_ID, Status: 'Enabled', Filter: {Prefix: ''}, AbortIncompleteMultipartUpload: {DaysAfterInitiation: 7}}]}, undefined)
    expect(kept.change).to.equal(undefined)
    expect(kept.changes.at(-1)).to.deep.equal({item: 'lifecycle-expired-delete-markers', status: 'unchanged', detail: 'kept existing rule "markers"'})
    // psb's own rule, disabled by hand, is enabled again.
    const disabled = planLifecycleSetting({rules: [{ID: DELETE_MARKER_RULE_ID, Status: 'Disabled', Filter: {Prefix: ''}, Expiration: {ExpiredObjectDeleteMarker: true}}]}, 0)
    expect(disabled.changes.at(-1)?.status).to.equal('updated')
    expect(disabled.change?.rules.find((r) => r.ID === DELETE_MARKER_RULE_ID)?.Status).to.equal('Enabled')
  })

  it('tags: reserved aws: tags leave the tags alone with a warning; nothing to add is no change', () => {
    const reserved = planTagSetting([{Key: 'aws:cloudformation:stack-name', Value: 's'}], undefined, B)
    expect(reserved.change).to.equal(undefined)
    expect(reserved.changes[0].status).to.equal('skipped')
    expect(reserved.warn?.[0]).to.match(/reserved tags \(aws:cloudformation:stack-name\)/)
    expect(planTagSetting([{Key: 'managed-by', Value: 'psb'}, {Key: 'x', Value: '1'}], {x: '1'}, B).change).to.equal(undefined)
    expect(planTagSetting([], {team: 'a'}, B).change).to.deep.equal([{Key: 'managed-by', Value: 'psb'}, {Key: 'team', Value: 'a'}])
  })
})
