import { GRANT_STATUSES } from './grant.js';
import { NAME_PATTERN } from './policy.js';

/**
 * The grant file's JSON Schema (2020-12), as written in YAML (durations as `2h` text). The
 * validator is generated from it ahead of time (src/core/generated/grant-validator.ts).
 */
const person = {
  type: 'object',
  required: ['login', 'id'],
  additionalProperties: false,
  properties: {
    login: { type: 'string', minLength: 1, maxLength: 39 },
    id: { type: 'integer', minimum: 1 },
  },
} as const;
const timestamp = { type: 'string', format: 'date-time', maxLength: 40 } as const;
const text = (maxLength: number) => ({ type: 'string', maxLength }) as const;
const sha = { type: 'string', pattern: '^[0-9a-f]{40}([0-9a-f]{24})?$' } as const;
const name = { type: 'string', pattern: NAME_PATTERN.source } as const;

export const GRANT_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://gatepass.dev/schema/grant.json',
  title: 'gatepass grant file',
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'resource',
    'status',
    'requester',
    'duration',
    'justification',
    'source',
    'policy_commit',
    'requested_at',
  ],
  properties: {
    id: name,
    resource: name,
    status: { enum: [...GRANT_STATUSES] },
    requester: person,
    duration: { type: 'string', minLength: 1, maxLength: 32 },
    justification: text(2000),
    ticket: { type: 'string', minLength: 1, maxLength: 100 },
    source: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: {
        issue: { type: 'integer', minimum: 1 },
        pull_request: { type: 'integer', minimum: 1 },
      },
    },
    policy_commit: sha,
    requested_at: timestamp,
    start_at: timestamp,
    extends: name,
    break_glass: {
      type: 'object',
      additionalProperties: false,
      required: ['reason'],
      properties: { reason: { type: 'string', minLength: 1, maxLength: 2000 } },
    },
    approval: {
      type: 'object',
      additionalProperties: false,
      required: ['approved_at', 'rule', 'approvers'],
      properties: {
        approved_at: timestamp,
        rule: {
          type: 'string',
          pattern: '^(reviews|break_glass|auto_approve:[A-Za-z0-9_.-]{1,64})$',
        },
        approvers: {
          type: 'array',
          maxItems: 50,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['login', 'id', 'review_id'],
            properties: {
              login: person.properties.login,
              id: person.properties.id,
              review_id: { type: 'integer', minimum: 1 },
              via: { type: 'string', maxLength: 140 },
            },
          },
        },
        merge_commit: sha,
      },
    },
    issued_at: timestamp,
    expires_at: timestamp,
    revoke_requested: {
      type: 'object',
      additionalProperties: false,
      required: ['by', 'at'],
      properties: { by: person, at: timestamp, reason: text(2000) },
    },
    ended_at: timestamp,
    end_reason: text(2000),
    issued: {
      type: 'object',
      maxProperties: 50,
      propertyNames: { pattern: '^[A-Za-z0-9_.-]{1,64}$' },
      additionalProperties: {
        anyOf: [
          text(4000),
          { type: 'number' },
          { type: 'boolean' },
          { type: 'array', maxItems: 100, items: text(4000) },
        ],
      },
    },
  },
} as const;
