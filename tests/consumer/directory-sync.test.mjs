// The directory store's sync ledger (the files under sync/): what survives a
// reopening, a directory of the format before sync, damage to the sync
// journal, a crash between a syncCommit's two writes, many pending events, and
// a crash test that kills a child doing pending saves and syncCommits at
// random instants. The ledger is reached through the package's internals, as
// aether-eventstore/sync reaches it.
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import { killedAtRandom, readEverything, testFolder } from './directory-helpers.mjs';
import { EventStore } from 'aether-eventstore';

const here = dirname(fileURLToPath(import.meta.url));
const { children, freshDirectory } = testFolder('aether-directory-sync-');
const internals = EventStore[Symbol.for('aether-eventstore.internals')];
const ledgerOf = (store) => internals.backendOf(store);
const event = (actorId, version, data = { n: version }) => ({ eventType: 'Happened', actorId, version, data });
const remoteEvent = (actorId, version) => ({ id: randomUUID(), eventType: 'Remote', actorId, version, data: {}, timestamp: new Date().toISOString() });
const journal = (directory, kind, generation = 1) => join(directory, 'sync', `${String(generation).padStart(16, '0')}.${kind}`);
const change = (fields) => ({ confirmed: '[]', dropped: [], pending: '[]', rejected: '[]', ...fields });

/** What a synced store holds: confirmed events (by position), pending, rejected, remote position. */
async function contents(store) {
  const ledger = ledgerOf(store);
  return {
    confirmed: (await readEverything(store)).map(({ position, event }) => [position, event.id, event.actorId, event.version]),
    pending: JSON.parse(ledger.pendingEvents()).map((e) => [e.id, e.actorId, e.version]),
    rejected: JSON.parse(ledger.rejectedEvents()).map((r) => [r.event.id, r.reason]),
    remotePosition: ledger.syncState()?.remotePosition,
  };
}

