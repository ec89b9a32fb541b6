import { formatDuration, parseDuration, type Seconds } from '../core/duration.js';
import type { Grant } from '../core/grant.js';
import { parseGrant, parseGrantPath, serializeGrant } from '../core/grant-file.js';
import { GRANTS_DIR } from '../core/repo-layout.js';
import {
  extensionBranchPrefix,
  extensionGrantId,
  nextExtensionNumber,
  requestBranch,
  requestGrantId,
} from '../core/request-naming.js';
import { extensionWindow } from '../core/extension.js';
import { isLive } from '../core/grant-lifecycle.js';
import { type Person, formatPerson, matchesAny } from '../core/identity.js';
import type { Problem } from '../core/problem.js';
import { checkRequest } from '../core/request-check.js';
import { requesterPrincipals } from '../core/approval.js';
import { commitMessage } from '../core/trailers.js';
import type { PullRequestInfo, RepoFile } from '../core/ports.js';
import { errorStatus } from '../github/github-client.js';
import { approveFollowUp } from './break-glass.js';
import { evaluatePullRequest } from './decision.js';
import { type Deps, membershipsOfPerson } from './deps.js';
import { cancelledComment, problemsComment } from './messages.js';
import { openRequestPr } from './request-pr.js';

export type Command =
  | { kind: 'cancel' }
  | { kind: 'revoke'; reason?: string }
  | { kind: 'extend'; duration: Seconds }
  | { kind: 'break-glass'; reason: string }
  | { kind: 'approve'; note?: string }
  | { kind: 'malformed'; message: string };

const MAX_REASON = 500;

/**
 * The command on the first line of a comment, or null when the comment is not one (most
 * comments are conversation). Only a first line starting with `/` is a command. Markdown makes
 * a line indented by four spaces or a tab a code block (a quoted example, not an instruction),
 * so such a line is never a command; up to three spaces is still ordinary text.
 */
export function parseCommand(body: string): Command | null {
  const line = (body ?? '').replace(/\r\n?/g, '\n').split('\n')[0]!;
  if (/^ {0,3}\t|^ {4}/.test(line)) return null;
  const first = line.trim();
  const m = /^\/([A-Za-z-]+)(?:\s+(.*))?$/.exec(first);
  if (!m) return null;
  const word = m[1]!.toLowerCase();
  const arg = (m[2] ?? '').trim();
  switch (word) {
    case 'cancel':
      return arg === ''
        ? { kind: 'cancel' }
        : { kind: 'malformed', message: '`/cancel` takes no argument' };
    case 'revoke': {
      const reason = arg.replace(/[\u0000-\u001f\u007f]/g, '');
      if (reason.length > MAX_REASON)
        return { kind: 'malformed', message: `the reason is longer than ${MAX_REASON} characters` };
      return reason ? { kind: 'revoke', reason } : { kind: 'revoke' };
    }
    case 'extend': {
      if (arg === '')
        return { kind: 'malformed', message: '`/extend` needs a duration, e.g. `/extend 2h`' };
      const d = parseDuration(arg);
      return d.ok
        ? { kind: 'extend', duration: d.value }
        : { kind: 'malformed', message: d.problems.map((p) => p.message).join('; ') };
    }
    case 'break-glass': {
      const reason = arg.replace(/[\u0000-\u001f\u007f]/g, '').trim();
      if (reason === '')
        return {
          kind: 'malformed',
          message: '`/break-glass` needs a reason, e.g. `/break-glass INC-7 checkout is down`',
        };
      if (reason.length > MAX_REASON)
        return { kind: 'malformed', message: `the reason is longer than ${MAX_REASON} characters` };
      return { kind: 'break-glass', reason };
    }
    case 'approve': {
      const note = arg.replace(/[\u0000-\u001f\u007f]/g, '');
      if (note.length > MAX_REASON)
        return { kind: 'malformed', message: `the note is longer than ${MAX_REASON} characters` };
      return note ? { kind: 'approve', note } : { kind: 'approve' };
    }
    default:
      return {
        kind: 'malformed',
        message: `unknown command \`/${word}\`; the commands are \`/cancel\`, \`/revoke [reason]\`, \`/extend <duration>\`, \`/break-glass <reason>\` and (on a break-glass review) \`/approve [note]\``,
      };
  }
}

export interface CommentEvent {
  action: string;
  issue: {
    number: number;
    author: Person & { type?: string };
    isPullRequest: boolean;
    /** The issue's body: a follow-up review names its grant there. */
    body?: string | null;
  };
  /** The comment's id (recorded with an after-the-fact review). */
  commentId?: number;
  body: string;
  /** The payload `sender`: the person who wrote the comment (threat #13). */
  sender: Person & { type: string };
}

