import type { AccountAssignmentOperationStatus } from '@aws-sdk/client-sso-admin';
import type { Grant } from '../core/grant.js';
import { parseDuration } from '../core/duration.js';
import { ConfigurationError, ProviderError } from '../core/errors.js';
import { formatPerson } from '../core/identity.js';
import type { Resource } from '../core/policy.js';
import type { Problem } from '../core/problem.js';
import { unknownKeys } from './github-shared.js';
import {
  type AwsClientConfig,
  type AwsProviderOptions,
  awsError,
  checkPattern,
  checkRegion,
  clientOptions,
  DEFAULT_WAIT_MS,
  defaultSleep,
  errorName,
  fact,
  otherHolder,
} from './aws-shared.js';
import type { Issued, LiveAccess, Provider, ProviderContext } from './provider.js';
import { problem } from './target-checks.js';

/*
 * aws-identity-center: assigns a permission set on one AWS account to the requester's IAM
 * Identity Center user for the grant window.
 *
 * An account assignment is shared state, like a team membership: it exists once per
 * (account, permission set, user), whoever made it. So the rule of issue #13 holds here:
 * - the target and the user are recorded at issue (`prepareIssue`, committed before any effect)
 *   and revoke acts on those facts, never on today's policy;
 * - the first grant records whether the assignment existed before any gatepass grant
 *   (`assigned_before`); a grant issued while another live grant of the same person holds the
 *   same assignment records that it joined it and inherits that pre-state;
 * - revoke deletes the assignment only when no other active grant of the person holds it and
 *   it did not exist before gatepass.
 */

const KIND = 'aws-identity-center';

// Loaded on first use: the SDK takes seconds to load, and most runs (and every offline
// `gatepass validate`) never talk to AWS.
const ssoSdk = () => import('@aws-sdk/client-sso-admin');
const storeSdk = () => import('@aws-sdk/client-identitystore');

const INSTANCE_ARN = /^arn:aws(?:-us-gov|-cn)?:sso:::instance\/(?:sso)?ins-[a-zA-Z0-9-.]{16}$/;
const PERMISSION_SET_ARN =
  /^arn:aws(?:-us-gov|-cn)?:sso:::permissionSet\/(?:sso)?ins-[a-zA-Z0-9-.]{16}\/ps-[a-zA-Z0-9-./]{16}$/;
