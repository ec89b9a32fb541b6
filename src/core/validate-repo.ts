import { parseGrant, parseGrantPath } from './grant-file.js';
import { renderIssueForm, ISSUE_FORM_PATH } from './issue-form.js';
import { loadPolicies, type LoadOptions } from './policy-load.js';
import type { PolicySet } from './policy.js';
import type { Problem } from './problem.js';
import { formatDuration } from './duration.js';
import { targetChanges } from './target-change.js';

export interface RepoSnapshot {
  policies: readonly { path: string; text: string }[];
  /** Content of the issue form, or undefined when the file is missing. */
  issueForm: string | undefined;
  grants: readonly { path: string; text: string }[];
}

export interface RepoValidation {
  policies: PolicySet;
  problems: Problem[];
  /** Worth knowing, not wrong: a live grant whose resource's target changed since it was issued. */
  warnings: Problem[];
}

/**
 * Everything `gatepass validate` checks, as a pure function of the repository's files, so the
 * app and the action can run the very same checks on what they read from GitHub or git.
 */
export function validateRepo(repo: RepoSnapshot, options: LoadOptions = {}): RepoValidation {
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  if (repo.policies.length === 0) {
    problems.push({
      file: 'policies/',
      message: 'no policy files (policies/*.yaml): nothing can be requested',
    });
  }
  const { policies, problems: policyProblems } = loadPolicies(repo.policies, options);
  problems.push(...policyProblems);

  if (repo.issueForm === undefined) {
    problems.push({
      file: ISSUE_FORM_PATH,
      message: 'issue form is missing; run `gatepass template`',
    });
  } else if (policyProblems.length === 0 && repo.issueForm !== renderIssueForm(policies)) {
    problems.push({
      file: ISSUE_FORM_PATH,
      line: 1,
      message: 'issue form does not match the policies; run `gatepass template` to regenerate it',
    });
  }

  const seenIds = new Map<string, string>();
  for (const file of repo.grants) {
    const where = parseGrantPath(file.path);
    if (!where) {
      problems.push({
        file: file.path,
        message:
          'not a grant path: expected grants/<resource>/<id>.yaml or grants/archive/YYYY/MM/<resource>/<id>.yaml',
      });
      continue;
    }
    const parsed = parseGrant(file.text, file.path);
    if (!parsed.ok) {
      problems.push(...parsed.problems);
      continue;
    }
    const grant = parsed.value;
    const earlier = seenIds.get(grant.id);
    if (earlier)
      problems.push({
        file: file.path,
        path: 'id',
        message: `grant id ${grant.id} is also used by ${earlier}`,
      });
    seenIds.set(grant.id, file.path);
    if (where.archived) continue; // archived grants were judged by the policy of their time
    const resource = policies.resources.get(grant.resource);
    if (!resource) {
      if (policyProblems.length === 0) {
        problems.push({
          file: file.path,
          path: 'resource',
          message: `no policy defines resource "${grant.resource}"`,
        });
      }
      continue;
    }
    if (grant.duration > resource.max_duration) {
      problems.push({
        file: file.path,
        path: 'duration',
        message: `duration ${formatDuration(grant.duration)} exceeds the max ${formatDuration(resource.max_duration)} of ${resource.name}`,
      });
    }
    for (const w of targetChanges(grant, resource)) warnings.push({ file: file.path, ...w });
  }
  return { policies, problems, warnings };
}