export type CommandOutcome = 'ignored' | 'refused' | 'done' | 'nothing-to-do';

/**
 * Commands on a request issue. Only freshly created comments run (an edited comment could
 * smuggle a command under an older timestamp); the sender is the only authority; every command
 * checks the current state first, so running it twice changes nothing the second time.
 */
export async function handleCommand(d: Deps, ev: CommentEvent): Promise<CommandOutcome> {
  if (ev.action !== 'created' || ev.sender.type === 'Bot' || ev.issue.isPullRequest)
    return 'ignored';
  const cmd = parseCommand(ev.body);
  if (!cmd) return 'ignored';
  const reply = async (text: string, outcome: CommandOutcome): Promise<CommandOutcome> => {
    await d.client.createComment(ev.issue.number, `@${ev.sender.login} ${text}`);
    return outcome;
  };
  if (cmd.kind === 'malformed') return reply(`${cmd.message}. Nothing changed.`, 'refused');
  if (cmd.kind === 'approve') {
    const outcome = await approveFollowUp(
      d,
      {
        issue: ev.issue,
        sender: { login: ev.sender.login, id: ev.sender.id },
        commentId: ev.commentId ?? 0,
        ...(cmd.note ? { note: cmd.note } : {}),
      },
      async (text) =>
        void (await d.client.createComment(ev.issue.number, `@${ev.sender.login} ${text}`)),
    );
    if (outcome !== 'not-follow-up') return outcome;
    return reply(
      '`/approve` records the after-the-fact review of a break-glass grant, on its review issue. Approve a request with a pull request review. Nothing changed.',
      'refused',
    );
  }

  const isRequester = ev.sender.id === ev.issue.author.id;
  const pr = await d.client.pullRequestForBranch(requestBranch(requestGrantId(ev.issue.number)));
  if (!pr)
    return reply('this issue has no request pull request. Nothing changed.', 'nothing-to-do');

  if (cmd.kind === 'cancel') {
    if (!isRequester)
      return reply(
        `only the requester @${ev.issue.author.login} can cancel. Nothing changed.`,
        'refused',
      );
    return cancel(d, ev, pr, reply);
  }
  if (cmd.kind === 'break-glass') {
    if (!isRequester)
      return reply(
        `only the requester @${ev.issue.author.login} can use break-glass on this request. Nothing changed.`,
        'refused',
      );
    return breakGlass(d, pr, { login: ev.sender.login, id: ev.sender.id }, cmd.reason, reply);
  }
  const live = pr.merged ? await liveGrant(d, pr) : null;
  if (!live)
    return reply(
      pr.merged
        ? 'the grant is no longer on the default branch (it ended). Nothing changed.'
        : `#${pr.number} is not approved${pr.state === 'open' ? ' yet: use `/cancel` to withdraw it' : ''}. Nothing changed.`,
      'nothing-to-do',
    );
  const { grant, file } = live;
  if (cmd.kind === 'revoke') return revoke(d, ev, grant, file, cmd.reason, reply);
  if (!isRequester)
    return reply(
      `only the requester @${grant.requester.login} can extend. Nothing changed.`,
      'refused',
    );
  return extend(d, ev, grant, cmd.duration, reply);
}

type Reply = (text: string, outcome: CommandOutcome) => Promise<CommandOutcome>;

/**
 * `/break-glass <reason>` on a pending request: the grant on the PR branch gains the reason and
 * a duration capped at the break-glass maximum, then the PR is decided at once (the same
 * decision as every request: it approves break-glass only for someone the policy allows). The
 * push voids earlier approvals, which break-glass does not need.
 */
