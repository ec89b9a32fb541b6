import { Command, CommanderError } from 'commander';
import { runValidate } from './validate.js';
import { runTemplate } from './template.js';
import { runCodeowners } from './codeowners.js';
import { runReconcile } from './reconcile.js';
import { runAudit, type AuditCliOptions } from './audit.js';
import { policySchemaJson } from '../core/policy-schema.js';
import { VERSION } from '../version.js';
import { runInit, type InitCliOptions } from './init.js';
import { runDoctor, type DoctorCliOptions } from './doctor.js';

import { EXIT, type CliIo } from './io.js';

export { EXIT, type CliIo };

const processIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  cwd: process.cwd(),
  env: process.env,
};

export function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('gatepass')
    .description('Just-In-Time access approved by pull request review and recorded in git')
    .version(VERSION, '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();

  program
    .command('init')
    .description(
      'start an access repo here (or check one): policies, issue form, CODEOWNERS, workflows, and a checklist for GitHub',
    )
    .argument('[repo-dir]', 'where the access repo is (created if missing)', '.')
    .option('--org <org>', 'the GitHub organisation that owns the access repo')
    .option('--repo <name>', "the access repo's name (default: the directory name)")
    .option('--branch <name>', "default branch (default: the checkout's current branch, else main)")
    .option('--mode <mode>', 'where the request app runs: server (npm start) or actions', 'actions')
    .option(
      '--providers <kinds...>',
      'providers to start policies for: github-team github-collaborator postgres ssh-certificate command',
    )
    .option(
      '--policy-owners <principals...>',
      'who must review policy changes (default: <org>/security)',
    )
    .option(
      '--check',
      'change nothing; exit 1 if a file is missing or differs from what init writes',
    )
    .option('--force', 'overwrite files you changed since init wrote them')
    .action(async (dir: string, opts: InitCliOptions) => setExit(await runInit(io, dir, opts)));

  program
    .command('validate')
    .description('check policies/, the issue form and every grant file; prints file:line: message')
    .argument('[repo-dir]', 'access repo checkout', '.')
    .option('--json', 'print problems as JSON')
    .option(
      '--check-targets',
      'also connect to each target with the secrets in the environment (PostgreSQL: admin rights, superuser warning)',
    )
    .action(async (dir: string, opts: { json?: boolean; checkTargets?: boolean }) =>
      setExit(await runValidate(io, dir, opts)),
    );

  program
    .command('template')
    .description(
      'write .github/ISSUE_TEMPLATE/access-request.yml (the request form) from the policies',
    )
    .argument('[repo-dir]', 'access repo checkout', '.')
    .option('--check', 'only report whether the form is current (exit 1 if not)')
    .action(async (dir: string, opts: { check?: boolean }) =>
      setExit(await runTemplate(io, dir, opts)),
    );

  program
    .command('codeowners')
    .description(
      "write the gatepass blocks of .github/CODEOWNERS: approvers own their resource's grants",
    )
    .argument('[repo-dir]', 'access repo checkout', '.')
    .requiredOption(
      '--policy-owners <principals...>',
      'users or org/team slugs who must review policy changes',
    )
    .option('--stdout', 'print the blocks instead of writing the file')
    .option('--check', 'only report whether the file is current (exit 1 if not)')
    .action(
      async (dir: string, opts: { policyOwners: string[]; stdout?: boolean; check?: boolean }) =>
        setExit(await runCodeowners(io, dir, opts)),
    );

  program
    .command('reconcile')
    .description(
      'print what the gatepass action would do for this checkout: verify, issue, revoke, archive',
    )
    .argument('[repo-dir]', 'access repo checkout', '.')
    .option('--dry-run', 'print the plan and change nothing (the only mode outside the action)')
    .option('--at <time>', 'plan as if it were this ISO 8601 time (default: now)')
    .action(async (dir: string, opts: { dryRun?: boolean; at?: string }) =>
      setExit(await runReconcile(io, dir, opts)),
    );

  program
    .command('audit')
    .description(
      "every grant's timeline from the default branch's git history; --verify checks it against policy",
    )
    .argument('[repo-dir]', 'access repo checkout', '.')
    .option('--rev <ref>', 'branch or commit to audit (first-parent history)', 'HEAD')
    .option('--since <time>', 'only grants live or requested at or after this time')
    .option('--until <time>', 'only grants requested at or before this time')
    .option('--user <login>', 'only grants this person requested or approved')
    .option('--resource <name>', 'only grants for this resource')
    .option('--active-at <time>', 'only grants that gave access at this time')
    .option('--json', 'print the timelines (and findings) as JSON')
    .option('--csv', 'print one CSV row per grant')
    .option('--markdown', 'print Markdown with a Mermaid Gantt chart (for an issue or job summary)')
    .option('--verify', 'check the history; exit 1 when anything is found')
    .option(
      '--verified-head <sha>',
      'with --verify: the head an earlier verification saw; a finding if it is no longer in the history (force push)',
    )
    .option(
      '--since-commit <sha>',
      'with --verify: the last commit before gatepass was adopted; it and older history are not judged (default: .gatepass/baseline)',
    )
    .option(
      '--bot <name-or-email...>',
      'identities allowed to write gatepass trailers (* wildcards)',
    )
    .option(
      '--sweep <duration>',
      'how long past expiry a grant may stay live (default: 2m with --deadline-timer app, else 5m)',
    )
    .option(
      '--deadline-timer <who>',
      'who starts runs at deadlines: app (the gatepass app) or action (the schedule)',
      'action',
    )
    .option('--now <time>', 'judge still-live grants as of this time (default: now)')
    .action(async (dir: string, opts: AuditCliOptions) => setExit(await runAudit(io, dir, opts)));

  program
    .command('doctor')
    .description(
      'check the live setup on GitHub (apps, environments, secrets, branch rules, labels, schedule, form, CODEOWNERS); a fix for each failure',
    )
    .argument('[repo-dir]', 'access repo checkout', '.')
    .option('--repo <owner/name>', 'the access repo on GitHub (default: from the origin remote)')
    .option('--token <token>', "a repository admin's token (default: $GITHUB_TOKEN or $GH_TOKEN)")
    .option('--app-id <id>', "the credentials app's id (default: $GATEPASS_APP_ID)")
    .option(
      '--private-key <file>',
      "the credentials app's private key (default: $GATEPASS_APP_PRIVATE_KEY_PATH)",
    )
    .option('--request-app-id <id>', "the request app's id, to check its installation too")
    .option('--request-private-key <file>', "the request app's private key")
    .option(
      '--api-url <url>',
      'GitHub API URL (default: $GITHUB_API_URL or https://api.github.com)',
    )
    .option('--fix', 'create the labels that are missing')
    .option('--json', 'print the checklist as JSON')
    .action(async (dir: string, opts: DoctorCliOptions) => setExit(await runDoctor(io, dir, opts)));

  program
    .command('schema')
    .description('print the JSON Schema of policy files (policies/schema.json)')
    .action(() => {
      io.out(policySchemaJson());
      setExit(EXIT.ok);
    });

  return program;
}

/**
 * Runs the CLI and returns its exit code: 0 clean, 1 problems found, 2 usage error. Results go
 * to stdout, problems to stderr; `--help` prints to stdout (exit 0), a missing command prints
 * the usage to stderr (exit 2).
 */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Asked-for help and the version are successful exits; commander's own help without a
      // command (`commander.help`, printed to stderr) and everything else it rejects is a usage error.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.ok;
      return EXIT.usage;
    }
    io.err(`gatepass: ${(e as Error).message}\n`);
    return EXIT.problems;
  }
}
