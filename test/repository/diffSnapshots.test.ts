import * as fs from 'node:fs';
import { join } from 'node:path';
import { blake3 } from '@napi-rs/blake-hash';
import { describe, expect, it } from 'vitest';
import { EXECUTABLE_MODE, FILE_MODE } from '../../src/core/manifest.js';
import { silentProgress } from '../../src/core/progress.js';
import { createSnapshot } from '../../src/repository/createSnapshot.js';
import { diffSnapshots } from '../../src/repository/diffSnapshots.js';
import { Repository } from '../../src/repository/repository.js';
import { cleanTempDirsAfterEach, rejectsWith, tempDir } from './helpers.js';

cleanTempDirsAfterEach();

const b3 = (text: string): string => blake3(Buffer.from(text)).toString('hex');

describe('diffSnapshots', () => {
  it('lists added, changed and removed files and packages between two snapshots, by label or id', async () => {
    const repo = await Repository.open(join(tempDir(), 'repo'), { create: true });
    const from = tempDir('airlock-source-');
    const write = (rel: string, content: string): void => {
      fs.mkdirSync(join(from, rel, '..'), { recursive: true });
      fs.writeFileSync(join(from, rel), content);
    };
    write('src/contrib/PACKAGES', 'index 1');
    write('src/contrib/alpha_1.0.tar.gz', 'alpha 1.0');
    write('src/contrib/beta_2.0.tar.gz', 'beta 2.0');
    write('src/contrib/gone_0.1.tar.gz', 'gone');
    write('tools/run', 'run');
    const v1 = await createSnapshot(repo, { from, label: 'v1', progress: silentProgress });

    write('src/contrib/PACKAGES', 'index 2');
    fs.rmSync(join(from, 'src/contrib/alpha_1.0.tar.gz'));
    write('src/contrib/alpha_1.1.tar.gz', 'alpha 1.1');
    fs.rmSync(join(from, 'src/contrib/gone_0.1.tar.gz'));
    write('src/contrib/new_3.0.tar.gz', 'new');
    fs.chmodSync(join(from, 'tools/run'), 0o755);
    const v2 = await createSnapshot(repo, { from, label: 'v2', progress: silentProgress });

    const diff = await diffSnapshots(repo, 'v1', v2.record.id.slice(0, 8));
    expect(diff.from).toEqual(v1.record);
    expect(diff.to).toEqual(v2.record);
    expect(diff.files.added.map((e) => e.path)).toEqual(['src/contrib/alpha_1.1.tar.gz', 'src/contrib/new_3.0.tar.gz']);
    expect(diff.files.removed.map((e) => e.path)).toEqual(['src/contrib/alpha_1.0.tar.gz', 'src/contrib/gone_0.1.tar.gz']);
    expect(diff.files.changed).toEqual([
      {
        before: { path: 'src/contrib/PACKAGES', id: b3('index 1'), size: 7, mode: FILE_MODE },
        after: { path: 'src/contrib/PACKAGES', id: b3('index 2'), size: 7, mode: FILE_MODE },
      },
      {
        before: { path: 'tools/run', id: b3('run'), size: 3, mode: FILE_MODE },
        after: { path: 'tools/run', id: b3('run'), size: 3, mode: EXECUTABLE_MODE },
      },
    ]);
    expect(diff.packages).toEqual([
      { kind: 'updated', repository: 'src/contrib', name: 'alpha', from: '1.0', to: '1.1' },
      { kind: 'removed', repository: 'src/contrib', name: 'gone', from: '0.1', to: null },
      { kind: 'added', repository: 'src/contrib', name: 'new', from: null, to: '3.0' },
    ]);

    const same = await diffSnapshots(repo, 'latest', 'v2');
    expect(same.files).toEqual({ added: [], changed: [], removed: [] });
    expect(same.packages).toEqual([]);
  });

  it('an unknown ref is NOT_FOUND naming it', async () => {
    const repo = await Repository.open(join(tempDir(), 'repo'), { create: true });
    const from = tempDir('airlock-source-');
    fs.writeFileSync(join(from, 'a'), 'a');
    await createSnapshot(repo, { from, label: 'v1', progress: silentProgress });
    await rejectsWith(diffSnapshots(repo, 'v1', 'v9'), 'NOT_FOUND', /"v9"/);
  });
});
