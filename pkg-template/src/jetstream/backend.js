// The JetStream backend: the EventStore API over a NATS JetStream stream.
// It reaches the package's main module by name ('aether-eventstore'), so that
// it shares its classes and its wasm instance; the NATS client is loaded by the
// entry point (jetstream-node.js or jetstream-web.js).
//
// Layout: each actor's events live on the subject `<subjectPrefix>.<token>`
// (core: subject.rs); a message holds one event, or the events of one
// saveEvents call as a JSON array, so that a batch is one atomic publish.
// Snapshots live in a key-value bucket under `<token>.<version>`.

import { EventStore, StorageError, ValidationError } from 'aether-eventstore';

const { storeOver, storageError, records, core, wasmPending } = EventStore[Symbol.for('aether-eventstore.internals')];

/** How many positions one message spans (the core's `record::POSITIONS_PER_MESSAGE`). */
const POSITIONS_PER_MESSAGE = 1_000_000;
/** How many messages the first request of a readAll asks for. */
const FIRST_READ_MESSAGES = 16;
/** How long one request to the server may take before it fails. */
const REQUEST_TIMEOUT_MS = 5000;
/** How long a save may take in all (reconnection included) before it rejects with StorageError. */
const SAVE_TIMEOUT_MS = 15000;
/** JetStream's answer when the expected last subject sequence is not the subject's last. */
const WRONG_LAST_SEQUENCE = 10071;
const STREAM_NOT_FOUND = 10059;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Runs `work(deadline)`, rejecting with StorageError if it has not settled within
 * `ms`; `deadline.passed` then tells the work to stop before its next request.
 */
function withDeadline(work, ms, what) {
  const deadline = { passed: false };
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => {
      deadline.passed = true;
      reject(new StorageError(`${what} did not finish within ${ms / 1000} s`, { cause: new Error('timeout') }));
    }, ms);
  });
  return Promise.race([work(deadline), expired]).finally(() => clearTimeout(timer));
}

/**
 * Runs a read, and once more if it fails: just after a reconnection the first
 * requests may time out while the server's JetStream recovers. Reads are idempotent.
 */
async function readTwice(read) {
  try {
    return await read();
  } catch {
    return read();
  }
}

/** Whether the subject filter `filter` captures every subject below `prefix`. */
function captures(filter, prefix) {
  const wanted = `${prefix}.>`.split('.');
  const tokens = filter.split('.');
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] === '>') return true;
    if (i >= wanted.length || wanted[i] === '>' || (tokens[i] !== '*' && tokens[i] !== wanted[i])) return false;
  }
  return tokens.length === wanted.length;
}

/** Checks messages of one actor with the core. */
function checkMessages(chunks, actorId, fromVersion) {
  return records.checkRecords(chunks, (utf8, ends) => core.checkMessages(utf8, ends, actorId, fromVersion));
}

const NAME = /^[A-Za-z0-9_-]+$/;
const SUBJECT = /^[^\s.*>]+(\.[^\s.*>]+)*$/;

function checkOptions(options) {
  if (typeof options !== 'object' || options === null) {
    throw new ValidationError('options must be an object', { field: 'options' });
  }
  const { servers, connection, stream = 'AETHER_EVENTS', subjectPrefix = 'aether.events', snapshotBucket = 'AETHER_SNAPSHOTS' } = options;
  const serverList = servers === undefined ? [] : [servers].flat();
  if (serverList.some((server) => typeof server !== 'string' || server === '')) {
    throw new ValidationError('servers must be a URL or an array of URLs', { field: 'servers' });
  }
  if (!connection && serverList.length === 0) {
    throw new ValidationError('give servers, or an open connection', { field: 'servers' });
  }
  if (typeof stream !== 'string' || !NAME.test(stream)) {
    throw new ValidationError('stream must be a name of letters, digits, - and _', { field: 'stream' });
  }
  if (typeof subjectPrefix !== 'string' || !SUBJECT.test(subjectPrefix)) {
    throw new ValidationError('subjectPrefix must be a subject without wildcards, e.g. "aether.events"', { field: 'subjectPrefix' });
  }
  if (typeof snapshotBucket !== 'string' || !NAME.test(snapshotBucket)) {
    throw new ValidationError('snapshotBucket must be a name of letters, digits, - and _', { field: 'snapshotBucket' });
  }
  return { servers: serverList, connection, stream, subjectPrefix, snapshotBucket };
}

