/**
 * Timestamps in requests and grant files are ISO 8601 with an explicit offset: a time without
 * a zone would be read in whatever zone the machine runs in, and access windows must not
 * depend on that.
 */
const ISO_WITH_ZONE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** The instant `text` names, or null when it is not a real ISO 8601 time with a zone. */
export function parseTimestamp(text: string): Date | null {
  if (typeof text !== 'string' || text.length > 40) return null;
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

/** The canonical spelling gatepass writes: UTC, milliseconds, `Z`. */
export const formatTimestamp = (d: Date): string => d.toISOString();
