import { spawn } from 'node:child_process';
import { access, constants, realpath, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { Grant } from '../core/grant.js';
import type { Problem } from '../core/problem.js';
import { ConfigurationError, ProviderError } from '../core/errors.js';
import type { Issued, LiveAccess, Provider, ProviderContext } from './provider.js';
import {
  ENV_NAME,
  checkStringList,
  isSafeRelativePath,
  parseTimeout,
  problem,
} from './target-checks.js';

/*
 * The escape hatch: the adopter's own executable, committed in the access repo, called as
 * `<path> issue|revoke|list|remove-drift` with the grant (or drift entry) as JSON on stdin and a
 * minimal environment. It never sees gatepass's own secrets unless the policy names them.
 */

export type CommandAction = 'issue' | 'revoke' | 'list' | 'remove-drift';

const DEFAULT_TIMEOUT = 30;
const MAX_TIMEOUT = 15 * 60;
const MAX_OUTPUT = 1 << 20;
const MAX_STDERR_SHOWN = 2000;
/** Set by gatepass itself; a policy cannot override them through `env`. */
const RESERVED_ENV = /^(PATH|HOME|GATEPASS_.*)$/;

interface CommandTarget {
  path: string;
  timeout: number;
  env: string[];
}

export function validateCommandTarget(target: Record<string, unknown>): Problem[] {
  const out: Problem[] = [];
  if (!isSafeRelativePath(target.path))
    out.push(
      problem(
        'path',
        'must be a path inside the access repo, relative, without .. (e.g. scripts/grant-vpn.sh)',
      ),
    );
  if (target.timeout !== undefined) {
    const t = parseTimeout(target.timeout, 1, MAX_TIMEOUT);
    if (!t.ok) out.push(problem('timeout', t.problems.map((p) => p.message).join('; ')));
  }
  out.push(
    ...checkStringList(target, 'env', {
      required: false,
      pattern: ENV_NAME,
      patternHelp: 'is not an environment variable name',
    }),
  );
  if (Array.isArray(target.env)) {
    target.env.forEach((n, i) => {
      if (typeof n === 'string' && RESERVED_ENV.test(n))
        out.push(problem(`env[${i}]`, `${n} is set by gatepass and cannot be passed through`));
    });
  }
  return out;
}

function readTarget(ctx: ProviderContext): CommandTarget {
  const t = ctx.resource.target;
  const problems = validateCommandTarget(t);
  if (problems.length > 0)
    throw new ConfigurationError(
      `resource ${ctx.resource.name}: ${problems.map((p) => p.message).join('; ')}`,
    );
  const timeout = t.timeout === undefined ? undefined : parseTimeout(t.timeout, 1, MAX_TIMEOUT);
  return {
    path: t.path as string,
    timeout: timeout?.ok ? timeout.value : DEFAULT_TIMEOUT,
    env: (t.env as string[] | undefined) ?? [],
  };
}

/** Resolves the executable, refusing anything (including a symlink) that leads out of the repo. */
async function resolveExecutable(workdir: string, path: string): Promise<string> {
  const root = await realpath(workdir);
  let real: string;
  try {
    real = await realpath(resolve(root, path));
  } catch {
    throw new ConfigurationError(`command ${path} does not exist in the access repo`);
  }
  if (!real.startsWith(root + sep))
    throw new ConfigurationError(`command ${path} resolves outside the access repo`);
  const st = await stat(real);
  if (!st.isFile()) throw new ConfigurationError(`command ${path} is not a file`);
  await access(real, constants.X_OK).catch(() => {
    throw new ConfigurationError(`command ${path} is not executable (chmod +x and commit it)`);
  });
  return real;
}

function maskValues(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets.filter((v) => v.length > 0).sort((a, b) => b.length - a.length))
    out = out.split(s).join('***');
  return out;
}

interface RunResult {
  stdout: string;
}