/**
 * Opens an EventStore on JetStream with the NATS client that `loadClient(servers)`
 * provides: `{ connect, jetstream, jetstreamManager, StorageType, Kvm }`.
 */
export async function openJetStreamWith(options, loadClient) {
  const settings = checkOptions(options);
  await wasmPending();
  const client = await loadClient(settings.servers);
  let connection = settings.connection;
  const ownsConnection = !connection;
  if (ownsConnection) {
    try {
      connection = await client.connect({
        servers: settings.servers,
        name: 'aether-eventstore',
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        timeout: REQUEST_TIMEOUT_MS,
      });
    } catch (error) {
      throw storageError(`cannot connect to NATS at ${settings.servers.join(', ')}`, error);
    }
  }
  try {
    const manager = await client.jetstreamManager(connection, { timeout: REQUEST_TIMEOUT_MS });
    await ensureStream(manager, settings, client.StorageType);
    const snapshots = await new client.Kvm(connection).create(settings.snapshotBucket, { history: 1 });
    const js = client.jetstream(connection, { timeout: REQUEST_TIMEOUT_MS });
    return storeOver(new JetStreamBackend({ ...settings, connection, ownsConnection, js, manager, snapshots }));
  } catch (error) {
    if (ownsConnection) await connection.close().catch(() => {});
    throw storageError(`cannot set up JetStream stream "${settings.stream}"`, error);
  }
}

/** Creates the stream if missing; an existing one must capture the prefix's subjects. */
async function ensureStream(manager, { stream, subjectPrefix }, StorageType) {
  let info;
  try {
    info = await manager.streams.info(stream);
  } catch (error) {
    if (error?.code !== STREAM_NOT_FOUND && error?.name !== 'StreamNotFoundError') throw error;
    await manager.streams.add({ name: stream, subjects: [`${subjectPrefix}.>`], storage: StorageType.File });
    return;
  }
  if (!(info.config.subjects ?? []).some((filter) => captures(filter, subjectPrefix))) {
    throw new StorageError(
      `the existing stream "${stream}" captures ${JSON.stringify(info.config.subjects)}, not "${subjectPrefix}.>"`,
      { cause: new Error('stream subjects do not match') },
    );
  }
}

class JetStreamBackend {
  /** Called (while anyone listens) with every commit, this client's and others', as heard from the stream in stream order. */
  onCommitted = null;
  orderedNotices = true;
  /** JetStream commits one actor's events atomically, not several actors'. */
  oneActorPerBatch = true;
  #settings;
  /** @type {Map<string, { version: number, sequence: number }>} each actor's latest version and its message's stream sequence, as last seen: only an expectation for the next publish, which the server checks */
  #latest = new Map();
  /** @type {Set<Promise<unknown>>} saves made and not yet settled, which close() waits for */
  #saving = new Set();
  /** @type {Promise<void> | null} the live consumer behind subscribe, once asked for */
  #watching = null;
  #live = null;

  constructor(settings) {
    this.#settings = settings;
  }

