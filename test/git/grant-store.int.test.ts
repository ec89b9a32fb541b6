import { afterEach, describe, expect, it } from '@jest/globals';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitGrantWriter } from '../../src/git/grant-store.js';
import { GitRepo } from '../../src/git/git-repo.js';
import { initAccessRepo, type AccessRepoFixture } from '../helpers/git.js';

/** Issue #13: the action commits exactly what a step wrote, never `git add .`. */
let fx: AccessRepoFixture;
afterEach(() => fx?.cleanup());

async function remoteFiles(): Promise<string[]> {
  const origin = await GitRepo.open(fx.remote);
  return (await origin.listFiles('main', '.')).sort();
}

describe('the git grant writer', () => {
  it('commits the grant file and the declared KRL, and neither pushes nor keeps a stray file', async () => {
    fx = await initAccessRepo();
    const writer = gitGrantWriter(fx.repo, 'origin', 'main');
    await writer.write('grants/prod-db/req-1.yaml', 'id: req-1\n');
    fx.write('ssh/revoked.krl', 'KRL');
    // What a provider or a command script leaves behind, and an edit to a tracked file.
    fx.write('leak.txt', 'ADMIN_URL=postgres://admin:secret@db');
    fx.write('scratch/out.json', '{}');
    fx.write('policies/example.yaml', 'tampered: true\n');
    await writer.commit('gatepass: issued', ['grants/prod-db/req-1.yaml', 'ssh/revoked.krl']);
    expect(await writer.push()).toBe('ok');
    const files = await remoteFiles();
    expect(files).toContain('grants/prod-db/req-1.yaml');
    expect(files).toContain('ssh/revoked.krl');
    expect(files).not.toContain('leak.txt');
    expect(files).not.toContain('scratch/out.json');
    const origin = await GitRepo.open(fx.remote);
    expect(
      (await origin.readFiles('main', ['policies/example.yaml'])).get('policies/example.yaml'),
    ).not.toContain('tampered');
    // Cleaned: the next step starts from the commit.
    expect(existsSync(join(fx.dir, 'leak.txt'))).toBe(false);
    expect(await writer.isClean()).toBe(true);
  });

  it('stages a removal (a grant moved to the archive) and skips a declared file that is absent', async () => {
    fx = await initAccessRepo();
    const writer = gitGrantWriter(fx.repo, 'origin', 'main');
    await writer.write('grants/prod-db/req-1.yaml', 'id: req-1\n');
    await writer.commit('issued', ['grants/prod-db/req-1.yaml', 'ssh/revoked.krl']);
    await writer.remove('grants/prod-db/req-1.yaml');
    await writer.write('grants/archive/2030/01/prod-db/req-1.yaml', 'id: req-1\n');
    writeFileSync(join(fx.dir, 'stray'), 'x');
    await writer.commit('expire', [
      'grants/prod-db/req-1.yaml',
      'grants/archive/2030/01/prod-db/req-1.yaml',
    ]);
    expect(await writer.push()).toBe('ok');
    const files = await remoteFiles();
    expect(files).toContain('grants/archive/2030/01/prod-db/req-1.yaml');
    expect(files).not.toContain('grants/prod-db/req-1.yaml');
    expect(files).not.toContain('stray');
  });
});
