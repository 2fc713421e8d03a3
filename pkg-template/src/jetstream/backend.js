// The JetStream backend: the EventStore API over a NATS JetStream stream.
// It reaches the package's main module by name ('aether-eventstore'), so that
// it shares its classes and its wasm instance; the NATS client is loaded by the
// entry point (jetstream-node.js or jetstream-web.js).
//
// Layout: each actor's events live on the subject `<subjectPrefix>.<token>`
// (core: subject.rs); a message holds one event, or the events of one
// saveEvents call as a JSON array, so that a batch is one atomic publish.
// Snapshots live in a key-value bucket under `<token>.<version>`.
//
// Every save is published with the expected last subject sequence, which the
// server checks and keeps on the message as a header: so a message a store
// saved names the message before it on its subject. Reads from a version start
// at such a message (see #anchor) instead of at the subject's first.

import { EventStore, StorageError, ValidationError } from 'aether-eventstore';
import { AckInbox } from './acks.js';
import { replicatedStreamRefusal } from './server-version.js';

const { storeOver, storageError, records, core, wasmPending, prepareEventSave } = EventStore[Symbol.for('aether-eventstore.internals')];

/** How many positions one message spans (the core's `record::POSITIONS_PER_MESSAGE`). */
const POSITIONS_PER_MESSAGE = 1_000_000;
/** How many messages the first request of a readAll asks for. */
const FIRST_READ_MESSAGES = 16;
/** How long one request to the server may take before it fails. */
const REQUEST_TIMEOUT_MS = 5000;
/** How long a save may take in all (reconnection included) before it rejects with StorageError. */
const SAVE_TIMEOUT_MS = 15000;
/** JetStream's answers when the expected last subject sequence is not the subject's last, or cannot be told yet (a replicated stream with a message in flight on the subject). */
const WRONG_LAST_SEQUENCE = new Set([10071, 10164]);
/**
 * How long after a sign of a leader change (a disconnection or reconnection,
 * a request that failed or timed out, an ack slower than SLOW_ACK_MS) a save to
 * a replicated stream is checked after its ack, by reading the actor's events:
 * see #settle.
 */
const UNSETTLED_MS = 10000;
const SLOW_ACK_MS = 1000;
/** How long one request of that check may take: short, and repeated (until the save's deadline) while the stream elects a leader. */
const CHECK_TIMEOUT_MS = 1000;
const STREAM_NOT_FOUND = 10059;
/** The header in which the server keeps the expected last subject sequence a message was published with. */
const EXPECTED_LAST = 'Nats-Expected-Last-Subject-Sequence';
/** How the message ids of the store's saves begin (the core's `retry::message_id`). */
const STORE_MESSAGE_ID = 'aether-';

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
/** The most replicas JetStream allows a stream. */
const MAX_REPLICAS = 5;
/** The longest duration in milliseconds whose nanoseconds (what JetStream's API takes) are a safe integer: about 104 days. */
const MAX_DURATION_MS = Math.floor(Number.MAX_SAFE_INTEGER / 1e6);

/** An optional whole number option within [min, max]: the number, or `undefined` when not given. */
function wholeNumber(options, field, min, max, what) {
  const value = options[field];
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ValidationError(`${field} must be ${what}`, { field });
  }
  return value;
}

function checkOptions(options) {
  if (typeof options !== 'object' || options === null) {
    throw new ValidationError('options must be an object', { field: 'options' });
  }
  const { servers, connection, stream = 'AETHER_EVENTS', subjectPrefix = 'aether.events', snapshotBucket = 'AETHER_SNAPSHOTS' } = options;
  const replicas = wholeNumber(options, 'replicas', 1, MAX_REPLICAS, `a whole number from 1 to ${MAX_REPLICAS}`);
  const duplicateWindow = wholeNumber(options, 'duplicateWindow', 1, MAX_DURATION_MS, `a whole number of milliseconds from 1 to ${MAX_DURATION_MS}`);
  const maxBytes = wholeNumber(options, 'maxBytes', 1, Number.MAX_SAFE_INTEGER, 'a whole number of bytes, at least 1');
  const snapshotMaxAge = wholeNumber(options, 'snapshotMaxAge', 1, MAX_DURATION_MS, `a whole number of milliseconds from 1 to ${MAX_DURATION_MS}`);
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
  return { servers: serverList, connection, stream, subjectPrefix, snapshotBucket, replicas, duplicateWindow, maxBytes, snapshotMaxAge };
}

