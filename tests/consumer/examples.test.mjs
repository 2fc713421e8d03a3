// The examples of examples/ run against the built package and say what they promise.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import assert from 'node:assert/strict';

const repo = process.env.AETHER_REPO ?? process.cwd();
const run = (name) => promisify(execFile)(process.execPath, [join(repo, 'examples', name)], { cwd: repo });

test('examples/bank-account.mjs: concurrent commands each decided on the balance they save over', async () => {
  const { stdout } = await run('bank-account.mjs');
  assert.match(stdout, /refused, cannot withdraw 500/);
  assert.match(stdout, /\n10 events, balance 125\.\n/);
});

test('examples/projection.mjs: a projection resumes from its checkpoint, nothing missed, nothing twice', async () => {
  const { stdout } = await run('projection.mjs');
  assert.match(stdout, /projection starts after position 30/);
  assert.match(stdout, /nothing missed, nothing twice/);
});
