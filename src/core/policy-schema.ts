import { NAME_PATTERN, PROVIDER_KINDS } from './policy.js';
import { TEAM_PATTERN } from './identity.js';

/**
 * The JSON Schema (2020-12) every `policies/*.yaml` file is checked against. It checks shape
 * only; rules it cannot express (durations, limits relative to each other, principal and name
 * spelling, regex safety, inline secrets) live in policy-load.ts, where the messages can be
 * specific. `policies/schema.json` is generated from this object so editors can use it too.
 *
 * `patternErrorMessage` is the message the loader shows for a failed `pattern`, so nobody is
 * told to "match pattern ^env:…$"; it is not a JSON Schema keyword, so the published file
 * leaves it out (strict validators refuse unknown keywords).
 */

const ENV_NAME = '[A-Za-z_][A-Za-z0-9_]*';
// Each segment is a plain name; `.` and `..` segments are refused so a path cannot leave the repo.
const REPO_SEGMENT = '(?!\\.{1,2}(?:/|$))[A-Za-z0-9._-]+';

const duration = (what: string) => ({
  type: 'string',
  description: `${what}, e.g. 30m, 1h30m, 4h, 1d or ISO 8601 PT1H30M (1m to 90d)`,
  minLength: 1,
  maxLength: 32,
});

const principals = (what: string) => ({
  type: 'array',
  description: `${what}: GitHub logins (alice) or teams (org/team-slug)`,
  minItems: 1,
  maxItems: 100,
  uniqueItems: true,
  items: { type: 'string', minLength: 1, maxLength: 150 },
});

const secretRef = (what: string) => ({
  type: 'string',
  description: `${what}, as a reference to an environment variable: env:NAME (never the secret itself)`,
  pattern: `^env:${ENV_NAME}$`,
  patternErrorMessage:
    'must be a reference to an environment variable, env:NAME; secrets are never written in policy files',
});

const repoPath = (what: string) => ({
  type: 'string',
  description: `${what}, relative to the repository root`,
  maxLength: 300,
  pattern: `^${REPO_SEGMENT}(?:/${REPO_SEGMENT})*$`,
  patternErrorMessage:
    'must be a path relative to the repository root, without leading "/", "." or ".." segments',
});

const awsRegion = {
  type: 'string',
  description: 'AWS region of the API endpoint, e.g. eu-west-1',
  pattern: '^[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}$',
  patternErrorMessage: 'must be an AWS region such as eu-west-1',
};

const closed = (properties: Record<string, unknown>, required: string[]) => ({
  type: 'object',
  additionalProperties: false,
  required,
  properties,
});