describe('directory sync: the ledger in files', () => {
  test('a directory of the format before sync opens unchanged, is not synced, and becomes synced with its events confirmed', async () => {
    const directory = freshDirectory();
    let store = await EventStore.openDirectory(directory);
    await store.saveEvents([event('a', 1), event('a', 2), event('b', 1)]);
    await store.saveSnapshot({ actorId: 'a', version: 2, state: { n: 2 } });
    await store.close();
    assert.deepEqual(fs.readdirSync(directory).sort(), ['events', 'snapshots.commits', 'snapshots.jsonl'], 'no sync files before syncStart');
    const eventsBefore = fs.readFileSync(join(directory, 'events', '0000000000000001.jsonl'));

    store = await EventStore.openDirectory(directory);
    const ledger = ledgerOf(store);
    assert.equal(ledger.syncState(), null);
    assert.equal(ledger.pendingEvents(), '[]');
    assert.equal(ledger.syncKey, directory);
    await store.saveEvent(event('a', 3));
    assert.equal(await store.lastPosition(), 4, 'unsynced saves are confirmed events, as before');
    assert.deepEqual(await ledger.syncStart(), { remotePosition: 0 });
    await store.saveEvent(event('a', 4));
    assert.equal(await store.lastPosition(), 4, 'a synced save is pending');
    assert.deepEqual(JSON.parse(ledger.pendingEvents()).map((e) => e.version), [4]);
    assert.deepEqual((await store.getEvents('a')).map((e) => e.version), [1, 2, 3, 4]);
    assert.equal(await store.getLatestVersion('a'), 4);
    await assert.rejects(store.saveEvent(event('a', 4)), { name: 'VersionConflictError' });
    await store.close();
    assert.ok(fs.readFileSync(join(directory, 'events', '0000000000000001.jsonl')).subarray(0, eventsBefore.length).equals(eventsBefore), 'the events file only grew');

    store = await EventStore.openDirectory(directory);
    assert.deepEqual(ledgerOf(store).syncState(), { remotePosition: 0 }, 'synced stays synced');
    assert.deepEqual((await store.getEvents('a')).map((e) => e.version), [1, 2, 3, 4]);
    assert.equal((await store.getLatestSnapshot('a')).version, 2);
    await store.close();
  });

  test('pending saves, syncCommits (moves, remote events, drops with new pending events, rejections) and the remote position survive reopening', async () => {
    const directory = freshDirectory();
    let store = await EventStore.openDirectory(directory);
    let ledger = ledgerOf(store);
    await ledger.syncStart();
    const heard = [];
    let allHeard;
    const fourHeard = new Promise((resolve) => (allHeard = resolve));
    let pendingNotices = 0;
    const unsubscribe = store.subscribe((n) => {
      heard.push(n.event.id);
      if (heard.length === 4) allHeard();
    });
    ledger.onPending = () => (pendingNotices += 1);
    await Promise.all([store.saveEvents([event('a', 1), event('a', 2)]), store.saveEvent(event('b', 1)), store.saveEvent(event('b', 2))]);
    assert.equal(pendingNotices > 0, true);
    await store.saveSnapshot({ actorId: 'b', version: 2, state: { n: 2 } });
    const pending = JSON.parse(ledger.pendingEvents());
    const a = pending.filter((e) => e.actorId === 'a');
    const b = pending.filter((e) => e.actorId === 'b');
    const remote = [remoteEvent('r', 1), remoteEvent('r', 2)];
    const replacement = { ...event('b', 2, { again: true }), id: randomUUID() };
    await ledger.syncCommit(
      change({
        confirmed: JSON.stringify([...a, ...remote]),
        dropped: [{ actorId: 'b', version: 2 }],
        pending: JSON.stringify([replacement]),
        rejected: JSON.stringify([{ event: b[1], reason: 'conflict' }]),
        remotePosition: 2,
      }),
    );
    assert.equal(await store.getLatestSnapshot('b'), null, 'the snapshot over the dropped event is gone');
    // Idempotent: confirming the same events again changes nothing.
    await ledger.syncCommit(change({ confirmed: JSON.stringify(remote) }));
    await assert.rejects(ledger.syncCommit(change({ dropped: [{ actorId: 'a', version: 1 }] })), { name: 'PendingChangedError' });
    await assert.rejects(ledger.syncCommit(change({ confirmed: JSON.stringify([{ ...remote[0], id: randomUUID() }]) })), { name: 'StorageError' });
    await assert.rejects(ledger.syncCommit(change({ pending: JSON.stringify([event('b', 2)]) })), { name: 'PendingChangedError' });
    const before = await contents(store);
    assert.deepEqual(
      before.confirmed.map(([position, , actorId, version]) => [position, actorId, version]),
      [
        [1, 'a', 1],
        [2, 'a', 2],
        [3, 'r', 1],
        [4, 'r', 2],
      ],
    );
    assert.deepEqual(before.pending.map(([, actorId, version]) => [actorId, version]), [
      ['b', 1],
      ['b', 2],
    ]);
    assert.equal(before.pending[1][0], replacement.id);
    assert.deepEqual(before.rejected, [[b[1].id, 'conflict']]);
    assert.equal(before.remotePosition, 2);
    await fourHeard;
    unsubscribe();
    await store.close();
    assert.deepEqual(heard, before.confirmed.map(([, id]) => id), 'subscribers heard the confirmed events, in order');

    store = await EventStore.openDirectory(directory);
    ledger = ledgerOf(store);
    assert.deepEqual(await contents(store), before);
    assert.deepEqual((await store.getEvents('b')).map((e) => [e.version, e.data]), [
      [1, { n: 1 }],
      [2, { again: true }],
    ]);
    await store.close();
  });

  test('a syncCommit whose journal commit never reached the disk (a crash between its two writes) is cut off whole at open', async () => {
    const directory = freshDirectory();
    let store = await EventStore.openDirectory(directory);
    let ledger = ledgerOf(store);
    await ledger.syncStart();
    await store.saveEvents([event('a', 1), event('a', 2), event('a', 3)]);
    const sizes = [fs.statSync(journal(directory, 'jsonl')).size, fs.statSync(journal(directory, 'commits')).size];
    const pending = JSON.parse(ledger.pendingEvents());
    await ledger.syncCommit(change({ confirmed: JSON.stringify([...pending.slice(0, 2), remoteEvent('r', 1)]), remotePosition: 9, rejected: '[{"event":{},"reason":"x"}]' }));
    assert.equal(await store.lastPosition(), 3);
    await store.close();
    // The crash: the events' commit is on disk, the journal's is not.
    fs.truncateSync(journal(directory, 'jsonl'), sizes[0]);
    fs.truncateSync(journal(directory, 'commits'), sizes[1]);

    store = await EventStore.openDirectory(directory);
    ledger = ledgerOf(store);
    assert.deepEqual(await contents(store), { confirmed: [], pending: pending.map((e) => [e.id, e.actorId, e.version]), rejected: [], remotePosition: 0 });
    // And the store goes on: the same syncCommit again.
    await ledger.syncCommit(change({ confirmed: JSON.stringify(pending.slice(0, 2)) }));
    await store.saveEvent(event('a', 4));
    assert.deepEqual((await store.getEvents('a')).map((e) => e.version), [1, 2, 3, 4]);
    await store.close();
    store = await EventStore.openDirectory(directory);
    assert.equal(await store.lastPosition(), 2);
    assert.deepEqual(JSON.parse(ledgerOf(store).pendingEvents()).map((e) => e.version), [3, 4]);
    await store.close();
  });

  test('a damaged pending line is reported and never used; the other pending events and the events are kept', async () => {
    const directory = freshDirectory();
    let store = await EventStore.openDirectory(directory);
    await ledgerOf(store).syncStart();
    await store.saveEvent(event('a', 1));
    await store.saveEvent(event('b', 1));
    await store.saveEvent(event('a', 2));
    await store.close();
    const path = journal(directory, 'jsonl');
    const text = fs.readFileSync(path, 'utf8');
    const at = text.indexOf('"actorId":"b"');
    const bytes = fs.readFileSync(path);
    bytes[at + 11] ^= 0x01; // "b" becomes "c" in the line, not in its frame
    fs.writeFileSync(path, bytes);

    store = await EventStore.openDirectory(directory);
    const ledger = ledgerOf(store);
    assert.deepEqual(JSON.parse(ledger.pendingEvents()).map((e) => [e.actorId, e.version]), [
      ['a', 1],
      ['a', 2],
    ]);
    const [report] = ledger.syncLedgerErrors();
    assert.deepEqual([report.actorId, report.version], ['b', 1]);
    assert.match(report.error, /checksum/);
    const { events, errors } = await store.getEventsWithErrors('b');
    assert.deepEqual(events, []);
    assert.equal(errors.length, 1);
    assert.equal(errors[0].sequenceNumber, 0, 'a pending record has no position');
    assert.match(new TextDecoder().decode(errors[0].rawData), /"actorId":"c"/);
    await store.saveEvent(event('a', 3));
    await store.close();
  });

  test('a damaged commit line or frame loses nothing: moved events stay confirmed once, dropped ones are rejected, damage is reported', async () => {
    const directory = freshDirectory();
    let store = await EventStore.openDirectory(directory);
    let ledger = ledgerOf(store);
    await ledger.syncStart();
    await store.saveEvents([event('a', 1), event('a', 2), event('b', 1)]);
    const pending = JSON.parse(ledger.pendingEvents());
    const replacement = { ...event('b', 1, { again: true }), id: randomUUID() };
    await ledger.syncCommit(
      change({
        confirmed: JSON.stringify(pending.slice(0, 2)),
        dropped: [{ actorId: 'b', version: 1 }],
        pending: JSON.stringify([replacement]),
        rejected: JSON.stringify([{ event: pending[2], reason: 'replaced' }]),
      }),
    );
    await store.saveEvent(event('a', 3));
    const expected = await contents(store);
    await store.close();
    const path = journal(directory, 'jsonl');
    const original = fs.readFileSync(path);
    const text = original.toString('utf8');

    // The commit line damaged (its checksum fails): its moves and drop are found again from the event log.
    const damaged = Buffer.from(original);
    damaged[text.indexOf('"moved"') + 2] ^= 0x01;
    fs.writeFileSync(path, damaged);
    store = await EventStore.openDirectory(directory);
    ledger = ledgerOf(store);
    const found = await contents(store);
    assert.deepEqual(found.confirmed, expected.confirmed, 'the confirmed events are as they were');
    assert.deepEqual(found.pending, expected.pending, 'the moved events are not pending again; the replaced one is superseded');
    assert.deepEqual(
      found.rejected.map(([id]) => id).sort(),
      [pending[2].id, pending[2].id].sort(),
      'the replaced event is rejected (by the commit, and again as superseded): never lost',
    );
    assert.equal(ledger.syncLedgerErrors().length, 1, 'the damaged line is reported');
    await store.close();

    // A damaged frame with sound ones after it: its lines are read from the journal's data file instead.
    fs.writeFileSync(path, original);
    const commits = journal(directory, 'commits');
    const frames = fs.readFileSync(commits);
    const second = frames.indexOf(Buffer.from('AEF1'), 1);
    frames[second + 20] ^= 0x01;
    fs.writeFileSync(commits, frames);
    store = await EventStore.openDirectory(directory);
    assert.deepEqual(await contents(store), expected);
    await store.close();
  });

  test('a compaction cut short by a crash (a newer journal generation without a whole first frame) is removed at open; the older one is used', async () => {
    const directory = freshDirectory();
    let store = await EventStore.openDirectory(directory);
    await ledgerOf(store).syncStart();
    await store.saveEvents([event('a', 1), event('a', 2)]);
    const expected = await contents(store);
    await store.close();
    const torn = fs.readFileSync(journal(directory, 'commits')).subarray(0, 30);
    fs.writeFileSync(journal(directory, 'jsonl', 2), fs.readFileSync(journal(directory, 'jsonl')));
    fs.writeFileSync(journal(directory, 'commits', 2), torn);
    store = await EventStore.openDirectory(directory);
    assert.deepEqual(await contents(store), expected);
    await store.saveEvent(event('a', 3));
    await store.close();
    assert.deepEqual(fs.readdirSync(join(directory, 'sync')).sort(), ['0000000000000001.commits', '0000000000000001.jsonl']);
  });

  test('10,000 pending events: saved concurrently, confirmed in chunks of 100, the journal compacted, the state reopened', { timeout: 300_000 }, async () => {
    const directory = freshDirectory();
    let store = await EventStore.openDirectory(directory);
    let ledger = ledgerOf(store);
    await ledger.syncStart();
    const saves = [];
    for (let actor = 0; actor < 10; actor++) {
      for (let v = 1; v <= 1000; v += 10) {
        saves.push(store.saveEvents(Array.from({ length: 10 }, (_, i) => event(`actor-${actor}`, v + i, { pad: 'x'.repeat(100) }))));
      }
    }
    await Promise.all(saves);
    assert.equal(JSON.parse(ledger.pendingEvents()).length, 10_000);
    for (let k = 0; k < 50; k++) {
      const chunk = JSON.parse(ledger.pendingEvents()).slice(0, 100);
      await ledger.syncCommit(change({ confirmed: JSON.stringify(chunk), remotePosition: (k + 1) * 100 }));
    }
    const middle = await contents(store);
    await store.close();
    store = await EventStore.openDirectory(directory);
    ledger = ledgerOf(store);
    assert.deepEqual(await contents(store), middle);
    for (let k = 50; k < 100; k++) {
      const chunk = JSON.parse(ledger.pendingEvents()).slice(0, 100);
      await ledger.syncCommit(change({ confirmed: JSON.stringify(chunk), remotePosition: (k + 1) * 100 }));
    }
    assert.equal(ledger.pendingEvents(), '[]');
    assert.equal(await store.lastPosition(), 10_000);
    await store.close();
    const generations = fs.readdirSync(join(directory, 'sync'));
    assert.equal(generations.length, 2, 'one generation of the journal is kept');
    assert.notEqual(generations[0], '0000000000000001.commits', 'the journal was compacted');
    store = await EventStore.openDirectory(directory);
    assert.equal(ledgerOf(store).pendingEvents(), '[]');
    assert.equal(ledgerOf(store).syncState().remotePosition, 10_000);
    assert.deepEqual((await store.getEvents('actor-3')).map((e) => e.version), Array.from({ length: 1000 }, (_, i) => i + 1));
    await store.close();
  });
});

