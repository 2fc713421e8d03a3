// The directory store (EventStore.openDirectory) in Node.js: the shared
// behaviour, then the files on disk, durability and group commit, one writer
// per directory (across processes too), damage and torn tails, and a crash test
// that kills a writing child process at random instants.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import nodeFs from 'node:fs'; // the module object itself, whose functions tests can wrap
import { open as openFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { killedAtRandom, readEverything, testFolder } from './directory-helpers.mjs';
import * as api from 'aether-eventstore';
import defineBehaviourTests from './behaviour.cjs';

const { EventStore, StorageError, ValidationError } = api;
const here = dirname(fileURLToPath(import.meta.url));
const { base, children, freshDirectory } = testFolder('aether-directory-');
const open = (directory = freshDirectory(), options) => EventStore.openDirectory(directory, options);
const event = (actorId, version, extra = {}) => ({ eventType: 'Happened', actorId, version, data: { n: version }, ...extra });
const segment = (directory, kind, first = 1) => join(directory, 'events', `${String(first).padStart(16, '0')}.${kind}`);
const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

/** The file's bytes with the byte at `at` changed. */
function flipByte(path, at) {
  const bytes = fs.readFileSync(path);
  bytes[at] ^= 0x01;
  fs.writeFileSync(path, bytes);
}

/** Runs `code` (an ES module) in a child Node.js process in this consumer project; resolves once it prints `ready`. */
function startChild(code, args = []) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, ...args], { cwd: here, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let output = '';
  let errors = '';
  child.stderr.on('data', (chunk) => (errors += chunk));
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('ready')) resolve(output);
    });
    child.on('exit', (code) => reject(new Error(`child exited (${code}) before it was ready: ${output}${errors}`)));
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, output, errors })));
  return { child, ready, exited: exited.then((result) => ({ ...result, output })) };
}

/** The process id of a process that has exited. */
async function deadProcessId() {
  const { child, exited } = startChild('console.log("ready")');
  await exited;
  return child.pid;
}

defineBehaviourTests(api, 'directory', () => open());

describe('directory: opening', () => {
  test('creates the directory and its parents; the arguments are checked', async () => {
    const directory = join(freshDirectory(), 'nested', 'deeper');
    const store = await open(directory);
    assert.ok(store instanceof EventStore);
    assert.ok(fs.statSync(directory).isDirectory());
    await store.close();
    for (const bad of ['', undefined, 7, null]) {
      await assert.rejects(EventStore.openDirectory(bad), (error) => error instanceof ValidationError && error.field === 'directory');
    }
    await assert.rejects(open(freshDirectory(), { durability: 'fast' }), (error) => error instanceof ValidationError && error.field === 'durability');
    await assert.rejects(open(freshDirectory(), 'strict'), (error) => error instanceof ValidationError && error.field === 'options');
    for (const durability of ['strict', 'relaxed', undefined]) {
      const store = await open(freshDirectory(), { durability });
      assert.equal((await store.saveEvent(event('a', 1))).version, 1);
      await store.close();
    }
  });

  test('a path that is a file, or cannot be created, is a StorageError with the cause', async () => {
    const file = join(freshDirectory() + '.txt');
    fs.writeFileSync(file, 'not a directory');
    await assert.rejects(open(file), (error) => error instanceof StorageError && error.cause instanceof Error);
    await assert.rejects(open(join(file, 'below')), (error) => error instanceof StorageError && error.cause instanceof Error);
  });
});

