import type { AppGitHub, IssueComment } from '../core/ports.js';

/** The app's own comment carrying `marker`, if any (people may quote markers: bots only). */
export function findMarked(
  comments: readonly IssueComment[],
  marker: string,
): IssueComment | undefined {
  return comments.find((c) => c.user?.type === 'Bot' && c.body.startsWith(marker));
}

/** One comment per marker: updated when the text changed, created when missing. */
export async function upsertComment(
  client: AppGitHub,
  issue: number,
  marker: string,
  body: string,
  comments?: readonly IssueComment[],
): Promise<void> {
  const found = findMarked(comments ?? (await client.issueComments(issue)), marker);
  if (!found) await client.createComment(issue, body);
  else if (found.body !== body) await client.updateComment(found.id, body);
}