describe('directory sync: crashes', () => {
  /**
   * Kills a child doing pending saves and syncCommits (directory-sync-crash-worker.mjs)
   * with SIGKILL at random instants, `rounds` times; after each, reopens the
   * store and checks every report the child made (see checkRound).
   */
  async function crashRounds(t, durability, rounds) {
    const directory = freshDirectory();
    const worker = join(here, 'directory-sync-crash-worker.mjs');
    const saves = new Map(); // first id -> { ids, acked }
    const commits = new Map(); // id -> { kind, ..., acked, refused }
    const counts = { kills: 0, acknowledgedSaves: 0, acknowledgedCommits: 0, inFlightApplied: 0, inFlightNot: 0 };
    for (let round = 0; round < rounds; round++) {
      const output = await killedAtRandom(worker, [directory, durability], children, 30, 300);
      counts.kills += 1;
      for (const line of output.split('\n').slice(0, -1)) {
        const message = JSON.parse(line);
        if (message.intent) saves.set(message.intent[0], { ids: message.intent, acked: false });
        if (message.ack) {
          saves.get(message.ack[0]).acked = true;
          counts.acknowledgedSaves += 1;
        }
        if (message.commitIntent) commits.set(message.commitIntent.id, { ...message.commitIntent, acked: false, refused: false });
        if (message.commitAck) {
          commits.get(message.commitAck).acked = true;
          counts.acknowledgedCommits += 1;
        }
        if (message.commitRefused) commits.get(message.commitRefused).refused = true;
      }
      const store = await EventStore.openDirectory(directory, { durability });
      try {
        await checkRound(store, saves, commits, counts);
      } finally {
        await store.close();
      }
    }
    t.diagnostic(
      `${durability}: ${counts.kills} kills; ${counts.acknowledgedSaves} pending saves and ${counts.acknowledgedCommits} syncCommits acknowledged, all found; ` +
        `syncCommits in flight at a kill: ${counts.inFlightApplied} found applied whole, ${counts.inFlightNot} not at all`,
    );
    assert.ok(counts.acknowledgedCommits > 20, `the child committed enough to mean something (${counts.acknowledgedCommits})`);
  }

  /**
   * After a kill: every acknowledged pending save is confirmed or pending (or
   * rejected by a syncCommit that dropped it), exactly once; a save in flight
   * is there whole or not at all; every acknowledged syncCommit is applied
   * whole, one in flight whole or not at all; confirmed events have dense
   * positions and each actor's versions increase, its pending ones above them.
   */
  async function checkRound(store, saves, commits, counts) {
    const ledger = ledgerOf(store);
    const all = await readEverything(store);
    assert.deepEqual(all.map((r) => r.position), Array.from({ length: all.length }, (_, i) => i + 1), 'positions are dense and increase');
    const pending = JSON.parse(ledger.pendingEvents());
    const rejected = JSON.parse(ledger.rejectedEvents()).map((r) => r.event);
    assert.deepEqual(ledger.syncLedgerErrors(), [], 'no damage');
    const where = new Map(); // id -> places found
    const put = (id, place) => where.set(id, [...(where.get(id) ?? []), place]);
    for (const { event } of all) put(event.id, 'confirmed');
    for (const event of pending) put(event.id, 'pending');
    for (const event of rejected) put(event.id, 'rejected');
    for (const [id, places] of where) assert.equal(places.length, 1, `event ${id} is in one place only (${places})`);
    const is = (id, ...places) => places.includes(where.get(id)?.[0]);

    for (const { ids, acked } of saves.values()) {
      const present = ids.filter((id) => where.has(id)).length;
      if (acked) assert.equal(present, ids.length, 'an acknowledged pending save is stored, every event of it');
      else assert.ok(present === 0 || present === ids.length, `a save in flight is stored whole or not at all (${present} of ${ids.length})`);
    }
    // Each part of a syncCommit: whether it shows as applied, and whether it shows as not applied.
    const parts = (commit) => [
      ...(commit.moved ?? []).map((id) => [is(id, 'confirmed'), is(id, 'pending')]),
      ...(commit.appended ?? []).map((id) => [is(id, 'confirmed'), !where.has(id)]),
      ...(commit.dropped ?? []).map((id) => [is(id, 'rejected'), is(id, 'pending')]),
      ...(commit.added ?? []).map((id) => [is(id, 'confirmed', 'pending'), !where.has(id)]),
    ];
    let remotePosition = 0;
    const inFlight = [...commits.values()].filter((commit) => !commit.acked && !commit.refused && !commit.counted);
    for (const commit of commits.values()) {
      if (commit.acked) {
        for (const [applied] of parts(commit)) assert.ok(applied, `acknowledged syncCommit ${commit.id} (${commit.kind}) is applied`);
        if (commit.remotePosition !== undefined) remotePosition = Math.max(remotePosition, commit.remotePosition);
      }
    }
    for (const commit of inFlight) {
      commit.counted = true;
      const checks = parts(commit);
      const applied = checks.every(([yes]) => yes);
      const notApplied = checks.every(([, no]) => no);
      assert.ok(applied || notApplied, `syncCommit ${commit.id} (${commit.kind}) in flight at the kill is applied whole or not at all: ${JSON.stringify(checks)}`);
      if (applied && checks.length > 0) counts.inFlightApplied += 1;
      else counts.inFlightNot += 1;
      if (applied && commit.remotePosition !== undefined) remotePosition = Math.max(remotePosition, commit.remotePosition);
    }
    assert.equal(ledger.syncState().remotePosition, remotePosition, 'the remote position is the last applied');

    // The version rule: per actor, confirmed versions increase in position order, pending ones above them, in order.
    const actors = new Set([...all.map((r) => r.event.actorId), ...pending.map((e) => e.actorId)]);
    for (const actorId of actors) {
      const confirmed = all.filter((r) => r.event.actorId === actorId).map((r) => r.event.version);
      const own = JSON.parse(ledger.pendingEvents(actorId)).map((e) => e.version);
      const versions = [...confirmed, ...own];
      for (let i = 1; i < versions.length; i++) assert.ok(versions[i] > versions[i - 1], `${actorId}: versions increase (${versions.slice(Math.max(0, i - 2), i + 1)})`);
      assert.deepEqual((await store.getEvents(actorId)).map((e) => e.version), versions);
      assert.equal(await store.getLatestVersion(actorId), versions.at(-1) ?? 0);
    }
  }

  test('strict: killed with SIGKILL at random instants during pending saves and syncCommits, 15 times: all or nothing, nothing acknowledged lost', { timeout: 180_000 }, (t) =>
    crashRounds(t, 'strict', 15),
  );

  test('relaxed: the same, 5 times', { timeout: 90_000 }, (t) => crashRounds(t, 'relaxed', 5));
});