describe('directory: the files', () => {
  test('event lines are exactly the JSON Lines of exportEvents, readable line by line; snapshots beside them', async () => {
    const directory = freshDirectory();
    const store = await open(directory);
    await store.saveEvent(event('order-1', 1, { metadata: { userId: 'u' }, data: { text: 'line\nbreak "quoted" ü😀' } }));
    await store.saveEvents([event('order-1', 2), event('order-2', 1, { commandId: 'c' })]);
    await Promise.all([event('order-3', 1), event('order-4', 1)].map((e) => store.saveEvent(e)));
    const snapshot = await store.saveSnapshot({ actorId: 'order-1', version: 2, state: { total: 3 } });
    let exported = '';
    for await (const line of store.exportEvents()) exported += line;
    await store.close();
    const lines = fs.readFileSync(segment(directory, 'jsonl'), 'utf8');
    assert.equal(lines, exported);
    assert.deepEqual(
      lines.trimEnd().split('\n').map((line) => JSON.parse(line).actorId),
      ['order-1', 'order-1', 'order-2', 'order-3', 'order-4'],
    );
    assert.deepEqual(JSON.parse(fs.readFileSync(join(directory, 'snapshots.jsonl'), 'utf8')), snapshot);
    assert.deepEqual(fs.readdirSync(directory).sort(), ['events', 'snapshots.commits', 'snapshots.jsonl']);
    // The events file imports into another store as it is.
    const copy = new EventStore();
    assert.deepEqual(await copy.importEvents(fs.createReadStream(segment(directory, 'jsonl'))), { imported: 5, skipped: 0 });
  });

  test('events, snapshots and positions persist across close and reopen', async () => {
    const directory = freshDirectory();
    const first = await open(directory);
    const saved = await first.saveEvents([event('a', 1), event('a', 2, { metadata: { userId: 'u' } }), event('b', 7)]);
    await first.saveEvent(event('c', 1));
    const snapshot = await first.saveSnapshot({ actorId: 'a', version: 2, state: { total: 3 } });
    await first.saveSnapshot({ actorId: 'a', version: 1, state: { total: 1 } });
    const before = await readEverything(first);
    await first.close();
    const again = await open(directory);
    assert.deepEqual(await again.getEvents('a'), saved.slice(0, 2));
    assert.deepEqual(await again.getEvents('b'), [saved[2]]);
    assert.equal(await again.getLatestVersion('b'), 7);
    assert.deepEqual(await again.getLatestSnapshot('a'), snapshot);
    assert.deepEqual(await readEverything(again), before);
    assert.deepEqual(before.map((r) => r.position), [1, 2, 3, 4]);
    assert.equal(await again.lastPosition(), 4);
    const next = await again.saveEvent(event('a', 3));
    assert.deepEqual(await again.readAll({ after: 4 }), [{ position: 5, event: next }]);
    await again.close();
  });

  test('a new events file starts once one passes 64 MiB; reads span them', async () => {
    const directory = freshDirectory();
    const store = await open(directory);
    const blob = 'x'.repeat(10 * 1024 * 1024);
    for (let version = 1; version <= 7; version++) await store.saveEvent(event('big', version, { data: { blob } }));
    await store.saveEvents([event('small', 1), event('small', 2)]);
    await store.close();
    assert.deepEqual(fs.readdirSync(join(directory, 'events')).sort(), [
      '0000000000000001.commits',
      '0000000000000001.jsonl',
      '0000000000000008.commits',
      '0000000000000008.jsonl',
    ]);
    const again = await open(directory);
    assert.deepEqual((await again.getEvents('big')).map((e) => [e.version, e.data.blob.length]), [1, 2, 3, 4, 5, 6, 7].map((v) => [v, blob.length]));
    assert.deepEqual((await readEverything(again)).map((r) => [r.position, r.event.actorId]), [
      ...[1, 2, 3, 4, 5, 6, 7].map((p) => [p, 'big']),
      [8, 'small'],
      [9, 'small'],
    ]);
    await again.close();
  });
});

