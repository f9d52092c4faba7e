import {expect} from 'chai'
import {formatDuration, parseDuration} from '../../src/lib/duration.js'
import {isPsbError} from '../../src/lib/errors.js'

const H = 3600_000
const D = 24 * H

function badInputOf(fn: () => unknown): {exitCode: number; message: string; code: string} {
  try {
    fn()
  } catch (error) {
    if (!isPsbError(error)) throw error
    return error
  }
  throw new Error('expected a PsbError')
}

describe('parseDuration', () => {
  for (const [text, ms] of [
    ['90d', 90 * D],
    ['12h', 12 * H],
    ['30m', 30 * 60_000],
    ['2w', 14 * D],
    ['45s', 45_000],
    ['250ms', 250],
    ['1d12h', 36 * H],
    ['1w2d3h4m5s', 9 * D + 3 * H + 4 * 60_000 + 5000],
    [' 7D ', 7 * D],
    ['0d', 0],
  ] as const) {
    it(`"${text}" is ${ms} ms`, () => expect(parseDuration(text)).to.equal(ms))
  }

  it('takes a bare number in the unit the flag allows', () => {
    expect(parseDuration('60', {bareUnit: 's'})).to.equal(60_000)
  })

  for (const text of ['', '90', '90x', 'd', '-5d', '+5d', '1.5d', '1,5d', '5 d', '1h1h', 'abc', '99999999999999999w']) {
    it(`rejects "${text}" as bad input (exit 2) naming the flag`, () => {
      const e = badInputOf(() => parseDuration(text, {flag: '--max-age'}))
      expect(e.exitCode).to.equal(2)
      expect(e.code).to.equal('DurationInvalid')
      expect(e.message).to.include('--max-age')
    })
  }
})

describe('formatDuration', () => {
  it('prints the two largest units', () => {
    expect(formatDuration(250)).to.equal('250ms')
    expect(formatDuration(60_000)).to.equal('1m')
    expect(formatDuration(90 * D + 5 * H + 3000)).to.equal('90d 5h')
    expect(formatDuration(61_000)).to.equal('1m 1s')
  })
})
