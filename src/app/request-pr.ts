import type { Grant } from '../core/grant.js';
import { grantPath, serializeGrant } from '../core/grant-file.js';
import { isTeam, sameLogin } from '../core/identity.js';
import type { Resource } from '../core/policy.js';
import { commitMessage } from '../core/trailers.js';
import { requestBranch } from '../core/request-naming.js';
import type { Deps } from './deps.js';
import { pullRequestBody } from './messages.js';

export { requestBranch };

/**
 * Branch, one grant file, pull request, reviewers, label: each step finds what an earlier,
 * interrupted delivery left behind and carries on from there, so a retry never duplicates.
 * The caller has checked that the branch has no PR yet. Returns the PR number.
 */
export async function openRequestPr(
  d: Deps,
  o: { grant: Grant; resource: Resource; baseSha: string },
): Promise<number> {
  const { client, config } = d;
  const { grant, resource } = o;
  const branch = requestBranch(grant.id);
  const created = await client.createBranch(branch, o.baseSha);
  const path = grantPath(grant.resource, grant.id);
  if (created || !(await client.file(path, branch))) {
    await client.putFile({
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
  const number = await client.createPullRequest({
    title: `Access request: ${grant.resource} for ${grant.requester.login} (${grant.id})`,
    head: branch,
    base: d.defaultBranch,
    body: pullRequestBody(grant, grant.policy_commit),
  });
  // GitHub only takes teams of the repo's own organisation, by slug.
  const owner = config.accessRepo.owner.toLowerCase();
  const users = resource.approvers.filter(
    (p) => !isTeam(p) && !sameLogin(p, grant.requester.login),
  );
  const teams = resource.approvers
    .filter((p) => isTeam(p) && p.split('/')[0]!.toLowerCase() === owner)
    .map((p) => p.split('/')[1]!);
  if (!(await client.requestReviewers(number, users, teams)))
    d.log.warn(`#${number}: GitHub refused some reviewers of ${resource.name}`);
  await client.addLabels(number, [config.labels.pending]);
  return number;
}