describe('directory: durability and group commit', () => {
  /** Counts writes (fs.write, which the store writes with) and FileHandle flushes (datasync and sync) while `body` runs. */
  async function counting(t, body) {
    const probe = await openFile(join(base, 'probe'), 'w');
    const prototype = Object.getPrototypeOf(probe);
    await probe.close();
    const counts = { writes: 0, flushes: 0 };
    const write = nodeFs.write;
    t.mock.method(nodeFs, 'write', (...args) => {
      counts.writes += 1;
      return write(...args);
    });
    for (const name of ['datasync', 'sync']) {
      const original = prototype[name];
      t.mock.method(prototype, name, function counted(...args) {
        counts.flushes += 1;
        return original.apply(this, args);
      });
    }
    return body(counts);
  }

  /**
   * Whether this process's open files under `directory` write through to disk
   * (O_DSYNC), from /proc (Linux): one entry per file, `undefined` off Linux.
   */
  function writeThrough(directory) {
    if (!fs.existsSync('/proc/self/fdinfo')) return undefined;
    const files = {};
    for (const fd of fs.readdirSync('/proc/self/fd')) {
      let path;
      try {
        path = fs.readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        continue;
      }
      if (!path.startsWith(directory) || !/\.(jsonl|commits)$/.test(path)) continue;
      const flags = parseInt(/flags:\s+(\d+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))[1], 8);
      files[path.slice(directory.length + 1)] = (flags & fs.constants.O_DSYNC) !== 0;
    }
    return files;
  }

  test('strict: a save resolves once its bytes are on disk (written through, or flushed); concurrent saves share one commit', (t) =>
    counting(t, async (counts) => {
      const directory = freshDirectory();
      const store = await open(directory);
      const files = writeThrough(directory);
      if (fs.constants.O_DSYNC !== undefined && files) {
        assert.deepEqual(files, {
          'events/0000000000000001.jsonl': true,
          'events/0000000000000001.commits': true,
          'snapshots.jsonl': true,
          'snapshots.commits': true,
        });
      }
      counts.writes = counts.flushes = 0;
      await store.saveEvent(event('a', 1));
      assert.equal(counts.writes, 2, 'the events, then the frame');
      if (fs.constants.O_DSYNC === undefined) assert.equal(counts.flushes, 2, 'each flushed');
      counts.writes = counts.flushes = 0;
      const saved = await Promise.all(Array.from({ length: 500 }, (_, i) => store.saveEvent(event(`actor-${i}`, 1))));
      assert.equal(saved.length, 500);
      assert.ok(counts.writes <= 4, `500 concurrent saves share their commits (${counts.writes} writes)`);
      await store.close();
    }));

  test('relaxed: saves are not flushed one by one; close flushes them', (t) =>
    counting(t, async (counts) => {
      const directory = freshDirectory();
      const store = await open(directory, { durability: 'relaxed' });
      const files = writeThrough(directory);
      if (files) assert.ok(Object.values(files).every((through) => !through), JSON.stringify(files));
      counts.flushes = 0;
      for (let version = 1; version <= 20; version++) await store.saveEvent(event('a', version));
      await store.saveSnapshot({ actorId: 'a', version: 20, state: {} });
      assert.equal(counts.flushes, 0);
      await store.close();
      assert.ok(counts.flushes > 0, 'closing flushes');
      const again = await open(directory, { durability: 'relaxed' });
      assert.equal(await again.getLatestVersion('a'), 20);
      assert.equal((await again.getLatestSnapshot('a')).version, 20);
      await again.close();
    }));

  test('positions are unique and increase in commit order; a batch is consecutive; notifications carry them in order', async () => {
    const store = await open();
    const heard = [];
    store.subscribe((n) => heard.push({ position: n.position, event: n.event }));
    const saves = [];
    for (let i = 0; i < 50; i++) {
      saves.push(i % 5 === 0 ? store.saveEvents([event(`x-${i}`, 1), event(`y-${i}`, 1), event(`x-${i}`, 2)]) : store.saveEvent(event(`z-${i}`, 1)));
    }
    const results = await Promise.all(saves);
    await store.saveEvent(event('z-1', 1)).catch(() => {}); // a conflict: not stored, not heard
    await settle();
    const all = await readEverything(store);
    assert.deepEqual(all.map((r) => r.position), Array.from({ length: all.length }, (_, i) => i + 1));
    assert.deepEqual(heard, all);
    const positionOf = new Map(all.map((r) => [r.event.id, r.position]));
    for (const result of results.filter(Array.isArray)) {
      const positions = result.map((e) => positionOf.get(e.id));
      assert.deepEqual(positions, [positions[0], positions[0] + 1, positions[0] + 2]);
    }
    assert.equal(await store.lastPosition(), all.length);
    await store.close();
  });

  test('a retried save whose first attempt is in the same group commit resolves with the stored event', async () => {
    const store = await open();
    const [first, retry] = await Promise.all([store.saveEvent(event('a', 1, { id: 'e-1' })), store.saveEvent(event('a', 1, { id: 'e-1' }))]);
    assert.deepEqual(retry, first);
    assert.equal(await store.lastPosition(), 1);
    await store.close();
  });
});

