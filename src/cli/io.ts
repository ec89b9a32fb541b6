/** Where the CLI writes; injected so tests drive the program without spawning it. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  cwd: string;
  /** Environment variables the CLI may read (tokens for `doctor`); none when left out. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** 0 clean, 1 problems found, 2 usage error: scripts and CI rely on these. */
export const EXIT = { ok: 0, problems: 1, usage: 2 } as const;