/**
 * Opens an EventStore on JetStream with the NATS client that `loadClient(servers)`
 * provides: `{ connect, createInbox, headers, jetstream, jetstreamManager, StorageType, DiscardPolicy, Kvm }`.
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
    // Without `replicas`, 1 on a lone server and 3 on a cluster (a server that reports its cluster's name).
    const replicas = settings.replicas ?? (connection.info?.cluster ? 3 : 1);
    const { replicated } = await ensureStream(manager, { ...settings, replicas }, client, connection);
    const snapshots = await new client.Kvm(connection).create(settings.snapshotBucket, {
      history: 1,
      replicas,
      ...(settings.snapshotMaxAge === undefined ? {} : { ttl: settings.snapshotMaxAge }),
    });
    const js = client.jetstream(connection, { timeout: REQUEST_TIMEOUT_MS });
    const checker = replicated ? await client.jetstreamManager(connection, { timeout: CHECK_TIMEOUT_MS, checkAPI: false }) : undefined;
    const acks = new AckInbox(connection, client.createInbox, REQUEST_TIMEOUT_MS);
    return storeOver(new JetStreamBackend({ ...settings, replicas, replicated, connection, ownsConnection, js, acks, headers: client.headers, manager, checker, snapshots }));
  } catch (error) {
    if (ownsConnection) await connection.close().catch(() => {});
    throw storageError(`cannot set up JetStream stream "${settings.stream}"`, error);
  }
}

/** The StorageError refusing a replicated stream on the connected server, or `undefined` when its version is safe. */
function versionRefusal(connection, stream) {
  const version = connection.info?.version;
  const reason = replicatedStreamRefusal(version);
  if (reason === undefined) return undefined;
  return new StorageError(`the JetStream stream "${stream}" is replicated, and ${reason}`, { cause: new Error(`nats-server ${version} is too old for a replicated stream`) });
}

/**
 * Creates the stream if missing, with the store's settings; an existing one is
 * used as it is (never changed), and must capture the prefix's subjects. A
 * replicated stream, created or found, is refused on a server too old for it.
 * Resolves with `{ replicated }`: whether the stream has more than one replica.
 */
async function ensureStream(manager, settings, { StorageType, DiscardPolicy }, connection) {
  const { stream, subjectPrefix, replicas } = settings;
  let info;
  try {
    info = await manager.streams.info(stream);
  } catch (error) {
    if (error?.code !== STREAM_NOT_FOUND && error?.name !== 'StreamNotFoundError') throw error;
    if (replicas > 1) {
      const refusal = versionRefusal(connection, stream);
      if (refusal) throw refusal;
    }
    const config = { name: stream, subjects: [`${subjectPrefix}.>`], storage: StorageType.File, num_replicas: replicas };
    if (settings.duplicateWindow !== undefined) config.duplicate_window = settings.duplicateWindow * 1_000_000;
    if (settings.maxBytes !== undefined) {
      // A full stream refuses new saves (StorageError) instead of dropping the oldest events.
      config.max_bytes = settings.maxBytes;
      config.discard = DiscardPolicy?.New ?? 'new';
    }
    await manager.streams.add(config);
    return { replicated: replicas > 1 };
  }
  if (!(info.config.subjects ?? []).some((filter) => captures(filter, subjectPrefix))) {
    throw new StorageError(
      `the existing stream "${stream}" captures ${JSON.stringify(info.config.subjects)}, not "${subjectPrefix}.>"`,
      { cause: new Error('stream subjects do not match') },
    );
  }
  const replicated = (info.config.num_replicas ?? 1) > 1;
  if (replicated) {
    const refusal = versionRefusal(connection, stream);
    if (refusal) throw refusal;
  }
  return { replicated };
}

/**
 * The sequence from `low` to `high` at which the message holding `version` is
 * likely, the versions of a subject's messages growing about evenly with their
 * sequences between the messages `below` and `above` (`{ sequence, version }`);
 * the middle when they tell nothing.
 */
