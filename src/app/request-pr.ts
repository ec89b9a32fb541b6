import type { Grant } from '../core/grant.js';
import { grantPath, parseGrant, serializeGrant } from '../core/grant-file.js';
import type { Resource } from '../core/policy.js';
import { commitMessage, parseTrailers } from '../core/trailers.js';
import { requestBranch } from '../core/request-naming.js';
import type { Deps } from './deps.js';
import { pullRequestBody } from './messages.js';

export { requestBranch };

export type OpenedPr =
  | { number: number; grant: Grant }
  /** The request's branch exists and holds commits the app did not make: never reused. */
  | { foreignBranch: string };

/**
 * Branch, one grant file, pull request, label: each step finds what an earlier,
 * interrupted delivery left behind and carries on from there, so a retry never duplicates.
 * The caller has checked that the branch has no PR yet. A branch that already exists is reused
 * only when every commit on it is the app's own for this grant (GitHub-verified, by a bot, with
 * this grant's trailers): anyone who can push could otherwise pre-create it with another grant
 * file. The PR's description is built from the grant file on the branch, the file under review.
 */
export async function openRequestPr(
  d: Deps,
  o: {
    grant: Grant;
    resource: Resource;
    baseSha: string;
    /** Called with the commit the app just wrote, before the PR is opened. */
    checkHead?: (sha: string, branch: string, grant: Grant) => Promise<void>;
  },
): Promise<OpenedPr> {
  const { client, config } = d;
  let grant = o.grant;
  const branch = requestBranch(grant.id);
  const created = await client.createBranch(branch, o.baseSha);
  const path = grantPath(grant.resource, grant.id);
  if (!created) {
    const { commits, complete } = await client.compareCommits(o.baseSha, branch);
    const ours = commits.every(
      (c) => c.verified && c.author?.type === 'Bot' && parseTrailers(c.message)?.grant === grant.id,
    );
    if (!complete || !ours) return { foreignBranch: branch };
  }
  const existing = created ? null : await client.file(path, branch);
  let head = '';
  if (existing) {
    // The app's own file from an interrupted delivery: describe what is there.
    const parsed = parseGrant(existing.text, path);
    if (!parsed.ok) return { foreignBranch: branch };
    grant = parsed.value;
  } else {
    head = await client.putFile({
      path,
      branch,
      text: serializeGrant(grant),
      message: commitMessage(
        `Request ${grant.resource} for ${grant.requester.login} (${grant.id})`,
        {
          grant: grant.id,
          event: 'requested',
          resource: grant.resource,
          requestedBy: grant.requester,
          policy: grant.policy_commit,
          at: grant.requested_at,
        },
      ),
    });
  }
  // Before the PR exists, so the PR shows it from the start and the `pull_request.opened` that
  // follows finds the head already checked.
  if (head && o.checkHead) await o.checkHead(head, branch, grant);
  const number = await client.createPullRequest({
    title: `Access request: ${grant.resource} for ${grant.requester.login} (${grant.id})`,
    head: branch,
    base: d.defaultBranch,
    body: pullRequestBody(grant, grant.policy_commit),
  });
  // No `requested_reviewers` call: GitHub requests the reviews from CODEOWNERS, which setup
  // requires (`gatepass codeowners` names each resource's approvers for its grants folder, and
  // `gatepass doctor` checks it is on the default branch).
  await client.addLabels(number, [config.labels.pending]);
  return { number, grant };
}
