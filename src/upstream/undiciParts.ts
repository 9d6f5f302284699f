import { createRequire } from 'node:module';
import type { Agent as AgentClass, interceptors as Interceptors, ProxyAgent as ProxyAgentClass } from 'undici';

/**
 * The parts of undici airlock uses, loaded from their own modules: `import 'undici'` loads the
 * whole package (fetch, WebSocket, caches, mocks, every dispatcher), 140 to 160 ms of every
 * `get`'s start, against 60 ms for these. undici has no `exports` map, so its files are
 * reachable by path; test/upstream/undiciParts.test.ts checks they are the very objects the
 * package exports. An install that resolves a later undici (package.json allows any 7.x) where
 * a file moved or changed shape loads the whole package instead: slower, never broken.
 */
const require = createRequire(import.meta.url);

type Undici = typeof import('undici');
const wholePackage = (): Undici => require('undici') as Undici;

/** The class or function a file of undici exports, else the package's own (exported for its test). */
export function part<T>(path: string, fromPackage: (undici: Undici) => T): T {
  try {
    const found: unknown = require(path);
    if (typeof found === 'function') return found as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
  }
  return fromPackage(wholePackage());
}

export const Agent = part<typeof AgentClass>('undici/lib/dispatcher/agent.js', (u) => u.Agent);
export const redirect = part<typeof Interceptors.redirect>('undici/lib/interceptor/redirect.js', (u) => u.interceptors.redirect);

/**
 * ProxyAgent, for `--outbound-proxy` only, from the whole package: it opens its tunnels with
 * the request API that undici's entry point attaches to every dispatcher.
 */
export function proxyAgentClass(): typeof ProxyAgentClass {
  return wholePackage().ProxyAgent;
}
