import { afterEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
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
  it('commits the grant file and the declared KRL, and neither pushes nor keeps what a provider that borrowed the tree left', async () => {
    fx = await initAccessRepo();
    const writer = gitGrantWriter(fx.repo, 'origin', 'main');
    await writer.write('grants/prod-db/req-1.yaml', 'id: req-1\n');
    const tree = writer.lendWorkTree();
    expect(tree).toBe(fx.dir);
    fx.write('ssh/revoked.krl', 'KRL');
    // What a provider or a command script leaves behind, an edit to a tracked file, and a file
    // the script staged itself (the commit takes the index, so that must not ride along).
    fx.write('leak.txt', 'ADMIN_URL=postgres://admin:secret@db');
    fx.write('scratch/out.json', '{}');
    fx.write('policies/example.yaml', 'tampered: true\n');
    fx.write('staged.txt', 'staged by a script');
    execFileSync('git', ['add', 'staged.txt', 'policies/example.yaml'], { cwd: fx.dir });
    await writer.commit('gatepass: issued', ['grants/prod-db/req-1.yaml', 'ssh/revoked.krl']);
    expect(await writer.push()).toBe('ok');
    const files = await remoteFiles();
    expect(files).toContain('grants/prod-db/req-1.yaml');
    expect(files).toContain('ssh/revoked.krl');
    expect(files).not.toContain('leak.txt');
    expect(files).not.toContain('scratch/out.json');
    expect(files).not.toContain('staged.txt');
    const origin = await GitRepo.open(fx.remote);
    expect(
      (await origin.readFiles('main', ['policies/example.yaml'])).get('policies/example.yaml'),
    ).not.toContain('tampered');
    // Cleaned: the next step starts from the commit.
    expect(existsSync(join(fx.dir, 'leak.txt'))).toBe(false);
    expect(existsSync(join(fx.dir, 'staged.txt'))).toBe(false);
    expect(await writer.isClean()).toBe(true);
  });

  it('after a step nobody borrowed the tree for, commits only the named paths without walking the checkout', async () => {
    fx = await initAccessRepo();
    const writer = gitGrantWriter(fx.repo, 'origin', 'main');
    // Something outside gatepass's steps wrote here (nothing in a run can, short of borrowing
    // the tree): it is still never committed, by this step or the next.
    fx.write('leak.txt', 'secret');
    fx.write('policies/example.yaml', 'tampered: true\n');
    await writer.write('grants/prod-db/req-1.yaml', 'id: req-1\n');
    await writer.commit('issued', ['grants/prod-db/req-1.yaml']);
    await writer.write('grants/prod-db/req-1.yaml', 'id: req-1\nrevoked: true\n');
    await writer.commit('revoked', ['grants/prod-db/req-1.yaml']);
    expect(await writer.push()).toBe('ok');
    const origin = await GitRepo.open(fx.remote);
    expect(await remoteFiles()).not.toContain('leak.txt');
    expect(
      (await origin.readFiles('main', ['policies/example.yaml'])).get('policies/example.yaml'),
    ).not.toContain('tampered');
    expect(
      (await origin.readFiles('main', ['grants/prod-db/req-1.yaml'])).get(
        'grants/prod-db/req-1.yaml',
      ),
    ).toBe('id: req-1\nrevoked: true\n');
    // Left where it was (the writer did not look), so the checkout is not clean; a discard is.
    expect(existsSync(join(fx.dir, 'leak.txt'))).toBe(true);
    expect(await writer.isClean()).toBe(false);
    await writer.discard();
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
