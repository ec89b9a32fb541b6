/** Repository, branches, contents, git data and commits: all read from and written to git. */
import type { Person } from '../git-backend.js';
import type { Actor, IssueRecord, PullRecord } from '../state.js';
import {
  error,
  HttpError,
  notFound,
  pageReply,
  requireActor,
  type Reply,
  type Route,
  type RouteContext,
  type World,
} from '../world.js';

/** How the API commits as someone: GitHub's noreply address. */
export const gitPerson = (a: Actor): Person => ({
  name: a.login,
  email: `${a.id}+${a.login}@users.noreply.github.com`,
});

export async function commitFor(w: World, ref: string): Promise<string> {
  const sha =
    (await w.git.resolveCommit(`refs/heads/${ref}`)) ??
    (await w.git.resolveCommit(`refs/tags/${ref}`)) ??
    (/^[0-9a-f]{7,40}$/.test(ref) ? await w.git.resolveCommit(ref) : null);
  if (!sha) throw new HttpError(error(404, `No commit found for the ref ${ref}`));
  return sha;
}

const fullRef = (ref: string): string => `refs/${ref.replace(/^refs\//, '')}`;

const wantsRaw = (ctx: RouteContext): boolean => String(ctx.headers.accept ?? '').includes('.raw');

const getContent: Route = async (ctx) => {
  const w = ctx.world;
  const ref = ctx.query.get('ref') ?? w.defaultBranch;
  const commit = await commitFor(w, ref);
  const path = ctx.params.path ?? '';
  const entry = await w.git.entry(commit, path);
  if (!entry) return notFound();
  if (entry.type === 'tree') {
    const entries = await w.git.tree(entry.sha);
    return {
      status: 200,
      body: entries.map((e) => w.shapes.content(e, `${path}/${e.path}`, ref)),
    };
  }
  const content = await w.git.readBlob(entry.sha);
  if (wantsRaw(ctx)) {
    return {
      status: 200,
      body: content.toString('utf8'),
      raw: true,
      headers: { 'content-type': 'application/vnd.github.raw; charset=utf-8' },
    };
  }
  return { status: 200, body: w.shapes.content(entry, path, ref, content) };
};

/** Writes or deletes one file on a branch, with GitHub's blob-sha optimistic concurrency. */
async function writeFile(ctx: RouteContext, remove: boolean): Promise<Reply> {
  const w = ctx.world;
  const actor = requireActor(ctx);
  const path = ctx.params.path ?? '';
  const branch: string = ctx.body.branch ?? w.defaultBranch;
  const person = (p?: { name: string; email: string; date?: string }): Person =>
    p ? { name: p.name, email: p.email, ...(p.date ? { date: p.date } : {}) } : gitPerson(actor);
  for (let attempt = 0; attempt < 5; attempt++) {
    const tip = await w.git.resolveCommit(`refs/heads/${branch}`);
    if (!tip) return error(404, `Branch ${branch} not found`);
    const existing = await w.git.entry(tip, path);
    if (existing && existing.type !== 'blob') return error(422, `${path} is a directory`);
    if (remove && !existing) return notFound();
    if (existing && !ctx.body.sha) {
      return error(422, `Invalid request.\n\n"sha" wasn't supplied.`);
    }
    if (ctx.body.sha && ctx.body.sha !== existing?.sha) {
      return error(409, `${path} does not match ${ctx.body.sha}`);
    }
    const content = remove ? null : Buffer.from(String(ctx.body.content), 'base64');
    const committer = person(ctx.body.committer);
    const author = ctx.body.author ? person(ctx.body.author) : committer;
    const sha = await w.git.commitChanges(
      tip,
      [{ path, content }],
      String(ctx.body.message),
      author,
      committer,
    );
    // Someone pushed in between: GitHub would have judged the write on the new tip.
    if (!(await w.git.updateRef(`refs/heads/${branch}`, sha, tip))) continue;
    await w.syncPushes(actor);
    const commit = await w.git.commit(sha);
    const entry = await w.git.entry(sha, path);
    if (!commit) throw new Error(`commit ${sha} vanished`);
    return {
      status: remove || existing ? 200 : 201,
      body: {
        content: entry ? w.shapes.content(entry, path, branch) : null,
        commit: w.shapes.gitCommit(commit),
      },
    };
  }
  return error(409, `${branch} keeps moving; try again`);
}

