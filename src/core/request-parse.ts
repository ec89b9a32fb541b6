import { formatDuration, parseDuration } from './duration.js';
import { NAME_PATTERN, RESERVED_NAMES } from './policy.js';
import { type Problem, type Result, fail, ok } from './problem.js';
import { type AccessRequest, FORM_FIELDS } from './request.js';
import { parseTimestamp } from './timestamp.js';

/** Issue bodies larger than this are refused unread: no honest request comes close. */
export const MAX_BODY_BYTES = 64 * 1024;
export const MAX_JUSTIFICATION_LENGTH = 2000;
export const MAX_TICKET_LENGTH = 100;
/** What GitHub writes for a form field left empty. */
export const NO_RESPONSE = '_No response_';
/** The single option of the break-glass checkboxes field (the form generator writes it). */
export const BREAK_GLASS_OPTION = 'This is an emergency: grant now and review afterwards';

type Field = keyof typeof FORM_FIELDS;

/**
 * Labels compare on letters and digits only, so `break glass`, `Break-Glass` and
 * `BREAK-GLASS *` written by hand all name the same field.
 */
const labelKey = (label: string): string => label.toLowerCase().replace(/[^a-z0-9]/g, '');
const FIELD_BY_KEY = new Map<string, Field>(
  (Object.entries(FORM_FIELDS) as [Field, string][]).map(([field, label]) => [
    labelKey(label),
    field,
  ]),
);

/**
 * Linear-time on purpose: the body is attacker-controlled, and patterns like `(.*?)[ #]*$`
 * backtrack quadratically on a long line of `# # # #`.
 */
function headingLabel(line: string): string | null {
  if (!line.startsWith('###') || !(line[3] === ' ' || line[3] === '\t')) return null;
  let end = line.length;
  while (end > 3 && (line[end - 1] === ' ' || line[end - 1] === '\t' || line[end - 1] === '#'))
    end--;
  return line.slice(4, end).trim();
}
/** C0/C1 controls, DEL, and the bidirectional overrides used to disguise text ("trojan source"). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const CONTROL_EXCEPT_LAYOUT =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

interface Section {
  label: string;
  line: number;
  lines: string[];
}

/**
 * Every line starting with `### ` opens a section, as GitHub writes them. Headings inside code
 * fences are not special-cased: an unclosed fence would otherwise swallow the fields after it.
 */
function splitSections(body: string): Section[] {
  const sections: Section[] = [];
  let current: Section | null = null;
  body.split('\n').forEach((line, i) => {
    const label = headingLabel(line);
    if (label !== null) {
      current = { label, line: i + 1, lines: [] };
      sections.push(current);
    } else current?.lines.push(line);
  });
  return sections;
}

/** The value of a section as a person meant it: no `_No response_`, no wrapping code fence. */
function sectionValue(raw: readonly string[]): string {
  let text = raw.join('\n').trim();
  if (text === NO_RESPONSE) return '';
  // Checked line by line rather than with one backreferencing pattern, which backtracks
  // quadratically on a body that is one long run of backticks.
  const lines = text.split('\n');
  const open = /^(`{3,}|~{3,})/.exec(lines[0]!)?.[1];
  const close = lines[lines.length - 1]!.trim();
  if (open && lines.length >= 2 && close.startsWith(open) && /^(`+|~+)$/.test(close))
    text = lines.slice(1, -1).join('\n').trim();
  return text;
}

