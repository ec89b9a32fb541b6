import { randomBytes, randomUUID } from 'node:crypto';
import { denyingStatement, policyProblems, policySize, ROLE_INLINE_LIMIT } from './iam-policy.js';

/*
 * The in-memory AWS the stand-in serves: one account, one IAM Identity Center instance with its
 * identity store, IAM roles and the STS sessions issued for them. Operations behave as AWS
 * documents them where gatepass depends on it: account assignments are created and deleted
 * asynchronously (IN_PROGRESS, then SUCCEEDED or FAILED, visible in ListAccountAssignments
 * only once done); AssumeRole enforces 900 s ≤ DurationSeconds ≤ the role's maximum and the
 * one-hour role-chaining limit; GetRolePolicy answers URL-encoded documents.
 */

export class AwsFault extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export const ACCOUNT = '111122223333';
export const INSTANCE_ARN = 'arn:aws:sso:::instance/ssoins-1111222233334444';
export const IDENTITY_STORE = 'd-1234567890';
/** The static credentials the stand-in accepts for gatepass itself (an IAM user). */
export const ADMIN_KEY = {
  accessKeyId: 'AKIAGATEPASSTESTKEY1',
  secretAccessKey: 'standin-secret-key',
};

export interface User {
  UserId: string;
  UserName: string;
  ExternalIds: { Issuer: string; Id: string }[];
}

export interface PermissionSet {
  arn: string;
  name: string;
  sessionDuration?: string;
}

interface Operation {
  kind: 'create' | 'delete';
  requestId: string;
  key: string;
  principalId: string;
  principalType: string;
  targetId: string;
  permissionSetArn: string;
  status: 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED';
  failureReason?: string;
  pollsLeft: number;
  createdDate: Date;
}

export interface Role {
  name: string;
  arn: string;
  roleId: string;
  maxSessionDuration: number;
  created: Date;
  inline: Map<string, string>;
}

export interface StsSession {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  roleArn: string;
  roleName: string;
  roleId: string;
  sessionName: string;
  sourceIdentity?: string;
  issuedAt: Date;
  expiration: Date;
}

const assignmentKey = (targetId: string, ps: string, type: string, id: string) =>
  `${targetId}|${ps}|${type}|${id}`;

export class AwsWorld {
  now: () => Date = () => new Date();
  /** How many status polls an assignment operation stays IN_PROGRESS. */
  asyncPolls = 2;
  /** The next creation ends FAILED with this reason. */
  failNextCreation?: string;
  /** Operations never finish (to test the bounded wait). */
  stuck = false;

  readonly users = new Map<string, User>();
  readonly permissionSets = new Map<string, PermissionSet>();
  readonly assignments = new Set<string>();
  readonly operations = new Map<string, Operation>();
  readonly roles = new Map<string, Role>();
  readonly sessions = new Map<string, StsSession>();

  addUser(userName: string, externalIds: User['ExternalIds'] = []): User {
    const u = { UserId: randomUUID(), UserName: userName, ExternalIds: externalIds };
    this.users.set(u.UserId, u);
    return u;
  }

  addPermissionSet(
    name: string,
    sessionDuration?: string,
    id = `ps-${randomBytes(8).toString('hex')}`,
  ): PermissionSet {
    const ps = {
      arn: `${INSTANCE_ARN.replace(':instance/', ':permissionSet/')}/${id}`,
      name,
      ...(sessionDuration ? { sessionDuration } : {}),
    };
    this.permissionSets.set(ps.arn, ps);
    return ps;
  }

  addRole(name: string, maxSessionDuration = 3600): Role {
    const r = {
      name,
      arn: `arn:aws:iam::${ACCOUNT}:role/${name}`,
      roleId: `AROA${randomBytes(8).toString('hex').toUpperCase()}`,
      maxSessionDuration,
      created: this.now(),
      inline: new Map<string, string>(),
    };
    this.roles.set(name, r);
    return r;
  }

  /** Assigns outside gatepass, as an administrator would in the console. */
  assign(ps: PermissionSet, user: User, targetId = ACCOUNT): void {
    this.assignments.add(assignmentKey(targetId, ps.arn, 'USER', user.UserId));
  }

  hasAssignment(ps: PermissionSet, user: User, targetId = ACCOUNT): boolean {
    return this.assignments.has(assignmentKey(targetId, ps.arn, 'USER', user.UserId));
  }

  /** Whether a session may call AWS now: not expired and no Deny on its role applies. */
  sessionState(accessKeyId: string): 'valid' | 'expired' | 'denied' | 'unknown' {
    const s = this.sessions.get(accessKeyId);
    if (!s) return 'unknown';
    if (s.expiration.getTime() <= this.now().getTime()) return 'expired';
    const role = this.roles.get(s.roleName);
    const deny = denyingStatement(role?.inline.values() ?? [], s);
    return deny ? 'denied' : 'valid';
  }