async function breakGlass(
  d: Deps,
  pr: PullRequestInfo,
  requester: Person,
  reason: string,
  reply: Reply,
): Promise<CommandOutcome> {
  if (pr.merged)
    return reply(`#${pr.number} is already approved. Nothing changed.`, 'nothing-to-do');
  if (pr.state !== 'open' || !pr.head_ref)
    return reply(`#${pr.number} is closed; open a new request. Nothing changed.`, 'nothing-to-do');
  const files = await d.client.pullRequestFiles(pr.number);
  const path = files.map((f) => f.filename).find((f) => parseGrantPath(f)?.archived === false);
  const file = path ? await d.client.file(path, pr.head_sha) : null;
  const parsed = file ? parseGrant(file.text, file.path) : null;
  if (!file || !parsed?.ok)
    return reply(`the grant in #${pr.number} cannot be read. Nothing changed.`, 'refused');
  const grant = parsed.value;
  if (grant.break_glass)
    return reply(
      `#${pr.number} is already a break-glass request. Nothing changed.`,
      'nothing-to-do',
    );
  const policies = await d.policies.atHead(d);
  const resource = policies.policies.resources.get(grant.resource);
  const bg = resource?.break_glass;
  if (!resource || !bg)
    return reply(
      `\`${grant.resource}\` has no break-glass access; the request waits for approval as usual. Nothing changed.`,
      'refused',
    );
  // The requester commented (checked before): their login now, from the delivery.
  const memberships = await membershipsOfPerson(d.client, requester, bg.allowed);
  if (!matchesAny(grant.requester, bg.allowed, memberships))
    return reply(
      `you may not use break-glass on \`${grant.resource}\` (not in its \`break_glass.allowed\`); the request waits for approval as usual. Nothing changed.`,
      'refused',
    );
  const next: Grant = {
    ...grant,
    duration: Math.min(grant.duration, bg.max_duration),
    break_glass: { reason },
  };
  await d.client.putFile({
    path: file.path,
    branch: pr.head_ref,
    sha: file.sha,
    text: serializeGrant(next),
    message: commitMessage(
      `Break-glass: ${grant.resource} for ${grant.requester.login} (${grant.id})`,
      {
        grant: grant.id,
        event: 'requested',
        resource: grant.resource,
        requestedBy: grant.requester,
        policy: grant.policy_commit,
        rule: 'break_glass',
        at: d.clock.now().toISOString(),
      },
    ),
  });
  await d.client.addLabels(pr.number, [d.config.labels.breakGlass]);
  if (grant.source.issue !== undefined && grant.source.issue !== pr.number)
    await d.client.addLabels(grant.source.issue, [d.config.labels.breakGlass]);
  const outcome = await evaluatePullRequest(d, pr.number);
  return reply(
    outcome === 'merged'
      ? `break-glass used on \`${grant.resource}\` for ${formatDuration(next.duration)}. This is reviewed after the fact.`
      : `break-glass recorded on #${pr.number}; the decision is ${outcome} (see its check run).`,
    outcome === 'merged' ? 'done' : 'refused',
  );
}

async function cancel(
  d: Deps,
  ev: CommentEvent,
  pr: PullRequestInfo,
  reply: Reply,
): Promise<CommandOutcome> {
  if (pr.merged)
    return reply(
      `#${pr.number} is already approved; use \`/revoke\` to end the access.`,
      'nothing-to-do',
    );
  if (pr.state === 'closed')
    return reply(`#${pr.number} is already closed. Nothing changed.`, 'nothing-to-do');
  const { client, config } = d;
  await client.closePullRequest(pr.number);
  if (pr.head_ref) await client.deleteBranch(pr.head_ref);
  for (const n of [pr.number, ev.issue.number]) {
    await client.removeLabel(n, config.labels.pending);
    await client.addLabels(n, [config.labels.cancelled]);
  }
  return reply(cancelledComment(pr.number), 'done');
}

/** The merged grant as it is on the default branch now, if it is still live (or about to be). */
async function liveGrant(
  d: Deps,
  pr: PullRequestInfo,
): Promise<{ grant: Grant; file: RepoFile } | null> {
  const files = await d.client.pullRequestFiles(pr.number);
  const path = files.map((f) => f.filename).find((f) => parseGrantPath(f)?.archived === false);
  if (!path) return null;
  const file = await d.client.file(path, d.defaultBranch);
  if (!file) return null;
  const parsed = parseGrant(file.text, path);
  // Merged but not yet confirmed by the action (`pending` on the default branch) is live too:
  // it is about to be issued, so `/revoke` must be able to stop that.
  return parsed.ok && (isLive(parsed.value.status) || parsed.value.status === 'pending')
    ? { grant: parsed.value, file }
    : null;
}