const getRepo: Route = (ctx) => ({ status: 200, body: ctx.world.shapes.repository() });

const listBranches: Route = async (ctx) => {
  const w = ctx.world;
  const refs = await w.git.refs('refs/heads/');
  const branches = [];
  for (const r of refs) {
    const c = await w.git.commit(r.sha);
    if (c) branches.push(w.shapes.branch(r.ref.slice('refs/heads/'.length), c));
  }
  return pageReply(ctx, branches, (b) => b);
};

const getBranch: Route = async (ctx) => {
  const w = ctx.world;
  const name = ctx.params.branch ?? '';
  const sha = await w.git.resolveCommit(`refs/heads/${name}`);
  const c = sha ? await w.git.commit(sha) : null;
  if (!c) return error(404, 'Branch not found');
  const api = `${w.url}/repos/${w.owner}/${w.repo}`;
  return {
    status: 200,
    body: {
      name,
      commit: w.shapes.commit(c),
      _links: {
        html: `${w.url}/${w.owner}/${w.repo}/tree/${name}`,
        self: `${api}/branches/${name}`,
      },
      protected: false,
      protection: {
        enabled: false,
        required_status_checks: { enforcement_level: 'off', contexts: [] },
      },
      protection_url: `${api}/branches/${name}/protection`,
    },
  };
};

const getRef: Route = async (ctx) => {
  const ref = fullRef(ctx.params.ref ?? '');
  const sha = await ctx.world.git.resolveCommit(ref);
  return sha ? { status: 200, body: ctx.world.shapes.gitRef(ref, sha) } : notFound();
};

const matchingRefs: Route = async (ctx) => {
  const prefix = fullRef(ctx.params.ref ?? '');
  const refs = (await ctx.world.git.refs()).filter((r) => r.ref.startsWith(prefix));
  return { status: 200, body: refs.map((r) => ctx.world.shapes.gitRef(r.ref, r.sha)) };
};

const createRef: Route = async (ctx) => {
  const w = ctx.world;
  const actor = requireActor(ctx);
  const ref = String(ctx.body.ref);
  if (!/^refs\/[^/]+\/.+/.test(ref)) {
    return error(422, "Reference name must start with 'refs/' and have at least two slashes.");
  }
  if ((await w.git.objectType(ctx.body.sha)) !== 'commit')
    return error(422, 'Object does not exist');
  if (!(await w.git.updateRef(ref, ctx.body.sha, null)))
    return error(422, 'Reference already exists');
  await w.syncPushes(actor);
  return {
    status: 201,
    body: w.shapes.gitRef(ref, ctx.body.sha),
    headers: { location: `${w.url}/repos/${w.owner}/${w.repo}/git/${ref}` },
  };
};

const updateRef: Route = async (ctx) => {
  const w = ctx.world;
  const actor = requireActor(ctx);
  const ref = fullRef(ctx.params.ref ?? '');
  const old = await w.git.resolveCommit(ref);
  if (!old) return error(422, 'Reference does not exist');
  if ((await w.git.objectType(ctx.body.sha)) !== 'commit')
    return error(422, 'Object does not exist');
  if (!ctx.body.force && !(await w.git.isAncestor(old, ctx.body.sha))) {
    return error(422, 'Update is not a fast forward');
  }
  if (!(await w.git.updateRef(ref, ctx.body.sha, old))) return error(409, 'Reference changed');
  await w.syncPushes(actor);
  return { status: 200, body: w.shapes.gitRef(ref, ctx.body.sha) };
};