async function runCommand(
  action: CommandAction,
  input: unknown,
  vars: { grantId?: string; requester?: string; expiresAt?: string },
  ctx: ProviderContext,
  /** The script recorded at issue, for revoke: never a later policy's. */
  recordedPath?: string,
): Promise<RunResult> {
  const current = readTarget(ctx);
  const target = recordedPath === undefined ? current : { ...current, path: recordedPath };
  const exe = await resolveExecutable(ctx.workdir, target.path);
  const passed: Record<string, string> = {};
  for (const name of target.env) {
    const v = ctx.env[name];
    if (v !== undefined) {
      passed[name] = v;
      ctx.mask(v);
    }
  }
  const env: Record<string, string> = {
    PATH: ctx.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: ctx.env.HOME ?? '/nonexistent',
    ...passed,
    GATEPASS_ACTION: action,
    GATEPASS_RESOURCE: ctx.resource.name,
    ...(vars.grantId ? { GATEPASS_GRANT_ID: vars.grantId } : {}),
    ...(vars.requester ? { GATEPASS_REQUESTER: vars.requester } : {}),
    ...(vars.expiresAt ? { GATEPASS_EXPIRES_AT: vars.expiresAt } : {}),
  };
  const secrets = Object.values(passed);

  return new Promise<RunResult>((resolvePromise, reject) => {
    // Its own process group, so a timeout kills the script and everything it started.
    const child = spawn(exe, [action], {
      cwd: ctx.workdir,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, target.timeout * 1000);
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < MAX_OUTPUT) stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < MAX_OUTPUT) stderr += d.toString();
    });
    child.stdin.on('error', () => undefined); // the script may exit without reading stdin
    child.stdin.end(JSON.stringify(input));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new ProviderError(`command ${target.path} ${action} could not start: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(
          new ProviderError(
            `command ${target.path} ${action} timed out after ${target.timeout}s and was killed`,
          ),
        );
        return;
      }
      if (code !== 0) {
        let shown = maskValues(stderr.trim(), secrets);
        if (shown.length > MAX_STDERR_SHOWN)
          shown = `${shown.slice(0, MAX_STDERR_SHOWN)}… (truncated)`;
        reject(
          new ProviderError(
            `command ${target.path} ${action} failed (${code !== null ? `exit ${code}` : `signal ${signal}`})${shown ? `: ${shown}` : ''}`,
          ),
        );
        return;
      }
      resolvePromise({ stdout });
    });
  });
}

type Fact = string | number | boolean | string[];
const isFact = (v: unknown): v is Fact =>
  typeof v === 'string' ||
  typeof v === 'boolean' ||
  (typeof v === 'number' && Number.isFinite(v)) ||
  (Array.isArray(v) && v.every((x) => typeof x === 'string'));

function parseFacts(stdout: string, path: string): Issued['facts'] {
  const text = stdout.trim();
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ProviderError(
      `command ${path} issue printed something that is not JSON; print {"facts":{...}} or nothing`,
    );
  }
  const facts = (parsed as { facts?: unknown } | null)?.facts;
  if (typeof facts !== 'object' || facts === null || Array.isArray(facts))
    throw new ProviderError(`command ${path} issue must print {"facts":{...}}`);
  const out: Issued['facts'] = {};
  for (const [k, v] of Object.entries(facts)) {
    // `provider` stamps facts of gatepass's own providers (the GitHub ones read each other's
    // grants by it to decide who holds shared access); a script must not be able to forge it.
    if (k === 'provider' || k === 'issue_started_at' || k === 'command')
      throw new ProviderError(`command ${path} issue: fact ${JSON.stringify(k)} is reserved`);
    if (!isFact(v))
      throw new ProviderError(
        `command ${path} issue: fact ${JSON.stringify(k)} must be text, a number, true/false or a list of text`,
      );
    out[k] = v;
  }
  return out;
}

function parseList(stdout: string, path: string): LiveAccess[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((line, i) => {
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        throw new ProviderError(`command ${path} list: line ${i + 1} is not JSON`);
      }
      const o = v as Partial<Record<keyof LiveAccess, unknown>> | null;
      if (
        !o ||
        typeof o.key !== 'string' ||
        o.key === '' ||
        (o.grantId !== undefined && typeof o.grantId !== 'string')
      )
        throw new ProviderError(
          `command ${path} list: line ${i + 1} needs "key" (text) and optionally "grantId", "description"`,
        );
      return {
        ...(typeof o.grantId === 'string' ? { grantId: o.grantId } : {}),
        key: o.key,
        description: typeof o.description === 'string' ? o.description : o.key,
      };
    });
}

const grantVars = (g: Grant) => ({
  grantId: g.id,
  requester: g.requester.login,
  expiresAt: g.expires_at,
});

export const commandProvider: Provider = {
  kind: 'command',
  validateTarget: validateCommandTarget,

  async issue(grant, ctx) {
    const { path } = readTarget(ctx);
    const { stdout } = await runCommand('issue', grant, grantVars(grant), ctx);
    // Which script issued it: revoke runs that one, whatever the policy says later.
    return { facts: { ...parseFacts(stdout, path), command: path } };
  },

  async revoke(grant, ctx) {
    const recorded = grant.issued?.command;
    if (typeof recorded === 'string' && !isSafeRelativePath(recorded))
      throw new ProviderError(`command: grant ${grant.id} recorded an unsafe command path`);
    if (typeof recorded !== 'string')
      ctx.log(
        `command: grant ${grant.id} has no recorded command (issued before gatepass recorded it); using the policy's current target`,
      );
    await runCommand(
      'revoke',
      grant,
      grantVars(grant),
      ctx,
      typeof recorded === 'string' ? recorded : undefined,
    );
  },

  async list(ctx) {
    const { stdout } = await runCommand('list', {}, {}, ctx);
    return parseList(stdout, readTarget(ctx).path);
  },

  async removeDrift(accessEntry, ctx) {
    await runCommand('remove-drift', accessEntry, { grantId: accessEntry.grantId }, ctx);
  },
};

export default commandProvider;