const IDENTITY_STORE_ID =
  /^(?:d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const ACCOUNT_ID = /^\d{12}$/;
const GITHUB_ID = /^[1-9]\d{0,19}$/;
// Identity Center user names: 1–128 printable characters, no whitespace at the ends.
const USER_NAME =
  /^[\p{L}\p{M}\p{S}\p{N}\p{P}](?:[\p{L}\p{M}\p{S}\p{N}\p{P} ]{0,126}[\p{L}\p{M}\p{S}\p{N}\p{P}])?$/u;
const ISSUER = /^[\x21-\x7e]{1,100}$/;

const KEYS = [
  'region',
  'instance_arn',
  'identity_store_id',
  'account_id',
  'permission_set_arn',
  'users',
  'user_lookup',
  'standing_users',
] as const;

export interface IdentityCenterTarget {
  region: string;
  instance_arn: string;
  identity_store_id: string;
  account_id: string;
  permission_set_arn: string;
  /** GitHub user id → Identity Center user name; the policy owns the mapping. */
  users?: Record<string, string>;
  /** Or: the identity store holds the GitHub user id as an external id from this issuer. */
  user_lookup?: { external_id_issuer: string };
  /** User names that hold this assignment outside gatepass (never reported as drift). */
  standing_users: string[];
}

export function validateIdentityCenterTarget(t: Record<string, unknown>): Problem[] {
  const out: Problem[] = [
    ...unknownKeys(t, KEYS),
    ...checkRegion(t),
    ...checkPattern(t, 'instance_arn', INSTANCE_ARN, 'an Identity Center instance ARN'),
    ...checkPattern(t, 'identity_store_id', IDENTITY_STORE_ID, 'an identity store id (d-…)'),
    ...checkPattern(t, 'account_id', ACCOUNT_ID, 'a 12-digit AWS account id, quoted'),
    ...checkPattern(t, 'permission_set_arn', PERMISSION_SET_ARN, 'a permission set ARN'),
  ];
  if (
    typeof t.instance_arn === 'string' &&
    typeof t.permission_set_arn === 'string' &&
    INSTANCE_ARN.test(t.instance_arn) &&
    PERMISSION_SET_ARN.test(t.permission_set_arn)
  ) {
    const instance = t.instance_arn.split('/')[1];
    if (t.permission_set_arn.split('/')[1] !== instance)
      out.push(problem('permission_set_arn', 'must belong to the instance in instance_arn'));
  }
  if ((t.users === undefined) === (t.user_lookup === undefined))
    out.push(
      problem(
        'users',
        'give exactly one of users (GitHub user id → Identity Center user name) and user_lookup',
      ),
    );
  if (t.users !== undefined) {
    if (typeof t.users !== 'object' || t.users === null || Array.isArray(t.users))
      out.push(problem('users', 'must map GitHub user ids to Identity Center user names'));
    else {
      const entries = Object.entries(t.users);
      if (entries.length === 0) out.push(problem('users', 'must not be empty'));
      const names = new Set<string>();
      for (const [id, name] of entries) {
        if (!GITHUB_ID.test(id))
          out.push(
            problem(
              `users.${id}`,
              'keys must be numeric GitHub user ids (logins can be renamed and re-registered)',
            ),
          );
        if (typeof name !== 'string' || !USER_NAME.test(name))
          out.push(problem(`users.${id}`, 'must be an Identity Center user name'));
        else if (names.has(name))
          out.push(problem(`users.${id}`, `${JSON.stringify(name)} is mapped twice`));
        else names.add(name);
      }
    }
  }
  if (t.user_lookup !== undefined) {
    const l = t.user_lookup;
    if (typeof l !== 'object' || l === null || Array.isArray(l))
      out.push(problem('user_lookup', 'must be { external_id_issuer: <issuer> }'));
    else {
      out.push(...unknownKeys(l as Record<string, unknown>, ['external_id_issuer']).map(nested));
      const issuer = (l as Record<string, unknown>).external_id_issuer;
      if (typeof issuer !== 'string' || !ISSUER.test(issuer))
        out.push(
          problem(
            'user_lookup.external_id_issuer',
            'must name the issuer of the external id that holds the GitHub user id',
          ),
        );
    }
  }
  if (t.standing_users !== undefined) {
    if (!Array.isArray(t.standing_users))
      out.push(problem('standing_users', 'must be a list of Identity Center user names'));
    else
      t.standing_users.forEach((u, i) => {
        if (typeof u !== 'string' || !USER_NAME.test(u))
          out.push(problem(`standing_users[${i}]`, 'must be an Identity Center user name'));
      });
  }
  return out;
}

const nested = (p: Problem): Problem => ({
  path: (p.path ?? '').replace(/^target\./, 'target.user_lookup.'),
  message: p.message,
});

function readTarget(resource: Resource): IdentityCenterTarget {
  const t = resource.target;
  const problems = validateIdentityCenterTarget(t);
  if (problems.length > 0)
    throw new ConfigurationError(
      `resource ${resource.name}: ${problems.map((p) => p.message).join('; ')}`,
    );
  return {
    region: t.region as string,
    instance_arn: t.instance_arn as string,
    identity_store_id: t.identity_store_id as string,
    account_id: t.account_id as string,
    permission_set_arn: t.permission_set_arn as string,
    ...(t.users ? { users: t.users as Record<string, string> } : {}),
    ...(t.user_lookup ? { user_lookup: t.user_lookup as { external_id_issuer: string } } : {}),
    standing_users: (t.standing_users as string[] | undefined) ?? [],
  };
}

/** The assignment a grant is about, as recorded at issue. */
export interface Assignment {
  region: string;
  instance_arn: string;
  account_id: string;
  permission_set_arn: string;
  principal_id: string;
}

function recordedAssignment(grant: Grant): Assignment | undefined {
  const a = {
    region: fact(grant, 'region'),
    instance_arn: fact(grant, 'instance_arn'),
    account_id: fact(grant, 'account_id'),
    permission_set_arn: fact(grant, 'permission_set_arn'),
    principal_id: fact(grant, 'principal_id'),
  };
  return Object.values(a).every((v) => v !== undefined) ? (a as Assignment) : undefined;
}

const sameAssignment = (a: object, b: object): boolean =>
  (['instance_arn', 'account_id', 'permission_set_arn', 'principal_id'] as const).every(
    (k) =>
      typeof (a as Record<string, unknown>)[k] === 'string' &&
      (a as Record<string, unknown>)[k] === (b as Record<string, unknown>)[k],
  );

const describe = (a: Assignment, who: string): string =>
  `permission set ${a.permission_set_arn.split('/').pop()} on account ${a.account_id} for ${who}`;

export function createIdentityCenterProvider(options: AwsProviderOptions = {}): Provider {
  const config: AwsClientConfig = options.clients ?? {};
  const sleep = options.sleep ?? defaultSleep;
  const waitMs = options.waitTimeoutMs ?? DEFAULT_WAIT_MS;
  const sso = async (region: string) =>
    new (await ssoSdk()).SSOAdminClient(clientOptions(region, config));
  const store = async (region: string) =>
    new (await storeSdk()).IdentitystoreClient(clientOptions(region, config));

  /** The requester's Identity Center user: by the policy's map, or the store's external id. */
  async function findUser(
    grant: Grant,
    t: IdentityCenterTarget,
  ): Promise<{ principal_id: string; user: string }> {
    const id = String(grant.requester.id);
    let alternate;
    let user: string;
    if (t.users) {
      const name = t.users[id];
      if (name === undefined)
        throw new ProviderError(
          `${KIND}: GitHub user ${formatPerson(grant.requester)} has no Identity Center user in ` +
            'the target\'s "users" map; nothing was changed',
        );
      user = name;
      alternate = { UniqueAttribute: { AttributePath: 'userName', AttributeValue: name } };
    } else {
      const issuer = t.user_lookup!.external_id_issuer;
      user = `external id ${id} from ${issuer}`;
      alternate = { ExternalId: { Issuer: issuer, Id: id } };
    }
    try {
      const r = await (
        await store(t.region)
      ).send(
        new (await storeSdk()).GetUserIdCommand({
          IdentityStoreId: t.identity_store_id,
          AlternateIdentifier: alternate,
        }),
      );
      if (!r.UserId) throw new ProviderError(`${KIND}: the identity store returned no user id`);
      return { principal_id: r.UserId, user };
    } catch (e) {
      if (errorName(e) === 'ResourceNotFoundException')
        throw new ProviderError(
          `${KIND}: no Identity Center user for ${formatPerson(grant.requester)} (${user}); nothing was changed`,
        );
      throw awsError(KIND, `looking up the Identity Center user of ${grant.requester.login}`, e);
    }
  }

  async function principals(
    a: Omit<Assignment, 'principal_id'>,
  ): Promise<{ type: string; id: string }[]> {
    const out: { type: string; id: string }[] = [];
    try {
      const { paginateListAccountAssignments } = await ssoSdk();
      for await (const page of paginateListAccountAssignments(
        { client: await sso(a.region) },
        {
          InstanceArn: a.instance_arn,
          AccountId: a.account_id,
          PermissionSetArn: a.permission_set_arn,
        },
      ))
        for (const x of page.AccountAssignments ?? [])
          if (x.PrincipalId && x.PrincipalType)
            out.push({ type: x.PrincipalType, id: x.PrincipalId });
    } catch (e) {
      throw awsError(KIND, `listing the assignments of account ${a.account_id}`, e);
    }
    return out;
  }

  const exists = async (a: Assignment): Promise<boolean> =>
    (await principals(a)).some((p) => p.type === 'USER' && p.id === a.principal_id);

  /** Waits for an asynchronous assignment operation, bounded by `waitMs`. */
  async function waitFor(
    a: Assignment,
    verb: 'creating' | 'deleting',
    first: AccountAssignmentOperationStatus | undefined,
  ): Promise<void> {
    let status = first;
    const requestId = status?.RequestId;
    if (!requestId) throw new ProviderError(`${KIND}: AWS gave no request id for ${verb}`);
    const deadline = Date.now() + waitMs;
    let delay = 500;
    while (status?.Status === 'IN_PROGRESS') {
      if (Date.now() >= deadline)
        throw new ProviderError(
          `${KIND}: ${verb} the assignment (request ${requestId}) was still in progress after ` +
            `${Math.round(waitMs / 1000)}s; the next run checks again`,
        );
      await sleep(delay);
      delay = Math.min(delay * 2, 5000);
      try {
        const client = await sso(a.region);
        status =
          verb === 'creating'
            ? (
                await client.send(
                  new (await ssoSdk()).DescribeAccountAssignmentCreationStatusCommand({
                    InstanceArn: a.instance_arn,
                    AccountAssignmentCreationRequestId: requestId,
                  }),
                )
              ).AccountAssignmentCreationStatus
            : (
                await client.send(
                  new (await ssoSdk()).DescribeAccountAssignmentDeletionStatusCommand({
                    InstanceArn: a.instance_arn,
                    AccountAssignmentDeletionRequestId: requestId,
                  }),
                )
              ).AccountAssignmentDeletionStatus;
      } catch (e) {
        throw awsError(KIND, `asking for the status of request ${requestId}`, e);
      }
    }
    if (status?.Status !== 'SUCCEEDED')
      throw new ProviderError(
        `${KIND}: ${verb} the assignment failed (request ${requestId}): ${status?.Status ?? 'no status'}` +
          `${status?.FailureReason ? `: ${status.FailureReason.slice(0, 300)}` : ''}`,
      );
  }

  /** The request that names one assignment, the same to create and to delete it. */
  const assignmentInput = (a: Assignment) => ({
    InstanceArn: a.instance_arn,
    TargetId: a.account_id,
    TargetType: 'AWS_ACCOUNT' as const,
    PermissionSetArn: a.permission_set_arn,
    PrincipalType: 'USER' as const,
    PrincipalId: a.principal_id,
  });

  async function create(a: Assignment): Promise<void> {
    let first;
    try {
      first = (
        await (
          await sso(a.region)
        ).send(new (await ssoSdk()).CreateAccountAssignmentCommand(assignmentInput(a)))
      ).AccountAssignmentCreationStatus;
    } catch (e) {
      throw awsError(KIND, 'creating the account assignment', e);
    }
    await waitFor(a, 'creating', first);
  }

  async function remove(a: Assignment): Promise<boolean> {
    if (!(await exists(a))) return false;
    let first;
    try {
      first = (
        await (
          await sso(a.region)
        ).send(new (await ssoSdk()).DeleteAccountAssignmentCommand(assignmentInput(a)))
      ).AccountAssignmentDeletionStatus;
    } catch (e) {
      if (errorName(e) === 'ResourceNotFoundException') return false;
      throw awsError(KIND, 'deleting the account assignment', e);
    }
    await waitFor(a, 'deleting', first);
    return true;
  }

  /** What `prepareIssue` records: the target, the user and the pre-gatepass state. */
  async function observe(grant: Grant, ctx: ProviderContext): Promise<Issued['facts']> {
    const t = readTarget(ctx.resource);
    const { principal_id, user } = await findUser(grant, t);
    const a: Assignment = {
      region: t.region,
      instance_arn: t.instance_arn,
      account_id: t.account_id,
      permission_set_arn: t.permission_set_arn,
      principal_id,
    };
    const base = { ...a, identity_store_id: t.identity_store_id, user };
    const holder = otherHolder({ ...grant, issued: base }, ctx.liveGrants, sameAssignment);
    if (holder && typeof holder.issued?.assigned_before === 'boolean') {
      ctx.log(`${KIND}: ${grant.id} joins ${holder.id}, which holds ${describe(a, user)}`);
      return { ...base, assigned_before: holder.issued.assigned_before, joined: holder.id };
    }
    const before = await exists(a);
    if (before && !t.standing_users.includes(user))
      ctx.log(
        `${KIND}: warning: ${user} already had ${describe(a, user)} before gatepass; it stays after ` +
          'the grant. List the user under standing_users, or drift detection will report it',
      );
    return { ...base, assigned_before: before };
  }

  const provider: Provider = {
    kind: KIND,

    validateTarget: validateIdentityCenterTarget,

    prepareIssue: observe,

    async issue(grant: Grant, ctx: ProviderContext): Promise<Issued> {
      // The facts committed by prepareIssue are the truth about the target and the pre-state; a
      // caller that skipped it gets them observed now.
      const facts = recordedAssignment(grant) ? grant.issued! : await observe(grant, ctx);
      const a = recordedAssignment({ ...grant, issued: facts })!;
      const user = String(facts.user);
      if (await exists(a)) {
        // From before gatepass, from another live grant, or from a crashed attempt of this one:
        // which of these is recorded in the facts, so there is nothing to decide here.
        ctx.log(`${KIND}: ${describe(a, user)} is in place; nothing to add`);
      } else {
        await create(a);
        ctx.log(`${KIND}: assigned ${describe(a, user)} (${formatPerson(grant.requester)})`);
      }
      const warning = await sessionDurationWarning(ctx.resource, a, config);
      if (warning) ctx.log(`${KIND}: warning: ${warning}`);
      const { issue_started_at: _started, ...kept } = facts;
      return { facts: kept };
    },

    async revoke(grant: Grant, ctx: ProviderContext): Promise<void> {
      const a = recordedAssignment(grant);
      if (!a) {
        // prepareIssue records the facts before any effect: without them gatepass did nothing.
        ctx.log(`${KIND}: ${grant.id} recorded no assignment; nothing to remove`);
        return;
      }
      const user = fact(grant, 'user') ?? a.principal_id;
      if (grant.issued?.assigned_before === true) {
        ctx.log(`${KIND}: ${user} had ${describe(a, user)} before gatepass; left as is`);
        return;
      }
      const holder = otherHolder(grant, ctx.liveGrants, sameAssignment);
      if (holder) {
        ctx.log(`${KIND}: grant ${holder.id} still holds ${describe(a, user)}; kept`);
        return;
      }
      const removed = await remove(a);
      ctx.log(`${KIND}: ${removed ? 'removed' : 'already gone:'} ${describe(a, user)}`);
    },

    async list(ctx: ProviderContext): Promise<LiveAccess[]> {
      const t = readTarget(ctx.resource);
      // Today's target and every target a live grant of this resource recorded.
      const targets = new Map<string, Omit<Assignment, 'principal_id'>>();
      const add = (x: Omit<Assignment, 'principal_id'>) =>
        targets.set(`${x.instance_arn}|${x.account_id}|${x.permission_set_arn}`, x);
      add(t);
      for (const g of ctx.liveGrants) {
        const a = g.resource === ctx.resource.name ? recordedAssignment(g) : undefined;
        if (a) add(a);
      }
      const managed = t.users ? new Set(Object.values(t.users)) : undefined;
      const out: LiveAccess[] = [];
      for (const target of targets.values()) {
        for (const p of await principals(target)) {
          if (p.type !== 'USER') continue;
          const a: Assignment = { ...target, principal_id: p.id };
          const holder = ctx.liveGrants.find(
            (g) => g.issued !== undefined && sameAssignment(g.issued, a),
          );
          const key = JSON.stringify(a);
          if (holder) {
            out.push({
              key,
              grantId: holder.id,
              description: describe(a, String(holder.issued?.user)),
            });
            continue;
          }
          const who = await userOf(t, p.id);
          if (t.standing_users.includes(who.name)) continue;
          out.push({
            key,
            description: describe(a, who.name),
            // A user gatepass maps with no live grant holding the assignment: nothing explains it.
            ...((managed?.has(who.name) ?? who.lookedUp) ? { unexplained: true } : {}),
          });
        }
      }
      return out;
    },

    checkTarget: async (ctx) => ({
      problems: [],
      warnings: await checkIdentityCenterResource(ctx.resource, config),
    }),

    async removeDrift(access: LiveAccess, ctx: ProviderContext): Promise<void> {
      let a: Assignment;
      try {
        a = JSON.parse(access.key) as Assignment;
      } catch {
        throw new ProviderError(`${KIND}: not an assignment key: ${access.key.slice(0, 100)}`);
      }
      const removed = await remove(a);
      ctx.log(`${KIND}: drift ${removed ? 'removed' : 'already gone'}: ${access.description}`);
    },
  };

  async function userOf(
    t: IdentityCenterTarget,
    principalId: string,
  ): Promise<{ name: string; lookedUp: boolean }> {
    try {
      const u = await (
        await store(t.region)
      ).send(
        new (await storeSdk()).DescribeUserCommand({
          IdentityStoreId: t.identity_store_id,
          UserId: principalId,
        }),
      );
      const issuer = t.user_lookup?.external_id_issuer;
      return {
        name: u.UserName ?? principalId,
        lookedUp: issuer !== undefined && (u.ExternalIds ?? []).some((x) => x.Issuer === issuer),
      };
    } catch (e) {
      if (errorName(e) === 'ResourceNotFoundException')
        return { name: principalId, lookedUp: false };
      throw awsError(KIND, `describing user ${principalId}`, e);
    }
  }

  return provider;
}

/**
 * A console session outlives the removal of its assignment for up to the permission set's
 * session duration (AWS does not end it). Returns a warning when that duration is longer than
 * the resource's `max_duration`, the window reviewers approved.
 */
export async function sessionDurationWarning(
  resource: Resource,
  a: Pick<Assignment, 'region' | 'instance_arn' | 'permission_set_arn'>,
  config: AwsClientConfig = {},
): Promise<string | undefined> {
  let raw: string | undefined;
  try {
    const m = await ssoSdk();
    const r = await new m.SSOAdminClient(clientOptions(a.region, config)).send(
      new m.DescribePermissionSetCommand({
        InstanceArn: a.instance_arn,
        PermissionSetArn: a.permission_set_arn,
      }),
    );
    raw = r.PermissionSet?.SessionDuration;
  } catch (e) {
    return `could not read the permission set's session duration (${awsError(KIND, 'DescribePermissionSet', e).message})`;
  }
  // AWS's default when none is set is one hour.
  const parsed = parseDuration(raw ?? 'PT1H');
  if (!parsed.ok)
    return `the permission set's session duration ${JSON.stringify(raw)} is not readable`;
  if (parsed.value <= resource.max_duration) return undefined;
  return (
    `permission set session duration ${raw ?? 'PT1H'} is longer than ${resource.name}'s ` +
    `max_duration (${resource.max_duration}s): a console or CLI session started during a grant ` +
    "keeps working after revoke for up to the session duration. Lower the permission set's " +
    'session duration to at most max_duration'
  );
}

/** For `gatepass validate --aws`: the session-duration check of one resource's target. */
export async function checkIdentityCenterResource(
  resource: Resource,
  config: AwsClientConfig = {},
): Promise<string[]> {
  const t = readTarget(resource);
  const w = await sessionDurationWarning(resource, t, config);
  return w ? [w] : [];
}

export const awsIdentityCenterProvider: Provider = createIdentityCenterProvider();

export default awsIdentityCenterProvider;