const deleteRef: Route = async (ctx) => {
  const w = ctx.world;
  const actor = requireActor(ctx);
  const ref = fullRef(ctx.params.ref ?? '');
  if (!(await w.git.resolveCommit(ref))) return error(422, 'Reference does not exist');
  await w.git.deleteRef(ref);
  await w.syncPushes(actor);
  return { status: 204 };
};

const getTree: Route = async (ctx) => {
  const w = ctx.world;
  const id = ctx.params.tree_sha ?? '';
  const type = await w.git.objectType(id);
  const treeSha =
    type === 'tree'
      ? id
      : type === 'commit'
        ? (await w.git.commit(id))?.tree
        : (await w.git.commit((await commitFor(w, id).catch(() => '')) || 'x'))?.tree;
  if (!treeSha) return notFound();
  const recursive = ctx.query.has('recursive');
  const api = `${w.url}/repos/${w.owner}/${w.repo}`;
  const entries = await w.git.tree(treeSha, recursive);
  return {
    status: 200,
    body: {
      sha: treeSha,
      url: `${api}/git/trees/${treeSha}`,
      tree: entries.map((e) => ({
        path: e.path,
        mode: e.mode,
        type: e.type,
        sha: e.sha,
        ...(e.size !== undefined ? { size: e.size } : {}),
        url: `${api}/git/${e.type === 'tree' ? 'trees' : 'blobs'}/${e.sha}`,
      })),
      truncated: false,
    },
  };
};

const getBlob: Route = async (ctx) => {
  const w = ctx.world;
  const sha = ctx.params.file_sha ?? '';
  if ((await w.git.objectType(sha)) !== 'blob') return notFound();
  const content = await w.git.readBlob(sha);
  return {
    status: 200,
    body: {
      content: (content.toString('base64').match(/.{1,60}/g) ?? []).join('\n') + '\n',
      encoding: 'base64',
      url: `${w.url}/repos/${w.owner}/${w.repo}/git/blobs/${sha}`,
      sha,
      size: content.length,
      node_id: `B_${sha}`,
    },
  };
};

const createBlob: Route = async (ctx) => {
  requireActor(ctx);
  const w = ctx.world;
  const content = Buffer.from(
    String(ctx.body.content),
    ctx.body.encoding === 'base64' ? 'base64' : 'utf8',
  );
  const sha = await w.git.writeBlob(content);
  return {
    status: 201,
    body: { url: `${w.url}/repos/${w.owner}/${w.repo}/git/blobs/${sha}`, sha },
  };
};

const createTree: Route = async (ctx) => {
  requireActor(ctx);
  const w = ctx.world;
  const entries = ctx.body.tree as {
    path: string;
    mode: string;
    type: string;
    sha?: string | null;
    content?: string;
  }[];
  const changes = entries.map((e) => ({
    path: e.path,
    mode: e.mode,
    content: e.content ?? null,
    ...(e.sha ? { sha: e.sha } : {}),
  }));
  const base = ctx.body.base_tree ?? null;
  if (base && !(await w.git.objectType(base))) return error(422, 'base_tree is not a valid tree');
  const sha = await w.git.writeTree(base, changes);
  return getTree({
    ...ctx,
    params: { ...ctx.params, tree_sha: sha },
    query: new URLSearchParams(),
  });
};

const createGitCommit: Route = async (ctx) => {
  const actor = requireActor(ctx);
  const w = ctx.world;
  if ((await w.git.objectType(ctx.body.tree)) !== 'tree')
    return error(422, 'Tree SHA does not exist');
  const author = ctx.body.author ?? gitPerson(actor);
  const committer = ctx.body.committer ?? author;
  const sha = await w.git.commitTree(
    ctx.body.tree,
    ctx.body.parents ?? [],
    String(ctx.body.message),
    author,
    committer,
  );
  const c = await w.git.commit(sha);
  return c ? { status: 201, body: w.shapes.gitCommit(c) } : notFound();
};

