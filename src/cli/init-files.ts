/**
 * What `gatepass init` writes: example policies per provider and the workflows, rendered for one
 * adopter (organisation, default branch, deployment mode, the repositories and secrets the
 * policies name). Pure text; init.ts does the file system.
 */
import type { ProviderKind } from '../core/policy.js';
import {
  ACTION_ENVIRONMENT,
  APP_ENVIRONMENT,
  APP_WORKFLOW,
  ACTION_WORKFLOW,
} from '../core/github-names.js';

export type DeploymentMode = 'server' | 'actions';
export const DEPLOYMENT_MODES: readonly DeploymentMode[] = ['server', 'actions'];

/** Third-party actions, pinned by commit (a tag can be moved; these jobs hold admin secrets). */
export const PINNED = {
  checkout: 'actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1',
  setupNode: 'actions/setup-node@820762786026740c76f36085b0efc47a31fe5020 # v7.0.0',
  appToken: 'actions/create-github-app-token@1b10c78c7865c340bc4f6099eb2f838309f1e8c3 # v3.1.1',
} as const;

/** Variables and secrets the workflows read (names are what `gatepass doctor` checks). */
export const SETTINGS = {
  credentialsAppId: 'GATEPASS_CREDENTIALS_APP_ID',
  credentialsAppKey: 'GATEPASS_CREDENTIALS_APP_PRIVATE_KEY',
  requestAppId: 'GATEPASS_APP_ID',
  requestAppKey: 'GATEPASS_APP_PRIVATE_KEY',
} as const;

/** The policy file init starts for each provider, and its example resource. */
export function examplePolicy(kind: ProviderKind, org: string): { file: string; text: string } {
  const common = (o: { requesters: string; approvers: string; max: string; def: string }) =>
    [
      `    max_duration: ${o.max}`,
      `    default_duration: ${o.def}`,
      `    requesters: [${o.requesters}] # users (login) or teams (org/team-slug)`,
      `    approvers: [${o.approvers}]`,
      `    approvals_required: 1`,
      `    request:`,
      `      justification: { required: true, min_length: 20 }`,
      `      ticket: { required: false, pattern: '(INC|OPS)-[0-9]+' }`,
    ].join('\n');
  const people = { requesters: `${org}/engineering`, approvers: `${org}/sre` };
  const header = (what: string) =>
    `# ${what}\n# Reference: docs/policies.md and docs/providers.md of gatepass; check with \`node action/cli.js validate\`.\nresources:\n`;
  switch (kind) {
    case 'github-team':
      return {
        file: 'policies/github-team.yaml',
        text:
          header(
            'Temporary membership of a GitHub team (the credentials app needs Members: write).',
          ) +
          `  prod-debuggers:\n    description: Membership of ${org}/prod-debuggers\n    provider: github-team\n    target:\n      team: ${org}/prod-debuggers\n      role: member\n` +
          common({ ...people, max: '8h', def: '2h' }) +
          '\n',
      };
    case 'github-collaborator':
      return {
        file: 'policies/github-collaborator.yaml',
        text:
          header(
            'Temporary permission on a repository (the credentials app needs Administration: write on it).',
          ) +
          `  infrastructure-push:\n    description: Push (write) permission on ${org}/infrastructure\n    provider: github-collaborator\n    target:\n      repository: ${org}/infrastructure\n      permission: push\n` +
          common({ ...people, max: '1d', def: '4h' }) +
          '\n',
      };
    case 'postgres':
      return {
        file: 'policies/postgres.yaml',
        text:
          header(
            'A per-grant PostgreSQL login, VALID UNTIL the expiry (secret PROD_PG_ADMIN_URL in the `gatepass` environment).',
          ) +
          `  prod-db-readonly:\n    description: Read-only SQL on the production database\n    provider: postgres\n    target:\n      admin_url: env:PROD_PG_ADMIN_URL # secrets only as env:NAME references, never inline\n      database: app\n      roles: [readonly]\n      connection_limit: 2\n` +
          common({ ...people, max: '4h', def: '1h' }) +
          '\n',
      };
    case 'ssh-certificate':
      return {
        file: 'policies/ssh.yaml',
        text:
          header(
            "An SSH certificate for the requester's GitHub keys (secret SSH_CA_KEY in the `gatepass` environment).",
          ) +
          `  prod-ssh:\n    description: Shell on production hosts as the deploy user\n    provider: ssh-certificate\n    target:\n      ca_key: env:SSH_CA_KEY\n      principals: [deploy]\n      extensions: [permit-pty]\n` +
          common({ ...people, max: '4h', def: '1h' }) +
          '\n',
      };
    case 'command':
      return {
        file: 'policies/command.yaml',
        text:
          header(
            'Your own executable: issue|revoke|list, the grant as JSON on stdin (secret VPN_API_TOKEN in the `gatepass` environment).',
          ) +
          `  vpn:\n    description: VPN access through your own script\n    provider: command\n    target:\n      path: scripts/vpn-access.sh\n      timeout: 30s\n      env: [VPN_API_TOKEN]\n` +
          common({ ...people, max: '8h', def: '2h' }) +
          '\n',
      };
    case 'aws-identity-center':
      return {
        file: 'policies/aws-identity-center.yaml',
        text:
          header(
            "A permission set on an AWS account for the requester's Identity Center user (gatepass's AWS credentials come from the runner's standard AWS SDK configuration).",
          ) +
          `  aws-prod-readonly:\n    description: Read-only access to the production AWS account\n    provider: aws-identity-center\n    target:\n      region: eu-west-1\n      instance_arn: arn:aws:sso:::instance/ssoins-0000000000000000\n      identity_store_id: d-0000000000\n      account_id: '000000000000' # quoted: YAML would drop a leading zero\n      permission_set_arn: arn:aws:sso:::permissionSet/ssoins-0000000000000000/ps-0000000000000000\n      # GitHub user id → Identity Center user name, reviewed like any policy change.\n      users:\n        '1': someone@${org}.example\n` +
          common({ ...people, max: '4h', def: '1h' }) +
          '\n',
      };
    case 'aws-iam-role':
      return {
        file: 'policies/aws-iam-role.yaml',
        text:
          header(
            "Temporary credentials for an IAM role, encrypted to the requester's GitHub SSH keys (gatepass's AWS credentials come from the runner's standard AWS SDK configuration).",
          ) +
          `  aws-prod-deploy:\n    description: The production deploy role\n    provider: aws-iam-role\n    target:\n      role_arn: arn:aws:iam::000000000000:role/prod-deploy\n      region: eu-west-1\n` +
          common({ ...people, max: '2h', def: '30m' }) +
          '\n',
      };
  }
}

