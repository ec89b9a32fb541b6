/**
 * `s` as a string of its own. V8 cuts a substring of 13 characters or more as a view of the
 * string it came from, which then lives as long as the piece does: a timestamp kept from a
 * grant file keeps the whole file, a commit subject the whole message. The audit keeps such
 * pieces for every grant, and copying the texts they hold on to was most of its garbage
 * collection. Concatenation then slicing gives a view of a new string one character longer.
 */
export const standalone = (s: string): string => (s.length < 13 ? s : (' ' + s).slice(1));
