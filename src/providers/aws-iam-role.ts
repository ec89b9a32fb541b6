import type { Grant } from '../core/grant.js';
import { ConfigurationError, ProviderError } from '../core/errors.js';
import { formatPerson } from '../core/identity.js';
import type { Resource } from '../core/policy.js';
import type { Problem } from '../core/problem.js';
import { encryptToSshKeys, hasAgeRecipient } from './age-ssh.js';
import { unknownKeys } from './github-shared.js';
import {
  type AwsClientConfig,
  type AwsProviderOptions,
  awsError,
  checkPattern,
  checkRegion,
  clientOptions,
  errorName,
  fact,
} from './aws-shared.js';
import type { Issued, Provider, ProviderContext } from './provider.js';

/*
 * aws-iam-role: temporary credentials for an IAM role (STS AssumeRole), one session per grant.
 *
 * - Expiry is native: DurationSeconds is the time left in the grant, clamped to AWS's limits
 *   (at least 900 s; at most the role's MaxSessionDuration, and 3600 s when gatepass's own
 *   credentials are a role session, AWS's role-chaining limit). A grant with less than 15
 *   minutes left gets a 15-minute session, which revoke then ends at the grant's expiry.
 * - CloudTrail shows who: RoleSessionName `gatepass-<grant id>`, SourceIdentity
 *   `github-<user id>-<login>` (the role's trust policy must allow sts:SetSourceIdentity).
 * - The credentials reach only the requester: encrypted to their SSH keys on GitHub (age), in
 *   the JSON the AWS CLI's `credential_process` reads.
 * - Revoke before a session's own expiry adds a statement to the role's inline policy
 *   `gatepass-revoked-sessions` that denies everything to this grant's sessions issued before
 *   now (`aws:userid` names the session, `aws:TokenIssueTime` the cut-off), AWS's documented way
 *   to end role sessions. It names only this grant's sessions, so another grant's session of
 *   the same role, or anyone else's use of the role, goes on. Statements are pruned once every
 *   session they name has expired.
 * Sessions are per grant, so overlapping grants never share or take away each other's access.
 */

const KIND = 'aws-iam-role';

// Loaded on first use: the SDK takes seconds to load, and most runs never talk to AWS.
const stsSdk = () => import('@aws-sdk/client-sts');
const iamSdk = () => import('@aws-sdk/client-iam');

export const MIN_SESSION = 900;
export const MAX_SESSION = 43_200;
export const CHAINED_MAX_SESSION = 3600;
export const DENY_POLICY = 'gatepass-revoked-sessions';
/** Margin for clock skew between this runner and AWS when choosing how long a deny stays. */
const SKEW_MS = 5 * 60_000;

const ROLE_ARN =
  /^arn:aws(?:-us-gov|-cn)?:iam::\d{12}:role\/(?:[\x21-\x7e]{0,510}\/)?[\w+=,.@-]{1,64}$/;

export function validateIamRoleTarget(t: Record<string, unknown>): Problem[] {
  return [
    ...unknownKeys(t, ['role_arn', 'region']),
    ...checkPattern(t, 'role_arn', ROLE_ARN, 'an IAM role ARN, arn:aws:iam::<account>:role/<name>'),
    ...checkRegion(t),
  ];
}

interface RoleTarget {
  role_arn: string;
  role_name: string;
  region: string;
}

const roleName = (arn: string): string => arn.slice(arn.lastIndexOf('/') + 1);

function currentTarget(resource: Resource): RoleTarget {
  const problems = validateIamRoleTarget(resource.target);
  if (problems.length > 0)
    throw new ConfigurationError(
      `resource ${resource.name}: ${problems.map((p) => p.message).join('; ')}`,
    );
  const arn = resource.target.role_arn as string;
  return { role_arn: arn, role_name: roleName(arn), region: resource.target.region as string };
}

function recordedTarget(grant: Grant): RoleTarget | undefined {
  const arn = fact(grant, 'role_arn');
  const region = fact(grant, 'region');
  return arn && region ? { role_arn: arn, role_name: roleName(arn), region } : undefined;
}

export const sessionName = (grant: Grant): string => {
  const name = `gatepass-${grant.id}`;
  if (!/^[\w+=,.@-]{2,64}$/.test(name))
    throw new ProviderError(`${KIND}: grant id ${JSON.stringify(grant.id)} is not a session name`);
  return name;
};

export const sourceIdentity = (grant: Grant): string =>
  `github-${grant.requester.id}-${grant.requester.login}`.slice(0, 64);

/**
 * The session length for a grant: the time left, within AWS's limits. Pure, so the clamping
 * is tested on its own.
 */