describe('directory: one writer at a time', () => {
  test('a second open in this process rejects with StorageError naming this process; after close it opens', async () => {
    const directory = freshDirectory();
    const store = await open(directory);
    await assert.rejects(open(directory), (error) => {
      assert.ok(error instanceof StorageError);
      assert.match(error.message, new RegExp(`process ${process.pid}\\b`));
      assert.equal(error.cause.pid, process.pid);
      return true;
    });
    await store.close();
    const again = await open(directory);
    await again.close();
  });

  test('another process holding the directory: StorageError naming its process id; once it is killed, the lock is taken over', async () => {
    const directory = freshDirectory();
    const { child, ready, exited } = startChild(
      `import { EventStore } from 'aether-eventstore';
       const store = await EventStore.openDirectory(process.argv[1]);
       await store.saveEvent({ eventType: 'T', actorId: 'held', version: 1, data: {} });
       console.log('ready');
       setInterval(() => {}, 1000);`,
      [directory],
    );
    await ready;
    await assert.rejects(open(directory), (error) => {
      assert.ok(error instanceof StorageError, String(error));
      assert.match(error.message, new RegExp(`process ${child.pid}\\b`));
      assert.equal(error.cause.pid, child.pid);
      return true;
    });
    child.kill('SIGKILL');
    await exited;
    const store = await open(directory);
    assert.equal(await store.getLatestVersion('held'), 1);
    await store.close();
    assert.equal(fs.existsSync(join(directory, 'LOCK')), false, 'close releases the lock');
  });

  test('a lock left by a dead process (or one whose id was reused) is taken over; one of a process on another host is not', async () => {
    const directory = freshDirectory();
    fs.mkdirSync(directory);
    const pid = await deadProcessId();
    fs.writeFileSync(join(directory, 'LOCK'), JSON.stringify({ pid, hostname: (await import('node:os')).hostname(), token: 'stale' }));
    const store = await open(directory);
    await store.close();
    fs.writeFileSync(join(directory, 'LOCK'), JSON.stringify({ pid, hostname: 'elsewhere.example', token: 'remote' }));
    await assert.rejects(open(directory), (error) => error instanceof StorageError && /elsewhere\.example/.test(error.message));
    fs.writeFileSync(join(directory, 'LOCK'), 'garbage');
    const afterGarbage = await open(directory);
    await afterGarbage.close();
    if (fs.existsSync('/proc/self/stat')) {
      // This process's id, but a process that started at another time: the id was reused, the holder is gone.
      fs.writeFileSync(join(directory, 'LOCK'), JSON.stringify({ pid: process.pid, hostname: (await import('node:os')).hostname(), token: 'reused', processStart: '1' }));
      const afterReuse = await open(directory);
      await afterReuse.close();
    }
  });

  test('processes racing for a stale lock: exactly one opens the store', async () => {
    const directory = freshDirectory();
    fs.mkdirSync(directory);
    const pid = await deadProcessId();
    fs.writeFileSync(join(directory, 'LOCK'), JSON.stringify({ pid, hostname: (await import('node:os')).hostname(), token: 'stale' }));
    const racers = Array.from({ length: 4 }, () =>
      startChild(
        `import { EventStore } from 'aether-eventstore';
         console.log('ready');
         try {
           const store = await EventStore.openDirectory(process.argv[1]);
           console.log('opened');
           await new Promise((resolve) => setTimeout(resolve, 500));
           await store.close();
         } catch (error) {
           console.log(error.name === 'StorageError' ? 'refused' : 'failed: ' + error);
         }`,
        [directory],
      ),
    );
    const results = await Promise.all(racers.map(({ exited }) => exited));
    const outcomes = results.map(({ output }) => output.trim().split('\n').at(-1));
    assert.deepEqual(outcomes.filter((o) => o === 'opened').length, 1, outcomes.join(', '));
    assert.deepEqual(outcomes.filter((o) => o === 'refused').length, 3, outcomes.join(', '));
  });
});