const TARGETS: Record<(typeof PROVIDER_KINDS)[number], Record<string, unknown>> = {
  'github-team': closed(
    {
      team: {
        type: 'string',
        description: 'The team the requester is added to, as org/team-slug',
        pattern: TEAM_PATTERN.source,
        patternErrorMessage: 'must be a team written as org/team-slug',
      },
      role: { enum: ['member', 'maintainer'], default: 'member' },
    },
    ['team'],
  ),
  'github-collaborator': closed(
    {
      repository: {
        type: 'string',
        description: 'The repository, as owner/name',
        pattern: '^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$',
        patternErrorMessage: 'must be a repository written as owner/name',
      },
      permission: { enum: ['pull', 'triage', 'push', 'maintain', 'admin'] },
    },
    ['repository', 'permission'],
  ),
  postgres: closed(
    {
      admin_url: secretRef('Connection URL of a role allowed to create roles'),
      database: {
        type: 'string',
        description: 'Database the per-grant login role may connect to',
        pattern: '^[A-Za-z_][A-Za-z0-9_$-]{0,62}$',
        patternErrorMessage:
          'must be a database name (letters, digits, "_", "$", "-"; at most 63 characters)',
      },
      roles: {
        type: 'array',
        description: 'Existing roles granted to the per-grant login role',
        minItems: 1,
        maxItems: 20,
        uniqueItems: true,
        items: {
          type: 'string',
          pattern: '^[a-z_][a-z0-9_$]{0,62}$',
          patternErrorMessage:
            'must be a lower-case PostgreSQL identifier (a-z, 0-9, "_", "$"; at most 63 characters)',
        },
      },
      connection_limit: { type: 'integer', minimum: 1, maximum: 100, default: 2 },
      statement_timeout: duration('Statement timeout set on the login role'),
      keep_objects: {
        type: 'boolean',
        default: false,
        description:
          'Keep what the grantee created, owned by the powerless gatepass_kept_objects role, instead of dropping it at revoke',
      },
    },
    ['admin_url', 'database', 'roles'],
  ),
  'ssh-certificate': closed(
    {
      ca_key: secretRef('The CA private key'),
      principals: {
        type: 'array',
        description: 'Principals (remote user names) written into the certificate',
        minItems: 1,
        maxItems: 50,
        uniqueItems: true,
        items: {
          type: 'string',
          pattern: '^[A-Za-z0-9._@-]{1,64}$',
          patternErrorMessage:
            'must be a principal name (letters, digits, ".", "_", "@", "-"; no commas or spaces)',
        },
      },
      extensions: {
        type: 'array',
        description: 'Certificate extensions; none are granted unless listed',
        uniqueItems: true,
        items: {
          enum: [
            'permit-pty',
            'permit-port-forwarding',
            'permit-agent-forwarding',
            'permit-X11-forwarding',
            'permit-user-rc',
          ],
        },
      },
      source_address: {
        type: 'array',
        description: 'Addresses the certificate may be used from (the source-address option)',
        minItems: 1,
        maxItems: 50,
        items: {
          type: 'string',
          pattern: '^[0-9A-Fa-f:.]{2,45}(?:/[0-9]{1,3})?$',
          patternErrorMessage: 'must be an IP address or CIDR block, e.g. 10.0.0.0/8',
        },
      },
      krl_path: {
        ...repoPath('Key revocation list kept in the access repo'),
        default: 'ssh/revoked.krl',
      },
    },
    ['ca_key', 'principals'],
  ),
  command: closed(
    {
      path: repoPath('Executable run to issue and revoke'),
      timeout: duration('How long the command may run'),
      env: {
        type: 'array',
        description: 'Names of environment variables passed through to the command',
        uniqueItems: true,
        maxItems: 50,
        items: {
          type: 'string',
          pattern: `^${ENV_NAME}$`,
          patternErrorMessage: 'must be the name of an environment variable, e.g. SERVICE_TOKEN',
        },
      },
    },
    ['path'],
  ),
  'aws-identity-center': closed(
    {
      region: awsRegion,
      instance_arn: {
        type: 'string',
        description: 'The IAM Identity Center instance ARN (arn:aws:sso:::instance/ssoins-…)',
        pattern: '^arn:aws(?:-us-gov|-cn)?:sso:::instance/(?:sso)?ins-[a-zA-Z0-9-.]{16}$',
        patternErrorMessage: 'must be an Identity Center instance ARN',
      },
      identity_store_id: {
        type: 'string',
        description: "The instance's identity store id (d-…)",
        pattern:
          '^(?:d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$',
        patternErrorMessage: 'must be an identity store id such as d-1234567890',
      },
      account_id: {
        type: 'string',
        description: 'The AWS account the permission set is assigned on (quoted: 12 digits)',
        pattern: '^[0-9]{12}$',
        patternErrorMessage: 'must be a quoted 12-digit AWS account id',
      },
      permission_set_arn: {
        type: 'string',
        description: 'The permission set assigned for the grant window',
        pattern:
          '^arn:aws(?:-us-gov|-cn)?:sso:::permissionSet/(?:sso)?ins-[a-zA-Z0-9-.]{16}/ps-[a-zA-Z0-9-./]{16}$',
        patternErrorMessage: 'must be a permission set ARN',
      },
      users: {
        type: 'object',
        description:
          'GitHub user id → Identity Center user name; only mapped people can be granted (reviewable, never guessed)',
        minProperties: 1,
        propertyNames: { pattern: '^[1-9][0-9]{0,19}$' },
        additionalProperties: { type: 'string', minLength: 1, maxLength: 128 },
      },
      user_lookup: closed(
        {
          external_id_issuer: {
            type: 'string',
            description:
              'Issuer of the identity store external id that holds the GitHub user id (instead of users)',
            minLength: 1,
            maxLength: 100,
          },
        },
        ['external_id_issuer'],
      ),
      standing_users: {
        type: 'array',
        description:
          'Identity Center user names that hold this assignment outside gatepass (not reported as drift)',
        uniqueItems: true,
        maxItems: 100,
        items: { type: 'string', minLength: 1, maxLength: 128 },
      },
    },
    ['region', 'instance_arn', 'identity_store_id', 'account_id', 'permission_set_arn'],
  ),
  'aws-iam-role': closed(
    {
      role_arn: {
        type: 'string',
        description: 'The IAM role the requester gets temporary credentials for',
        pattern:
          '^arn:aws(?:-us-gov|-cn)?:iam::[0-9]{12}:role/(?:[!-~]{0,510}/)?[A-Za-z0-9_+=,.@-]{1,64}$',
        patternErrorMessage: 'must be an IAM role ARN, arn:aws:iam::<account>:role/<name>',
      },
      region: awsRegion,
    },
    ['role_arn', 'region'],
  ),
};