export function sessionSeconds(o: {
  secondsLeft: number;
  roleMax: number;
  chained: boolean;
}): number {
  const cap = Math.min(o.roleMax, o.chained ? CHAINED_MAX_SESSION : MAX_SESSION);
  return Math.max(MIN_SESSION, Math.min(Math.floor(o.secondsLeft), cap));
}

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

const stamp = (d: Date): string => d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
const SID = /^Gatepass([a-z0-9Z]+)Until(\d{14})$/;
// Grant ids are lower case: "-" → "Z" keeps the Sid alphanumeric and one-to-one.
const sidFor = (grant: Grant, until: Date) =>
  `Gatepass${grant.id.replace(/-/g, 'Z')}Until${stamp(until)}`;

/** The deny that ends a grant's sessions issued before `cutoff`. */
export function denyStatement(grant: Grant, cutoff: Date, until: Date): Statement {
  return {
    Sid: sidFor(grant, until),
    Effect: 'Deny',
    Action: '*',
    Resource: '*',
    Condition: {
      StringLike: { 'aws:userid': `*:${sessionName(grant)}` },
      DateLessThan: { 'aws:TokenIssueTime': cutoff.toISOString().replace(/\.\d{3}Z$/, 'Z') },
    },
  };
}

/** Statements of other grants still needed at `now`, plus `mine` in place of any earlier one. */
export function mergeDeny(
  existing: Statement[],
  grant: Grant,
  mine: Statement,
  now: Date,
): Statement[] {
  const prefix = `Gatepass${grant.id.replace(/-/g, 'Z')}Until`;
  const kept = existing.filter((s) => {
    const m = s.Sid ? SID.exec(s.Sid) : null;
    if (!m) return true; // not ours: left alone
    if (s.Sid!.startsWith(prefix)) return false;
    const until = m[2]!;
    const end = Date.UTC(
      +until.slice(0, 4),
      +until.slice(4, 6) - 1,
      +until.slice(6, 8),
      +until.slice(8, 10),
      +until.slice(10, 12),
      +until.slice(12, 14),
    );
    return end > now.getTime();
  });
  return [...kept, mine];
}

function deliveryBody(o: {
  resource: string;
  profile: string;
  region: string;
  roleArn: string;
  expiration: string;
  sessionName: string;
  ciphertext: string;
}): string {
  const file = `~/.aws/${o.profile}.age`;
  return [
    `AWS credentials for **${o.resource}** (role \`${o.roleArn}\`) are ready until **${o.expiration}**.`,
    '',
    'They are encrypted to your SSH keys on GitHub; only your private key can read them. Save the',
    `block below as \`${file}\` and add this profile to \`~/.aws/config\`:`,
    '',
    '```ini',
    `[profile ${o.profile}]`,
    `credential_process = sh -c "age -d -i ~/.ssh/id_ed25519 ${file}"`,
    `region = ${o.region}`,
    '```',
    '',
    `then \`aws --profile ${o.profile} sts get-caller-identity\` (use \`~/.ssh/id_rsa\` if that is`,
    `your key). CloudTrail records the session as \`${o.sessionName}\`. It stops working at the`,
    'expiry above, or earlier if the grant is revoked.',
    '',
    '```',
    o.ciphertext.trimEnd(),
    '```',
  ].join('\n');
}

