import { describe, expect, it } from 'vitest';
import { parseDependencyField, satisfies } from '../../src/core/rDependencies.js';

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

describe('satisfies', () => {
  it('checks each operator', () => {
    expect(satisfies('2.5.0', { op: '>=', version: '2.5' })).toBe(true);
    expect(satisfies('2.5.0', { op: '>', version: '2.5.0' })).toBe(false);
    expect(satisfies('2.4.9', { op: '<', version: '2.5' })).toBe(true);
    expect(satisfies('2.5', { op: '<=', version: '2.5.0' })).toBe(true);
    expect(satisfies('2.5', { op: '==', version: '2.5.0' })).toBe(true); // package_version pads with zeros
    expect(satisfies('1.0-1', { op: '==', version: '1.0.1' })).toBe(true);
    expect(satisfies('1.0', { op: '!=', version: '1.0' })).toBe(false);
    expect(satisfies('0.1', null)).toBe(true);
  });
});
