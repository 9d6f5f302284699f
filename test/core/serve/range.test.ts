import { describe, expect, it } from 'vitest';
import { parseRange } from '../../../src/core/serve/range.js';

const full = { kind: 'full' } as const;
const unsatisfiable = { kind: 'unsatisfiable' } as const;
const partial = (start: number, end: number) => ({ kind: 'partial', start, end }) as const;

describe('parseRange', () => {
  it('no header: the whole body', () => {
    expect(parseRange(undefined, 1000)).toEqual(full);
  });

  it('a-b: those bytes, both ends included', () => {
    expect(parseRange('bytes=0-99', 1000)).toEqual(partial(0, 99));
    expect(parseRange('bytes=100-199', 1000)).toEqual(partial(100, 199));
    expect(parseRange('bytes=0-0', 1000)).toEqual(partial(0, 0));
    expect(parseRange('bytes=999-999', 1000)).toEqual(partial(999, 999));
    expect(parseRange('bytes=0-999', 1000)).toEqual(partial(0, 999));
    expect(parseRange('bytes=007-010', 1000)).toEqual(partial(7, 10));
  });

  it('a-: from a to the end', () => {
    expect(parseRange('bytes=500-', 1000)).toEqual(partial(500, 999));
    expect(parseRange('bytes=0-', 1000)).toEqual(partial(0, 999));
    expect(parseRange('bytes=999-', 1000)).toEqual(partial(999, 999));
  });

  it('-n: the last n bytes, or all of them when n is larger than the body', () => {
    expect(parseRange('bytes=-100', 1000)).toEqual(partial(900, 999));
    expect(parseRange('bytes=-1', 1000)).toEqual(partial(999, 999));
    expect(parseRange('bytes=-1000', 1000)).toEqual(partial(0, 999));
    expect(parseRange('bytes=-5000', 1000)).toEqual(partial(0, 999));
    expect(parseRange('bytes=-99999999999999999999', 1000)).toEqual(partial(0, 999));
  });

  it('-0 asks for no bytes: unsatisfiable', () => {
    expect(parseRange('bytes=-0', 1000)).toEqual(unsatisfiable);
  });

  it('a start at or beyond the end: unsatisfiable', () => {
    expect(parseRange('bytes=1000-', 1000)).toEqual(unsatisfiable);
    expect(parseRange('bytes=1000-1999', 1000)).toEqual(unsatisfiable);
    expect(parseRange('bytes=5000-6000', 1000)).toEqual(unsatisfiable);
    expect(parseRange('bytes=99999999999999999999-', 1000)).toEqual(unsatisfiable);
  });

  it('an end past the body is clamped to its last byte', () => {
    expect(parseRange('bytes=900-5000', 1000)).toEqual(partial(900, 999));
    expect(parseRange('bytes=0-1000', 1000)).toEqual(partial(0, 999));
    expect(parseRange('bytes=10-99999999999999999999', 1000)).toEqual(partial(10, 999));
  });

  it('surrounding whitespace is tolerated', () => {
    expect(parseRange('  bytes=0-9 ', 1000)).toEqual(partial(0, 9));
  });

  it('what airlock does not honour is ignored (the whole body): several ranges, other units, bad syntax, an end before the start', () => {
    for (const header of [
      'bytes=0-9,20-29',
      'bytes=0-9, 20-29',
      'bytes=-5,0-1',
      'items=0-9',
      'none',
      '',
      'bytes=',
      'bytes=-',
      'bytes=abc',
      'bytes=a-b',
      'bytes=1-2-3',
      'bytes=0x10-20',
      'bytes=1.5-2',
      'bytes=+1-2',
      'bytes=-+5',
      'bytes = 0-9',
      'bytes=0 - 9',
      'bytes 0-9',
      '0-9',
      'bytes=5-2',
    ]) {
      expect(parseRange(header, 1000), JSON.stringify(header)).toEqual(full);
    }
  });

  it('a zero-size body: no range can be satisfied; without a header, the (empty) whole body', () => {
    expect(parseRange(undefined, 0)).toEqual(full);
    expect(parseRange('bytes=0-', 0)).toEqual(unsatisfiable);
    expect(parseRange('bytes=0-0', 0)).toEqual(unsatisfiable);
    expect(parseRange('bytes=0-100', 0)).toEqual(unsatisfiable);
    expect(parseRange('bytes=-1', 0)).toEqual(unsatisfiable);
    expect(parseRange('bytes=-0', 0)).toEqual(unsatisfiable);
    expect(parseRange('bytes=0-9,20-29', 0)).toEqual(full);
  });

  it('a one-byte body', () => {
    expect(parseRange('bytes=0-0', 1)).toEqual(partial(0, 0));
    expect(parseRange('bytes=0-', 1)).toEqual(partial(0, 0));
    expect(parseRange('bytes=-1', 1)).toEqual(partial(0, 0));
    expect(parseRange('bytes=-2', 1)).toEqual(partial(0, 0));
    expect(parseRange('bytes=1-', 1)).toEqual(unsatisfiable);
  });
});