export interface ActionWorkflowOptions {
  org: string;
  /** The access repo's name (without the owner). */
  repo: string;
  branch: string;
  /** Repositories of `org` the credentials token must reach besides the access repo. */
  targetRepos: readonly string[];
  /** Whether a policy uses github-team (the token then needs Members: write). */
  teams: boolean;
  /** Secret names the policies reference (`env:NAME`). */
  secrets: readonly string[];
  /**
   * Who keeps grant deadlines: the request app running as a server (it dispatches this workflow
   * at each), or, inside Actions only, a run waiting for a deadline due before the next one.
   */
  deadlineTimer: 'app' | 'action';
}

const q = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** A step that stops a run at once, saying what is missing, rather than failing obscurely later. */
function setupCheck(checks: readonly { env: string; expr: string; fix: string }[]): string {
  const env = checks.map((c) => `          ${c.env}: \${{ ${c.expr} }}`).join('\n');
  const tests = checks
    .map(
      (c) =>
        `          if [ -z "$${c.env}" ]; then echo "::error title=gatepass setup::${c.fix}"; missing=1; fi`,
    )
    .join('\n');
  return [
    `      # Says what is missing instead of failing in the middle; \`gatepass doctor\` checks all of it.`,
    `      - name: Check the setup`,
    `        env:`,
    env,
    `        run: |`,
    `          missing=0`,
    tests,
    `          if [ "$missing" = 1 ]; then echo "See docs/setup.md, or run: node action/cli.js doctor"; exit 1; fi`,
  ].join('\n');
}

