import { describe, expect, it } from '@jest/globals';
import { validateCommandTarget } from '../../src/providers/command.js';
import { validatePostgresTarget } from '../../src/providers/postgres.js';
import { validateSshTarget } from '../../src/providers/ssh-certificate.js';

const messages = (ps: { message: string }[]) => ps.map((p) => p.message);

describe('postgres target', () => {
  const good = {
    admin_url: 'env:PROD_PG_ADMIN_URL',
    database: 'app',
    roles: ['app_read'],
    connection_limit: 2,
    statement_timeout: '5m',
  };

  it('accepts a well-formed target', () => expect(validatePostgresTarget(good)).toEqual([]));

  it('refuses an inline secret instead of an env reference', () => {
    expect(
      messages(validatePostgresTarget({ ...good, admin_url: 'postgres://admin:hunter2@db/app' })),
    ).toEqual([
      'target.admin_url: must reference an environment variable as env:NAME; secrets never go in policy',
    ]);
  });

  it('refuses superuser, built-in and gatepass-owned roles, duplicates and empty lists', () => {
    const ps = messages(
      validatePostgresTarget({
        ...good,
        roles: ['postgres', 'pg_read_server_files', 'gatepass_req_1', 'a', 'a'],
      }),
    );
    expect(ps).toHaveLength(4);
    expect(ps.join('\n')).toMatch(/roles\[0\].*built-in or superuser/);
    expect(ps.join('\n')).toMatch(/roles\[1\].*built-in or superuser/);
    expect(ps.join('\n')).toMatch(/roles\[2\]: must not start with gatepass_/);
    expect(ps.join('\n')).toMatch(/roles\[4\].*listed twice/);
    expect(messages(validatePostgresTarget({ ...good, roles: [] }))).toEqual([
      'target.roles: must not be empty',
    ]);
  });

  it('bounds the connection limit and checks the statement timeout', () => {
    expect(validatePostgresTarget({ ...good, connection_limit: 0 })).toHaveLength(1);
    expect(validatePostgresTarget({ ...good, connection_limit: 1.5 })).toHaveLength(1);
    expect(validatePostgresTarget({ ...good, statement_timeout: '30s' })).toEqual([]);
    expect(messages(validatePostgresTarget({ ...good, statement_timeout: 'forever' }))[0]).toMatch(
      /^target.statement_timeout: duration "forever" is not understood/,
    );
  });

  it('refuses a database name PostgreSQL would truncate', () => {
    expect(validatePostgresTarget({ ...good, database: 'x'.repeat(64) })).toHaveLength(1);
  });
});

describe('ssh-certificate target', () => {
  const good = {
    ca_key: 'env:SSH_CA_KEY',
    principals: ['ubuntu', 'deploy'],
    extensions: ['permit-pty'],
    source_address: ['10.0.0.0/8', '2001:db8::/32'],
  };

  it('accepts a well-formed target', () => expect(validateSshTarget(good)).toEqual([]));

  it('refuses principals that would smuggle extra names into the comma-separated list', () => {
    const ps = messages(validateSshTarget({ ...good, principals: ['ubuntu,root', 'a b', ''] }));
    expect(ps).toHaveLength(3);
    expect(ps[0]).toMatch(/principals\[0\]: "ubuntu,root" is not a valid principal/);
  });

  it('allows only known extensions and real addresses', () => {
    expect(
      messages(validateSshTarget({ ...good, extensions: ['permit-pty', 'permit-everything'] })),
    ).toEqual([
      'target.extensions[1]: "permit-everything" is not one of permit-pty, permit-port-forwarding, permit-agent-forwarding, permit-X11-forwarding, permit-user-rc',
    ]);
    expect(
      validateSshTarget({
        ...good,
        source_address: ['10.0.0.0/33', '300.1.1.1', 'example.com', '1.2.3.4,5.6.7.8'],
      }),
    ).toHaveLength(4);
  });

  it('keeps the KRL path inside the access repo', () => {
    for (const krl_path of ['../krl', '/etc/ssh/revoked', 'ssh/../../x', 'a b'])
      expect(validateSshTarget({ ...good, krl_path })).toHaveLength(1);
    expect(validateSshTarget({ ...good, krl_path: 'ssh/prod.krl' })).toEqual([]);
  });
});

describe('command target', () => {
  it('accepts a repo-relative script with a timeout and passed-through variables', () => {
    expect(
      validateCommandTarget({ path: 'scripts/vpn.sh', timeout: '30s', env: ['VPN_TOKEN'] }),
    ).toEqual([]);
  });

  it('refuses paths that leave the repo, bad timeouts and reserved variables', () => {
    expect(validateCommandTarget({ path: '../vpn.sh' })).toHaveLength(1);
    expect(validateCommandTarget({ path: '/usr/bin/vpn' })).toHaveLength(1);
    expect(messages(validateCommandTarget({ path: 'a.sh', timeout: '0s' }))[0]).toMatch(
      /timeout: must be between 1s and 900s/,
    );
    expect(validateCommandTarget({ path: 'a.sh', timeout: '2h' })).toHaveLength(1);
    expect(
      messages(
        validateCommandTarget({ path: 'a.sh', env: ['PATH', 'GATEPASS_GRANT_ID', 'bad-name'] }),
      ),
    ).toEqual([
      'target.env[2]: "bad-name" is not an environment variable name',
      'target.env[0]: PATH is set by gatepass and cannot be passed through',
      'target.env[1]: GATEPASS_GRANT_ID is set by gatepass and cannot be passed through',
    ]);
  });
});
