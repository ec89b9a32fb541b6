import { type Result, ok, fail } from './problem.js';

/**
 * Durations are kept as whole seconds. Accepted spellings: compact `90m`, `1h30m`, `2h`, `1d`,
 * `1d12h`, `45s` and ISO 8601 `PT1H30M`, `P1D`, `P1DT2H`. Years and months are refused
 * because their length varies, and access is never meant to last that long anyway.
 */
export type Seconds = number;

export const MINUTE = 60;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** Nothing in JIT access should last longer than this; beyond it the input is surely a mistake. */
export const MAX_DURATION: Seconds = 90 * DAY;
/** Shorter than this and the credential would expire before anyone could use it. */
export const MIN_DURATION: Seconds = MINUTE;

export const DURATION_HELP =
  'use a positive duration such as 30m, 90m, 1h30m, 2h, 1d or ISO 8601 PT1H30M (at least 1m, at most 90d)';

const COMPACT = /^(?:(\d{1,6})d)?(?:(\d{1,6})h)?(?:(\d{1,6})m)?(?:(\d{1,6})s)?$/;
const ISO = /^P(?:(\d{1,6})D)?(?:T(?:(\d{1,6})H)?(?:(\d{1,6})M)?(?:(\d{1,6})S)?)?$/;

export function parseDuration(input: unknown): Result<Seconds> {
  if (typeof input !== 'string')
    return fail({ message: `duration must be text; ${DURATION_HELP}` });
  const text = input.trim();
  if (text.length === 0) return fail({ message: `duration is empty; ${DURATION_HELP}` });
  if (text.length > 32) return fail({ message: `duration is too long; ${DURATION_HELP}` });
  const shown = JSON.stringify(text);
  if (text.startsWith('-'))
    return fail({ message: `duration ${shown} is negative; ${DURATION_HELP}` });

  const lower = text.toLowerCase();
  const compact = COMPACT.exec(lower);
  const iso = compact ? null : ISO.exec(text.toUpperCase());
  const match = compact ?? iso;
  // A bare `P`, `PT` or empty compact form matches with no parts at all.
  if (!match || match.slice(1).every((g) => g === undefined) || (iso && /T$/i.test(text))) {
    return fail({ message: `duration ${shown} is not understood; ${DURATION_HELP}` });
  }
  const [d, h, m, s] = match.slice(1).map((g) => (g === undefined ? 0 : Number(g))) as [
    number,
    number,
    number,
    number,
  ];
  const seconds = d * DAY + h * HOUR + m * MINUTE + s;
  if (seconds === 0) return fail({ message: `duration ${shown} is zero; ${DURATION_HELP}` });
  if (seconds < MIN_DURATION)
    return fail({ message: `duration ${shown} is shorter than 1m; ${DURATION_HELP}` });
  if (seconds > MAX_DURATION)
    return fail({ message: `duration ${shown} is longer than 90d; ${DURATION_HELP}` });
  return ok(seconds);
}

/** The shortest compact spelling, e.g. 5400 → `1h30m`; parseDuration(formatDuration(x)) === x. */
export function formatDuration(seconds: Seconds): string {
  if (!Number.isInteger(seconds) || seconds <= 0)
    throw new RangeError(`not a duration: ${seconds}`);
  let rest = seconds;
  let out = '';
  for (const [unit, size] of [
    ['d', DAY],
    ['h', HOUR],
    ['m', MINUTE],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