  /** Finishes every operation still in progress (time passing with nobody polling). */
  settle(): void {
    for (const op of this.operations.values()) if (op.status === 'IN_PROGRESS') this.finish(op);
  }

  // --- identity store ---------------------------------------------------------------------

  getUserId(input: Record<string, unknown>): Record<string, unknown> {
    this.store(input.IdentityStoreId);
    const alt = input.AlternateIdentifier as {
      ExternalId?: { Issuer: string; Id: string };
      UniqueAttribute?: { AttributePath: string; AttributeValue: unknown };
    };
    let user: User | undefined;
    if (alt.ExternalId) {
      const { Issuer, Id } = alt.ExternalId;
      user = [...this.users.values()].find((u) =>
        u.ExternalIds.some((x) => x.Issuer === Issuer && x.Id === Id),
      );
    } else if (alt.UniqueAttribute) {
      if (alt.UniqueAttribute.AttributePath.toLowerCase() !== 'username')
        throw new AwsFault('ValidationException', 'unsupported AttributePath');
      user = [...this.users.values()].find(
        (u) => u.UserName === alt.UniqueAttribute!.AttributeValue,
      );
    }
    if (!user) throw new AwsFault('ResourceNotFoundException', 'USER not found');
    return { UserId: user.UserId, IdentityStoreId: IDENTITY_STORE };
  }

  describeUser(input: Record<string, unknown>): Record<string, unknown> {
    this.store(input.IdentityStoreId);
    const u = this.users.get(String(input.UserId));
    if (!u) throw new AwsFault('ResourceNotFoundException', 'USER not found');
    return {
      UserId: u.UserId,
      UserName: u.UserName,
      IdentityStoreId: IDENTITY_STORE,
      ...(u.ExternalIds.length ? { ExternalIds: u.ExternalIds } : {}),
    };
  }

  private store(id: unknown): void {
    if (id !== IDENTITY_STORE)
      throw new AwsFault('ResourceNotFoundException', `identity store ${String(id)} not found`);
  }

  // --- SSO admin --------------------------------------------------------------------------

  private instance(arn: unknown): void {
    if (arn !== INSTANCE_ARN)
      throw new AwsFault('ResourceNotFoundException', `instance ${String(arn)} not found`);
  }

  private permissionSet(arn: unknown): PermissionSet {
    const ps = this.permissionSets.get(String(arn));
    if (!ps)
      throw new AwsFault('ResourceNotFoundException', `permission set ${String(arn)} not found`);
    return ps;
  }

  private startOperation(kind: Operation['kind'], input: Record<string, unknown>): Operation {
    this.instance(input.InstanceArn);
    this.permissionSet(input.PermissionSetArn);
    if (input.TargetType !== 'AWS_ACCOUNT')
      throw new AwsFault('ValidationException', 'TargetType must be AWS_ACCOUNT');
    if (!/^\d{12}$/.test(String(input.TargetId)))
      throw new AwsFault('ValidationException', 'TargetId must be a 12-digit account id');
    if (input.PrincipalType !== 'USER' && input.PrincipalType !== 'GROUP')
      throw new AwsFault('ValidationException', 'PrincipalType must be USER or GROUP');
    const key = assignmentKey(
      String(input.TargetId),
      String(input.PermissionSetArn),
      String(input.PrincipalType),
      String(input.PrincipalId),
    );
    if ([...this.operations.values()].some((o) => o.key === key && o.status === 'IN_PROGRESS'))
      throw new AwsFault(
        'ConflictException',
        'an operation on this assignment is already in progress',
      );
    const op: Operation = {
      kind,
      requestId: randomUUID(),
      key,
      principalId: String(input.PrincipalId),
      principalType: String(input.PrincipalType),
      targetId: String(input.TargetId),
      permissionSetArn: String(input.PermissionSetArn),
      status: 'IN_PROGRESS',
      pollsLeft: this.asyncPolls,
      createdDate: this.now(),
    };
    if (kind === 'create' && this.failNextCreation !== undefined) {
      op.failureReason = this.failNextCreation;
      this.failNextCreation = undefined;
    }
    if (kind === 'create' && op.principalType === 'USER' && !this.users.has(op.principalId))
      op.failureReason = `Principal ${op.principalId} does not exist`;
    this.operations.set(op.requestId, op);
    if (op.pollsLeft <= 0) this.finish(op);
    return op;
  }

  private finish(op: Operation): void {
    if (op.failureReason) {
      op.status = 'FAILED';
      return;
    }
    if (op.kind === 'create') this.assignments.add(op.key);
    else this.assignments.delete(op.key);
    op.status = 'SUCCEEDED';
  }