  #subject(actorId) {
    return `${this.#settings.subjectPrefix}.${core.encodeActorToken(actorId)}`;
  }

  /**
   * Messages on subjects matching `filter`, in stream order, from stream sequence
   * `start` on, at most `max`, through an ordered consumer deleted afterwards
   * (so that reads leave no consumer behind on the server).
   */
  async #readStream(filter, start = 1, max = Infinity, stream = this.#settings.stream) {
    const { js } = this.#settings;
    const consumer = await js.consumers.get(stream, { filter_subjects: filter, opt_start_seq: start });
    try {
      const { num_pending: pending } = await consumer.info();
      const wanted = Math.min(pending, max);
      const messages = [];
      if (wanted === 0) return messages;
      for await (const message of await consumer.fetch({ max_messages: wanted, expires: REQUEST_TIMEOUT_MS })) {
        messages.push({ sequence: message.seq, subject: message.subject, data: message.data, headers: message.headers });
        if (message.info.pending === 0 || messages.length >= wanted) break;
      }
      return messages;
    } finally {
      consumer.delete().catch(() => {});
    }
  }

  /**
   * The actor's latest version and the stream sequence of its last message, from
   * the server. The whole subject is read: a message that another publisher put
   * out of version order (v2 after v5) must not lower the latest version.
   */
  async #fetchLatest(actorId) {
    const { lastVersion: version, lastSequence: sequence } = await this.#read(actorId, Infinity);
    return { version, sequence };
  }

  async #read(actorId, fromVersion) {
    let subject;
    try {
      subject = this.#subject(actorId);
    } catch {
      return { events: '[]', errors: [], lastVersion: 0, lastSequence: 0 }; // an id that cannot be a subject has no events
    }
    const messages = await this.#readStream(subject);
    const checked = checkMessages(messages.map((message) => message.data), actorId, fromVersion);
    const lastSequence = messages.at(-1)?.sequence ?? 0;
    this.#latest.set(actorId, { version: checked.lastVersion, sequence: lastSequence });
    const errors = Array.from(checked.failed, (index, i) => ({
      sequenceNumber: messages[index].sequence,
      rawData: new Uint8Array(messages[index].data), // a copy, not a view of the client's buffer
      error: checked.errors[i],
    }));
    return { events: checked.events, errors, lastVersion: checked.lastVersion, lastSequence };
  }

  async getEventsWithErrors(actorId, fromVersion) {
    try {
      const { events, errors } = await readTwice(() => this.#read(actorId, fromVersion));
      return { events, errors };
    } catch (error) {
      throw storageError(`reading from JetStream stream "${this.#settings.stream}" failed`, error);
    }
  }

  async getEvents(actorId, fromVersion) {
    return (await this.getEventsWithErrors(actorId, fromVersion)).events;
  }

  async getLatestVersion(actorId) {
    try {
      this.#subject(actorId);
    } catch {
      return 0;
    }
    try {
      return (await readTwice(() => this.#fetchLatest(actorId))).version;
    } catch (error) {
      throw storageError(`reading from JetStream stream "${this.#settings.stream}" failed`, error);
    }
  }

  saveEvent(json) {
    return this.#save(core.prepareEvent(json), false);
  }

  saveEvents(json) {
    return this.#save(core.prepareEvents(json), true);
  }

  async #save(prepared, batch) {
    const events = records.unwrapEvents(prepared);
    const other = events.actorIds.findIndex((actorId) => actorId !== events.actorIds[0]);
    if (other > 0) {
      throw new ValidationError(
        `[${other}].actorId is another actor than [0].actorId: JetStream stores one actor's events atomically, so save each actor's events in a saveEvents call of its own`,
        { field: `[${other}].actorId` },
      );
    }
    const subject = this.#subject(events.actorIds[0]);
    const saving = withDeadline((deadline) => this.#publish(subject, events, batch, deadline), SAVE_TIMEOUT_MS, 'saving to JetStream');
    this.#saving.add(saving);
    saving.then(
      () => this.#saving.delete(saving),
      () => this.#saving.delete(saving),
    );
    return saving;
  }

  /** The core's version rule against the actor's latest version: the VersionConflictError, or `undefined` if the save is admitted. */
  #conflict(events, latestVersion) {
    const ledger = new core.VersionLedger();
    try {
      ledger.observe(events.actorIds[0], latestVersion);
      ledger.admit(events.actorIds, events.versions);
      return undefined;
    } catch (conflict) {
      return conflict;
    } finally {
      ledger.free();
    }
  }

  async #publish(subject, events, batch, deadline) {
    const { js, stream } = this.#settings;
    const actorId = events.actorIds[0];
    const stored = batch ? `[${decoder.decode(events.utf8)}]` : decoder.decode(events.utf8);
    const body = batch ? encoder.encode(stored) : events.utf8;
    // The same save always carries the same id, so the server drops a retry within its duplicate window.
    const msgID = core.messageId(events.actorIds, events.versions, events.ids);
    await this.#watching;
    try {
      // An actor not seen yet is expected to be new (no message on its subject):
      // one round trip when it is, and the server's refusal corrects it when it is not.
      let expected = this.#latest.get(actorId) ?? { version: 0, sequence: 0 };
      let fresh = false; // whether `expected` was just read from the server
      for (;;) {
        const conflict = this.#conflict(events, expected.version);
        if (conflict && !fresh) {
          expected = await this.#fetchLatest(actorId); // the conflict may rest on a stale expectation
          fresh = true;
          continue;
        }
        if (conflict) {
          const retried = await this.#storedRetry(events, batch);
          if (retried === undefined) throw conflict;
          return { stored: retried, retried: true };
        }
        if (deadline.passed) throw new Error('the save ran out of time');
        try {
          const ack = await js.publish(subject, body, { msgID, expect: { lastSubjectSequence: expected.sequence, streamName: stream }, timeout: REQUEST_TIMEOUT_MS });
          if (ack.duplicate) return { stored: await this.#duplicate(events, batch), retried: true };
          this.#latest.set(actorId, { version: events.versions.at(-1), sequence: ack.seq });
          return { stored, retried: false };
        } catch (error) {
          if (error?.code !== WRONG_LAST_SEQUENCE && error?.api_error?.err_code !== WRONG_LAST_SEQUENCE) throw error;
          expected = await this.#fetchLatest(actorId); // another client wrote first: look again
          fresh = true;
        }
      }
    } catch (error) {
      if (error instanceof ValidationError || error?.code === 'VERSION_CONFLICT') throw error;
      throw storageError(`saving to JetStream stream "${stream}" failed; the save may be retried with the same event ids`, error);
    }
  }

  /** If the save's events are all stored already (the core's retry rule), their JSON as the save returns it. */
  async #storedRetry(events, batch) {
    const actorId = events.actorIds[0];
    const { events: stored } = await this.#read(actorId, events.versions[0]);
    const { utf8, ends } = records.concatenate([encoder.encode(stored)]);
    return core.storedRetry(utf8, ends, events.actorIds, events.versions, events.ids, batch);
  }

  /** The server dropped the save as a duplicate of a message it stored: the save's stored events. */
  async #duplicate(events, batch) {
    const stored = await this.#storedRetry(events, batch);
    if (stored === undefined) throw new Error('the server dropped the save as a duplicate of a message it no longer holds');
    return stored;
  }

  /** Stores a snapshot once the actor's events have reached its version (events are never removed, so checking first is safe). */
  async saveSnapshot(json) {
    const { json: stored, actorId, version } = records.unwrapSnapshot(core.prepareSnapshot(json));
    const key = `${core.encodeActorToken(actorId)}.${version}`;
    core.checkSnapshotVersion(version, await this.getLatestVersion(actorId));
    try {
      await this.#settings.snapshots.put(key, encoder.encode(stored));
    } catch (error) {
      throw storageError(`saving a snapshot to bucket "${this.#settings.snapshotBucket}" failed`, error);
    }
    return stored;
  }

  /** The highest-version snapshot that can be decoded; a damaged one is passed over for the one before it. */
  async getLatestSnapshot(actorId) {
    let token;
    try {
      token = core.encodeActorToken(actorId);
    } catch {
      return undefined;
    }
    return readTwice(() => this.#latestSnapshot(token));
  }

  /**
   * Reads the bucket's stream for the actor's keys (`<token>.<version>`, one
   * message each) through a consumer deleted afterwards, as every read here does.
   */
  async #latestSnapshot(token) {
    const { snapshotBucket } = this.#settings;
    try {
      const prefix = `$KV.${snapshotBucket}.${token}.`;
      const found = (await this.#readStream(`${prefix}*`, 1, Infinity, `KV_${snapshotBucket}`))
        .filter((message) => !['DEL', 'PURGE'].includes(message.headers?.get('KV-Operation')))
        .map((message) => ({ version: Number(message.subject.slice(prefix.length)), data: message.data }))
        .sort((a, b) => b.version - a.version);
      const latest = found.find(({ data }) => core.checkSnapshotRecord(data) === undefined);
      return latest && decoder.decode(latest.data);
    } catch (error) {
      throw storageError(`reading bucket "${snapshotBucket}" failed`, error);
    }
  }

  /** Starts hearing every message stored from now on, from any client, in stream order; resolves once it does. */
  watch() {
    if (this.#watching) return this.#watching;
    const { js, manager, stream, subjectPrefix } = this.#settings;
    this.#watching = (async () => {
      const info = await manager.streams.info(stream);
      const consumer = await js.consumers.get(stream, { filter_subjects: `${subjectPrefix}.>`, opt_start_seq: info.state.last_seq + 1 });
      // Short pulls: after a server restart the consumer is made again within seconds, not after a 30 s pull expires.
      this.#live = await consumer.consume({ expires: 2000 });
      (async () => {
        for await (const message of this.#live) this.#deliver(message);
      })().catch(() => {});
    })().catch((error) => {
      this.#watching = null;
      throw storageError(`cannot listen to JetStream stream "${stream}"`, error);
    });
    return this.#watching;
  }

  /** Hands a live message's events to the listeners, with their positions. */
  #deliver(message) {
    const actorId = this.#actorOf(message.subject);
    if (actorId === undefined) return;
    const checked = this.#checkRecorded([{ sequence: message.seq, data: message.data }], [actorId], 0, Infinity);
    if (checked.failed.length === 0) this.onCommitted?.(checked.events);
  }

  /** The actor whose subject `subject` is, or `undefined` for another subject. */
  #actorOf(subject) {
    const prefix = `${this.#settings.subjectPrefix}.`;
    return subject.startsWith(prefix) ? core.decodeActorToken(subject.slice(prefix.length)) : undefined;
  }

  /** Checks messages with the core: their events with `position > after` as `{ position, event }`, at most `limit`. */
  #checkRecorded(messages, actorIds, after, limit) {
    const sequences = Float64Array.from(messages, (message) => message.sequence);
    const limitCount = Math.min(limit, 0xffffffff);
    return records.checkRecords(
      messages.map((message) => message.data),
      (utf8, ends) => core.checkRecordedMessages(utf8, ends, actorIds, sequences, after, limitCount),
    );
  }

  /**
   * At most `limit` events with `position > after`: the events of the message with
   * stream sequence `s` have positions `s * 1,000,000 + i` (the core's `message_position`).
   */
  async readAll(after, limit) {
    try {
      return await readTwice(() => this.#readAll(after, limit));
    } catch (error) {
      throw storageError(`reading from JetStream stream "${this.#settings.stream}" failed`, error);
    }
  }

  async #readAll(after, limit) {
    const parts = [];
    let from = Math.max(1, Math.floor(after / POSITIONS_PER_MESSAGE));
    let wanted = limit;
    // A message holds one event or a whole batch: ask for a few messages first, then
    // as many as the events per message seen so far say are needed, not `limit` messages.
    let perMessage = Math.max(1, limit / FIRST_READ_MESSAGES);
    for (;;) {
      const asked = Math.min(wanted, Math.ceil(wanted / perMessage));
      const read = await this.#readStream(`${this.#settings.subjectPrefix}.>`, from, asked);
      const messages = read.filter((message) => this.#actorOf(message.subject) !== undefined);
      const checked = this.#checkRecorded(messages, messages.map((message) => this.#actorOf(message.subject)), after, wanted);
      if (checked.count > 0) parts.push(checked.events.slice(1, -1));
      wanted -= checked.count;
      perMessage = Math.max(1, checked.count / Math.max(1, read.length));
      // Damaged messages are left out: read on until `limit` events, or the end.
      if (wanted <= 0 || read.length < asked) return `[${parts.join(',')}]`;
      from = read.at(-1).sequence + 1;
    }
  }

  /** The position of the last event in the stream, `0` when it has none. */
  async lastPosition() {
    try {
      return await readTwice(() => this.#lastPosition());
    } catch (error) {
      throw storageError(`reading from JetStream stream "${this.#settings.stream}" failed`, error);
    }
  }

  async #lastPosition() {
    const { manager, stream } = this.#settings;
    const { state } = await manager.streams.info(stream);
    for (let sequence = state.last_seq; sequence >= Math.max(1, state.first_seq); sequence--) {
      const message = await manager.streams.getMessage(stream, { seq: sequence }).catch(() => null);
      const actorId = message ? this.#actorOf(message.subject) : undefined;
      if (actorId === undefined) continue; // deleted, or another subject of the stream
      const checked = this.#checkRecorded([{ sequence, data: message.data }], [actorId], 0, Infinity);
      return sequence * POSITIONS_PER_MESSAGE + Math.max(checked.count - 1, 0);
    }
    return 0;
  }

  /** Lets the saves already made settle (stored, or rejected as they would be), then lets go of the stream. */
  async close() {
    await Promise.allSettled(this.#saving);
    await this.#watching?.catch(() => {});
    await this.#live?.close();
    if (this.#settings.ownsConnection) await this.#settings.connection.drain();
  }
}
