// Shared by the directory store's tests (directory.test.mjs, directory-sync.test.mjs):
// a temporary folder of store directories and the child processes to kill at
// the end, reading a whole store, and running a crash-test worker until it is
// killed with SIGKILL at a random instant.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after } from 'node:test';

/**
 * A temporary folder for a test file's stores, removed after its tests, and
 * the set of its running child processes, killed then.
 */
export function testFolder(prefix) {
  const base = fs.mkdtempSync(join(tmpdir(), prefix));
  const children = new Set();
  after(() => {
    for (const child of children) child.kill('SIGKILL');
    fs.rmSync(base, { recursive: true, force: true });
  });
  let directories = 0;
  return { base, children, freshDirectory: () => join(base, `store-${++directories}`) };
}

/** Every `{ position, event }` of a store, through readAll pages. */
export async function readEverything(store) {
  const all = [];
  for (;;) {
    const page = await store.readAll({ after: all.at(-1)?.position ?? 0, limit: 1000 });
    if (page.length === 0) return all;
    all.push(...page);
  }
}

/**
 * Runs `worker` with `args` until it is killed, `least` to `least + spread` ms after
 * it prints `"ready"`; resolves with its stdout. Rejects if it ends by itself.
 * @param {Set<import('node:child_process').ChildProcess>} children where the
 *   running child is kept, so that a test ending early can kill it
 */
export async function killedAtRandom(worker, args, children, least, spread) {
  const child = spawn(process.execPath, [worker, ...args], { cwd: dirname(worker), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  let errors = '';
  let timer;
  child.stderr.on('data', (chunk) => (errors += chunk));
  child.stdout.on('data', (chunk) => {
    output += chunk;
    if (!timer && output.includes('"ready"')) timer = setTimeout(() => child.kill('SIGKILL'), least + Math.random() * spread);
  });
  const { code, signal } = await new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  children.delete(child);
  clearTimeout(timer);
  if (signal !== 'SIGKILL') throw new Error(`the child ended by itself (${code ?? signal}): ${errors}`);
  return output;
}
