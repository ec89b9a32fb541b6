import { afterEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import type { Finding } from '../../src/core/audit-verify.js';
import type { AuditReport } from '../../src/engine/audit/render.js';
import { buildAuditReport } from '../../src/engine/audit/build.js';
import { GitRepo } from '../../src/git/git-repo.js';
import { ACTION_BOT, AuditHistoryBuilder, MALLORY, POLICY } from '../helpers/audit-history.js';
import { alice, bob, carol, dave } from '../helpers/build.js';
import { runCli } from '../helpers/cli.js';
import { reviewRecordPath } from '../../src/core/break-glass.js';
import { formatBreakGlassReview } from '../../src/core/trailers.js';

let h: AuditHistoryBuilder | undefined;
afterEach(() => h?.cleanup());

const start = async () => (h = await AuditHistoryBuilder.create());
const NOW = '2031-01-01T00:00:00Z';

async function verify(b: AuditHistoryBuilder, extra: string[] = []) {
  b.flush();
  const run = await runCli(['audit', b.dir, '--verify', '--json', '--now', NOW, ...extra], b.dir);
  const report = JSON.parse(run.out) as AuditReport;
  const errors = report.findings!.filter((f) => f.severity === 'error');
  return { run, report, errors };
}
const kinds = (fs: Finding[]) => [...new Set(fs.map((f) => f.kind))].sort();
const approval = (p: { login: string; id: number }, via: string, review = 7001) => ({
  login: p.login,
  id: p.id,
  review_id: review,
  via,
});

/** Twenty grants the way gatepass writes them, with every kind of ending. */
async function cleanHistory(): Promise<AuditHistoryBuilder> {
  const b = await start();
  for (let i = 1; i <= 14; i++) {
    b.lifecycle(
      {
        id: `req-${i * 10}`,
        requester: i % 2 ? dave : carol,
        approvers: [approval(i % 2 ? alice : bob, i % 2 ? 'alice' : 'bob', 9000 + i)],
      },
      30 + i,
    );
    b.tick(60);
  }
  b.changePolicy(POLICY.replace('max_duration: 4h', 'max_duration: 3h'), { pr: 300 });
  b.changePolicy(POLICY.replace('max_duration: 4h', 'max_duration: 2h'), { pr: 301, merge: true });
  // Two approvals via a team, on the resource that needs two.
  b.approve({
    id: 'req-500',
    resource: 'prod-admin',
    requester: dave,
    approvers: [approval(alice, 'acme/sre', 1), approval(bob, 'acme/sre', 2)],
  });
  b.tick(1).issue('req-500');
  b.tick(10).requestRevoke('req-500', alice);
  b.tick(2).end('req-500', 'revoked', { actor: 'alice (101)' });
  b.tick(1).archive('req-500', { withEvent: true });
  // Approved, expired before it could be issued.
  b.approve({ id: 'req-510', requester: dave }).status = 'approved';
  b.tick(5).end('req-510', 'expired');
  // Still active at the end of the history, well within its hour.
  b.tick(30).approve({ id: 'req-520', requester: carol, approvers: [approval(bob, 'bob')] });
  b.tick(1).issue('req-520');
  b.flush();
  return b;
}

describe('gatepass audit on a clean history', () => {
  it('rebuilds every grant and finds nothing wrong', async () => {
    const b = await cleanHistory();
    const now = new Date(b.now + 5 * 60_000).toISOString();
    const { run, report, errors } = await verify(b, ['--now', now]);
    expect(errors).toEqual([]);
    expect(run.code).toBe(0);
    expect(report.grants).toHaveLength(17);
    const first = report.grants.find((g) => g.id === 'req-10')!;
    expect(first).toMatchObject({
      resource: 'prod-db',
      requester: dave,
      justification: 'Investigating slow checkout queries (INC-10)',
      ticket: 'INC-10',
      source: { issue: 10, pull_request: 11 },
      rule: 'reviews',
      approvers: [{ login: 'alice', id: 101, via: 'alice' }],
      pullRequest: 11,
      endEvent: 'expired',
      endedBy: 'schedule',
    });
    expect(first.path).toMatch(/^grants\/archive\/2030\/01\/prod-db\/req-10\.yaml$/);
    expect(first.events.map((e) => e.kind)).toEqual([
      'approved',
      'issued',
      'expired',
      expect.stringMatching(/archived|expired/),
    ]);
    const revoked = report.grants.find((g) => g.id === 'req-500')!;
    expect(revoked).toMatchObject({
      endEvent: 'revoked',
      endedBy: 'alice (101)',
      revokeRequested: { by: 'alice (101)' },
    });
    expect(report.grants.find((g) => g.id === 'req-510')).toMatchObject({ endEvent: 'expired' });
    expect(report.grants.find((g) => g.id === 'req-520')!.issuedSha).toBeDefined();
  });

  it('reports a grant still live long after its expiry', async () => {
    const b = await cleanHistory();
    const { run, errors } = await verify(b);
    expect(run.code).toBe(1);
    expect(errors.map((f) => [f.kind, f.grant])).toEqual([['late-end', 'prod-db/req-520']]);
  });

  it('prints a readable table by default, without findings unless asked', async () => {
    const b = await cleanHistory();
    const run = await runCli(['audit', b.dir], b.dir);
    expect(run.code).toBe(0);
    const lines = run.out.split('\n');
    expect(lines[0]).toMatch(
      /^GRANT\s+RESOURCE\s+REQUESTER\s+STATUS\s+APPROVED BY\s+ISSUED\s+ENDS\s+BY$/,
    );
    expect(run.out).toMatch(
      /req-500\s+prod-admin\s+dave\s+revoked\s+alice bob\s+2030-01-\d\d \d\d:\d\dZ/,
    );
    expect(run.out).toContain('17 grant(s) from');
    expect(run.out).not.toContain('verify');
  });
});

describe('gatepass audit --verify finds tampering', () => {
  it('a grant file pushed straight to main, and a policy pushed without a PR', async () => {
    const b = await start();
    b.lifecycle({ id: 'req-1', requester: dave });
    b.commit({
      message: 'add my access\n',
      author: MALLORY,
      files: [{ path: 'grants/prod-db/req-2.yaml', content: 'id: req-2\n' }],
    });
    b.changePolicy(POLICY.replace('approvals_required: 1', 'approvals_required: 0'), {
      direct: MALLORY,
    });
    const { run, errors } = await verify(b);
    expect(run.code).toBe(1);
    expect(errors.map((f) => f.kind).sort()).toEqual([
      'direct-push',
      'direct-push',
      'invalid-grant-file',
    ]);
    expect(errors.find((f) => f.grant === 'prod-db/req-2')!.message).toContain(
      'Mallory <mallory@example.com>',
    );
    expect(errors.find((f) => !f.grant)!.message).toMatch(
      /policy change \(policies\/access.yaml\)/,
    );
  });

  it('an approval commit that is not the merge of the pull request it names', async () => {
    const b = await start();
    b.approve({ id: 'req-1', requester: dave, subject: 'Grant prod-db to dave' });
    const { errors } = await verify(b);
    expect(kinds(errors)).toEqual(['direct-push']);
    expect(errors[0]!.message).toContain('claims pull request #2');
  });

  it('a grant widened after approval: longer, later expiry, another requester', async () => {
    const b = await start();
    b.approve({ id: 'req-1', requester: dave });
    b.tick(1).issue('req-1', {
      edit: (g) => {
        g.duration = 3 * 3600;
        g.expires_at = new Date(Date.parse(g.issued_at!) + 3 * 3600_000).toISOString();
      },
    });
    b.approve({ id: 'req-2', requester: dave });
    b.tick(1).issue('req-2', {
      edit: (g) => {
        g.expires_at = new Date(Date.parse(g.issued_at!) + 5 * 3600_000).toISOString();
        g.requester = { login: 'mallory', id: 666 };
      },
    });
    const { errors } = await verify(b, ['--now', new Date(b.now).toISOString()]);
    const widened = errors.filter((f) => f.kind === 'widened');
    expect(
      widened.map((f) => `${f.grant} ${f.message.split(': ')[1]!.split(' ')[0]}`).sort(),
    ).toEqual([
      'prod-db/req-1 duration',
      'prod-db/req-1 expires_at',
      'prod-db/req-2 expires_at',
      'prod-db/req-2 requester',
    ]);
  });

  it('issued without enough eligible approvals under the policy at its policy commit', async () => {
    const b = await start();
    // Self-approval, an approver not in the list, a login claiming another's entry, one of two.
    b.approve({ id: 'req-1', requester: dave, approvers: [approval(dave, 'dave')] });
    b.tick(1).issue('req-1');
    b.approve({
      id: 'req-2',
      requester: dave,
      approvers: [approval({ login: 'mallory', id: 666 }, 'mallory')],
    });
    b.tick(1).issue('req-2');
    b.approve({
      id: 'req-3',
      requester: dave,
      approvers: [approval({ login: 'eve', id: 5 }, 'alice')],
    });
    b.tick(1).issue('req-3');
    b.approve({
      id: 'req-4',
      resource: 'prod-admin',
      requester: dave,
      approvers: [approval(alice, 'acme/sre')],
    });
    b.tick(1).issue('req-4');
    // Approved under a policy that a later, looser policy would have allowed: judged at its own commit.
    const strict = b.policyCommit;
    b.changePolicy(
      POLICY.replace(
        'approvers: [alice, bob, acme/dba]',
        'approvers: [alice, bob, carol, acme/dba]',
      ),
      { pr: 90 },
    );
    b.approve({
      id: 'req-5',
      requester: dave,
      approvers: [approval(carol, 'carol')],
      policy: strict,
    });
    b.tick(1).issue('req-5');
    const { errors } = await verify(b, ['--now', new Date(b.now).toISOString()]);
    const approvals = errors.filter((f) => f.kind === 'insufficient-approvals');
    const byGrant = Object.fromEntries(approvals.map((f) => [f.grant, f]));
    // The self-approval also makes the issued file inconsistent with itself.
    expect(kinds(errors)).toEqual(['insufficient-approvals', 'invalid-grant-file']);
    expect(errors.find((f) => f.kind === 'invalid-grant-file')!.grant).toBe('prod-db/req-1');
    expect(Object.keys(byGrant).sort()).toEqual([
      'prod-admin/req-4',
      'prod-db/req-1',
      'prod-db/req-2',
      'prod-db/req-3',
      'prod-db/req-5',
    ]);
    expect(byGrant['prod-db/req-1']!.message).toContain('dave is the requester');
    expect(byGrant['prod-db/req-2']!.message).toContain(
      '"mallory", which is not among the approvers',
    );
    expect(byGrant['prod-db/req-3']!.message).toContain("another person's login");
    expect(byGrant['prod-admin/req-4']!.message).toContain('1 of 2 required');
    expect(byGrant['prod-db/req-5']!.message).toContain(`at policy commit ${strict.slice(0, 12)}`);
  });

  it('a late expiry and a slow revocation', async () => {
    const b = await start();
    b.approve({ id: 'req-1', requester: dave });
    b.tick(1).issue('req-1');
    b.tick(60 + 30).end('req-1', 'expired');
    b.approve({ id: 'req-2', requester: dave, duration: 4 * 3600 });
    b.tick(1).issue('req-2');
    b.tick(5).requestRevoke('req-2', alice);
    b.tick(90).end('req-2', 'revoked', { actor: 'alice (101)' });
    const { errors } = await verify(b, ['--now', new Date(b.now).toISOString()]);
    expect(errors.map((f) => [f.kind, f.grant])).toEqual([
      ['late-end', 'prod-db/req-1'],
      ['late-end', 'prod-db/req-2'],
    ]);
    expect(errors[0]!.message).toMatch(/stayed live 30m\d*s? past its expiry/);
    // A looser sweep interval accepts the same history's expiry, not the slow revocation.
    const loose = await verify(b, ['--now', new Date(b.now).toISOString(), '--sweep', '1h']);
    expect(loose.errors.map((f) => f.grant)).toEqual(['prod-db/req-2']);
  });

  it('trailers written by someone who is not a gatepass bot', async () => {
    const b = await start();
    b.approve({ id: 'req-1', requester: dave });
    b.tick(1).issue('req-1', { author: MALLORY });
    b.tick(30).end('req-1', 'revoked', { author: { name: 'Dave', email: 'dave@example.com' } });
    const { errors } = await verify(b);
    expect(errors.map((f) => [f.kind, f.commit !== undefined])).toEqual([
      ['forged-trailer', true],
      ['forged-trailer', true],
    ]);
    expect(errors[0]!.message).toContain(
      '"issued" trailers on prod-db/req-1 in a commit whose author claims to be Mallory',
    );
    // Naming the bots explicitly replaces the defaults.
    const trusting = await verify(b, ['--bot', '*[bot]', 'mallory@example.com', 'Dave']);
    expect(trusting.errors).toEqual([]);
  });

  it("accepts the action's confirmation of the merged approval, but not a second approval", async () => {
    const b = await start();
    b.approve({ id: 'req-1', requester: dave });
    b.tick(1).confirm('req-1');
    b.tick(1).issue('req-1');
    b.tick(30).end('req-1', 'expired');
    expect((await verify(b)).errors).toEqual([]);

    b.approve({ id: 'req-3', requester: dave });
    b.tick(1).confirm('req-3', { pr: 99 });
    const { errors } = await verify(b);
    expect(errors.map((f) => `${f.kind} ${f.message.split(': ').slice(1).join(': ')}`)).toEqual([
      'impossible-timeline approved twice',
    ]);
  });

  it('impossible timelines: issued twice, revoked twice, events for unknown grants', async () => {
    const b = await start();
    b.approve({ id: 'req-1', requester: dave });
    b.tick(1).issue('req-1');
    b.tick(1).issue('req-1');
    b.tick(10).end('req-1', 'revoked');
    b.tick(1).end('req-1', 'revoked');
    // An `issued` commit for a grant nobody approved.
    b.grants.set('req-9', { ...b.grants.get('req-1')!, id: 'req-9', status: 'approved' });
    b.tick(1).issue('req-9');
    const { errors } = await verify(b);
    const messages = errors
      .filter((f) => f.kind === 'impossible-timeline')
      .map((f) => `${f.grant}: ${f.message.split(': ').slice(1).join(': ')}`);
    expect(messages).toEqual([
      'prod-db/req-1: issued twice',
      'prod-db/req-1: revoked after it had already ended (revoked)',
      'prod-db/req-9: "issued" for a grant the history has not seen before',
      'prod-db/req-9: issued without an approval commit before it',
    ]);
  });

  it('reports break-glass use, and a missing after-the-fact review once it is overdue', async () => {
    const b = await start();
    b.approve({
      id: 'req-1',
      requester: dave,
      approvers: [],
      breakGlass: 'Checkout is down (INC-1)',
    });
    b.tick(1).issue('req-1');
    b.tick(30).end('req-1', 'expired');
    const soon = await verify(b, ['--now', new Date(b.now + 3600_000).toISOString()]);
    expect(soon.run.code).toBe(0);
    expect(soon.report.findings!.map((f) => [f.kind, f.severity])).toEqual([
      ['break-glass', 'info'],
      ['break-glass-review', 'info'],
    ]);
    const late = await verify(b);
    expect(late.errors.map((f) => f.kind)).toEqual(['break-glass-review']);
    expect(late.errors[0]!.message).toContain('no after-the-fact review recorded (overdue');
    // A recorded review satisfies it.
    b.commit({
      message:
        'Break-glass review\n\nGatepass-Grant: req-1\nGatepass-Resource: prod-db\nGatepass-Break-Glass-Review: alice (101) review=77\n',
      author: ACTION_BOT,
      files: [{ path: 'grants/prod-db/req-1.yaml', content: null }],
    });
    expect((await verify(b)).errors.map((f) => f.kind)).not.toContain('break-glass-review');
  });

  it('finds the review record the app commits for `/approve` on the follow-up issue', async () => {
    const b = await start();
    b.approve({ id: 'req-1', requester: dave, approvers: [], breakGlass: 'Checkout is down' });
    b.tick(1).issue('req-1');
    b.tick(30).end('req-1', 'expired');
    expect((await verify(b)).errors.map((f) => f.kind)).toEqual(['break-glass-review']);
    // Exactly what src/app/break-glass.ts writes: a file outside grants/, review trailers only.
    b.commit({
      message: `Break-glass review of req-1 by carol\n\n${formatBreakGlassReview({
        grant: 'req-1',
        resource: 'prod-db',
        reviewer: carol,
        review: 4242,
      })}\n`,
      author: ACTION_BOT,
      files: [{ path: reviewRecordPath('prod-db', 'req-1'), content: 'grant: req-1\n' }],
    });
    const after = await verify(b);
    expect(after.errors).toEqual([]);
    expect(after.report.grants.find((g) => g.id === 'req-1')?.breakGlassReview?.by).toBe(
      `carol (${carol.id}) review=4242`,
    );
  });
});

describe('gatepass audit filters and formats', () => {
  it('answers "who had access to prod-admin at 10:00?" and filters by user, resource and time', async () => {
    const b = await cleanHistory();
    const report = await buildAuditReport(await GitRepo.open(b.dir));
    const g500 = report.grants.find((g) => g.id === 'req-500')!;
    const during = new Date(Date.parse(g500.issuedAt!) + 60_000).toISOString();
    const ids = async (args: string[]) =>
      (
        JSON.parse((await runCli(['audit', b.dir, '--json', ...args], b.dir)).out) as AuditReport
      ).grants.map((g) => g.id);
    expect(await ids(['--active-at', during])).toEqual(['req-500']);
    expect(await ids(['--resource', 'prod-admin'])).toEqual(['req-500']);
    expect(await ids(['--user', 'CAROL'])).toEqual([
      'req-20',
      'req-40',
      'req-60',
      'req-80',
      'req-100',
      'req-120',
      'req-140',
      'req-520',
    ]);
    expect(await ids(['--user', 'bob', '--until', '2030-01-01T06:00:00Z'])).toEqual([
      'req-20',
      'req-40',
    ]);
    const since = new Date(Date.parse(g500.issuedAt!)).toISOString();
    expect(await ids(['--since', since])).toEqual(['req-500', 'req-510', 'req-520']);
  });

  it('writes CSV with quoting and defuses spreadsheet formulas', async () => {
    const b = await start();
    b.lifecycle({ id: 'req-1', requester: dave, justification: 'He said "now", then left, badly' });
    b.lifecycle({ id: 'req-2', requester: dave, justification: '=HYPERLINK("http://x") please' });
    b.flush();
    const run = await runCli(['audit', b.dir, '--csv'], b.dir);
    const lines = run.out.split('\r\n');
    expect(lines[0]).toBe(
      'grant,resource,requester,status,requested_at,justification,ticket,issue,pull_request,approved_at,approved_by,rule,policy_commit,issued_at,expires_at,ended_at,ended_by',
    );
    expect(lines[1]).toContain(',"He said ""now"", then left, badly",INC-1,1,2,');
    expect(lines[2]).toContain(`,"'=HYPERLINK(""http://x"") please",`);
    expect(lines).toHaveLength(4);
  });

  it('writes Markdown with findings and a Mermaid Gantt chart, one section per resource', async () => {
    const b = await cleanHistory();
    const run = await runCli(['audit', b.dir, '--markdown', '--verify', '--now', NOW], b.dir);
    expect(run.code).toBe(1);
    expect(run.out).toContain('### Verification: 1 finding(s)');
    const chart = /```mermaid\n([\s\S]*?)```/.exec(run.out)![1]!;
    expect(chart).toMatch(
      /^gantt\n {2}title Access grants \(UTC\)\n {2}dateFormat YYYY-MM-DD HH:mm:ss\n/,
    );
    expect(chart.match(/^ {2}section .*$/gm)).toEqual([
      '  section prod-admin',
      '  section prod-db',
    ]);
    expect(chart).toMatch(
      /^ {4}req-500 dave :done, g1, 2030-01-\d\d \d\d:\d\d:\d\d, 2030-01-\d\d \d\d:\d\d:\d\d$/m,
    );
    expect(chart).toMatch(/^ {4}req-520 carol :crit, active, g\d+, /m);
    // Never-issued grants have no bar.
    expect(chart).not.toContain('req-510');
  });

  it('refuses bad usage with exit 2', async () => {
    const b = await start();
    expect((await runCli(['audit', b.dir, '--since', 'yesterday'], b.dir)).code).toBe(2);
    expect((await runCli(['audit', b.dir, '--json', '--csv'], b.dir)).code).toBe(2);
    expect((await runCli(['audit', b.dir, '--sweep', 'soon'], b.dir)).code).toBe(2);
    expect((await runCli(['audit', b.dir, '--rev', 'no-such-branch'], b.dir)).code).toBe(2);
    expect((await runCli(['audit', b.root], b.dir)).code).toBe(2);
  });
});

describe('continuity with an earlier verification (threat #20)', () => {
  it('flags a history rewritten since the head an earlier verification saw', async () => {
    const b = await cleanHistory();
    const verified = b.flush();
    const before = await verify(b, ['--verified-head', b.policyCommit]);
    expect(kinds(before.errors)).not.toContain('history-rewritten');
    // A force push that drops the last commit the earlier verification saw.
    execFileSync('git', ['update-ref', 'refs/heads/main', `${verified}~1`], { cwd: b.dir });
    const after = await verify(b, ['--verified-head', verified]);
    expect(after.run.code).toBe(1);
    expect(after.errors).toContainEqual(
      expect.objectContaining({ kind: 'history-rewritten', commit: verified }),
    );
  });

  it('refuses --verified-head without --verify or with something that is not a commit id', async () => {
    const b = await start();
    b.flush();
    expect((await runCli(['audit', b.dir, '--verified-head', 'abc1234'], b.dir)).code).toBe(2);
    const bad = await runCli(['audit', b.dir, '--verify', '--verified-head', '--all'], b.dir);
    expect(bad.code).toBe(2);
  });
});

// Issue #14 (smaller, audit): each of these was wrong on the old code.
describe('gatepass audit --verify: what a name proves, and the baseline', () => {
  const DAVE = { name: 'Dave', email: '104+dave@users.noreply.github.com' };
  const headOf = (b: AuditHistoryBuilder) => {
    b.flush();
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: b.dir, encoding: 'utf8' }).trim();
  };

  it("takes the squash merge of a hand-opened PR (authored in its author's name) as the app's merge", async () => {
    const b = await start();
    b.approve({ id: 'req-1', requester: dave, author: DAVE });
    b.tick(1);
    b.confirm('req-1');
    const { errors } = await verify(b);
    expect(errors.filter((f) => f.kind === 'forged-trailer')).toEqual([]);
  });

  it('reports an archive move without trailers as a direct push, whatever the author claims to be', async () => {
    const b = await start();
    b.approve({ id: 'req-1', requester: dave });
    b.tick(1);
    b.issue('req-1');
    b.tick(60);
    b.end('req-1', 'expired');
    b.tick(1);
    b.archive('req-1', { withEvent: false, author: ACTION_BOT });
    const { errors } = await verify(b);
    expect(errors.map((f) => f.kind)).toEqual(['direct-push']);
    expect(errors[0]!.message).toContain('the author claims to be github-actions[bot]');
  });

  it('judges nothing at or before a recorded baseline (--since-commit or .gatepass/baseline), and everything after', async () => {
    const b = await start();
    b.changePolicy(POLICY.replace('max_duration: 4h', 'max_duration: 3h'), { direct: MALLORY });
    const baseline = headOf(b);
    const before = await verify(b);
    expect(before.errors.map((f) => f.kind)).toEqual(['direct-push']);
    expect((await verify(b, ['--since-commit', baseline])).errors).toEqual([]);

    b.commit({
      message: 'Record the gatepass baseline\n',
      author: MALLORY,
      files: [{ path: '.gatepass/baseline', content: `${baseline}\n` }],
    });
    expect((await verify(b)).errors).toEqual([]);
    b.changePolicy(POLICY, { direct: MALLORY });
    const after = await verify(b);
    expect(after.errors.map((f) => f.kind)).toEqual(['direct-push']);
  });

  it('reports a baseline that is not in the history', async () => {
    const b = await start();
    b.flush();
    const { errors } = await verify(b, ['--since-commit', 'f'.repeat(40)]);
    expect(errors.map((f) => f.message)).toEqual([expect.stringContaining('names no commit')]);
  });
});