  private statusOf(op: Operation): Record<string, unknown> {
    return {
      Status: op.status,
      RequestId: op.requestId,
      TargetId: op.targetId,
      TargetType: 'AWS_ACCOUNT',
      PermissionSetArn: op.permissionSetArn,
      PrincipalType: op.principalType,
      PrincipalId: op.principalId,
      CreatedDate: op.createdDate,
      ...(op.status === 'FAILED' ? { FailureReason: op.failureReason } : {}),
    };
  }

  createAccountAssignment(input: Record<string, unknown>): Record<string, unknown> {
    return { AccountAssignmentCreationStatus: this.statusOf(this.startOperation('create', input)) };
  }

  deleteAccountAssignment(input: Record<string, unknown>): Record<string, unknown> {
    const key = assignmentKey(
      String(input.TargetId),
      String(input.PermissionSetArn),
      String(input.PrincipalType),
      String(input.PrincipalId),
    );
    if (!this.assignments.has(key))
      throw new AwsFault('ResourceNotFoundException', 'the account assignment does not exist');
    return { AccountAssignmentDeletionStatus: this.statusOf(this.startOperation('delete', input)) };
  }

  private poll(input: Record<string, unknown>, idKey: string, kind: Operation['kind']): Operation {
    this.instance(input.InstanceArn);
    const op = this.operations.get(String(input[idKey]));
    if (!op || op.kind !== kind)
      throw new AwsFault('ResourceNotFoundException', `request ${String(input[idKey])} not found`);
    if (op.status === 'IN_PROGRESS' && !this.stuck && --op.pollsLeft <= 0) this.finish(op);
    return op;
  }

  describeCreation(input: Record<string, unknown>): Record<string, unknown> {
    const op = this.poll(input, 'AccountAssignmentCreationRequestId', 'create');
    return { AccountAssignmentCreationStatus: this.statusOf(op) };
  }

  describeDeletion(input: Record<string, unknown>): Record<string, unknown> {
    const op = this.poll(input, 'AccountAssignmentDeletionRequestId', 'delete');
    return { AccountAssignmentDeletionStatus: this.statusOf(op) };
  }

  listAccountAssignments(input: Record<string, unknown>): Record<string, unknown> {
    this.instance(input.InstanceArn);
    this.permissionSet(input.PermissionSetArn);
    const all = [...this.assignments]
      .map((k) => k.split('|'))
      .filter(([t, ps]) => t === input.AccountId && ps === input.PermissionSetArn)
      .map(([t, ps, type, id]) => ({
        AccountId: t,
        PermissionSetArn: ps,
        PrincipalType: type,
        PrincipalId: id,
      }));
    // Pages of at most MaxResults (default 2 here, so callers must follow NextToken).
    const size = Number(input.MaxResults ?? 2);
    const start = input.NextToken === undefined ? 0 : Number(input.NextToken);
    const page = all.slice(start, start + size);
    return {
      AccountAssignments: page,
      ...(start + size < all.length ? { NextToken: String(start + size) } : {}),
    };
  }

  describePermissionSet(input: Record<string, unknown>): Record<string, unknown> {
    this.instance(input.InstanceArn);
    const ps = this.permissionSet(input.PermissionSetArn);
    return {
      PermissionSet: {
        Name: ps.name,
        PermissionSetArn: ps.arn,
        ...(ps.sessionDuration ? { SessionDuration: ps.sessionDuration } : {}),
        CreatedDate: new Date(0),
      },
    };
  }

  // --- STS ----------------------------------------------------------------------------------