export function renderActionWorkflow(o: ActionWorkflowOptions): string {
  const repos = [o.repo, ...o.targetRepos.filter((r) => r !== o.repo)];
  const secretLines = o.secrets.length
    ? o.secrets.map((s) => `          ${s}: \${{ secrets.${s} }}`).join('\n')
    : '          # (no policy references a secret yet)';
  const secretChecks = o.secrets.map((s) => ({
    env: `HAS_${s}`,
    expr: `secrets.${s} != '' && 'yes' || ''`,
    fix: `secret ${s} is missing from the ${ACTION_ENVIRONMENT} environment (a policy references env:${s})`,
  }));
  return `# Generated by \`gatepass init\`; re-run it after changing the policies (it keeps your edits
# unless you pass --force). The gatepass action: issues approved grants, revokes expired ones,
# commits each state change. See docs/action.md of gatepass.
#
# Never add \`pull_request\` or \`pull_request_target\` triggers (threat #15): this job holds the
# provider admin secrets and must only ever run code from the default branch.
name: gatepass

on:
  push:
    branches: [${q(o.branch)}]
    # A policy change may take people out of \`requesters\`: their grants end on that run.
    paths: ['grants/**', 'policies/**']
  schedule:
    # The backstop. Deadlines are kept by the gatepass app (it starts this workflow through
    # workflow_dispatch at each one) or, without the app, by a run waiting for a deadline due
    # before the next scheduled run (deadline-wait below). See docs/action.md.
    - cron: '*/5 * * * *'
    # Once a day the run also verifies the whole history (gatepass audit --verify) and puts the
    # timeline in the job summary; keep this string in step with \`verify-audit\` below.
    - cron: '17 6 * * *'
  workflow_dispatch:
    inputs:
      dry-run:
        description: Print the plan only
        type: boolean
        default: false
      verify-audit:
        description: Also verify the whole history and show the audit
        type: boolean
        default: false

# Two runs never overlap: a second one waits (never cancelled mid-way: a run in the middle of
# issuing should finish). Each run also re-fetches and re-plans on a push conflict. GitHub keeps
# at most one pending run per group and cancels an older pending one when a newer one queues:
# harmless, since every run reconciles everything due from a fresh fetch (docs/app.md).
concurrency:
  group: gatepass-reconcile
  cancel-in-progress: false

# Every step uses the credentials app's token; GITHUB_TOKEN is given nothing.
permissions: {}

jobs:
  reconcile:
    # The action's own pushes touch grants/** too, but leave nothing to do: every commit it makes
    # has a subject starting with "gatepass: ", so a push whose head commit is one of them does
    # not start a job (no runner, no token, no API call). A human commit with such a subject is
    # picked up by the next scheduled run instead.
    if: "\${{ github.event_name != 'push' || !startsWith(github.event.head_commit.message, 'gatepass: ') }}"
    runs-on: ubuntu-latest
    timeout-minutes: 15
    # Provider secrets and the credentials app's key live in this environment, whose deployment
    # branches must be the default branch only. No required reviewers: they would stall the sweep.
    environment: ${ACTION_ENVIRONMENT}
    steps:
${setupCheck([
  {
    env: 'APP_ID',
    expr: `vars.${SETTINGS.credentialsAppId}`,
    fix: `variable ${SETTINGS.credentialsAppId} is not set (the credentials app's id, a repository or ${ACTION_ENVIRONMENT}-environment variable)`,
  },
  {
    env: 'HAS_APP_KEY',
    expr: `secrets.${SETTINGS.credentialsAppKey} != '' && 'yes' || ''`,
    fix: `secret ${SETTINGS.credentialsAppKey} is missing from the ${ACTION_ENVIRONMENT} environment (the credentials app's private key)`,
  },
  ...secretChecks,
])}
      # The credentials app's installation token, scoped to the access repo and the repositories
      # the policies name, with only the permissions the providers use.
      - id: app-token
        uses: ${PINNED.appToken}
        with:
          app-id: \${{ vars.${SETTINGS.credentialsAppId} }}
          private-key: \${{ secrets.${SETTINGS.credentialsAppKey} }}
          owner: ${o.org}
          repositories: ${repos.join(',')}
          permission-contents: write
          permission-issues: write
          permission-pull-requests: read
          permission-members: ${o.teams ? 'write' : 'read'}${o.targetRepos.length ? '\n          permission-administration: write' : ''}
      - uses: ${PINNED.checkout}
        with:
          ref: ${q(o.branch)}
          # Full history: verification finds the commit that added each grant file and reads
          # policies at the commit each grant was judged against.
          fetch-depth: 0
          token: \${{ steps.app-token.outputs.token }}
          # No token left in .git/config for a provider's script to read: the action hands git
          # the token through its environment.
          persist-credentials: false
      - uses: ./action
        with:
          token: \${{ steps.app-token.outputs.token }}
          branch: ${q(o.branch)}
          dry-run: \${{ inputs.dry-run || false }}
          # Drift (access no live grant explains) is listed once a day and on manual runs, not on
          # every sweep: found within a day, for one listing per resource a day instead of 288.
          check-drift: \${{ github.event.schedule == '17 6 * * *' || github.event_name == 'workflow_dispatch' }}
          remove-drift: false
          verify-audit: \${{ github.event.schedule == '17 6 * * *' || inputs.verify-audit || false }}
          # \`app\`: the gatepass app runs as a server and keeps the deadlines; \`action\`: no
          # server, so a run waits for deadlines itself (init --mode picks it).
          deadline-timer: ${o.deadlineTimer}
          # Keep in step with the cron above.
          schedule-interval: 5m
${o.deadlineTimer === 'action' ? '          # Inside Actions only: a run stays up for a deadline due before the next scheduled run.\n          deadline-wait: 5m\n' : ''}        env:
          # One line per \`env:NAME\` reference in the policies.
