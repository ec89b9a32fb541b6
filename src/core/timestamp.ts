/**
 * Timestamps in requests and grant files are ISO 8601 with an explicit offset: a time without
 * a zone would be read in whatever zone the machine runs in, and access windows must not
 * depend on that.
 */
const ISO_WITH_ZONE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** `parseTimestamp(text)?.getTime() ?? null`, without a Date for the many an audit reads. */
export function timestampMs(text: string): number | null {
  if (typeof text !== 'string' || text.length > 40) return null;
  const canonical = canonicalMs(text);
  if (canonical !== undefined) return canonical;
  return parseTimestamp(text)?.getTime() ?? null;
}

/** The instant `text` names, or null when it is not a real ISO 8601 time with a zone. */
export function parseTimestamp(text: string): Date | null {
  if (typeof text !== 'string' || text.length > 40) return null;
  // An audit reads hundreds of thousands of timestamps, nearly all in the form gatepass and git
  // write; those are read by position, everything else by the general path below.
  const canonical = canonicalMs(text);
  if (canonical !== undefined) return canonical === null ? null : new Date(canonical);
  const m = ISO_WITH_ZONE.exec(text.trim());
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((g) => Number(g ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  // Date.parse rolls 2024-02-30 over to 1 March; a mistyped date must be refused instead.
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (
    probe.getUTCFullYear() !== year ||
    probe.getUTCMonth() !== month - 1 ||
    probe.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  )
    return null;
  const ms = Date.parse(text.trim().replace(' ', 'T').toUpperCase());
  return Number.isNaN(ms) ? null : new Date(ms);
}

/** The digit at `i` of `t`, NaN for any other character (module-level: no closure per call). */
function digit(t: string, i: number): number {
  const c = t.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : NaN;
}
const two = (t: string, i: number): number => digit(t, i) * 10 + digit(t, i + 1);

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * `YYYY-MM-DDTHH:MM:SS[.mmm](Z|±HH:MM)`, the spelling of `toISOString` and git's `%cI`: its
 * instant, null when a field is out of range (as the general path refuses it), undefined for
 * any other spelling (left to the general path).
 */
function canonicalMs(t: string): number | null | undefined {
  const n = t.length;
  const frac = n === 24 || n === 29;
  if (!(n === 20 || n === 25 || frac)) return undefined;
  if (t[4] !== '-' || t[7] !== '-' || t[10] !== 'T' || t[13] !== ':' || t[16] !== ':')
    return undefined;
  const year = two(t, 0) * 100 + two(t, 2);
  const month = two(t, 5);
  const day = two(t, 8);
  const hour = two(t, 11);
  const minute = two(t, 14);
  const second = two(t, 17);
  let milli = 0;
  let at = 19;
  if (frac) {
    if (t[19] !== '.') return undefined;
    milli = digit(t, 20) * 100 + two(t, 21);
    at = 23;
  }
  let offset = 0;
  if (n - at === 1) {
    if (t[at] !== 'Z') return undefined;
  } else {
    const sign = t[at] === '+' ? 1 : t[at] === '-' ? -1 : 0;
    if (sign === 0 || t[at + 3] !== ':') return undefined;
    const oh = two(t, at + 1);
    const om = two(t, at + 4);
    // Offsets past ±23:59 and years before 100 (Date.UTC reads 0–99 as 1900–1999) are rare
    // enough to leave to the general path.
    if (!(oh <= 23 && om <= 59)) return undefined;
    offset = sign * (oh * 60 + om) * 60_000;
  }
  if (Number.isNaN(year + month + day + hour + minute + second + milli)) return undefined;
  if (year < 100) return undefined;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : DAYS[month - 1];
  if (days === undefined || day < 1 || day > days || hour > 23 || minute > 59 || second > 59)
    return null;
  return Date.UTC(year, month - 1, day, hour, minute, second, milli) - offset;
}

/** The canonical spelling gatepass writes: UTC, milliseconds, `Z`. */
export const formatTimestamp = (d: Date): string => d.toISOString();
