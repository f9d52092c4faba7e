import assert from 'node:assert/strict'
import {test} from 'node:test'
import {judge, merged, parsePolicy, planTags} from '../src/policy.js'
import {tagPolicySetting} from '../src/setting.js'

test('parsePolicy reads key=value and bare keys, and refuses a missing key', () => {
  assert.deepEqual(parsePolicy(' cost-center=42, owner ,'), [{key: 'cost-center', value: '42'}, {key: 'owner'}])
  assert.deepEqual(parsePolicy(undefined), [])
  assert.throws(() => parsePolicy('=x'), /no key/)
})

test('judge names missing keys and wrong values', () => {
  const policy = parsePolicy('cost-center=42,owner')
  assert.deepEqual(judge({owner: 'a', 'cost-center': '7'}, policy), {missing: [], wrong: ['cost-center=42']})
  assert.deepEqual(judge({}, policy), {missing: ['cost-center', 'owner'], wrong: []})
  assert.deepEqual(judge({owner: 'x', 'cost-center': '42'}, policy), {missing: [], wrong: []})
})

test('planTags only adds: never removes a tag, never changes a value', () => {
  const policy = parsePolicy('cost-center=42,owner,team=platform')
  const plan = planTags({team: 'data', other: 'kept'}, policy)
  assert.deepEqual(plan.add, {'cost-center': '42'})
  assert.equal(plan.warn.length, 2)
  assert.deepEqual(merged({team: 'data', other: 'kept'}, plan.add), {'cost-center': '42', team: 'data', other: 'kept'})
})

test('the setting plans no change when the tags are there (a second run writes nothing)', () => {
  const s = tagPolicySetting(parsePolicy('cost-center=42'))
  const done = s.plan({'cost-center': '42', 'managed-by': 'psb'})
  assert.equal('change' in done, false)
  assert.equal(done.changes[0].status, 'unchanged')
  const todo = s.plan({'managed-by': 'psb'})
  assert.deepEqual(todo.change, {'cost-center': '42'})
  assert.equal(todo.changes[0].status, 'updated')
})
