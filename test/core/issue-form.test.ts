import { describe, it, expect } from '@jest/globals';
import { parse } from 'yaml';
import { renderIssueForm } from '../../src/core/issue-form.js';
import { loadPolicies } from '../../src/core/policy-load.js';
import {
  parseRequestBody,
  renderRequestBody,
  BREAK_GLASS_OPTION,
} from '../../src/core/request-parse.js';
import { FORM_FIELDS } from '../../src/core/request.js';
import { policyFilesIn } from '../helpers/policy-files.js';

interface FormField {
  type: string;
  id?: string;
  attributes: { label?: string; options?: (string | { label: string })[] };
}

const examples = async () =>
  loadPolicies(policyFilesIn(new URL('../../policies/', import.meta.url))).policies;

describe('renderIssueForm', () => {
  it('offers exactly the resources the policies define', async () => {
    const policies = await examples();
    const form = parse(renderIssueForm(policies)) as { body: FormField[] };
    const dropdown = form.body.find((f) => f.id === 'resource');
    expect(dropdown?.attributes.options).toEqual([...policies.resources.keys()].sort());
  });

  it('uses the labels the request parser reads', async () => {
    const form = parse(renderIssueForm(await examples())) as { body: FormField[] };
    const labels = form.body.filter((f) => f.type !== 'markdown').map((f) => f.attributes.label);
    expect(new Set(labels)).toEqual(new Set(Object.values(FORM_FIELDS)));
    const breakGlass = form.body.find((f) => f.attributes.label === FORM_FIELDS.breakGlass);
    expect(breakGlass?.attributes.options).toEqual([
      { label: BREAK_GLASS_OPTION, required: false },
    ]);
  });

  it('produces issues the app can parse, for every resource it offers', async () => {
    const policies = await examples();
    for (const name of policies.resources.keys()) {
      const body = renderRequestBody({
        resource: name,
        justification: 'Investigating INC-1 latency spike on checkout',
      });
      const parsed = parseRequestBody(body);
      expect(parsed.ok && parsed.value.resource).toBe(name);
    }
  });

  it('leaves out the break-glass box when no resource allows it', () => {
    const form = parse(renderIssueForm({ resources: new Map() })) as { body: FormField[] };
    expect(form.body.some((f) => f.attributes.label === FORM_FIELDS.breakGlass)).toBe(false);
  });

  it('quotes resource names a YAML 1.1 reader would take for booleans, nulls or numbers', () => {
    const names = ['yes', 'no', 'on', 'off', 'y', 'n', 'true', 'null', '010', '1e3', '0x1f', 'db'];
    const resources = names.map(
      (n) =>
        `  '${n}':\n    description: d\n    provider: command\n    target: { path: x.sh }\n    max_duration: 1h\n    default_duration: 1h\n    approvals_required: 1\n    requesters: [alice]\n    approvers: [bob]\n`,
    );
    const { policies, problems } = loadPolicies([
      { path: 'policies/p.yaml', text: `resources:\n${resources.join('')}` },
    ]);
    expect(problems).toEqual([]);
    const text = renderIssueForm(policies);
    // GitHub's reader and ours both get the names back, as strings.
    for (const version of ['1.1', '1.2'] as const) {
      const form = parse(text, { version }) as { body: FormField[] };
      const options = form.body.find((f) => f.id === 'resource')?.attributes.options;
      expect(options).toEqual([...names].sort());
    }
    expect(text).toMatch(/^ {8}- db$/m);
    expect(text).toMatch(/^ {8}- "yes"$/m);
  });
});
