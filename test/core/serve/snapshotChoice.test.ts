import { describe, expect, it } from 'vitest';
import type { SnapshotRecord } from '../../../src/core/manifest.js';
import { chooseSnapshot, describeKept, keptSnapshot, orderKept, type KeptSnapshot, type SnapshotChoice } from '../../../src/core/serve/snapshotChoice.js';

/** A 64-hex snapshot id starting with `prefix`. */
const idWith = (prefix: string) => prefix.padEnd(64, '0');

function record(id: string, sequence: number, label: string | null, createdAt: string): SnapshotRecord {
  return { id, sequence, label, parent: null, createdAt, files: 10, bytes: 1000 };
}

function kept(prefix: string, sequence: number, label: string | null, createdAt: string): KeptSnapshot {
  const id = idWith(prefix);
  return keptSnapshot(id, record(id, sequence, label, createdAt));
}

function found(choice: SnapshotChoice): { id: string; immutable: boolean } {
  if (!choice.found) throw new Error(`not found: ${choice.message}`);
  return { id: choice.snapshot.id, immutable: choice.immutable };
}

function message(choice: SnapshotChoice): string {
  if (choice.found) throw new Error(`found ${choice.snapshot.id}`);
  return choice.message;
}

// Oldest first, as orderKept gives them.
const nov01 = kept('aaaa1111', 1, '2026-11-01', '2026-11-01T09:00:00.000Z');
const nov15 = kept('bbbb2222', 2, 'november', '2026-11-15T23:59:59.999Z');
const dec01 = kept('cccc3333', 3, '2026-12-01', '2026-12-02T03:00:00.000Z');
const all = [nov01, nov15, dec01];

describe('keptSnapshot: the day of a snapshot', () => {
  it('is its label when the label is a date', () => {
    expect(dec01.day).toBe('2026-12-01');
    expect(kept('dd', 1, '2020-01-31', '2026-12-02T03:00:00.000Z').day).toBe('2020-01-31');
  });

  it('is the UTC day it was recorded when the label is not a date, or there is none', () => {
    expect(nov15.day).toBe('2026-11-15');
    expect(kept('dd', 1, null, '2026-11-24T00:00:00.000Z').day).toBe('2026-11-24');
    expect(kept('dd', 1, 'release 2026-11-30', '2026-11-24T12:00:00.000Z').day).toBe('2026-11-24');
    expect(kept('dd', 1, '2026-11-3', '2026-11-24T12:00:00.000Z').day).toBe('2026-11-24');
  });

  it('is null without a record, and keeps the id and record given', () => {
    const id = idWith('ee');
    expect(keptSnapshot(id, null)).toEqual({ id, record: null, day: null, lastModified: 'Thu, 01 Jan 1970 00:00:00 GMT' });
    expect(nov15.record?.label).toBe('november');
    // Last-Modified as HTTP writes it, from the time recorded.
    expect(nov15.lastModified).toBe(new Date(nov15.record!.createdAt).toUTCString());
    expect(nov15.lastModified).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} 2026 \d{2}:\d{2}:\d{2} GMT$/);
    expect(nov15.id).toBe(idWith('bbbb2222'));
  });
});

describe('orderKept', () => {
  it('orders by day, oldest first, whatever the input order', () => {
    expect(orderKept([dec01, nov01, nov15]).map((k) => k.day)).toEqual(['2026-11-01', '2026-11-15', '2026-12-01']);
  });

  it('breaks a tie of days by sequence, then by the time recorded', () => {
    const a = kept('a0', 5, '2026-11-24', '2026-11-24T10:00:00.000Z');
    const b = kept('b0', 7, null, '2026-11-24T08:00:00.000Z'); // same day, later sequence, recorded earlier
    const c = kept('c0', 7, null, '2026-11-24T09:00:00.000Z'); // same day and sequence, recorded later
    const d = kept('d0', 2, null, '2026-11-25T00:00:00.000Z'); // a later day wins over a lower sequence
    expect(orderKept([d, c, b, a]).map((k) => k.id)).toEqual([a.id, b.id, c.id, d.id]);
    expect(orderKept([a, b, c, d]).map((k) => k.id)).toEqual([a.id, b.id, c.id, d.id]);
  });

  it('puts snapshots without a record (no day) first, and does not change its input', () => {
    const unrecorded = keptSnapshot(idWith('ff'), null);
    const input = [nov15, unrecorded, nov01];
    expect(orderKept(input).map((k) => k.id)).toEqual([unrecorded.id, nov01.id, nov15.id]);
    expect(input).toEqual([nov15, unrecorded, nov01]);
  });
});

