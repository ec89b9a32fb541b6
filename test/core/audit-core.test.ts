import { describe, expect, it } from '@jest/globals';
import { AuditFold, type AuditCommit } from '../../src/core/audit-timeline.js';
import { verifyAudit, type PolicySnapshot } from '../../src/core/audit-verify.js';
import type { Grant } from '../../src/core/grant.js';
import { archivePath, grantPath, serializeGrant } from '../../src/core/grant-file.js';
import { loadPolicies } from '../../src/core/policy-load.js';
import { commitMessage, type EventTrailers } from '../../src/core/trailers.js';

/**
 * The pure audit core on its own: commits in, timelines and findings out, no git. The
 * real-git integration tests (test/cli/audit.int.test.ts) cover reading the history; these
 * pin down what the fold makes of it and what the verifier concludes.
 */
const BOT = {
  name: 'github-actions[bot]',
  email: '41898282+github-actions[bot]@users.noreply.github.com',
};
const APP = { name: 'gatepass[bot]', email: '1+gatepass[bot]@users.noreply.github.com' };
const MALLORY = { name: 'Mallory', email: 'mallory@example.com' };
const alice = { login: 'alice', id: 1001 };
const bob = { login: 'bob', id: 1002 };
const POLICY_SHA = 'a'.repeat(40);
const POLICY = `resources:
  prod-db:
    description: Production database
    provider: postgres
    target: { admin_url: 'env:PG', database: app, roles: [readonly] }
    max_duration: 4h
    default_duration: 1h
    requesters: [alice]
    approvers: [bob]
    approvals_required: 1
`;
const snapshot = (): PolicySnapshot => ({
  policies: loadPolicies([{ path: 'policies/p.yaml', text: POLICY }]).policies,
  onBranch: true,
});

let n = 0;
const sha = (): string => (++n).toString(16).padStart(40, '0');

const base: Grant = {
  id: 'req-1',
  resource: 'prod-db',
  requester: alice,
  duration: 3600,
  justification: 'Investigating slow checkout queries (INC-7)',
  source: { issue: 1, pull_request: 11 },
  policy_commit: POLICY_SHA,
  status: 'pending',
  requested_at: '2030-01-01T10:00:00.000Z',
};

/** One commit writing `files` (path → grant, or null to delete), with trailers when given. */
function commit(
  o: {
    subject: string;
    author?: typeof BOT;
    date: string;
    trailers?: EventTrailers;
    parents?: number;
  },
  files: [string, Grant | null][],
): AuditCommit {
  const texts = new Map(files.map(([p, g]) => [p, g ? serializeGrant(g) : null]));
  return {
    sha: sha(),
    parents: Array.from({ length: o.parents ?? 1 }, () => sha()),
    author: o.author ?? BOT,
    committer: o.author ?? BOT,
    date: o.date,
    message: o.trailers ? commitMessage(o.subject, o.trailers) : o.subject,
    files: files.map(([path, g]) => ({ status: g ? 'A' : 'D', path })),
    readGrant: (path) => texts.get(path) ?? null,
  };
}

const t = (event: EventTrailers['event'], extra: Partial<EventTrailers> = {}): EventTrailers => ({
  grant: 'req-1',
  event,
  resource: 'prod-db',
  requestedBy: alice,
  policy: POLICY_SHA,
  ...extra,
});

const PATH = grantPath('prod-db', 'req-1');
const approved: Grant = {
  ...base,
  status: 'approved',
  approval: {
    approved_at: '2030-01-01T10:05:00Z',
    rule: 'reviews',
    approvers: [{ ...bob, review_id: 1, via: 'bob' }],
    merge_commit: 'b'.repeat(40),
  },
};
const active: Grant = {
  ...approved,
  status: 'active',
  issued_at: '2030-01-01T10:06:00.000Z',
  expires_at: '2030-01-01T11:06:00.000Z',
  issued: { role: 'gatepass_req_1' },
};
const expired: Grant = {
  ...active,
  status: 'expired',
  ended_at: '2030-01-01T11:07:00.000Z',
  end_reason: 'expired',
};

