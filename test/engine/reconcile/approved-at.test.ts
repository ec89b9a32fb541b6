import { describe, expect, it } from '@jest/globals';
import { approvedAt } from '../../../src/engine/reconcile/index.js';

const now = new Date('2030-01-01T10:10:00.000Z');

describe('approvedAt', () => {
  it('is the merge time', () => {
    expect(approvedAt('2030-01-01T10:05:00Z', '2030-01-01T10:00:00.250Z', now)).toBe(
      '2030-01-01T10:05:00Z',
    );
  });

  it('is the request time when a merge in the same second reads as earlier (GitHub has whole seconds)', () => {
    expect(approvedAt('2030-01-01T10:00:00Z', '2030-01-01T10:00:00.750Z', now)).toBe(
      '2030-01-01T10:00:00.750Z',
    );
  });

  it('keeps a merge a second or more before the request, for the grant check to refuse', () => {
    expect(approvedAt('2030-01-01T09:59:59Z', '2030-01-01T10:00:00.000Z', now)).toBe(
      '2030-01-01T09:59:59Z',
    );
  });

  it('is now when GitHub gives no merge time', () => {
    expect(approvedAt(null, '2030-01-01T10:00:00Z', now)).toBe(now.toISOString());
  });
});
