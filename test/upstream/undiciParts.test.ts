import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Agent, proxyAgentClass, redirect } from '../../src/upstream/undiciParts.js';

const require = createRequire(import.meta.url);

describe('undiciParts', () => {
  it('are the very objects undici exports (a release that moves them fails here)', () => {
    const undici = require('undici') as typeof import('undici');
    expect(Agent).toBe(undici.Agent);
    expect(proxyAgentClass()).toBe(undici.ProxyAgent);
    expect(redirect).toBe(undici.interceptors.redirect);
  });
});
