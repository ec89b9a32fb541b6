import { describe, expect, it } from '@jest/globals';
import type { GrantTimeline } from '../../../src/core/audit-timeline.js';
import {
  csvCell,
  markdownCell,
  mermaidText,
  renderAuditCsv,
  renderAuditGantt,
  renderAuditMarkdown,
} from '../../../src/engine/audit/render.js';

const timeline = (overrides: Partial<GrantTimeline> = {}): GrantTimeline => ({
  id: 'req-1',
  resource: 'prod-db',
  requester: { login: 'dave', id: 104 },
  approvers: [{ login: 'alice', id: 101, review_id: 1, via: 'alice' }],
  issuedSha: 'a'.repeat(40),
  issuedAt: '2030-01-01T10:00:00.000Z',
  expiresAt: '2030-01-01T11:00:00.000Z',
  events: [],
  anomalies: [],
  widenings: [],
  invalid: [],
  ...overrides,
});

describe('audit rendering', () => {
  it('escapes Mermaid syntax in names with its entity codes', () => {
    expect(mermaidText('a:b#c;d%e\nf')).toBe('a#58;b#35;c#59;d#37;e f');
    const chart = renderAuditGantt({
      commits: 1,
      generatedAt: '2030-01-02T00:00:00Z',
      grants: [timeline({ resource: 'db: "x"', requester: { login: 'eve:crit, x', id: 1 } })],
    });
    expect(chart.split('\n').slice(4)).toEqual([
      '  section db#58; #34;x#34;',
      '    req-1 eve#58;crit, x :active, g1, 2030-01-01 10:00:00, 2030-01-01 11:00:00',
    ]);
  });

  it('quotes CSV cells holding commas, quotes or line breaks and defuses formulas', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('line\nbreak')).toBe('"line\nbreak"');
    expect(csvCell('=1+2')).toBe("'=1+2");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    const csv = renderAuditCsv({
      commits: 1,
      generatedAt: '',
      grants: [timeline({ justification: 'x, "y"' })],
    });
    expect(csv.split('\r\n')[1]).toContain(',"x, ""y""",');
  });

  it('keeps Markdown table cells in their column and renders no HTML', () => {
    expect(markdownCell('a|b <img src=x>')).toBe('a\\|b &lt;img src=x&gt;');
    const md = renderAuditMarkdown({
      commits: 1,
      generatedAt: '2030-01-02T00:00:00Z',
      grants: [timeline({ requester: { login: 'x|y', id: 1 } })],
      findings: [],
    });
    expect(md).toContain('### Verification: no findings');
    expect(md).toContain(
      '| req-1 | prod-db | x\\|y | active | alice | 2030-01-01 10:00Z | 2030-01-01 11:00Z |  |',
    );
  });
});