async function revoke(
  d: Deps,
  ev: CommentEvent,
  grant: Grant,
  file: RepoFile,
  reason: string | undefined,
  reply: Reply,
): Promise<CommandOutcome> {
  if (grant.revoke_requested)
    return reply(
      `revocation of \`${grant.id}\` was already requested by @${grant.revoke_requested.by.login}. Nothing changed.`,
      'nothing-to-do',
    );
  const sender: Person = { login: ev.sender.login, id: ev.sender.id };
  if (sender.id !== grant.requester.id) {
    const policies = await d.policies.atHead(d);
    const resource = policies.policies.resources.get(grant.resource);
    if (!resource)
      return reply(
        `only the requester or an approver of \`${grant.resource}\` can revoke. Nothing changed.`,
        'refused',
      );
    const memberships = await membershipsOfPerson(d.client, sender, resource.approvers);
    if (!matchesAny(sender, resource.approvers, memberships))
      return reply(
        `only the requester or an approver of \`${grant.resource}\` can revoke. Nothing changed.`,
        'refused',
      );
  }
  const at = d.clock.now().toISOString();
  const next: Grant = {
    ...grant,
    revoke_requested: { by: sender, at, ...(reason ? { reason } : {}) },
  };
  try {
    await d.client.putFile({
      path: file.path,
      branch: d.defaultBranch,
      // The blob sha makes GitHub refuse the write if the action changed the file meanwhile.
      sha: file.sha,
      text: serializeGrant(next),
      message: commitMessage(
        `Request revocation of ${grant.id}`,
        {
          grant: grant.id,
          event: 'revoke-requested',
          resource: grant.resource,
          actor: formatPerson(sender),
          at,
        },
        reason,
      ),
    });
  } catch (e) {
    if (errorStatus(e) === 409 || errorStatus(e) === 422)
      return reply(
        `\`${grant.id}\` changed while I was writing; comment \`/revoke\` again. Nothing changed.`,
        'refused',
      );
    throw e;
  }
  await d.client.addLabels(ev.issue.number, [d.config.labels.revokeRequested]);
  return reply(
    `revocation of \`${grant.id}\` requested; the gatepass action ends the access on its next run.`,
    'done',
  );
}

async function extend(
  d: Deps,
  ev: CommentEvent,
  grant: Grant,
  duration: Seconds,
  reply: Reply,
): Promise<CommandOutcome> {
  const { client } = d;
  if (grant.status !== 'active')
    return reply(
      `\`${grant.id}\` is ${grant.status}, not active: nothing to extend yet.`,
      'nothing-to-do',
    );
  const branches = await client.branchesWithPrefix(extensionBranchPrefix(ev.issue.number));
  for (const b of branches) {
    const open = await client.pullRequestForBranch(b);
    if (open?.state === 'open')
      return reply(
        `an extension is already pending in #${open.number}. Nothing changed.`,
        'nothing-to-do',
      );
  }
  const policies = await d.policies.atHead(d);
  const onMain = await client.directory(`${GRANTS_DIR}/${grant.resource}`, policies.commit);
  const n = nextExtensionNumber(
    ev.issue.number,
    branches,
    onMain.map((e) => e.name),
  );

  const resource = policies.policies.resources.get(grant.resource);
  // The requester commented (checked before): their login now, from the delivery.
  const memberships = resource
    ? await membershipsOfPerson(
        client,
        { login: ev.sender.login, id: ev.sender.id },
        requesterPrincipals(resource),
      )
    : new Map();
  const now = d.clock.now();
  const checked = checkRequest(
    {
      resource: grant.resource,
      duration,
      justification: grant.justification,
      ...(grant.ticket ? { ticket: grant.ticket } : {}),
    },
    policies.policies,
    grant.requester,
    memberships,
    now,
  );
  if (!checked.ok) return reply(extensionProblems(checked.problems), 'refused');
  const next: Grant = {
    id: extensionGrantId(ev.issue.number, n),
    resource: grant.resource,
    status: 'pending',
    requester: grant.requester,
    duration: checked.value.duration,
    justification: grant.justification,
    ...(grant.ticket ? { ticket: grant.ticket } : {}),
    source: { issue: ev.issue.number },
    policy_commit: policies.commit,
    requested_at: now.toISOString(),
    extends: grant.id,
  };
  const window = extensionWindow(next, grant, checked.value.resource);
  if (!window.ok) return reply(extensionProblems(window.problems), 'refused');
  const opened = await openRequestPr(d, {
    grant: next,
    resource: checked.value.resource,
    baseSha: policies.commit,
  });
  if ('foreignBranch' in opened)
    return reply(
      `the branch \`${opened.foreignBranch}\` already exists with commits gatepass did not make, so the extension is not requested there; ask a maintainer to delete it. Nothing changed.`,
      'refused',
    );
  const { number } = opened;
  return reply(
    `opened #${number} to extend \`${grant.id}\`; it needs approval like any request.`,
    'done',
  );
}

const extensionProblems = (problems: Problem[]): string =>
  `the extension cannot be requested. Nothing changed.\n\n${problemsComment(problems).split('\n').slice(3).join('\n')}`;
