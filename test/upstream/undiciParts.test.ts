import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Agent, part, proxyAgentClass, redirect } from '../../src/upstream/undiciParts.js';

const require = createRequire(import.meta.url);

describe('undiciParts', () => {
  it('are the very objects undici exports (a release that moves them fails here)', () => {
    const undici = require('undici') as typeof import('undici');
    expect(Agent).toBe(undici.Agent);
    expect(proxyAgentClass()).toBe(undici.ProxyAgent);
    expect(redirect).toBe(undici.interceptors.redirect);
  });

  it('fall back to the whole package when a file is gone or exports something else (a later undici)', () => {
    const undici = require('undici') as typeof import('undici');
    expect(part('undici/lib/dispatcher/no-such-file.js', (u) => u.Agent)).toBe(undici.Agent);
    expect(part('undici/package.json', (u) => u.interceptors.redirect)).toBe(undici.interceptors.redirect);
    // Found where expected: the package is not asked.
    expect(part('undici/lib/dispatcher/agent.js', () => null)).toBe(undici.Agent);
  });
});