const RESOURCE = {
  type: 'object',
  additionalProperties: false,
  required: [
    'description',
    'provider',
    'target',
    'max_duration',
    'default_duration',
    'requesters',
    'approvers',
    'approvals_required',
  ],
  properties: {
    description: { type: 'string', minLength: 1, maxLength: 500 },
    provider: { enum: [...PROVIDER_KINDS] },
    target: { type: 'object', description: 'Provider-specific; see the provider schemas' },
    max_duration: duration('Longest grant that may be requested'),
    default_duration: duration('Duration when the request names none'),
    requesters: principals('Who may request'),
    approvers: principals('Who may approve'),
    approvals_required: { type: 'integer', minimum: 1, maximum: 10 },
    request: closed(
      {
        justification: closed(
          {
            required: { type: 'boolean', default: true },
            min_length: { type: 'integer', minimum: 0, maximum: 1000, default: 10 },
          },
          [],
        ),
        ticket: closed(
          {
            required: { type: 'boolean', default: false },
            pattern: {
              type: 'string',
              description:
                'Regular expression the whole ticket must match (anchored by gatepass; at most 200 characters, no nested quantifiers, backreferences or lookaround)',
              minLength: 1,
            },
          },
          [],
        ),
      },
      [],
    ),
    auto_approve: {
      type: 'array',
      description: 'Rules under which a request is approved at once, without reviews',
      maxItems: 20,
      items: closed(
        {
          name: {
            type: 'string',
            pattern: NAME_PATTERN.source,
            patternErrorMessage:
              'must be lower-case letters, digits and "-", starting and ending with a letter or digit',
          },
          requester_in: principals('Requesters the rule applies to'),
          max_duration: duration('Longest grant this rule approves'),
        },
        ['name', 'requester_in', 'max_duration'],
      ),
    },
    break_glass: closed(
      {
        allowed: principals('Who may use break-glass'),
        max_duration: duration('Longest break-glass grant'),
        review_within: {
          ...duration('When the after-the-fact review becomes overdue'),
          default: '24h',
        },
      },
      ['allowed', 'max_duration'],
    ),
    request_ttl: { ...duration('How long a request may wait for approval'), default: '24h' },
    max_total_duration: duration(
      'Longest total lifetime of a grant, extensions included (default: twice max_duration)',
    ),
    allow_lasting_access: {
      type: 'boolean',
      default: false,
      description:
        'Allow a target that lets the grantee create access outliving the grant (team maintainer, repository admin/maintain, a PostgreSQL role with CREATEROLE or SUPERUSER)',
    },
  },
  allOf: PROVIDER_KINDS.map((kind) => ({
    if: { type: 'object', required: ['provider'], properties: { provider: { const: kind } } },
    then: { properties: { target: { $ref: `#/$defs/target-${kind}` } } },
  })),
};

export const POLICY_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'gatepass policy file (policies/*.yaml)',
  description:
    'Generated from src/core/policy-schema.ts by `gatepass schema`; do not edit by hand.',
  type: 'object',
  additionalProperties: false,
  required: ['resources'],
  properties: {
    resources: {
      type: 'object',
      description: 'Resources by name; a name is used in paths and identifiers',
      propertyNames: { pattern: NAME_PATTERN.source },
      additionalProperties: { $ref: '#/$defs/resource' },
    },
  },
  $defs: {
    resource: RESOURCE,
    ...Object.fromEntries(PROVIDER_KINDS.map((kind) => [`target-${kind}`, TARGETS[kind]])),
  },
} as const;

/** The schema as committed in `policies/schema.json`. */
/**
 * The published schema (policies/schema.json): `patternErrorMessage`, a keyword of gatepass's
 * own loader, is left out so that strict JSON Schema validators accept the file.
 */
export function policySchemaJson(): string {
  return (
    JSON.stringify(
      POLICY_SCHEMA,
      (key, value: unknown) => (key === 'patternErrorMessage' ? undefined : value),
      2,
    ) + '\n'
  );
}