export function createIamRoleProvider(options: AwsProviderOptions = {}): Provider {
  const config: AwsClientConfig = options.clients ?? {};
  const sts = async (region: string) =>
    new (await stsSdk()).STSClient(clientOptions(region, config));
  const iam = async (region: string) =>
    new (await iamSdk()).IAMClient(clientOptions(region, config));

  async function limits(t: RoleTarget): Promise<{ roleMax: number; chained: boolean }> {
    let roleMax: number;
    let chained: boolean;
    try {
      const role = await (
        await iam(t.region)
      ).send(new (await iamSdk()).GetRoleCommand({ RoleName: t.role_name }));
      roleMax = role.Role?.MaxSessionDuration ?? 3600;
    } catch (e) {
      throw awsError(KIND, `reading role ${t.role_name}`, e);
    }
    try {
      const me = await (
        await sts(t.region)
      ).send(new (await stsSdk()).GetCallerIdentityCommand({}));
      chained = (me.Arn ?? '').includes(':assumed-role/');
    } catch (e) {
      throw awsError(KIND, 'asking STS who gatepass is', e);
    }
    return { roleMax, chained };
  }

  /** Assumes the role for the grant and returns the facts and the encrypted delivery. */
  async function session(
    grant: Grant,
    ctx: ProviderContext,
    t: RoleTarget,
    verb: 'issued' | 'extended',
  ): Promise<Issued> {
    const end = grant.expires_at === undefined ? NaN : Date.parse(grant.expires_at);
    if (Number.isNaN(end))
      throw new ProviderError(
        `${KIND}: grant ${grant.id} has no valid expires_at; nothing was done`,
      );
    const secondsLeft = (end - ctx.clock.now().getTime()) / 1000;
    if (secondsLeft <= 0)
      throw new ProviderError(`${KIND}: grant ${grant.id} is already over; nothing was done`);
    const keys = await ctx.publicKeys(grant.requester);
    if (!hasAgeRecipient(keys))
      throw new ProviderError(
        `${grant.requester.login} has no SSH key on GitHub that the credentials can be encrypted to ` +
          '(an ssh-ed25519 key, or ssh-rsa of at least 2048 bits); nothing was done. ' +
          'Add one at https://github.com/settings/keys and retry.',
      );
    const { roleMax, chained } = await limits(t);
    const duration = sessionSeconds({ secondsLeft, roleMax, chained });
    const name = sessionName(grant);
    let creds;
    try {
      const r = await (
        await sts(t.region)
      ).send(
        new (await stsSdk()).AssumeRoleCommand({
          RoleArn: t.role_arn,
          RoleSessionName: name,
          DurationSeconds: duration,
          SourceIdentity: sourceIdentity(grant),
        }),
      );
      creds = r.Credentials;
    } catch (e) {
      throw awsError(KIND, `assuming ${t.role_arn}`, e);
    }
    if (!creds?.AccessKeyId || !creds.SecretAccessKey || !creds.SessionToken || !creds.Expiration)
      throw new ProviderError(`${KIND}: STS returned no credentials`);
    ctx.mask(creds.SecretAccessKey);
    ctx.mask(creds.SessionToken);
    const expiration = creds.Expiration.toISOString();
    // The format credential_process reads (AWS CLI and every SDK).
    const json = JSON.stringify({
      Version: 1,
      AccessKeyId: creds.AccessKeyId,
      SecretAccessKey: creds.SecretAccessKey,
      SessionToken: creds.SessionToken,
      Expiration: expiration,
    });
    const encrypted = await encryptToSshKeys(json, keys);
    if (!encrypted.ok)
      throw new ProviderError(
        `${KIND}: ${encrypted.problems.map((p) => p.message).join('; ')}; the session (${name}) ` +
          `was not delivered and ends at ${expiration}`,
      );
    const outlives = creds.Expiration.getTime() > end;
    ctx.log(
      `${KIND}: ${verb} session ${name} of ${t.role_arn} for ${formatPerson(grant.requester)} until ` +
        `${expiration} (${duration}s${chained ? ', role chaining caps at 1h' : ''})` +
        (outlives ? '; AWS sessions last at least 15 minutes, so revoke ends it at the grant' : ''),
    );
    const previous = fact(grant, 'session_expires_at');
    const latest =
      previous && Date.parse(previous) > creds.Expiration.getTime() ? previous : expiration;
    return {
      facts: {
        role_arn: t.role_arn,
        region: t.region,
        session_name: name,
        source_identity: sourceIdentity(grant),
        // An identifier, not a secret: CloudTrail logs it with every call of the session.
        access_key_id: creds.AccessKeyId,
        duration_seconds: duration,
        session_expires_at: latest,
      },
      delivery: {
        title: `AWS credentials for ${ctx.resource.name}`,
        body: deliveryBody({
          resource: ctx.resource.name,
          profile: `gatepass-${ctx.resource.name}`,
          region: t.region,
          roleArn: t.role_arn,
          expiration,
          sessionName: name,
          ciphertext: encrypted.value,
        }),
      },
    };
  }

  async function readDeny(t: RoleTarget): Promise<Statement[]> {
    try {
      const r = await (
        await iam(t.region)
      ).send(
        new (await iamSdk()).GetRolePolicyCommand({
          RoleName: t.role_name,
          PolicyName: DENY_POLICY,
        }),
      );
      // IAM returns policy documents URL-encoded (RFC 3986).
      const doc = JSON.parse(decodeURIComponent(r.PolicyDocument ?? '')) as {
        Statement?: Statement | Statement[];
      };
      const s = doc.Statement ?? [];
      return Array.isArray(s) ? s : [s];
    } catch (e) {
      if (errorName(e) === 'NoSuchEntityException' || errorName(e) === 'NoSuchEntity') return [];
      if (e instanceof SyntaxError || e instanceof URIError)
        throw new ProviderError(`${KIND}: the role's ${DENY_POLICY} policy is not readable JSON`);
      throw awsError(KIND, `reading ${DENY_POLICY} of ${t.role_name}`, e);
    }
  }

  async function writeDeny(t: RoleTarget, statements: Statement[]): Promise<void> {
    try {
      if (statements.length === 0)
        await (
          await iam(t.region)
        ).send(
          new (await iamSdk()).DeleteRolePolicyCommand({
            RoleName: t.role_name,
            PolicyName: DENY_POLICY,
          }),
        );
      else
        await (
          await iam(t.region)
        ).send(
          new (await iamSdk()).PutRolePolicyCommand({
            RoleName: t.role_name,
            PolicyName: DENY_POLICY,
            PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
          }),
        );
    } catch (e) {
      throw awsError(KIND, `writing ${DENY_POLICY} on ${t.role_name}`, e);
    }
  }

  return {
    kind: KIND,

    validateTarget: validateIamRoleTarget,

    checkTarget: async (ctx) => ({
      problems: [],
      warnings: await checkIamRoleResource(ctx.resource, config),
    }),

    async prepareIssue(grant: Grant, ctx: ProviderContext): Promise<Issued['facts']> {
      // Sessions are per grant, so there is no pre-state; the role is recorded so revoke acts
      // on the role this grant was given, whatever the policy says later.
      const t = currentTarget(ctx.resource);
      return { role_arn: t.role_arn, region: t.region, session_name: sessionName(grant) };
    },

    async issue(grant: Grant, ctx: ProviderContext): Promise<Issued> {
      // A retry after a crash assumes the role again: the earlier session (never recorded,
      // perhaps never delivered) has the same name and ends no later, and revoke ends both.
      return session(grant, ctx, recordedTarget(grant) ?? currentTarget(ctx.resource), 'issued');
    },

    async extend(grant: Grant, ctx: ProviderContext): Promise<Issued> {
      // A session's expiry cannot move: the extension is a new session up to the new end; the
      // earlier one keeps working until its own expiry, which is inside the grant.
      return session(grant, ctx, recordedTarget(grant) ?? currentTarget(ctx.resource), 'extended');
    },

    async revoke(grant: Grant, ctx: ProviderContext): Promise<Issued['facts'] | void> {
      const t = recordedTarget(grant);
      if (!t) {
        ctx.log(`${KIND}: ${grant.id} recorded no role; nothing to revoke`);
        return;
      }
      const now = ctx.clock.now();
      const recorded = fact(grant, 'session_expires_at');
      const grantEnd = grant.expires_at ? Date.parse(grant.expires_at) : NaN;
      // Every session of this grant ends by the latest of: its recorded session, the grant's
      // end, and (for an attempt that crashed before its facts were committed) 15 minutes
      // after now.
      const candidates = [
        recorded ? Date.parse(recorded) : NaN,
        grantEnd,
        recorded ? NaN : now.getTime() + MIN_SESSION * 1000,
      ].filter((x) => !Number.isNaN(x));
      const lastEnd = Math.max(...candidates);
      if (lastEnd <= now.getTime()) {
        ctx.log(`${KIND}: sessions of ${grant.id} have expired; nothing to revoke`);
        return;
      }
      const until = new Date(lastEnd + 2 * SKEW_MS);
      // The cut-off is a little after now: this runner's clock may be behind AWS's, and no
      // session of an ended grant is legitimate anyway.
      const cutoff = new Date(now.getTime() + SKEW_MS);
      const mine = denyStatement(grant, cutoff, until);
      await writeDeny(t, mergeDeny(await readDeny(t), grant, mine, now));
      ctx.log(
        `${KIND}: sessions of ${grant.id} (${sessionName(grant)}) issued before ` +
          `${cutoff.toISOString()} are denied on ${t.role_name} (policy ${DENY_POLICY})`,
      );
      return {
        revoked_sessions_before: cutoff.toISOString(),
        deny_policy: DENY_POLICY,
        deny_until: until.toISOString(),
      };
    },
  };
}

/** For `gatepass validate --aws`: warns when the role's sessions cannot last a whole grant. */
export async function checkIamRoleResource(
  resource: Resource,
  config: AwsClientConfig = {},
): Promise<string[]> {
  const t = currentTarget(resource);
  try {
    const m = await iamSdk();
    const role = await new m.IAMClient(clientOptions(t.region, config)).send(
      new (await iamSdk()).GetRoleCommand({ RoleName: t.role_name }),
    );
    const max = role.Role?.MaxSessionDuration ?? 3600;
    return max < resource.max_duration
      ? [
          `role ${t.role_name} allows sessions of ${max}s, shorter than ${resource.name}'s ` +
            `max_duration (${resource.max_duration}s): a long grant's credentials stop early ` +
            "(raise the role's MaxSessionDuration, or ask for an extension to get new ones)",
        ]
      : [];
  } catch (e) {
    return [`could not read role ${t.role_name} (${awsError(KIND, 'GetRole', e).message})`];
  }
}

export const awsIamRoleProvider: Provider = createIamRoleProvider();

export default awsIamRoleProvider;