/** The life gatepass writes: merged request, approve, issue, expire (archived in the same move). */
function goodLife(): AuditCommit[] {
  return [
    commit(
      {
        subject: 'Grant prod-db to alice (req-1) (#11)',
        author: APP,
        date: '2030-01-01T10:05:00Z',
        trailers: t('requested', { pullRequest: 11 }),
      },
      [[PATH, base]],
    ),
    commit(
      {
        subject: 'gatepass: approve prod-db/req-1 (#11)',
        date: '2030-01-01T10:05:30Z',
        trailers: t('approved', {
          approvedBy: [{ ...bob, review_id: 1, via: 'bob' }],
          rule: 'reviews',
          pullRequest: 11,
        }),
      },
      [[PATH, approved]],
    ),
    commit(
      {
        subject: 'gatepass: issued prod-db/req-1',
        date: '2030-01-01T10:06:00Z',
        trailers: t('issued', {
          at: '2030-01-01T10:06:00.000Z',
          expires: '2030-01-01T11:06:00.000Z',
        }),
      },
      [[PATH, active]],
    ),
    commit(
      {
        subject: 'gatepass: expire prod-db/req-1',
        date: '2030-01-01T11:07:00Z',
        trailers: t('expired'),
      },
      [
        [PATH, null],
        [archivePath(expired), expired],
      ],
    ),
  ];
}

function fold(commits: AuditCommit[]) {
  const f = new AuditFold();
  for (const c of commits) f.add(c);
  return f.result();
}

const verify = (commits: AuditCommit[], now = '2030-01-02T00:00:00Z') =>
  verifyAudit(fold(commits), (s) => (s === POLICY_SHA ? snapshot() : undefined), {
    now: new Date(now),
  });

describe('the audit fold', () => {
  it('makes one timeline per grant with its request, approval, issue and end', () => {
    const h = fold(goodLife());
    expect(h.commits).toBe(4);
    expect(h.timelines).toHaveLength(1);
    const tl = h.timelines[0]!;
    expect(tl).toMatchObject({
      id: 'req-1',
      resource: 'prod-db',
      path: archivePath(expired),
      status: 'expired',
      requester: alice,
      policyCommit: POLICY_SHA,
      issuedAt: '2030-01-01T10:06:00.000Z',
      expiresAt: '2030-01-01T11:06:00.000Z',
      endEvent: 'expired',
    });
    expect(tl.events.map((e) => e.kind)).toEqual(['requested', 'approved', 'issued', 'expired']);
    expect(tl.anomalies).toEqual([]);
  });

  it('records an issue of a grant it has never seen, and never approved, as anomalies', () => {
    const h = fold([
      commit({ subject: 'gatepass: issued', date: '2030-01-01T10:06:00Z', trailers: t('issued') }, [
        [PATH, active],
      ]),
    ]);
    expect(h.timelines[0]!.anomalies).toEqual([
      expect.objectContaining({ message: '"issued" for a grant the history has not seen before' }),
      expect.objectContaining({ message: 'issued without an approval commit before it' }),
    ]);
  });
});

describe('the audit fold reading grant files', () => {
  it('judges a version seen before again, without reading or parsing it again', () => {
    const reads = new Map<string, number>();
    /** The commit with blob ids, as git gives them, and its reads counted by blob. */
    const withBlob = (c: AuditCommit, blob: string): AuditCommit => ({
      ...c,
      files: c.files.map((f) => ({ ...f, blob })),
      readGrant: (path) => {
        reads.set(blob, (reads.get(blob) ?? 0) + 1);
        return c.readGrant!(path);
      },
    });
    const wider = { ...approved, duration: 3 * 3600 };
    const push = (g: Grant, blob: string, minute: number) =>
      withBlob(
        commit({ subject: 'edit', author: MALLORY, date: `2030-01-01T10:${minute}:00Z` }, [
          [PATH, g],
        ]),
        blob,
      );
    const [requested, approval] = goodLife();
    const h = fold([
      withBlob(requested!, 'b0'),
      withBlob(approval!, 'b1'),
      push(wider, 'b2', 10),
      push(approved, 'b1', 11),
      push(wider, 'b2', 12),
    ]);
    const tl = h.timelines[0]!;
    expect(tl.widenings.map((w) => [w.field, w.to])).toEqual([
      ['duration', '10800'],
      ['duration', '10800'],
    ]);
    expect(tl.events.map((e) => e.kind)).toEqual([
      'requested',
      'approved',
      'changed',
      'changed',
      'changed',
    ]);
    expect(Object.fromEntries(reads)).toEqual({ b0: 1, b1: 1, b2: 1 });
  });
});