describe('directory: damage and crashes', () => {
  /** A closed store of actor `a` at versions 1..5, one commit each; resolves with the events. */
  async function fiveEvents(directory) {
    const store = await open(directory);
    const saved = [];
    for (let version = 1; version <= 5; version++) saved.push(await store.saveEvent(event('a', version)));
    await store.close();
    return saved;
  }

  test('a damaged record in the middle is reported with its position and bytes, never trusted, and the store opens', async () => {
    const directory = freshDirectory();
    const saved = await fiveEvents(directory);
    const file = segment(directory, 'jsonl');
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    const third = lines.slice(0, 2).join('\n').length + 1;
    const at = third + lines[2].indexOf('"n":3') + 4;
    flipByte(file, at); // "n":3 becomes "n":2: still a valid event, but not what was written
    const store = await open(directory);
    assert.deepEqual(await store.getEvents('a'), [saved[0], saved[1], saved[3], saved[4]]);
    const result = await store.getEventsWithErrors('a');
    assert.equal(result.hasErrors(), true);
    assert.equal(result.errors.length, 1);
    assert.equal(result.errors[0].sequenceNumber, 3);
    assert.ok(result.errors[0].rawData instanceof Uint8Array);
    assert.equal(Buffer.from(result.errors[0].rawData).toString(), lines[2].replace('"n":3', '"n":2'));
    assert.match(result.errors[0].error, /checksum/);
    assert.deepEqual((await store.getEventsWithErrors('a', 4)).errors, []);
    assert.deepEqual((await readEverything(store)).map((r) => r.position), [1, 2, 4, 5]);
    assert.deepEqual(await store.readAll({ after: 1, limit: 2 }), [{ position: 2, event: saved[1] }, { position: 4, event: saved[3] }]);
    const heard = await new Promise((resolve) => {
      const notices = [];
      const unsubscribe = store.subscribe(
        (n) => {
          notices.push({ position: n.position, event: n.event });
          if (notices.length === 3) {
            unsubscribe();
            resolve(notices);
          }
        },
        { after: 1 },
      );
    });
    assert.deepEqual(heard, [2, 4, 5].map((position) => ({ position, event: saved[position - 1] })), 'catching up leaves it out too');
    assert.equal(await store.getLatestVersion('a'), 5, 'the damaged record keeps its version');
    assert.equal((await store.saveEvent(event('a', 6))).version, 6, 'the store accepts saves');
    await store.close();
  });

  test('a record that is not an event at all is reported by the core', async () => {
    const directory = freshDirectory();
    await fiveEvents(directory);
    const file = segment(directory, 'jsonl');
    flipByte(file, 0); // "{" becomes "z"
    const store = await open(directory);
    const { events, errors } = await store.getEventsWithErrors('a');
    assert.equal(events.length, 4);
    assert.deepEqual(errors.map((e) => e.sequenceNumber), [1]);
    assert.equal(errors[0].rawData[0], '{'.charCodeAt(0) ^ 1);
    await store.close();
  });

  test('a truncated events file: the records cut short are reported, and saves go to a new file', async () => {
    const directory = freshDirectory();
    const saved = await fiveEvents(directory);
    const file = segment(directory, 'jsonl');
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - 30);
    const store = await open(directory);
    const { events, errors } = await store.getEventsWithErrors('a');
    assert.deepEqual(events, saved.slice(0, 4));
    assert.equal(errors.length, 1);
    assert.equal(errors[0].sequenceNumber, 5);
    assert.equal(errors[0].rawData.length, Buffer.byteLength(JSON.stringify(saved[4])) - 29);
    assert.match(errors[0].error, /cut short/);
    const next = await store.saveEvent(event('a', 6));
    assert.deepEqual(await store.readAll({ after: 4 }), [{ position: 6, event: next }]);
    await store.close();
    assert.ok(fs.existsSync(segment(directory, 'jsonl', 6)), 'appends never follow damage');
    const again = await open(directory);
    assert.deepEqual((await again.getEventsWithErrors('a')).errors.map((e) => e.sequenceNumber), [5]);
    assert.equal((await again.getEvents('a')).length, 5);
    await again.close();
  });

  test('a commit torn by a crash (records without their frame, or a frame cut short) is cut off whole', async () => {
    const directory = freshDirectory();
    const saved = await fiveEvents(directory);
    const data = segment(directory, 'jsonl');
    const commits = segment(directory, 'commits');
    const [dataSize, commitsSize] = [fs.statSync(data).size, fs.statSync(commits).size];
    // A batch written in full, then its frame cut short.
    const store = await open(directory);
    await store.saveEvents([event('a', 6), event('b', 1), event('a', 7)]);
    await store.close();
    fs.truncateSync(commits, commitsSize + 20);
    let again = await open(directory);
    assert.deepEqual(await again.getEvents('a'), saved);
    assert.deepEqual(await again.getEvents('b'), []);
    assert.equal(await again.lastPosition(), 5);
    assert.equal(fs.statSync(data).size, dataSize, 'the torn records are cut off the events file');
    assert.equal(fs.statSync(commits).size, commitsSize);
    await again.close();
    // Half a batch's records and no frame.
    fs.appendFileSync(data, `${JSON.stringify({ ...saved[4], version: 6, id: 'torn' })}\n{"id":"half`);
    again = await open(directory);
    assert.equal(await again.getLatestVersion('a'), 5);
    assert.deepEqual((await again.getEventsWithErrors('a')).errors, []);
    const next = await again.saveEvents([event('a', 6), event('a', 7)]);
    assert.deepEqual(await again.readAll({ after: 5 }), next.map((e, i) => ({ position: 6 + i, event: e })));
    await again.close();
    assert.deepEqual(
      fs.readFileSync(data, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line).version),
      [1, 2, 3, 4, 5, 6, 7],
      'the events file reads as JSON Lines again',
    );
  });

  test('a damaged frame in a commit log: its records are rebuilt from the event lines', async () => {
    const directory = freshDirectory();
    const saved = await fiveEvents(directory);
    const commits = segment(directory, 'commits');
    const frameBytes = fs.statSync(commits).size / 5; // five frames of one record of the same actor: the same size
    flipByte(commits, Math.floor(frameBytes * 2 + frameBytes / 2));
    const store = await open(directory);
    assert.deepEqual(await store.getEvents('a'), saved);
    assert.deepEqual((await readEverything(store)).map((r) => r.position), [1, 2, 3, 4, 5]);
    assert.equal((await store.saveEvent(event('a', 6))).version, 6);
    await store.close();
  });

  test('relaxed: after a power loss, unflushed commits whose records did not reach the disk are cut off', async () => {
    const directory = freshDirectory();
    const store = await open(directory, { durability: 'relaxed' });
    const kept = await store.saveEvents([event('a', 1), event('a', 2)]);
    await store.saveEvents([event('a', 3), event('b', 1)]);
    await store.saveEvent(event('a', 4));
    // What the disk holds if the power fails now and the last two commits' records were not written back.
    const disk = freshDirectory();
    fs.cpSync(directory, disk, { recursive: true, filter: (path) => !path.endsWith('LOCK') });
    await store.close();
    const data = segment(disk, 'jsonl');
    const lines = fs.readFileSync(data, 'utf8').split('\n');
    const firstTwo = Buffer.byteLength(lines.slice(0, 2).join('\n')) + 1;
    const bytes = fs.readFileSync(data);
    bytes.fill(0, firstTwo);
    fs.writeFileSync(data, bytes);
    const again = await open(disk);
    assert.deepEqual(await again.getEvents('a'), kept);
    assert.deepEqual(await again.getEvents('b'), []);
    assert.deepEqual((await again.getEventsWithErrors('a')).errors, []);
    assert.equal(await again.lastPosition(), 2);
    await again.close();
    const closed = await open(directory);
    assert.equal(await closed.getLatestVersion('a'), 4, 'a relaxed store that was closed has flushed everything');
    await closed.close();
  });

  test('a failed write (a full disk) rejects with StorageError, stores nothing, and leaves the store usable', async (t) => {
    const directory = freshDirectory();
    const store = await open(directory);
    const kept = await store.saveEvent(event('a', 1));
    const write = nodeFs.write;
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    let failures = 1;
    t.mock.method(nodeFs, 'write', (fd, buffer, ...rest) => {
      // The commit's records are written (a line starts with "{"), then its frame fails.
      if (failures > 0 && buffer?.[0] !== '{'.charCodeAt(0)) {
        failures -= 1;
        return process.nextTick(rest.at(-1), full);
      }
      return write(fd, buffer, ...rest);
    });
    await assert.rejects(store.saveEvents([event('a', 2), event('b', 1)]), (error) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.cause, full);
      return true;
    });
    assert.equal(await store.lastPosition(), 1);
    assert.equal(await store.getLatestVersion('b'), 0);
    const next = await store.saveEvent(event('a', 2));
    assert.deepEqual(await readEverything(store), [{ position: 1, event: kept }, { position: 2, event: next }]);
    await store.close();
    assert.deepEqual(
      fs.readFileSync(segment(directory, 'jsonl'), 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line).id),
      [kept.id, next.id],
      'the failed commit\'s records were cut back',
    );
  });

  test('a damaged snapshot is passed over for the one before it', async () => {
    const directory = freshDirectory();
    await fiveEvents(directory);
    let store = await open(directory);
    await store.saveSnapshot({ actorId: 'a', version: 2, state: { at: 2 } });
    await store.saveSnapshot({ actorId: 'a', version: 4, state: { at: 4 } });
    await store.close();
    const file = join(directory, 'snapshots.jsonl');
    flipByte(file, fs.statSync(file).size - 10);
    store = await open(directory);
    assert.deepEqual((await store.getLatestSnapshot('a')).state, { at: 2 });
    await store.close();
  });

  /** The sizes of the files under events/ and of the snapshot files, added up. */
  function storedBytes(directory) {
    const files = fs.readdirSync(join(directory, 'events')).map((name) => join(directory, 'events', name));
    files.push(join(directory, 'snapshots.jsonl'), join(directory, 'snapshots.commits'));
    return files.reduce((sum, file) => sum + (fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0), 0);
  }

  /**
   * Kills a child that saves as fast as it can (directory-crash-worker.mjs) with
   * SIGKILL at random instants, `rounds` times; after each, reopens the store and
   * checks that every save the child reported acknowledged is stored, that no
   * batch is stored in part, that positions are dense and batches consecutive,
   * that no record is damaged, and that the store accepts saves.
   */
  async function crashRounds(t, durability, rounds) {
    const directory = freshDirectory();
    const worker = join(here, 'directory-crash-worker.mjs');
    /** @type {Map<string, { id: string, actorId: string, version: number }>} */
    const acknowledged = new Map();
    /** every save the child started: its events */
    const intended = [];
    let kills = 0;
    let acknowledgedSaves = 0;
    let found = 0;
    let tornCut = 0;
    const started = Date.now();
    for (let round = 0; round < rounds; round++) {
      const output = await killedAtRandom(worker, [directory, durability], children, 20, 200);
      kills += 1;
      const intents = new Map();
      for (const line of output.split('\n').slice(0, -1)) {
        const message = JSON.parse(line);
        if (message.intent) {
          intended.push(message.intent);
          intents.set(message.intent[0].id, message.intent);
        }
        if (message.ack) {
          acknowledgedSaves += 1;
          for (const e of intents.get(message.ack[0])) acknowledged.set(e.id, e);
        }
      }

      const bytesBefore = storedBytes(directory);
      const store = await open(directory, { durability });
      try {
        if (storedBytes(directory) < bytesBefore) tornCut += 1;
        const stored = new Map();
        const actors = new Set(intended.flatMap((events) => events.map((e) => e.actorId)));
        for (const actorId of actors) {
          const { events, errors } = await store.getEventsWithErrors(actorId);
          assert.deepEqual(errors, [], `no damaged record for ${actorId}`);
          for (const e of events) stored.set(e.id, e);
        }
        found = 0;
        for (const { id, actorId, version } of acknowledged.values()) {
          const e = stored.get(id);
          assert.ok(e, `acknowledged event ${id} (${actorId} v${version}) is stored`);
          assert.deepEqual([e.actorId, e.version], [actorId, version]);
          found += 1;
        }
        const all = await readEverything(store);
        assert.deepEqual(all.map((r) => r.position), Array.from({ length: all.length }, (_, i) => i + 1));
        const positionOf = new Map(all.map((r) => [r.event.id, r.position]));
        for (const events of intended) {
          const present = events.filter((e) => stored.has(e.id));
          assert.ok(present.length === 0 || present.length === events.length, `a batch is stored whole or not at all (${present.length} of ${events.length})`);
          if (present.length > 0) {
            const positions = events.map((e) => positionOf.get(e.id));
            assert.deepEqual(positions, positions.map((_, i) => positions[0] + i), 'a batch has consecutive positions');
          }
        }
        await store.saveEvent(event('probe', round + 1));
        const snapshot = await store.getLatestSnapshot('writer-0');
        if (snapshot) assert.ok(snapshot.version <= (await store.getLatestVersion('writer-0')));
      } finally {
        await store.close();
      }
    }
    t.diagnostic(
      `${durability}: ${kills} kills in ${((Date.now() - started) / 1000).toFixed(1)} s; ${intended.length} saves started, ` +
        `${acknowledgedSaves} acknowledged (${acknowledged.size} events), all ${found} events found after reopening; ` +
        `${tornCut} reopenings cut off a torn commit`,
    );
    assert.equal(found, acknowledged.size);
    assert.ok(acknowledged.size > 100, `the child saved enough to mean something (${acknowledged.size} acknowledged events)`);
  }

  test('strict: killed with SIGKILL at random instants while saving, 20 times, nothing acknowledged is lost and no batch is half stored', { timeout: 120_000 }, (t) =>
    crashRounds(t, 'strict', 20),
  );

  test('relaxed: the same, 5 times (a killed process loses nothing that it wrote)', { timeout: 60_000 }, (t) => crashRounds(t, 'relaxed', 5));
});
