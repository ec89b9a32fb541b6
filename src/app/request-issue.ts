import type { Grant } from '../core/grant.js';
import { requestGrantId } from '../core/request-naming.js';
import type { Person } from '../core/identity.js';
import type { Problem } from '../core/problem.js';
import { FORM_FIELDS } from '../core/request.js';
import { CODEOWNERS_PATH, ownersOf } from '../core/codeowners.js';
import { checkRequest, type InvalidPolicyFile } from '../core/request-check.js';
import { parseRequestBody } from '../core/request-parse.js';
import { findMarked, upsertComment } from './comments.js';
import { judgeApproval } from '../core/approval.js';
import { grantPath } from '../core/grant-file.js';
import type { Memberships } from '../core/identity.js';
import type { Resource } from '../core/policy.js';
import { decisionCheckRun } from './decision.js';
import { type Deps, type LoadedPolicies, decisionMemberships } from './deps.js';
import {
  MARKER,
  frozenComment,
  openedComment,
  problemsComment,
  problemsResolvedComment,
} from './messages.js';
import { openRequestPr, requestBranch } from './request-pr.js';

/** The parts of an `issues` delivery the request flow uses. */
export interface IssueEvent {
  action: 'opened' | 'edited';
  number: number;
  body: string | null;
  author: Person & { type: string };
  labels: string[];
}

export type IssueOutcome = 'ignored' | 'invalid' | 'opened' | 'frozen' | 'already-open';

/** Issues not from the form may still be requests written by hand: the heading gives them away. */
const looksLikeRequest = (body: string): boolean =>
  new RegExp(`^###[ \\t]+${FORM_FIELDS.resource}[ \\t]*$`, 'im').test(body);

/**
 * An access-request issue becomes a grant PR, or one comment listing what to fix. After the PR
 * exists the issue is history: edits change nothing (the PR is what approvers review).
 */
export async function handleRequestIssue(d: Deps, ev: IssueEvent): Promise<IssueOutcome> {
  const { client, config } = d;
  const body = ev.body ?? '';
  if (ev.author.type === 'Bot') return 'ignored';
  if (!ev.labels.includes(config.labels.request) && !looksLikeRequest(body)) return 'ignored';

  const id = requestGrantId(ev.number);
  const existing = await client.pullRequestForBranch(requestBranch(id));
  if (existing) {
    const comments = await client.issueComments(ev.number);
    if (ev.action === 'edited')
      await upsertComment(
        client,
        ev.number,
        MARKER.frozen,
        frozenComment(existing.number),
        comments,
      );
    // A redelivery after a crash between opening the PR and saying so finishes the job.
    else if (!findMarked(comments, MARKER.opened)) {
      await client.createComment(
        ev.number,
        `${MARKER.opened}\nThis request is in #${existing.number}.`,
      );
    }
    return ev.action === 'edited' ? 'frozen' : 'already-open';
  }

  const requester: Person = { login: ev.author.login, id: ev.author.id };
  const parsed = parseRequestBody(body);
  if (!parsed.ok) return reportProblems(d, ev, parsed.problems);

  const policies = await d.policies.atHead(d);
  const resource = policies.policies.resources.get(parsed.value.resource);
  // The requester's memberships only: no review exists yet, so no approver is looked up.
  const memberships = await decisionMemberships(client, resource, requester);
  const now = d.clock.now();
  const invalid =
    resource || policies.problems.length === 0 ? [] : await invalidPolicyFiles(d, policies);
  const checked = checkRequest(
    parsed.value,
    policies.policies,
    requester,
    memberships,
    now,
    invalid,
  );
  if (!checked.ok) return reportProblems(d, ev, checked.problems);

  const req = parsed.value;
  const grant: Grant = {
    id,
    resource: checked.value.resource.name,
    status: 'pending',
    requester,
    duration: checked.value.duration,
    justification: req.justification,
    ...(req.ticket ? { ticket: req.ticket } : {}),
    source: { issue: ev.number },
    policy_commit: policies.commit,
    requested_at: now.toISOString(),
    ...(req.start_at ? { start_at: req.start_at } : {}),
    ...(req.break_glass ? { break_glass: req.break_glass } : {}),
  };
  const opened = await openRequestPr(d, {
    grant,
    resource: checked.value.resource,
    baseSha: policies.commit,
    checkHead: (sha, branch, written) =>
      checkNewHead(d, {
        sha,
        branch,
        grant: written,
        resource: checked.value.resource,
        memberships,
        policyCommit: policies.commit,
      }),
  });
  if ('foreignBranch' in opened)
    return reportProblems(d, ev, [
      {
        message: `the branch \`${opened.foreignBranch}\` already exists with commits gatepass did not make, so it is not used for this request; ask a maintainer to delete it, then edit this issue to try again`,
      },
    ]);
  const pr = opened.number;
  if (ev.labels.includes(config.labels.invalid)) {
    await client.removeLabel(ev.number, config.labels.invalid);
    await upsertComment(client, ev.number, MARKER.problems, problemsResolvedComment(pr));
  }
  await client.addLabels(ev.number, [
    config.labels.pending,
    ...(grant.break_glass ? [config.labels.breakGlass] : []),
  ]);
  if (grant.break_glass) await client.addLabels(pr, [config.labels.breakGlass]);
  await client.createComment(ev.number, openedComment(pr, grant));
  return 'opened';
}

/**
 * The decision on the commit the app just wrote, made before the PR exists: with no reviews and
 * the memberships just read, it is what evaluating the opened PR would decide. Only a pending
 * one is published here (and the head remembered, so `pull_request.opened` skips its re-read);
 * a request that could be decided without reviews (auto-approve, break-glass, a policy problem)
 * is left to the full evaluation of the opened PR, which merges or denies it.
 */
async function checkNewHead(
  d: Deps,
  o: {
    sha: string;
    branch: string;
    grant: Grant;
    resource: Resource;
    memberships: Memberships;
    policyCommit: string;
  },
): Promise<void> {
  if (!d.opened) return;
  const path = grantPath(o.grant.resource, o.grant.id);
  const answer = judgeApproval({
    grant: o.grant,
    path,
    files: [{ filename: path, status: 'added' }],
    resource: o.resource,
    reviews: [],
    memberships: o.memberships,
    headSha: o.sha,
    now: d.clock.now(),
    // The app's own commit carries break-glass exactly when the request asked for it.
    breakGlassInvoked: o.grant.break_glass !== undefined,
  });
  if (!answer.ok || answer.decision.outcome !== 'pending') return;
  await d.client.createCheckRun(
    decisionCheckRun(d, o.sha, answer.decision, o.grant, o.policyCommit),
  );
  d.opened.record(o.sha, o.branch);
}

/** The policy files skipped as invalid, with their owners from CODEOWNERS when there is one. */
async function invalidPolicyFiles(d: Deps, policies: LoadedPolicies): Promise<InvalidPolicyFile[]> {
  const files = [...new Set(policies.problems.map((p) => p.file).filter((f) => f !== undefined))];
  const codeowners = await d.client.file(CODEOWNERS_PATH, policies.commit);
  return files.map((file) => ({
    file,
    owners: codeowners ? ownersOf(codeowners.text, file) : [],
  }));
}

async function reportProblems(d: Deps, ev: IssueEvent, problems: Problem[]): Promise<IssueOutcome> {
  await upsertComment(d.client, ev.number, MARKER.problems, problemsComment(problems));
  if (!ev.labels.includes(d.config.labels.invalid))
    await d.client.addLabels(ev.number, [d.config.labels.invalid]);
  return 'invalid';
}