describe('the audit verifier', () => {
  it('finds nothing wrong with the life gatepass writes', () => {
    expect(verify(goodLife()).filter((f) => f.severity === 'error')).toEqual([]);
  });

  it('flags a grant file changed without trailers as a direct push', () => {
    const commits = goodLife();
    commits.splice(
      2,
      0,
      commit({ subject: 'tweak', author: MALLORY, date: '2030-01-01T10:05:45Z' }, [
        [PATH, { ...approved, duration: 7200 }],
      ]),
    );
    expect(verify(commits).map((f) => f.kind)).toContain('direct-push');
  });

  it('flags gatepass trailers written by someone who is not a gatepass bot', () => {
    const commits = goodLife();
    commits[1] = commit(
      {
        subject: 'gatepass: approve prod-db/req-1 (#11)',
        author: MALLORY,
        date: '2030-01-01T10:05:30Z',
        trailers: t('approved', {
          approvedBy: [{ ...bob, review_id: 1, via: 'bob' }],
          rule: 'reviews',
          pullRequest: 11,
        }),
      },
      [[PATH, approved]],
    );
    expect(verify(commits)).toContainEqual(
      expect.objectContaining({
        kind: 'forged-trailer',
        severity: 'error',
        grant: 'prod-db/req-1',
      }),
    );
  });

  it('flags a request widened after its approval', () => {
    const commits = goodLife();
    commits[2] = commit(
      {
        subject: 'gatepass: issued prod-db/req-1',
        date: '2030-01-01T10:06:00Z',
        trailers: t('issued', {
          at: '2030-01-01T10:06:00.000Z',
          expires: '2030-01-01T13:06:00.000Z',
        }),
      },
      [[PATH, { ...active, duration: 3 * 3600, expires_at: '2030-01-01T13:06:00.000Z' }]],
    );
    expect(verify(commits).map((f) => f.kind)).toContain('widened');
  });

  it('flags access that outlived its expiry by more than the sweep interval', () => {
    const commits = goodLife().slice(0, 3); // issued, never ended
    expect(verify(commits, '2030-01-01T11:10:00Z').map((f) => f.kind)).not.toContain('late-end');
    expect(verify(commits, '2030-01-01T12:00:00Z')).toContainEqual(
      expect.objectContaining({ kind: 'late-end', severity: 'error' }),
    );
  });

  it('flags an issued grant whose policy commit the repository does not have', () => {
    const findings = verifyAudit(fold(goodLife()), () => undefined, {
      now: new Date('2030-01-02T00:00:00Z'),
    });
    expect(findings).toContainEqual(
      expect.objectContaining({ kind: 'unknown-policy', severity: 'error' }),
    );
  });

  it('flags an issue approved by someone who is not an approver at the policy commit', () => {
    const commits = goodLife();
    const byMallory: Grant = {
      ...approved,
      approval: {
        ...approved.approval!,
        approvers: [{ login: 'mallory', id: 666, review_id: 1, via: 'mallory' }],
      },
    };
    commits[1] = commit(
      {
        subject: 'gatepass: approve prod-db/req-1 (#11)',
        date: '2030-01-01T10:05:30Z',
        trailers: t('approved', {
          approvedBy: [{ login: 'mallory', id: 666, review_id: 1 }],
          rule: 'reviews',
          pullRequest: 11,
        }),
      },
      [[PATH, byMallory]],
    );
    commits[2] = commit(
      {
        subject: 'gatepass: issued prod-db/req-1',
        date: '2030-01-01T10:06:00Z',
        trailers: t('issued', {
          at: '2030-01-01T10:06:00.000Z',
          expires: '2030-01-01T11:06:00.000Z',
        }),
      },
      [[PATH, { ...active, approval: byMallory.approval! }]],
    );
    expect(verify(commits)).toContainEqual(
      expect.objectContaining({ kind: 'insufficient-approvals', severity: 'error' }),
    );
  });

  it('flags a policy change that did not come from a merged pull request', () => {
    const policyPush: AuditCommit = {
      sha: sha(),
      parents: [sha()],
      author: MALLORY,
      committer: MALLORY,
      date: '2030-01-01T09:00:00Z',
      message: 'loosen policy',
      files: [{ status: 'M', path: 'policies/p.yaml' }],
    };
    expect(verify([policyPush, ...goodLife()])).toContainEqual(
      expect.objectContaining({ kind: 'direct-push', commit: policyPush.sha }),
    );
    const merged = { ...policyPush, sha: sha(), message: 'Loosen policy (#5)' };
    expect(verify([merged, ...goodLife()]).map((f) => f.commit)).not.toContain(merged.sha);
  });
});