/** Single-line values may be wrapped in inline code or emphasis by someone editing by hand. */
function inlineValue(text: string): string {
  let v = text.trim();
  // Real single-line values are short; skipping long ones keeps the backreference below cheap.
  if (v.length > 300) return v;
  for (;;) {
    const m = /^(`+|\*\*|\*|__|_)(.+)\1$/s.exec(v);
    if (!m) return v;
    v = m[2]!.trim();
  }
}

const describe = (s: string): string => JSON.stringify(s.length > 60 ? s.slice(0, 60) + '…' : s);

function checkName(value: string, line: number): Result<string> {
  const where = { path: FORM_FIELDS.resource, line };
  if (value === '') return fail({ ...where, message: 'Resource is required' });
  if (CONTROL.test(value) || value.includes('\u0000'))
    return fail({ ...where, message: 'Resource contains control characters' });
  if (value.includes('/') || value.includes('\\') || value.includes('..'))
    return fail({
      ...where,
      message: `Resource ${describe(value)} is not a resource name: it must not contain "/", "\\" or ".."`,
    });
  if (/[^\x00-\x7f]/.test(value))
    return fail({
      ...where,
      message: `Resource ${describe(value)} contains non-ASCII characters (look-alike letters are refused); use a-z, 0-9 and "-"`,
    });
  if (!NAME_PATTERN.test(value) || RESERVED_NAMES.includes(value))
    return fail({
      ...where,
      message: `Resource ${describe(value)} is not a valid resource name: use lower-case a-z, 0-9 and "-" (at most 64 characters)`,
    });
  return ok(value);
}

/**
 * Reads an access request from the body of an issue opened with the access-request form.
 * Hand-edited bodies are expected: sections may be reordered, labels re-cased, values wrapped
 * in markdown, unknown sections added. Anything doubtful is a Problem; nothing here throws.
 */
export function parseRequestBody(body: string): Result<AccessRequest> {
  if (typeof body !== 'string') return fail({ message: 'the issue has no body' });
  if (Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES)
    return fail({
      message: `the issue body is larger than ${MAX_BODY_BYTES / 1024} KiB; open a new request with the form`,
    });
  const text = body.replace(/\r\n?/g, '\n');
  const problems: Problem[] = [];
  const found = new Map<Field, Section>();
  for (const section of splitSections(text)) {
    const field = FIELD_BY_KEY.get(labelKey(section.label));
    if (!field) continue;
    const earlier = found.get(field);
    if (earlier) {
      problems.push({
        path: FORM_FIELDS[field],
        line: section.line,
        message: `the section "${FORM_FIELDS[field]}" appears twice (lines ${earlier.line} and ${section.line}); keep only one`,
      });
      continue;
    }
    found.set(field, section);
  }
  if (problems.length) return fail(...problems);

  const value = (f: Field): string => {
    const s = found.get(f);
    return s ? sectionValue(s.lines) : '';
  };
  const lineOf = (f: Field): number | undefined => found.get(f)?.line;
  const req: AccessRequest = { resource: '', justification: '' };

  if (!found.has('resource'))
    problems.push({ path: FORM_FIELDS.resource, message: 'the "Resource" section is missing' });
  else {
    const name = checkName(inlineValue(value('resource')), lineOf('resource')!);
    if (name.ok) req.resource = name.value;
    else problems.push(...name.problems);
  }

  const duration = inlineValue(value('duration'));
  if (duration !== '') {
    const d = parseDuration(duration);
    if (d.ok) req.duration = d.value;
    else
      problems.push(
        ...d.problems.map((p) => ({ ...p, path: FORM_FIELDS.duration, line: lineOf('duration') })),
      );
  }

  const justification = value('justification')
    .replace(CONTROL_EXCEPT_LAYOUT, '')
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .trim();
  if (justification === '')
    problems.push({
      path: FORM_FIELDS.justification,
      line: lineOf('justification'),
      message: 'Justification is required: say what you need the access for',
    });
  else if (justification.length > MAX_JUSTIFICATION_LENGTH)
    problems.push({
      path: FORM_FIELDS.justification,
      line: lineOf('justification'),
      message: `Justification is ${justification.length} characters long; keep it under ${MAX_JUSTIFICATION_LENGTH} and link to details`,
    });
  else req.justification = justification;

  const ticket = inlineValue(value('ticket'));
  if (ticket !== '') {
    const where = { path: FORM_FIELDS.ticket, line: lineOf('ticket') };
    if (CONTROL.test(ticket))
      problems.push({ ...where, message: 'Ticket contains control characters or line breaks' });
    else if (ticket.length > MAX_TICKET_LENGTH)
      problems.push({
        ...where,
        message: `Ticket is longer than ${MAX_TICKET_LENGTH} characters`,
      });
    else req.ticket = ticket;
  }

  const start = inlineValue(value('start'));
  if (start !== '') {
    const at = parseTimestamp(start);
    if (at) req.start_at = at.toISOString();
    else
      problems.push({
        path: FORM_FIELDS.start,
        line: lineOf('start'),
        message: `Start time ${describe(start)} is not an ISO 8601 time with a time zone, e.g. 2030-01-31T14:00:00Z or 2030-01-31T15:00+01:00`,
      });
  }

  const ticked = value('breakGlass')
    .split('\n')
    .some((l) => /^[ \t]*[-*][ \t]+\[[xX]\]/.test(l));
  if (ticked && req.justification !== '') req.break_glass = { reason: req.justification };

  return problems.length ? fail(...problems) : ok(req);
}

/** The body GitHub writes for our issue form filled in with `req`, byte for byte. */
export function renderRequestBody(req: AccessRequest): string {
  const show = (v: string | undefined): string => (v === undefined || v === '' ? NO_RESPONSE : v);
  const sections: [string, string][] = [
    [FORM_FIELDS.resource, show(req.resource)],
    [
      FORM_FIELDS.duration,
      show(req.duration === undefined ? undefined : formatDuration(req.duration)),
    ],
    [FORM_FIELDS.justification, show(req.justification)],
    [FORM_FIELDS.ticket, show(req.ticket)],
    [FORM_FIELDS.start, show(req.start_at)],
    [FORM_FIELDS.breakGlass, `- [${req.break_glass ? 'X' : ' '}] ${BREAK_GLASS_OPTION}`],
  ];
  return sections.map(([label, v]) => `### ${label}\n\n${v}`).join('\n\n');
}
