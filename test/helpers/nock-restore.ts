import { afterAll } from '@jest/globals';
import nock from 'nock';

/*
 * nock patches Node's `http` module, which Jest shares between the test files one worker runs
 * (unlike `fetch`, which lives on each file's own global). A file that ends with
 * `disableNetConnect()` would otherwise block the next file's real loopback HTTP (the AWS SDK's
 * requests to the AWS stand-in). Each file takes its patch away when it is done.
 */
afterAll(() => {
  nock.cleanAll();
  nock.enableNetConnect();
  nock.restore();
});