${secretLines}
`;
}

export function renderAppWorkflow(o: {
  org: string;
  repo: string;
  branch: string;
  /** Server mode: the server handles events; this workflow only runs the request-expiry sweep. */
  sweepOnly?: boolean;
}): string {
  const events = o.sweepOnly
    ? ''
    : `  issues:
    types: [opened, edited]
  issue_comment:
    types: [created]
  pull_request:
    types: [opened, reopened, synchronize, edited]
  pull_request_review:
    types: [submitted, edited, dismissed]
`;
  const relay = o.sweepOnly
    ? ''
    : `  # Pull request and review events: no secret here, only a request to run on the default branch.
  relay:
    if: github.event_name == 'pull_request' || github.event_name == 'pull_request_review'
    runs-on: ubuntu-latest
    timeout-minutes: 5
    permissions:
      actions: write
    steps:
      - run: gh workflow run ${APP_WORKFLOW} --repo "$GITHUB_REPOSITORY" --ref ${q(o.branch)}
        env:
          GH_TOKEN: \${{ github.token }}

`;
  const header = o.sweepOnly
    ? `# Generated by \`gatepass init --mode server\`: the Probot server handles every event; this
# workflow only runs the request app's sweep (requests left unapproved past request_ttl are
# denied and closed), which a server that only answers webhooks cannot do.
#`
    : `# Generated by \`gatepass init --mode actions\`: the gatepass request app without a server; each
# event runs the app once, in this workflow. Use this OR the Probot server, not both.
#`;
  return `${header}
# Secrets and pull requests (threat #15): for \`pull_request\` and \`pull_request_review\` events
# GitHub runs the workflow file *as the pull request has it*, so anyone who can push a branch
# could rewrite this file and read any secret the job can reach. Hence:
#   - the request app's private key lives in the environment \`${APP_ENVIRONMENT}\`, whose deployment
#     branches are the default branch only: a run for a pull request cannot reach it;
#   - pull request and review events only *relay*: a job with no secret asks for a run of this
#     workflow on the default branch (workflow_dispatch), which re-decides every open request;
#   - every other trigger (issues, comments, schedule, dispatch) always runs the default
#     branch's copy of this file, and runs the default branch's bundle, never a PR's code.
name: gatepass-app

on:
${events}  schedule:
    # The sweep: re-decides open requests and closes those left unapproved past request_ttl.
    - cron: '*/15 * * * *'
  workflow_dispatch:

permissions:
  contents: read

jobs:
${relay}  app:
    if: github.event_name != 'pull_request' && github.event_name != 'pull_request_review'
    runs-on: ubuntu-latest
    timeout-minutes: 10
    # Deployment branches: the default branch only. Holds ${SETTINGS.requestAppKey}.
    environment: ${APP_ENVIRONMENT}
    # One run per request at a time, one sweep at a time; the decision is level-triggered, so a
    # queued run re-reads GitHub's state and decides again.
    concurrency:
      group: gatepass-app-\${{ github.event.issue.number || 'sweep' }}
      cancel-in-progress: false
    steps:
${setupCheck([
  {
    env: 'APP_ID',
    expr: `vars.${SETTINGS.requestAppId}`,
    fix: `variable ${SETTINGS.requestAppId} is not set (the request app's id, a repository or ${APP_ENVIRONMENT}-environment variable)`,
  },
  {
    env: 'HAS_APP_KEY',
    expr: `secrets.${SETTINGS.requestAppKey} != '' && 'yes' || ''`,
    fix: `secret ${SETTINGS.requestAppKey} is missing from the ${APP_ENVIRONMENT} environment (the request app's private key)`,
  },
])}
      # The request app's installation token, for the access repo only: merges made with it
      # start the gatepass workflow (pushes with GITHUB_TOKEN would not).
      - id: app-token
        uses: ${PINNED.appToken}
        with:
          app-id: \${{ vars.${SETTINGS.requestAppId} }}
          private-key: \${{ secrets.${SETTINGS.requestAppKey} }}
          owner: ${o.org}
          repositories: ${o.repo}
          permission-contents: write
          permission-issues: write
          permission-pull-requests: write
          permission-checks: write
          permission-members: read
      # The default branch, whatever the event: a PR's own code never runs here.
      - uses: ${PINNED.checkout}
        with:
          ref: ${q(o.branch)}
          sparse-checkout: action/app-dist
          persist-credentials: false
      - uses: ${PINNED.setupNode}
        with:
          node-version: 24
      - run: node action/app-dist/index.js
        env:
          GATEPASS_APP_TOKEN: \${{ steps.app-token.outputs.token }}
`;
}

export { ACTION_WORKFLOW, APP_WORKFLOW };