function interpolate(below, above, version, low, high) {
  const share = (version - below.version) / (above.version - below.version);
  if (!(share >= 0 && share <= 1)) return Math.floor((low + high) / 2);
  const guess = Math.floor(below.sequence + share * (above.sequence - below.sequence));
  return Math.min(high, Math.max(low, guess));
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
  /** @type {StorageError | undefined} why saves are refused: the server reached by the last reconnection is too old for the replicated stream */
  #refusal = undefined;
  /** Until when (Date.now()) acknowledged saves are checked by reading them back (replicated streams only) */
  #unsettledUntil = 0;
  /** The connection's status iterator, for a replicated stream; stopped by close() */
  #statuses = null;

  constructor(settings) {
    this.#settings = settings;
    if (settings.replicated) this.#watchConnection();
  }

  /**
   * On a replicated stream: checks the version of every server the connection
   * reconnects to (saves are refused while it is too old), and treats a
   * disconnection or reconnection as a sign that the stream's leader may change.
   */
  #watchConnection() {
    const { connection, stream } = this.#settings;
    try {
      this.#statuses = connection.status();
    } catch {
      return; // a connection without status events: checked at open only
    }
    (async () => {
      for await (const status of this.#statuses) {
        if (['disconnect', 'reconnecting', 'reconnect', 'ldm', 'staleConnection'].includes(status.type)) this.#unsettle();
        if (status.type === 'reconnect') this.#refusal = versionRefusal(connection, stream);
      }
    })().catch(() => {});
  }

  /** Marks the next UNSETTLED_MS as a time when saves to a replicated stream are read back after their ack. */
  #unsettle() {
    if (this.#settings.replicated) this.#unsettledUntil = Date.now() + UNSETTLED_MS;
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
      let complete = false;
      for await (const message of await consumer.fetch({ max_messages: wanted, expires: REQUEST_TIMEOUT_MS })) {
        messages.push({ sequence: message.seq, subject: message.subject, data: message.data, headers: message.headers });
        complete = message.info.pending === 0 || messages.length >= wanted;
        if (complete) break;
      }
      // A fetch that expired first (the stream's leader changing, say) is a failed read, never a shorter history.
      if (!complete) throw new Error(`the read of ${filter} ended after ${messages.length} of ${wanted} messages`);
      return messages;
    } finally {
      consumer.delete().catch(() => {});
    }
  }

  /**
   * The actor's latest version and the stream sequence of its last message, from
   * the server: in one or two requests when the subject's last message is one the
   * store saved (see #anchor), else by reading from the last such message on.
   */
  async #fetchLatest(actorId) {
    const { lastVersion: version, lastSequence: sequence } = await this.#read(actorId, Infinity);
    return { version, sequence };
  }

  /**
   * The actor's events from `fromVersion` on, the messages that failed the check
   * among those read, its latest version and the sequence of its last message.
   * With `whole`, or from version 1, the whole subject is read, so that every
   * message that fails is reported; otherwise the read starts at an anchor
   * (#anchor), and the messages before it (whose events are all below
   * `fromVersion`) are not read.
   */
  async #read(actorId, fromVersion, whole = false) {
    const none = { events: '[]', errors: [], lastVersion: 0, lastSequence: 0 };
    let subject;
    try {
      subject = this.#subject(actorId);
    } catch {
      return none; // an id that cannot be a subject has no events
    }
    let start = 1;
    if (!whole && fromVersion > 1) {
      const anchor = await this.#anchor(subject, actorId, fromVersion);
      if (anchor.empty) {
        this.#latest.set(actorId, { version: 0, sequence: 0 });
        return none;
      }
      if (anchor.isLast) {
        // Nothing after it: no event at or above fromVersion, and its last version is the actor's latest.
        this.#latest.set(actorId, { version: anchor.version, sequence: anchor.sequence });
        return { ...none, lastVersion: anchor.version, lastSequence: anchor.sequence };
      }
      start = anchor.sequence;
    }
    const messages = await this.#readStream(subject, start);
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

  /**
   * Where a read of the actor's events from `fromVersion` on may start: the last
   * message on the subject that a store saved, whose events are all below
   * `fromVersion`, and that no other message preceded on the subject since the
   * one it was published after. Such a message is sound in a read of the whole
   * subject (the server checked that it came right after the message its
   * publisher had read the latest version from, and the publisher checked its
   * versions are above that one), so a read from it judges every later message
   * as a read of the whole subject does, and the messages before it hold no
   * event at or above `fromVersion`.
   *
   * Found by a binary search over the subject's messages (a request each, by
   * stream sequence, decoding one message each), steered by every decodable
   * message's last version; messages that cannot be decoded, or that were
   * published without the expectation (by other code), are never anchors.
   * Resolves with `{ sequence, version, isLast }` (sequence 1 when there is no
   * anchor: the whole subject is read), or `{ empty: true }` for a subject without messages.
   */
  async #anchor(subject, actorId, fromVersion) {
    const last = await this.#probe({ last_by_subj: subject }, actorId);
    if (last === null) return { empty: true };
    let best = last.anchor && last.version < fromVersion ? last : null;
    let [low, high] = [1, best ? 0 : last.sequence - 1];
    // The nearest messages known below and above the search, by sequence and last version, to interpolate between.
    let below = { sequence: 0, version: 0 };
    let above = last;
    let bisect = false;
    while (low <= high) {
      const size = high - low;
      const middle = bisect ? Math.floor((low + high) / 2) : interpolate(below, above, fromVersion - 1, low, high);
      const found = await this.#probe({ next_by_subj: subject, seq: middle }, actorId);
      if (found === null || found.sequence > high) {
        high = middle - 1; // no message of the subject from `middle` to `high`
        if (found?.version !== undefined) above = found;
      } else if (found.version !== undefined && found.version < fromVersion) {
        if (found.anchor) best = found;
        low = found.sequence + 1;
        below = found;
      } else {
        high = middle - 1;
        if (found.version !== undefined) above = found;
      }
      // A guess that did not halve the range is followed by a halving step: never more than twice a binary search's requests.
      bisect = !bisect && high - low > size / 2;
    }
    if (best === null) return { sequence: 1 };
    // Was any other message of the subject stored between the one it was published after and it? (Two writers around a leader change.)
    const next = await this.#settings.manager.streams.getMessage(this.#settings.stream, { next_by_subj: subject, seq: best.previous + 1 });
    if (next?.seq !== best.sequence) return { sequence: 1 };
    return { sequence: best.sequence, version: best.version, isLast: best.sequence === last.sequence };
  }

  /**
   * One message of the actor's subject, by a stream message request (answered by
   * the stream's leader): its sequence, its last version (`undefined` if it cannot
   * be decoded), and whether it can be an anchor (saved by a store: its message id
   * is the store's and it carries the expected last subject sequence, `previous`).
   * `null` when there is no such message.
   */
  async #probe(query, actorId) {
    const { manager, stream } = this.#settings;
    const message = await manager.streams.getMessage(stream, query);
    if (!message) return null;
    const checked = checkMessages([message.data], actorId, 0);
    const version = checked.failed.length === 0 ? checked.lastVersion : undefined;
    const expected = message.header?.get(EXPECTED_LAST) ?? '';
    const previous = /^\d+$/.test(expected) ? Number(expected) : undefined;
    const saved = (message.header?.get('Nats-Msg-Id') ?? '').startsWith(STORE_MESSAGE_ID);
    return { sequence: message.seq, version, previous, anchor: saved && version !== undefined && Number.isSafeInteger(previous) };
  }

  async getEventsWithErrors(actorId, fromVersion) {
    try {
      const { events, errors } = await readTwice(() => this.#read(actorId, fromVersion, true));
      return { events, errors };
    } catch (error) {
      throw storageError(`reading from JetStream stream "${this.#settings.stream}" failed`, error);
    }
  }

  async getEvents(actorId, fromVersion) {
    try {
      return (await readTwice(() => this.#read(actorId, fromVersion))).events;
    } catch (error) {
      throw storageError(`reading from JetStream stream "${this.#settings.stream}" failed`, error);
    }
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

  /** A new event resolves with `{ event, retried: false }`, built from its copy (see `prepareEventSave`). */
  saveEvent(encoded) {
    const { events, event } = prepareEventSave(encoded);
    return this.#save(events, false, event);
  }

  saveEvents(json) {
    return this.#save(records.unwrapEvents(core.prepareEvents(json)), true);
  }

  /** Publishes prepared `events`; with `event` (the stored event built from its copy), a stored save resolves with it. */
  async #save(events, batch, event) {
    const other = events.actorIds.findIndex((actorId) => actorId !== events.actorIds[0]);
    if (other > 0) {
      throw new ValidationError(
        `[${other}].actorId is another actor than [0].actorId: JetStream stores one actor's events atomically, so save each actor's events in a saveEvents call of its own`,
        { field: `[${other}].actorId` },
      );
    }
    const subject = this.#subject(events.actorIds[0]);
    if (this.#refusal) throw new StorageError(this.#refusal.message, { cause: this.#refusal.cause });
    const saving = withDeadline((deadline) => this.#publish(subject, events, batch, event, deadline), SAVE_TIMEOUT_MS, 'saving to JetStream');
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

  async #publish(subject, events, batch, event, deadline) {
    const { acks, stream } = this.#settings;
    const actorId = events.actorIds[0];
    const body = batch ? encoder.encode(`[${decoder.decode(events.utf8)}]`) : events.utf8;
    // The same save always carries the same id, so the server drops a retry within its duplicate window.
    const msgID = core.messageId(events.actorIds, events.versions, events.ids);
    if (this.#watching) await this.#watching;
    const started = Date.now();
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
        let ack;
        const publishing = Date.now();
        try {
          ack = await acks.publish(subject, body, this.#headers(msgID, expected.sequence));
        } catch (error) {
          if (!WRONG_LAST_SEQUENCE.has(error?.code)) throw error;
          // Another client wrote first, or (10164) a replicated stream has a message in flight on the subject: look again.
          if (error.code !== 10071) await new Promise((resolve) => setTimeout(resolve, 20));
          expected = await this.#fetchLatest(actorId);
          fresh = true;
          continue;
        }
        if (Date.now() - publishing > SLOW_ACK_MS) this.#unsettle();
        if (ack.duplicate) return { stored: await this.#duplicate(events, batch), retried: true };
        this.#latest.set(actorId, { version: events.versions.at(-1), sequence: ack.seq });
        if (this.#unsettledUntil >= started) await this.#settle(subject, events, batch, expected.sequence, ack.seq, deadline);
        if (event !== undefined) return { event, retried: false };
        return { stored: batch ? decoder.decode(body) : decoder.decode(events.utf8), retried: false };
      }
    } catch (error) {
      if (error instanceof ValidationError || error?.code === 'VERSION_CONFLICT') throw error;
      this.#unsettle();
      throw storageError(`saving to JetStream stream "${stream}" failed; the save may be retried with the same event ids`, error);
    }
  }

  /** A save's headers: its message id (for the server's duplicate check), the stream, and the actor's subject's expected last sequence (the version rule). */
  #headers(msgID, lastSubjectSequence) {
    const headers = this.#settings.headers();
    headers.set('Nats-Msg-Id', msgID);
    headers.set('Nats-Expected-Stream', this.#settings.stream);
    headers.set(EXPECTED_LAST, String(lastSubjectSequence));
    return headers;
  }

  /** If the save's events are all stored already (the core's retry rule), their JSON as the save returns it. */
  async #storedRetry(events, batch) {
    const actorId = events.actorIds[0];
    const { events: stored } = await this.#read(actorId, events.versions[0]);
    const { utf8, ends } = records.concatenate([encoder.encode(stored)]);
    return core.storedRetry(utf8, ends, events.actorIds, events.versions, events.ids, batch);
  }

  /**
   * The server dropped the save as a duplicate of a message it stored: the save's
   * stored events; a VersionConflictError if that message lost its versions to
   * another writer's (see #settle).
   */
  async #duplicate(events, batch) {
    const stored = await this.#storedRetry(events, batch);
    if (stored !== undefined) return stored;
    const conflict = this.#conflict(events, this.#latest.get(events.actorIds[0])?.version ?? 0);
    if (conflict) throw conflict;
    throw new Error('the server dropped the save as a duplicate of a message it no longer holds');
  }

  /**
   * Checks a save acknowledged around a leader change of a replicated stream, by
   * reading the actor's events back. Around a leader change JetStream has been seen
   * to let two writers store the same version (the new leader checks the expected
   * last subject sequence before it has applied what the old one accepted; see
   * nats-server issue 8469). Both would then have been checked against the same
   * last message (`after`), so one request tells whether any other message came
   * between it and this save's (`sequence`); only then are the events read.
   * Readers trust the first message at a version and report the later one, so the
   * later writer's save is not part of the history: it rejects with
   * VersionConflictError, and its message is deleted (best effort) so that no
   * version stays stored twice. The check is repeated with short requests while
   * the stream elects a leader; one that cannot be made before the save's deadline
   * rejects with StorageError (the save may be retried with the same ids, which
   * checks again).
   */
  async #settle(subject, events, batch, after, sequence, deadline) {
    const { manager, checker, stream } = this.#settings;
    let stored;
    for (;;) {
      try {
        const next = await checker.streams.getMessage(stream, { next_by_subj: subject, seq: after + 1 });
        if (next?.seq === sequence) return; // no other message between the one expected last and this save's
        stored = await readTwice(() => this.#storedRetry(events, batch));
        break;
      } catch (error) {
        if (deadline.passed) throw new Error('the save was acknowledged around a leader change of the stream, and reading it back failed', { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    if (stored !== undefined) return;
    const actorId = events.actorIds[0];
    const latestVersion = this.#latest.get(actorId)?.version ?? 0;
    if (await manager.streams.deleteMessage(stream, sequence, false).catch(() => false)) {
      this.#latest.delete(actorId); // its last message may have been this one: the next save looks again
    }
    const conflict = this.#conflict(events, latestVersion);
    if (conflict) throw conflict;
    throw new Error('the save was acknowledged around a leader change of the stream, and is not among the events read back');
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
    this.#settings.acks.close();
    this.#statuses?.stop?.();
    await this.#watching?.catch(() => {});
    await this.#live?.close();
    if (this.#settings.ownsConnection) await this.#settings.connection.drain();
  }
}