describe('chooseSnapshot', () => {
  it('latest: the snapshot the data dir shows, not the newest kept, and not immutable', () => {
    expect(found(chooseSnapshot('latest', all, nov15.id))).toEqual({ id: nov15.id, immutable: false });
    expect(found(chooseSnapshot('latest', all, dec01.id))).toEqual({ id: dec01.id, immutable: false });
  });

  it('latest when the data dir shows nothing, or something not kept: not found', () => {
    expect(message(chooseSnapshot('latest', all, undefined))).toMatch(/^the data dir shows no snapshot; kept snapshots: /);
    expect(chooseSnapshot('latest', all, idWith('99')).found).toBe(false);
    expect(message(chooseSnapshot('latest', [], undefined))).toBe('the data dir shows no snapshot; kept snapshots: none');
  });

  it('a label names the newest kept snapshot carrying it, immutable', () => {
    expect(found(chooseSnapshot('november', all, dec01.id))).toEqual({ id: nov15.id, immutable: true });
    const again = kept('dddd4444', 4, 'november', '2026-12-10T00:00:00.000Z');
    expect(found(chooseSnapshot('november', [...all, again], dec01.id)).id).toBe(again.id);
  });

  it('a label that looks like a date wins over matching by date', () => {
    const labelled = kept('a1', 1, '2026-11-24', '2026-11-24T01:00:00.000Z');
    const sameDayLater = kept('b2', 2, 'hotfix', '2026-11-24T15:00:00.000Z');
    const list = orderKept([labelled, sameDayLater]);
    expect(list.map((k) => k.id)).toEqual([labelled.id, sameDayLater.id]);
    // By date, 2026-11-24 would be the newest of that day (the hotfix); the label names the first.
    expect(found(chooseSnapshot('2026-11-24', list, sameDayLater.id))).toEqual({ id: labelled.id, immutable: true });
    // And a label naming a day other than the snapshot's own still wins.
    const oddLabel = kept('c3', 3, '2026-11-01', '2026-12-05T00:00:00.000Z'); // day 2026-11-01 (its label)
    const recorded = kept('d4', 4, null, '2026-11-01T12:00:00.000Z');
    expect(found(chooseSnapshot('2026-11-01', orderKept([oddLabel, recorded]), undefined)).id).toBe(oddLabel.id);
  });

  it('a date names the newest kept snapshot on or before that day', () => {
    expect(found(chooseSnapshot('2026-11-20', all, dec01.id)).id).toBe(nov15.id);
    expect(found(chooseSnapshot('2026-11-15', all, dec01.id)).id).toBe(nov15.id);
    expect(found(chooseSnapshot('2026-11-14', all, dec01.id)).id).toBe(nov01.id);
    expect(found(chooseSnapshot('2026-12-01', all, dec01.id)).id).toBe(dec01.id);
    expect(found(chooseSnapshot('2030-01-01', all, nov01.id)).id).toBe(dec01.id);
  });

  it('a date before the newest kept day is immutable; on or after it, not (the next apply may bring a newer snapshot for it)', () => {
    expect(found(chooseSnapshot('2026-11-01', all, dec01.id))).toEqual({ id: nov01.id, immutable: true });
    expect(found(chooseSnapshot('2026-11-20', all, dec01.id))).toEqual({ id: nov15.id, immutable: true });
    expect(found(chooseSnapshot('2026-11-30', all, dec01.id))).toEqual({ id: nov15.id, immutable: true });
    expect(found(chooseSnapshot('2026-12-02', all, dec01.id))).toEqual({ id: dec01.id, immutable: false });
    expect(found(chooseSnapshot('2030-01-01', all, nov01.id))).toEqual({ id: dec01.id, immutable: false });
    // On the newest kept day itself (nov15's day is the UTC day it was recorded, its label is not a date).
    expect(found(chooseSnapshot('2026-11-15', [nov01, nov15], nov15.id))).toEqual({ id: nov15.id, immutable: false });
    expect(found(chooseSnapshot('2026-11-14', [nov01, nov15], nov15.id))).toEqual({ id: nov01.id, immutable: true });
    // A date that is a label names that one tree (labels are unique), so it stays immutable even on the newest day.
    expect(found(chooseSnapshot('2026-12-01', all, dec01.id))).toEqual({ id: dec01.id, immutable: true });
    // Whichever snapshot the data dir shows: the newest kept day decides, not the current one.
    expect(found(chooseSnapshot('2026-11-20', all, nov01.id))).toEqual({ id: nov15.id, immutable: true });
    // A snapshot without a record has no day and settles nothing.
    const unrecorded = keptSnapshot(idWith('ff'), null);
    expect(found(chooseSnapshot('2026-12-05', [unrecorded, ...all], undefined))).toEqual({ id: dec01.id, immutable: false });
  });

  it('a date uses the UTC day of createdAt for snapshots whose label is not a date', () => {
    // nov15 was recorded at 23:59:59.999Z on 2026-11-15: it is that day's, not the next.
    expect(found(chooseSnapshot('2026-11-15', all, undefined)).id).toBe(nov15.id);
    const night = kept('ee', 9, null, '2026-11-16T00:00:00.000Z');
    const list = [...all.slice(0, 2), night, dec01];
    expect(found(chooseSnapshot('2026-11-15', list, undefined)).id).toBe(nov15.id);
    expect(found(chooseSnapshot('2026-11-16', list, undefined)).id).toBe(night.id);
  });

  it('a date before every kept snapshot: not found, and the message lists the kept ones, newest first', () => {
    const m = message(chooseSnapshot('2026-10-31', all, dec01.id));
    expect(m).toBe('no kept snapshot is from 2026-10-31 or before; kept snapshots: 2026-12-01 (cccc33330000), 2026-11-15 (november, bbbb22220000), 2026-11-01 (aaaa11110000)');
  });

  it('a date skips kept snapshots without a day', () => {
    const unrecorded = keptSnapshot(idWith('ff'), null);
    expect(chooseSnapshot('2026-10-31', [unrecorded, ...all], undefined).found).toBe(false);
    expect(found(chooseSnapshot('2026-11-02', [unrecorded, ...all], undefined)).id).toBe(nov01.id);
  });

  it('an id or a unique prefix of at least 4 hex digits names that snapshot, immutable', () => {
    expect(found(chooseSnapshot('bbbb', all, dec01.id))).toEqual({ id: nov15.id, immutable: true });
    expect(found(chooseSnapshot('cccc3333', all, dec01.id)).id).toBe(dec01.id);
    expect(found(chooseSnapshot(dec01.id, all, undefined)).id).toBe(dec01.id);
  });

  it('an ambiguous prefix: not found, with how many it names and a hint', () => {
    const twin = kept('aaaa9999', 4, null, '2026-12-10T00:00:00.000Z');
    const m = message(chooseSnapshot('aaaa', [...all, twin], undefined));
    expect(m).toMatch(/^aaaa names 2 kept snapshots \(aaaa11110000, aaaa99990000\); give more digits; kept snapshots: /);
    expect(found(chooseSnapshot('aaaa1', [...all, twin], undefined)).id).toBe(nov01.id);
  });

  it('the same id kept twice is not ambiguous', () => {
    expect(found(chooseSnapshot('bbbb', [nov15, nov15], undefined)).id).toBe(nov15.id);
  });

  it('too short a prefix, upper-case hex, a prefix matching nothing, an unknown name: not found, with what is accepted', () => {
    for (const ref of ['bbb', 'BBBB', 'abcd', 'nothing', '2026-11', '']) {
      const m = message(chooseSnapshot(ref, all, dec01.id));
      expect(m, ref).toContain(`no kept snapshot is named ${JSON.stringify(ref)} (not latest, a label, a date YYYY-MM-DD or an id)`);
      expect(m, ref).toContain('; kept snapshots: 2026-12-01 (cccc33330000)');
    }
  });

  it('a label wins over an id prefix', () => {
    const hexLabel = kept('dddd', 4, 'cccc', '2026-12-10T00:00:00.000Z');
    expect(found(chooseSnapshot('cccc', [...all, hexLabel], undefined)).id).toBe(hexLabel.id);
  });
});

describe('describeKept', () => {
  it('lists newest first as day (label, short id), leaving out a label equal to the day', () => {
    expect(describeKept(all)).toBe('2026-12-01 (cccc33330000), 2026-11-15 (november, bbbb22220000), 2026-11-01 (aaaa11110000)');
  });

  it('says none for nothing, and ? for a snapshot without a record', () => {
    expect(describeKept([])).toBe('none');
    expect(describeKept([keptSnapshot(idWith('0123456789ab'), null)])).toBe('? (0123456789ab)');
  });
});
