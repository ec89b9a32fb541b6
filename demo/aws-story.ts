/**
 * `npm run demo -- --aws`: the AWS providers end to end. alice gets an IAM Identity Center
 * permission set and credentials for an IAM role through gatepass, uses the role credentials
 * with the AWS SDK exactly as the delivery says, and loses both at expiry. AWS is the local
 * stand-in (test/aws-standin), reached through the standard AWS SDK configuration
 * (AWS_ENDPOINT_URL and static keys in the environment), as a real account would be.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expectNoContractProblems } from '../test/standin/github-standin.js';
import { startAwsStandin, type AwsStandin } from '../test/aws-standin/server.js';
import { ADMIN_KEY } from '../test/aws-standin/world.js';
import {
  ageBlock,
  audit,
  comments,
  DemoClock,
  expect,
  grantOnMain,
  hasAge,
  openRequest,
  pull,
  review,
  runAction,
  startWorld,
  StepFailed,
  type World,
} from './steps.js';
import type { DemoOptions } from './story.js';

const POLICIES = [
  join(dirname(fileURLToPath(import.meta.url)), 'policies-aws'),
  join(process.cwd(), 'demo', 'policies-aws'),
].find((d) => existsSync(join(d, 'aws.yaml')))!;

const PS_ARN = 'arn:aws:sso:::permissionSet/ssoins-1111222233334444/ps-0123456789abcdef';

interface Ctx {
  w: World;
  aws: AwsStandin;
  sso: { issue: number; grantId: string };
  role: { issue: number; grantId: string };
}

interface Step {
  say: string;
  run(c: Ctx): Promise<string>;
}

const indent = (text: string): string =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n');

async function requestAndApprove(
  c: Ctx,
  resource: string,
  duration: number,
): Promise<{ issue: number; grantId: string }> {
  const o = await openRequest(c.w, 'alice', {
    resource,
    duration,
    justification: 'Checkout errors since the 10:40 deploy; need to read the AWS logs',
    ticket: 'INC-4211',
  });
  expect(o.pr, `the app opened no grant pull request for issue #${o.issue}`);
  await review(c.w, 'bob', o.pr, 'APPROVE');
  expect(pull(c.w, o.pr).pull.merged, `PR #${o.pr} was not merged`);
  return { issue: o.issue, grantId: o.grantId };
}

function steps(out: (s: string) => void): Step[] {
  const detail = (s: string) => out(`${indent(s)}\n`);
  return [
    {
      say: 'alice asks for prod-aws-readonly (an Identity Center permission set) for 1h; bob approves.',
      async run(c) {
        c.sso = await requestAndApprove(c, 'prod-aws-readonly', 3600);
        return `issue #${c.sso.issue} → grant ${c.sso.grantId} approved by bob and merged`;
      },
    },
    {
      say: 'alice asks for prod-deploy-role (IAM role credentials) for 5m; bob approves.',
      async run(c) {
        c.role = await requestAndApprove(c, 'prod-deploy-role', 300);
        return `issue #${c.role.issue} → grant ${c.role.grantId} approved by bob and merged`;
      },
    },
    {
      say: 'The action runs: it assigns the permission set (waiting for AWS) and assumes the role.',
      async run(c) {
        const r = await runAction(c.w, (l) => detail(`action: ${l}`));
        expect(
          r.failures.length === 0,
          `the action failed: ${r.failures.map((f) => f.message).join('; ')}`,
        );
        const alice = [...c.aws.world.users.values()].find(
          (u) => u.UserName === 'alice@acme.example',
        )!;
        const ps = c.aws.world.permissionSets.get(PS_ARN)!;
        expect(c.aws.world.hasAssignment(ps, alice), 'alice has no account assignment');
        const g = await grantOnMain(c.w, c.role.grantId, 'prod-deploy-role');
        expect(g?.issued?.duration_seconds === 900, 'the session is not 15 minutes (the minimum)');
        expect(
          comments(c.w, c.role.issue).some((x) => ageBlock(x.body)),
          `no encrypted credentials on #${c.role.issue}`,
        );
        return 'permission set assigned to alice@acme.example; role credentials posted, age-encrypted';
      },
    },
    {
      say: 'alice saves the delivery as the comment says and calls AWS with the SDK (credential_process).',
      async run(c) {
        const body = comments(c.w, c.role.issue).find((x) => ageBlock(x.body))!.body;
        const home = mkdtempSync(join(c.w.root, 'alice-home-'));
        mkdirSync(join(home, '.ssh'));
        mkdirSync(join(home, '.aws'));
        copyFileSync(c.w.aliceKey.privatePath, join(home, '.ssh', 'id_ed25519'));
        const profile = /```ini\n([\s\S]+?)```/.exec(body)![1]!;
        writeFileSync(join(home, '.aws', 'config'), profile);
        writeFileSync(join(home, '.aws', 'gatepass-prod-deploy-role.age'), `${ageBlock(body)}\n`);
        const script =
          "const { STSClient, GetCallerIdentityCommand } = require('@aws-sdk/client-sts');" +
          'new STSClient({}).send(new GetCallerIdentityCommand({})).then(' +
          '(r) => console.log(r.Arn), (e) => { console.error(e.message); process.exit(1); });';
        const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
          cwd: process.cwd(),
          env: {
            PATH: process.env.PATH,
            HOME: home,
            AWS_PROFILE: 'gatepass-prod-deploy-role',
            AWS_ENDPOINT_URL: c.aws.url,
          },
        });
        detail(profile.trim());
        detail(
          `$ aws --profile gatepass-prod-deploy-role sts get-caller-identity → ${stdout.trim()}`,
        );
        expect(
          stdout.includes(`assumed-role/prod-deploy/gatepass-${c.role.grantId}`),
          'the credentials are not the grant session',
        );
        return `the SDK read the credentials through age; CloudTrail would name session gatepass-${c.role.grantId}`;
      },
    },
    {
      say: "5 minutes later (gatepass's clock): the role grant ends, but its session has 10 minutes left.",
      async run(c) {
        c.w.clock.advance(6 * 60);
        const r = await runAction(c.w, (l) => detail(`action: ${l}`));
        expect(
          r.failures.length === 0,
          `the action failed: ${r.failures.map((f) => f.message).join('; ')}`,
        );
        const g = await grantOnMain(c.w, c.role.grantId, 'prod-deploy-role');
        expect(g?.status === 'expired', `grant ${c.role.grantId} is ${g?.status}`);
        const key = String(g.issued?.access_key_id);
        const state = c.aws.world.sessionState(key);
        expect(state === 'denied', `the session is ${state}, not denied`);
        detail(`grant file: revoked_sessions_before ${String(g.issued?.revoked_sessions_before)}`);
        detail(c.aws.world.roles.get('prod-deploy')!.inline.get('gatepass-revoked-sessions')!);
        return "a deny on aws:TokenIssueTime for this grant's session is on the role, and recorded in git";
      },
    },
    {
      say: 'Past the hour: the permission set grant expires and the assignment is deleted.',
      async run(c) {
        // A minute past the hour since issue: ended within the audit's lateness bound.
        c.w.clock.advance(55 * 60);
        const r = await runAction(c.w, (l) => detail(`action: ${l}`));
        expect(
          r.failures.length === 0,
          `the action failed: ${r.failures.map((f) => f.message).join('; ')}`,
        );
        const alice = [...c.aws.world.users.values()].find(
          (u) => u.UserName === 'alice@acme.example',
        )!;
        const ps = c.aws.world.permissionSets.get(PS_ARN)!;
        expect(!c.aws.world.hasAssignment(ps, alice), 'the assignment is still there');
        return "assignment deleted (console sessions already open last up to the permission set's 1h session duration)";
      },
    },
    {
      say: "`gatepass audit --verify`, then both stand-ins' own checks.",
      async run(c) {
        const a = await audit(c.w);
        out(`${indent(a.out)}\n`);
        expect(a.code === 0 && /verify: no findings/.test(a.out), `audit: ${a.err || a.out}`);
        expectNoContractProblems(c.w.gh);
        expect(
          c.aws.problems.length === 0,
          `AWS requests the models refuse: ${c.aws.problems.join('; ')}`,
        );
        expect(c.aws.violations.length === 0, `stand-in answers: ${c.aws.violations.join('; ')}`);
        return `verify: no findings; ${c.aws.calls.length} AWS calls, none AWS's models refuse`;
      },
    },
  ];
}

export async function runAwsDemo(o: DemoOptions): Promise<number> {
  const { out } = o;
  const started = Date.now();
  out('gatepass AWS demo: an Identity Center permission set and IAM role credentials, JIT.\n');
  out(
    'Everything runs here: a GitHub stand-in, the app, the action, a local AWS stand-in, age.\n\n',
  );
  if (!(await hasAge())) {
    out('✗ the `age` tool is missing (apt install age / brew install age)\n');
    return 1;
  }
  const clock = new DemoClock();
  const aws = await startAwsStandin();
  aws.world.now = () => clock.now();
  aws.world.asyncPolls = 1;
  aws.world.addUser('alice@acme.example');
  aws.world.addPermissionSet('ProdReadOnly', 'PT1H', 'ps-0123456789abcdef');
  aws.world.addRole('prod-deploy', 3600);
  // The standard AWS SDK configuration, exactly what a runner with a real account would have.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: aws.url,
    AWS_ACCESS_KEY_ID: ADMIN_KEY.accessKeyId,
    AWS_SECRET_ACCESS_KEY: ADMIN_KEY.secretAccessKey,
    AWS_REGION: 'eu-west-1',
  });
  let w: World | undefined;
  const list = steps(out);
  const total = list.length + 1;
  try {
    w = await startWorld({
      clock,
      postgres: false,
      policiesDir: POLICIES,
      ...(o.verbose ? { log: (l: string) => out(`      · ${l}\n`) } : {}),
    });
    out(`[1/${total}] GitHub stand-in at ${w.gh.url}, AWS stand-in at ${aws.url} ✓\n\n`);
    const ctx = { w, aws } as Ctx;
    for (const [i, step] of list.entries()) {
      out(`      ${step.say}\n`);
      let line: string;
      try {
        line = await step.run(ctx);
      } catch (e) {
        const why = e instanceof StepFailed ? e.message : ((e as Error).stack ?? String(e));
        out(`[${i + 2}/${total}] ✗ ${why}\n`);
        return 1;
      }
      out(`[${i + 2}/${total}] ${line} ✓\n\n`);
    }
    out(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s.\n`);
    return 0;
  } catch (e) {
    out(`✗ ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  } finally {
    await w?.stop().catch(() => {});
    await aws.close();
  }
}