const getGitCommit: Route = async (ctx) => {
  const c = await ctx.world.git.commit(ctx.params.commit_sha ?? '');
  return c ? { status: 200, body: ctx.world.shapes.gitCommit(c) } : notFound();
};

const getCommit: Route = async (ctx) => {
  const w = ctx.world;
  const sha = await commitFor(w, ctx.params.ref ?? '');
  const c = await w.git.commit(sha);
  if (!c) return notFound();
  const files = await w.git.diff(c.parents[0] ?? null, sha);
  return {
    status: 200,
    body: w.shapes.commit(
      c,
      files.map((f) => w.shapes.diffEntry(f)),
    ),
  };
};

const compareCommits: Route = async (ctx) => {
  const w = ctx.world;
  const basehead = ctx.params.basehead ?? '';
  const [from, to] = basehead.split('...');
  if (!from || !to) return notFound();
  const baseSha = await commitFor(w, from).catch(() => null);
  const headSha = await commitFor(w, to).catch(() => null);
  if (!baseSha || !headSha) return notFound();
  const mergeBase = (await w.git.mergeBase(baseSha, headSha)) ?? baseSha;
  const commits = [];
  for (const sha of await w.git.commitsBetween(mergeBase, headSha)) {
    const c = await w.git.commit(sha);
    if (c) commits.push(c);
  }
  const [b, m] = [await w.git.commit(baseSha), await w.git.commit(mergeBase)];
  if (!b || !m) return notFound();
  const files = (await w.git.diff(mergeBase, headSha)).map((f) => w.shapes.diffEntry(f));
  return {
    status: 200,
    body: w.shapes.comparison({ basehead, base: b, mergeBase: m, commits, files }),
  };
};

const listCommits: Route = async (ctx) => {
  const w = ctx.world;
  const head = await commitFor(w, ctx.query.get('sha') ?? w.defaultBranch);
  const shas = await w.git.log(head, ctx.query.get('path') ?? undefined);
  const commits = [];
  for (const sha of shas) {
    const c = await w.git.commit(sha);
    if (c) commits.push(c);
  }
  return pageReply(ctx, commits, (c) => w.shapes.commit(c));
};

const pullsForCommit: Route = async (ctx) => {
  const w = ctx.world;
  const sha = await w.git.resolveCommit(ctx.params.commit_sha ?? '');
  if (!sha) return error(422, `No commit found for SHA: ${ctx.params.commit_sha}`);
  const found: (IssueRecord & { pull: PullRecord })[] = [];
  for (const issue of w.state.issues.values()) {
    const p = issue.pull;
    if (!p) continue;
    const pull = { ...issue, pull: p };
    if (p.merge_commit_sha === sha || p.head_sha === sha) found.push(pull);
    else if (issue.state === 'open') {
      const commits: string[] = await w.git.commitsBetween(p.base_sha, p.head_sha).catch(() => []);
      if (commits.includes(sha)) found.push(pull);
    }
  }
  return pageReply(ctx, found, (i) => w.shapes.pullSimple(i));
};

export const repoRoutes: Record<string, Route> = {
  'repos/get': getRepo,
  'repos/list-branches': listBranches,
  'repos/get-branch': getBranch,
  'repos/get-content': getContent,
  'repos/create-or-update-file-contents': (ctx) => writeFile(ctx, false),
  'repos/delete-file': (ctx) => writeFile(ctx, true),
  'git/get-ref': getRef,
  'git/list-matching-refs': matchingRefs,
  'git/create-ref': createRef,
  'git/update-ref': updateRef,
  'git/delete-ref': deleteRef,
  'git/get-tree': getTree,
  'git/create-tree': createTree,
  'git/get-blob': getBlob,
  'git/create-blob': createBlob,
  'git/get-commit': getGitCommit,
  'git/create-commit': createGitCommit,
  'repos/get-commit': getCommit,
  'repos/compare-commits-with-basehead': compareCommits,
  'repos/list-commits': listCommits,
  'repos/list-pull-requests-associated-with-commit': pullsForCommit,
};