  /**
   * The caller an access key belongs to: gatepass's IAM user, or a role session. An expired
   * session is refused; a denied one only where policies apply (`authorize`): like AWS,
   * GetCallerIdentity answers even when every action is denied.
   */
  caller(
    accessKeyId: string,
    authorize = true,
  ): { arn: string; userId: string; session?: StsSession } {
    if (accessKeyId === ADMIN_KEY.accessKeyId)
      return { arn: `arn:aws:iam::${ACCOUNT}:user/gatepass`, userId: 'AIDAGATEPASS' };
    const s = this.sessions.get(accessKeyId);
    if (!s)
      throw new AwsFault(
        'InvalidClientTokenId',
        'The security token included in the request is invalid.',
        403,
      );
    const state = this.sessionState(accessKeyId);
    if (state === 'expired')
      throw new AwsFault(
        'ExpiredToken',
        'The security token included in the request is expired',
        403,
      );
    if (authorize && state !== 'valid')
      throw new AwsFault(
        'AccessDenied',
        `session ${s.sessionName} is denied by an explicit deny`,
        403,
      );
    return {
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${s.roleName}/${s.sessionName}`,
      userId: `${s.roleId}:${s.sessionName}`,
      session: s,
    };
  }

  getCallerIdentity(accessKeyId: string): Record<string, unknown> {
    const c = this.caller(accessKeyId, false);
    return { UserId: c.userId, Account: ACCOUNT, Arn: c.arn };
  }

  assumeRole(input: Record<string, unknown>, accessKeyId: string): Record<string, unknown> {
    const caller = this.caller(accessKeyId);
    const arn = String(input.RoleArn);
    const role = [...this.roles.values()].find((r) => r.arn === arn);
    if (!role)
      throw new AwsFault('AccessDenied', `not authorized to perform sts:AssumeRole on ${arn}`, 403);
    const name = String(input.RoleSessionName);
    if (!/^[\w+=,.@-]{2,64}$/.test(name))
      throw new AwsFault('ValidationError', 'RoleSessionName must match [\\w+=,.@-]{2,64}');
    const source = input.SourceIdentity as string | undefined;
    if (source !== undefined && (!/^[\w+=,.@-]{2,64}$/.test(source) || /^aws:/i.test(source)))
      throw new AwsFault('ValidationError', 'SourceIdentity must match [\\w+=,.@-]{2,64}');
    const duration = input.DurationSeconds === undefined ? 3600 : Number(input.DurationSeconds);
    if (duration < 900 || duration > 43200)
      throw new AwsFault('ValidationError', 'DurationSeconds must be between 900 and 43200');
    if (duration > role.maxSessionDuration)
      throw new AwsFault(
        'ValidationError',
        'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
      );
    if (caller.session && duration > 3600)
      throw new AwsFault(
        'ValidationError',
        'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
      );
    // Second precision, like STS.
    const issuedAt = new Date(Math.floor(this.now().getTime() / 1000) * 1000);
    const s: StsSession = {
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(64).toString('base64'),
      roleArn: role.arn,
      roleName: role.name,
      roleId: role.roleId,
      sessionName: name,
      ...(source ? { sourceIdentity: source } : {}),
      issuedAt,
      expiration: new Date(issuedAt.getTime() + duration * 1000),
    };
    this.sessions.set(s.accessKeyId, s);
    return {
      Credentials: {
        AccessKeyId: s.accessKeyId,
        SecretAccessKey: s.secretAccessKey,
        SessionToken: s.sessionToken,
        Expiration: s.expiration,
      },
      AssumedRoleUser: {
        AssumedRoleId: `${role.roleId}:${name}`,
        Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${role.name}/${name}`,
      },
      ...(source ? { SourceIdentity: source } : {}),
    };
  }

  // --- IAM ----------------------------------------------------------------------------------

  private role(name: unknown): Role {
    const r = this.roles.get(String(name));
    if (!r)
      throw new AwsFault(
        'NoSuchEntity',
        `The role with name ${String(name)} cannot be found.`,
        404,
      );
    return r;
  }

  getRole(input: Record<string, unknown>): Record<string, unknown> {
    const r = this.role(input.RoleName);
    return {
      Role: {
        Path: '/',
        RoleName: r.name,
        RoleId: r.roleId,
        Arn: r.arn,
        CreateDate: r.created,
        MaxSessionDuration: r.maxSessionDuration,
      },
    };
  }

  getRolePolicy(input: Record<string, unknown>): Record<string, unknown> {
    const r = this.role(input.RoleName);
    const doc = r.inline.get(String(input.PolicyName));
    if (doc === undefined)
      throw new AwsFault(
        'NoSuchEntity',
        `The role policy with name ${String(input.PolicyName)} cannot be found.`,
        404,
      );
    return {
      RoleName: r.name,
      PolicyName: String(input.PolicyName),
      PolicyDocument: encodeURIComponent(doc),
    };
  }

  putRolePolicy(input: Record<string, unknown>): Record<string, unknown> {
    const r = this.role(input.RoleName);
    const text = String(input.PolicyDocument);
    const problems = policyProblems(text);
    if (problems.length) throw new AwsFault('MalformedPolicyDocument', problems.join('; '));
    let total = policySize(text);
    for (const [name, doc] of r.inline) if (name !== input.PolicyName) total += policySize(doc);
    if (total > 10_240 || total > ROLE_INLINE_LIMIT)
      throw new AwsFault('LimitExceeded', 'Maximum policy size of 10240 bytes exceeded for role');
    r.inline.set(String(input.PolicyName), text);
    return {};
  }

  deleteRolePolicy(input: Record<string, unknown>): Record<string, unknown> {
    const r = this.role(input.RoleName);
    if (!r.inline.delete(String(input.PolicyName)))
      throw new AwsFault(
        'NoSuchEntity',
        `The role policy with name ${String(input.PolicyName)} cannot be found.`,
        404,
      );
    return {};
  }
}
