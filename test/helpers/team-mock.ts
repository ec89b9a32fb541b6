import nock from 'nock';
import { simpleUser, teamMembership } from './github-fixtures.js';
import { alice, API, TEAM_MEMBERSHIP } from './reconcile.js';

/**
 * acme/sre as a flag the API calls read and flip (alice's membership), persisted: for tests and
 * benches that run many reconcile runs against one team. carol is a permanent member.
 */
export function mockTeam(): { member(): boolean; deletes: number; set(v: boolean): void } {
  let member = false;
  const state = {
    member: () => member,
    deletes: 0,
    set: (v: boolean) => void (member = v),
  };
  nock(API)
    .persist()
    .get('/orgs/acme/teams/sre/members')
    .query(true)
    .reply(200, () => [
      simpleUser('carol', 3),
      ...(member ? [simpleUser(alice.login, alice.id)] : []),
    ]);
  nock(API)
    .persist()
    .get(TEAM_MEMBERSHIP)
    .reply(() =>
      member ? [200, teamMembership('member', 'active')] : [404, { message: 'Not Found' }],
    )
    .put(TEAM_MEMBERSHIP)
    .reply(() => {
      member = true;
      return [200, teamMembership('member', 'active')];
    })
    .delete(TEAM_MEMBERSHIP)
    .reply(() => {
      member = false;
      state.deletes += 1;
      return [204, ''];
    });
  return state;
}
