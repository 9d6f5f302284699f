import { describe, expect, it } from 'vitest';
import { compareRVersions, parseDependencyField, satisfies } from '../../src/core/rDependencies.js';
import { marked, rscript } from '../helpers/r.js';

describe('parseDependencyField', () => {
  it('reads names and constraints as R does, across wrapped lines, R itself included', () => {
    const { dependencies, unreadable } = parseDependencyField('R (>= 3.5.0), cli(>=3.4.0),\n    R6 (>= 2.5.0) , utils,   rprojroot ( == 1.2-3 )');
    expect(unreadable).toEqual([]);
    expect(dependencies).toEqual([
      { name: 'R', constraint: { op: '>=', version: '3.5.0' } },
      { name: 'cli', constraint: { op: '>=', version: '3.4.0' } },
      { name: 'R6', constraint: { op: '>=', version: '2.5.0' } },
      { name: 'utils', constraint: null },
      { name: 'rprojroot', constraint: { op: '==', version: '1.2-3' } },
    ]);
  });

  it('names what it cannot read instead of dropping it silently; an absent field is empty', () => {
    expect(parseDependencyField('cli, (>= 1.0), glue [x]').unreadable).toEqual(['(>= 1.0)', 'glue [x]']);
    expect(parseDependencyField(undefined)).toEqual({ dependencies: [], unreadable: [] });
  });
});

describe('compareRVersions', () => {
  it('orders versions exactly as R\'s compareVersion does', async () => {
    const pairs: [string, string][] = [
      ['1.0', '1.0.0'], ['1.10', '1.9'], ['2.0-1', '2.0.1'], ['0.9.10', '0.9.9'], ['1.2-3', '1.2.3.1'], ['3.6.2', '3.6.2'], ['10.0', '9.99'], ['1.0-10', '1.0-2'],
    ];
    const out = await rscript(pairs.map(([a, b]) => `cat("CMP", compareVersion("${a}", "${b}"), "\\n")`).join('\n'));
    const r = marked(out, 'CMP').map((l) => Number(l.trim()));
    expect(pairs.map(([a, b]) => compareRVersions(a, b))).toEqual(r);
  });

  it('checks each operator', () => {
    expect(satisfies('2.5.0', { op: '>=', version: '2.5' })).toBe(true);
    expect(satisfies('2.5.0', { op: '>', version: '2.5.0' })).toBe(false);
    expect(satisfies('2.4.9', { op: '<', version: '2.5' })).toBe(true);
    expect(satisfies('2.5', { op: '<=', version: '2.5.0' })).toBe(true);
    expect(satisfies('1.0-1', { op: '==', version: '1.0.1' })).toBe(true);
    expect(satisfies('1.0', { op: '!=', version: '1.0' })).toBe(false);
    expect(satisfies('0.1', null)).toBe(true);
  });
});
