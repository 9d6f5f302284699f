import { createRequire } from 'node:module';
import type { Agent as AgentClass, interceptors as Interceptors, ProxyAgent as ProxyAgentClass } from 'undici';

/**
 * The parts of undici airlock uses, loaded from their own modules: `import 'undici'` loads the
 * whole package (fetch, WebSocket, caches, mocks, every dispatcher), 140 to 160 ms of every
 * `get`'s start, against 60 ms for these. undici has no `exports` map, so its files are
 * reachable by path; test/upstream/undiciParts.test.ts checks they are the very objects the
 * package exports, so an undici that moves them fails the tests, not an admin's download.
 */
const require = createRequire(import.meta.url);

export const Agent = require('undici/lib/dispatcher/agent.js') as typeof AgentClass;
export const redirect = require('undici/lib/interceptor/redirect.js') as typeof Interceptors.redirect;

/**
 * ProxyAgent, for `--outbound-proxy` only, from the whole package: it opens its tunnels with
 * the request API that undici's entry point attaches to every dispatcher.
 */
export function proxyAgentClass(): typeof ProxyAgentClass {
  return (require('undici') as typeof import('undici')).ProxyAgent;
}
