/**
 * A canned GitHub API for measuring the app alone: a run against the fake GitHub is recorded
 * once at the fetch layer (method, URL → status, headers, body), then replayed to a fresh app
 * with a `fetch` that answers from the recording, without nock or the fake. What the replay
 * measures is the app and Octokit, not the stand-in that answered them.
 */
export interface Exchange {
  key: string;
  status: number;
  headers: [string, string][];
  body: string;
}

const keyOf = (input: string | URL | Request, init?: RequestInit): string => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  return `${method} ${url}`;
};

/** A fetch that passes through to the global one (nock and the fake) and records every exchange. */
export function recordingFetch(log: Exchange[]): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    const body = await res.text();
    const headers = [...res.headers.entries()];
    log.push({ key: keyOf(input, init), status: res.status, headers, body });
    return new Response(res.status === 204 || res.status === 304 ? null : body, {
      status: res.status,
      headers,
    });
  };
}

/** A fetch answering from a recording, in order per method and URL; anything else throws. */
export function cannedFetch(log: readonly Exchange[]): typeof fetch {
  const queues = new Map<string, Exchange[]>();
  for (const e of log) queues.set(e.key, [...(queues.get(e.key) ?? []), e]);
  return async (input, init) => {
    const key = keyOf(input, init);
    const next = queues.get(key)?.shift();
    if (!next) throw new Error(`canned API: no recorded answer for ${key}`);
    return new Response(next.status === 204 || next.status === 304 ? null : next.body, {
      status: next.status,
      headers: next.headers,
    });
  };
}
