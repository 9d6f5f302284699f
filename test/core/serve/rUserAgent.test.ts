import { describe, expect, it } from 'vitest';
import { parseRUserAgent } from '../../../src/core/serve/rUserAgent.js';

describe('parseRUserAgent', () => {
  it("reads R's default User-Agent: R version major.minor and the architecture", () => {
    expect(parseRUserAgent('R (4.4.1 x86_64-pc-linux-gnu x86_64 linux-gnu)')).toEqual({ rVersion: '4.4', arch: 'x86_64' });
    expect(parseRUserAgent('R (4.2.2 aarch64-unknown-linux-gnu aarch64 linux-gnu)')).toEqual({ rVersion: '4.2', arch: 'aarch64' });
    expect(parseRUserAgent('R (4.10.0 x86_64-redhat-linux-gnu x86_64 linux-gnu)')).toEqual({ rVersion: '4.10', arch: 'x86_64' });
  });

  it("reads the form Posit Package Manager documents for libcurl: R/x.y.z R (...)", () => {
    expect(parseRUserAgent('R/4.4.1 R (4.4.1 x86_64-pc-linux-gnu x86_64 linux-gnu)')).toEqual({ rVersion: '4.4', arch: 'x86_64' });
    expect(parseRUserAgent('R/4.5.0 R (4.5.0 aarch64-unknown-linux-gnu aarch64 linux-gnu)')).toEqual({ rVersion: '4.5', arch: 'aarch64' });
  });

  it('takes the version inside the parentheses, not the R/ prefix', () => {
    expect(parseRUserAgent('R/9.9.9 R (4.3.3 x86_64-pc-linux-gnu x86_64 linux-gnu)')).toEqual({ rVersion: '4.3', arch: 'x86_64' });
  });

  it('undefined for other clients, which get sources', () => {
    for (const ua of [
      '',
      'libcurl/8.5.0',
      'curl/8.5.0',
      'Wget/1.21.4',
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
      'R/4.4.1', // the prefix alone says nothing of the platform
      'NotR (4.4.1 x86_64-pc-linux-gnu x86_64 linux-gnu)',
      'R(4.4.1 x86_64-pc-linux-gnu x86_64 linux-gnu)',
      'R (4.4 x86_64-pc-linux-gnu x86_64 linux-gnu)', // R always sends three components
      'R (x86_64-pc-linux-gnu)',
    ]) {
      expect(parseRUserAgent(ua), ua).toBeUndefined();
    }
  });
});
