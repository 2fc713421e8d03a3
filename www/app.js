// The demo app: a shopping list kept as events in IndexedDB through
// aether-eventstore, in sync across tabs, usable offline, with an event inspector.
// When `npm run demo` found a nats-server, every browser that opens the page
// syncs its list through it (aether-eventstore/sync, JetStream over WebSocket):
// a device works offline, and its events reach the others when it is back.

import { CommandHandler, EventStore, isVersionConflict } from 'aether-eventstore';
import { openJetStream } from 'aether-eventstore/jetstream';
import { startSync } from 'aether-eventstore/sync';
import { apply, commands, decide, emptyList, namesIn } from './list.js';
import { renderConflicts, renderTimeline } from './inspector.js';

const SNAPSHOT_EVERY = 5;
const PAGE = 10; // inspector cards per page
const LISTS = { groceries: 'Groceries', hardware: 'Hardware store' };
const user = `tab-${crypto.randomUUID().slice(0, 4)}`;
/** This browser profile: a device of its own, as two browsers (or a private window) are two devices. */
const device = localStorage.getItem('aether-demo-device') ?? `device-${crypto.randomUUID().slice(0, 4)}`;
localStorage.setItem('aether-demo-device', device);

const $ = (id) => document.getElementById(id);

/**
 * What the demo server says: the nats-server's WebSocket URL and a name for
 * this run of it (`sync`), or `null` and how to install one. Kept for a start
 * without the network (the service worker keeps it too).
 */
async function demoConfig() {
  try {
    const config = await (await fetch('./demo-config.json', { cache: 'no-store' })).json();
    localStorage.setItem('aether-demo-config', JSON.stringify(config));
    return config;
  } catch {
    return JSON.parse(localStorage.getItem('aether-demo-config') ?? 'null') ?? { sync: null, hint: '' };
  }
}
const demo = await demoConfig();

/**
 * Synced, the database belongs to one run of the demo's nats-server (whose data
 * lives in a temporary folder): a new run starts a new shared list, and the
 * databases of earlier runs are deleted. Local-only, the list is 'aether-demo'.
 */
const SYNCED_PREFIX = 'aether-demo-sync-';
const DATABASE = demo.sync ? `${SYNCED_PREFIX}${demo.sync.run}` : 'aether-demo';
const store = await EventStore.openIndexedDb(DATABASE);
/** The other tabs of this device, told of each command (synced and offline, nothing else tells them). */
const tabs = typeof BroadcastChannel === 'function' ? new BroadcastChannel(`aether-demo:${DATABASE}`) : null;
if (demo.sync && indexedDB.databases) {
  for (const { name } of await indexedDB.databases()) {
    if (!name?.startsWith(SYNCED_PREFIX) || name === DATABASE) continue;
    indexedDB.deleteDatabase(name);
    localStorage.removeItem(`aether-demo-conflicts:${name}`); // its conflict notes (see keepNote)
  }
}
let listId = new URL(location.href).searchParams.get('list') ?? 'groceries';
/** What this tab shows: the list's state and the version it was loaded at. */
let view = { ...emptyList(), version: 0 };
/** Commands refused by a version conflict, waiting for the user to retry or discard them. */
let pending = [];
/** How many of the newest versions the inspector shows. */
let shown = PAGE;

const actorOf = (id) => `list:${id}`;

/**
 * Commands go through a CommandHandler: it loads the list (latest snapshot, then
 * the events after it), asks `decide` for the events on that state, saves them as
 * one atomic batch at the next versions, and takes a snapshot every 5 versions.
 * With live view on, a conflict (another tab saved first) is retried by loading
 * and deciding again, up to 3 times. With live view off, the tab decides on what
 * it shows, once, and a conflict is put to the user. (Another device's events
 * meet this device's through the sync instead: see decideAgain.)
 */
const config = { initialState: emptyList, evolve: apply, snapshotEvery: SNAPSHOT_EVERY };
const retrying = new CommandHandler({ ...config, maxRetries: 3 });
const once = new CommandHandler({ ...config, maxRetries: 0 });

/**
 * The store as the handlers read it. getEvents leaves out records that cannot be
 * decoded (see "Damage a record"), and the handler takes the last event's version
 * as the list's: were the newest record damaged, every save would land on the
 * damaged record's version and conflict forever. So when the actor's latest
 * version is above the last readable event, the events end with a marker at that
 * version, which changes nothing in the state and moves the next save above it.
 */
const latest = {
  getLatestSnapshot: (actorId) => store.getLatestSnapshot(actorId),
  async getEvents(actorId, fromVersion) {
    const version = await store.getLatestVersion(actorId); // first: every event up to it is in what follows
    const events = await store.getEvents(actorId, fromVersion);
    if (version <= (events.at(-1)?.version ?? fromVersion - 1)) return events;
    return [...events, { eventType: 'UnreadableRecord', actorId, version, data: {} }];
  },
  saveEvents: (events) => store.saveEvents(events),
  saveSnapshot: (snapshot) => store.saveSnapshot(snapshot),
};

/** The store as this tab last showed it: reads give the tab's view, saves go to the store. */
function asShown({ items, version }) {
  return {
    ...latest,
    getLatestSnapshot: async (actorId) => (version === 0 ? null : { actorId, version, state: { items }, timestamp: '' }),
    getEvents: async () => [],
  };
}

async function load() {
  const { state, version } = await retrying.load(latest, actorOf(listId));
  return { ...state, version };
}

/** Loads and shows the list and the inspector; calls made meanwhile are folded into one more run. */
let refreshing = null;
let again = false;
function refresh() {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      again = false;
      const list = listId;
      const next = await load();
      if (list !== listId) again = true;
      else view = next;
      render();
      await renderInspector();
    } while (again);
  })().finally(() => (refreshing = null));
  return refreshing;
}

/**
 * Runs a command through a CommandHandler. `fresh`: decide on the stored list
 * (live sync on, or the user asked to reload and reapply); otherwise on the tab's view.
 */
async function execute(command, { fresh = $('live').checked } = {}) {
  const [handler, reads] = fresh ? [retrying, latest] : [once, asShown(view)];
  let decisions = 0;
  let note = '';
  showNote('');
  try {
    const { events } = await handler.handle(
      reads,
      actorOf(listId),
      (state) => {
        decisions++;
        const decided = decide(state, command);
        note = decided.note ?? '';
        return decided.events;
      },
      { commandId: command.id, metadata: { correlationId: command.id, userId: user, device, command: command.type } },
    );
    if (decisions > 1) note = `Another tab saved first: your change was decided again on the new list. ${note}`;
    showNote(note);
    if (events.length > 0) {
      tabs?.postMessage('changed');
      await askToPersist();
    }
  } catch (error) {
    if (!isVersionConflict(error)) throw error;
    pending.push({ command, error });
  }
  await refreshOrKeep();
}

/** With live view on, shows the stored state; off, keeps this tab's (stale) view while a conflict waits. */
async function refreshOrKeep() {
  if ($('live').checked || pending.length === 0) await refresh();
  else render();
}

function showNote(text) {
  $('note').textContent = text.trim();
  $('note').hidden = !text;
}

function render() {
  for (const [id, title] of Object.entries(LISTS)) {
    $(`list-${id}`).setAttribute('aria-current', String(id === listId));
    $(`list-${id}`).textContent = title;
  }
  const items = view.items.map((item) => {
    const checkbox = Object.assign(document.createElement('input'), { type: 'checkbox', checked: item.checked });
    checkbox.setAttribute('aria-label', `bought ${item.name}`);
    checkbox.addEventListener('change', () => execute(commands.check(item, checkbox.checked)));
    const remove = Object.assign(document.createElement('button'), { className: 'link', textContent: '✕', title: `remove ${item.name}` });
    remove.addEventListener('click', () => execute(commands.remove(item)));
    const li = document.createElement('li');
    li.className = item.checked ? 'checked' : '';
    li.append(checkbox, Object.assign(document.createElement('span'), { textContent: item.name }), remove);
    return li;
  });
  $('items').replaceChildren(...items);
  const ticked = view.items.filter((item) => item.checked).length;
  $('clear').disabled = ticked === 0;
  $('clear').textContent = ticked > 0 ? `Clear ${ticked} ticked` : 'Clear ticked';
  $('summary').textContent = `${view.items.length} items · version ${view.version} · snapshot every ${SNAPSHOT_EVERY} events`;
  $('conflict').hidden = pending.length === 0;
  if (pending.length > 0) {
    const { error } = pending.at(-1);
    const changes = pending.length === 1 ? 'your change was' : `your ${pending.length} changes were`;
    $('conflict-text').textContent =
      `Another tab changed this list: it is at version ${error.currentVersion}, ` +
      `and ${changes} made on version ${error.attemptedVersion - 1}.`;
  }
}

async function renderInspector() {
  const actorId = actorOf(listId);
  const version = await store.getLatestVersion(actorId);
  const from = Math.max(1, version - shown + 1);
  const [replay, snapshot, waiting, rejections] = await Promise.all([
    store.getEventsWithErrors(actorId, from),
    store.getLatestSnapshot(actorId),
    reader ? reader.pendingEvents() : [],
    reader ? reader.rejections() : [],
  ]);
  const ours = rejections.filter(({ event }) => event.actorId === actorId);
  renderTimeline($('timeline'), {
    replay,
    snapshot,
    from,
    latest: version,
    pendingIds: new Set(waiting.map((event) => event.id)),
    onOlder: () => {
      shown += PAGE;
      refresh();
    },
  });
  renderConflicts($('conflicts'), { rejections: ours, events: ours.length > 0 ? await store.getEvents(actorId) : [], notes: conflictNotes() });
  pendingCount = waiting.length;
  if (seenRejections !== null && rejections.length > seenRejections) {
    const decided = rejections.length - seenRejections;
    showNote(
      `Synced: another device changed a list while this one was offline, and took the versions of ${decided === 1 ? 'one of your events' : `${decided} of your events`}. ` +
        'Their commands were decided again on the new list: see “Conflicts” in the inspector.',
    );
  }
  seenRejections = rejections.length;
  showSync();
}

async function askToPersist() {
  if (navigator.storage?.persist && !(await navigator.storage.persisted())) await navigator.storage.persist();
  await showStorage();
}

async function showStorage() {
  const persisted = await navigator.storage?.persisted?.();
  $('storage').textContent = persisted ? 'storage: persistent' : 'storage: best effort';
  $('storage').classList.toggle('off', !persisted);
}

function showNetwork() {
  $('network').textContent = navigator.onLine ? 'online' : 'offline';
  $('network').classList.toggle('off', !navigator.onLine);
}

/**
 * Overwrites the newest stored event of this list with bytes that are no event,
 * to show the inspector's report. A record holds the events of one commit
 * (layout 4, see "Persistence in IndexedDB" in the README): their JSON
 * comma-separated in `events`, event `i` ending at `ends[i]` when there are several.
 */
async function damageNewestRecord() {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const tx = db.transaction('events', 'readwrite');
  const index = tx.objectStore('events').index('actorVersion');
  const range = IDBKeyRange.bound([actorOf(listId), 0], [actorOf(listId), Infinity]);
  index.openCursor(range, 'prev').onsuccess = (event) => {
    const cursor = event.target.result;
    if (!cursor) return;
    const record = cursor.value;
    const bytes = record.events;
    const ends = record.keys.length > 1 ? [...record.ends] : [bytes.length];
    const events = ends.map((end, i) => bytes.subarray(i === 0 ? 0 : ends[i - 1] + 1, end));
    const newest = record.keys.findIndex(([actorId, version]) => actorId === cursor.key[0] && version === cursor.key[1]);
    events[newest] = new TextEncoder().encode('{"eventType":"ItemAdd');
    const joined = new Uint8Array(events.reduce((length, json) => length + json.length + 1, -1));
    const newEnds = [];
    events.reduce((at, json, i) => {
      if (i > 0) joined[at++] = 0x2c; // the comma between events
      joined.set(json, at);
      newEnds.push(at + json.length);
      return at + json.length;
    }, 0);
    const damaged = { ...record, events: joined };
    if (record.keys.length > 1) damaged.ends = Uint32Array.from(newEnds);
    cursor.update(damaged);
  };
  await new Promise((resolve) => (tx.oncomplete = resolve));
  db.close();
  await refresh();
}

// Sync with the other devices, through the demo's nats-server. Each tab
// starts a sync; one of the device's tabs syncs at a time (Web Locks), the
// others see its work in the shared database. Offline, the sync is stopped:
// when the browser says it is offline (its offline mode, or the network gone)
// or the user chose "work offline"; it starts again when both say otherwise.

const WORK_OFFLINE = 'aether-demo-work-offline';
/** This tab's running sync; `null` while offline or local-only. */
let sync = null;
/** The last sync started here, running or stopped: it reads the pending and rejected events. */
let reader = null;
/** Starts and stops of the sync, one after the other. */
let steering = Promise.resolve();
/** This device's pending events, for the badge. */
let pendingCount = 0;
/** How many rejections the last refresh saw (`null` before the first), to tell the user of new conflicts. */
let seenRejections = null;

const workingOffline = () => localStorage.getItem(WORK_OFFLINE) === 'true';
const shouldSync = () => Boolean(demo.sync) && navigator.onLine && !workingOffline();

/** The remote, opened each time the sync connects: the demo's nats-server over WebSocket. */
const remote = () =>
  openJetStream({ servers: demo.sync.servers, stream: 'AETHER_DEMO', subjectPrefix: 'aether.demo', snapshotBucket: 'AETHER_DEMO_SNAPSHOTS' });

/** Starts or stops this tab's sync as `shouldSync()` says. */
function steerSync() {
  steering = steering
    .then(async () => {
      if (shouldSync() && !sync) {
        sync = reader = startSync(store, remote, { onConflict: decideAgain });
        sync.onStatus(showSync);
        sync.onChange(() => $('live').checked && refresh());
      } else if (!shouldSync() && sync) {
        const stopping = sync;
        sync = null;
        showSync();
        // A stop closes the connection, which waits for saves in flight: with the
        // network gone, until it is back (the next start waits for this one).
        await stopping.stop();
      }
      showSync();
    })
    .catch((error) => console.error('aether-demo: starting or stopping the sync failed', error));
  return steering;
}

function showSync() {
  let [state, text] = ['connecting', 'connecting'];
  if (!demo.sync) [state, text] = ['local', 'local only'];
  else if (!navigator.onLine) [state, text] = ['offline', 'offline (the browser is offline)'];
  else if (workingOffline()) [state, text] = ['offline', 'offline (working offline)'];
  else if (sync?.status === 'online' || sync?.status === 'offline') [state, text] = [sync.status, sync.status];
  const badge = $('sync');
  badge.dataset.state = state;
  badge.textContent = `sync: ${text}${demo.sync && pendingCount > 0 ? ` · ${pendingCount} pending` : ''}`;
  badge.classList.toggle('off', state !== 'online');
  badge.title =
    state === 'offline' && sync?.lastError
      ? `Cannot reach the server: ${sync.lastError.message ?? sync.lastError}`
      : 'The sync with the server, and how many of this device’s events it has not accepted yet';
}

function showSyncNote() {
  const note = $('sync-note');
  note.hidden = false;
  if (demo.sync) {
    note.textContent =
      `This is ${device}, syncing through the demo’s nats-server. Open this page in another browser (or a private window) ` +
      'for a second device; go offline in one (the browser’s offline mode, or “work offline”), edit the list on both, come back online, and watch them converge.';
  } else {
    note.textContent = `Local only: the list lives in this browser, shared by its tabs. ${(demo.hint ?? '').replaceAll('`', '')}`;
  }
  $('work-offline-label').hidden = !demo.sync;
  $('work-offline').checked = workingOffline();
  $('device').textContent = demo.sync ? device : '';
  document.body.classList.toggle('synced', Boolean(demo.sync));
}

/** What deciding a command again said, by the command's id, kept on this device for the inspector. */
const NOTES = `aether-demo-conflicts:${DATABASE}`;
const conflictNotes = () => JSON.parse(localStorage.getItem(NOTES) ?? '{}');
function keepNote(commandId, note) {
  localStorage.setItem(NOTES, JSON.stringify({ ...conflictNotes(), [commandId]: note }));
}

/**
 * The commands that made `events` (an actor's pending events, oldest first):
 * the events of one command are consecutive and share its id as correlationId,
 * and their metadata names the command. `names`: item names by itemId.
 * `null` for events no command of the list makes.
 */
function commandsOf(events, names) {
  const groups = [];
  for (const event of events) {
    const id = event.metadata?.correlationId || event.id;
    if (groups.at(-1)?.id === id) groups.at(-1).events.push(event);
    else groups.push({ id, events: [event] });
  }
  return groups.map(({ id, events: made }) => {
    const [first] = made;
    const metadata = { correlationId: id, userId: first.metadata?.userId ?? user, device: first.metadata?.device ?? device };
    const item = (event) => ({ itemId: event.data.itemId, name: names.get(event.data.itemId) ?? event.data.itemId });
    const command = { id, metadata: { ...metadata, command: first.metadata?.command ?? '' } };
    switch (first.metadata?.command) {
      case 'add':
        return { ...command, type: 'add', items: made.map((event) => ({ itemId: event.data.itemId, name: event.data.name })) };
      case 'check':
        return { ...command, type: 'check', ...item(first), checked: first.eventType === 'ItemChecked' };
      case 'remove':
        return { ...command, type: 'remove', ...item(first) };
      case 'clear ticked':
        return { ...command, type: 'clear ticked', items: made.map(item) };
      default:
        return null;
    }
  });
}

/**
 * onConflict: another device's events took the versions of some of this
 * device's pending events (`lost`, oldest first). Their commands are decided
 * again, in order, by the same `decide` the CommandHandler uses, on the list
 * as it is with the other device's events (`theirs`) in it, and the events
 * that makes replace them: a tick of an item the other device removed, or
 * ticked too, becomes nothing; an item added here is added after theirs. The
 * events replaced stay in the sync's rejected(). ('rebase' would keep them as
 * they were, renumbered: harmless for adds, wrong for a command such as "clear
 * the ticked items", whose meaning depends on the list it was decided on.)
 */
async function decideAgain({ actorId, pending: lost, remote: theirs }) {
  const before = (await store.getEvents(actorId)).filter((event) => event.version < lost[0].version);
  const names = new Map(
    [...before, ...theirs, ...lost].filter((event) => event.eventType === 'ItemAdded').map((event) => [event.data.itemId, event.data.name]),
  );
  const decisions = commandsOf(lost, names);
  if (decisions.includes(null)) return 'rebase'; // events of no command of this list: kept after theirs
  let state = [...before, ...theirs].reduce(apply, emptyList());
  let version = theirs.at(-1).version;
  const replacements = [];
  for (const command of decisions) {
    const decided = decide(state, command);
    keepNote(command.id, decided.note ?? '');
    for (const event of decided.events) {
      const replacement = {
        ...event,
        id: crypto.randomUUID(),
        actorId,
        version: ++version,
        metadata: { ...event.metadata, ...command.metadata, redecided: 'true' },
      };
      state = apply(state, replacement);
      replacements.push(replacement);
    }
  }
  // Nothing left to do: every lost event is dropped (and kept in rejected()).
  return replacements.length > 0 ? replacements : 'discard';
}

for (const id of Object.keys(LISTS)) {
  const button = Object.assign(document.createElement('button'), { id: `list-${id}`, type: 'button' });
  button.addEventListener('click', async () => {
    listId = id;
    pending = [];
    shown = PAGE;
    showNote('');
    history.replaceState(null, '', `?list=${id}`);
    await refresh();
  });
  $('lists').append(button);
}

$('add').addEventListener('submit', async (submit) => {
  submit.preventDefault();
  const names = namesIn($('item').value);
  $('item').value = '';
  if (names.length > 0) await execute(commands.add(names));
});
$('clear').addEventListener('click', () => execute(commands.clearTicked(view.items.filter((item) => item.checked))));
$('retry').addEventListener('click', async () => {
  const retried = pending;
  pending = [];
  showNote('');
  // Each command is decided again, in order, on the list as it is now.
  for (const { command } of retried) await execute(command, { fresh: true });
  await refresh();
});
$('discard').addEventListener('click', async () => {
  pending = [];
  await refresh();
});
$('live').addEventListener('change', () => $('live').checked && refresh());
$('corrupt').addEventListener('click', () => {
  $('damage-list').textContent = LISTS[listId];
  $('confirm-damage').showModal();
});
$('confirm-damage').addEventListener('close', () => {
  if ($('confirm-damage').returnValue === 'damage') damageNewestRecord();
});
$('work-offline').addEventListener('change', () => {
  localStorage.setItem(WORK_OFFLINE, String($('work-offline').checked));
  steerSync();
});
addEventListener('storage', (event) => {
  if (event.key !== WORK_OFFLINE) return;
  $('work-offline').checked = workingOffline(); // another tab of this device chose
  steerSync();
});
for (const name of ['online', 'offline']) {
  addEventListener(name, () => {
    showNetwork();
    steerSync();
  });
}

// Confirmed events arrive here: other tabs' commits, and synced, the server's
// (this device's accepted, other devices' pulled). Synced, a save is pending
// first, which the sync's onChange tells; stopped, the tabs tell each other.
store.subscribe(() => {
  if ($('live').checked) refresh();
});
tabs?.addEventListener('message', () => $('live').checked && refresh());

if ('serviceWorker' in navigator) await navigator.serviceWorker.register('./sw.js');
showNetwork();
showSyncNote();
if (demo.sync) {
  // A sync started and stopped at once still reads the pending and rejected events.
  await steerSync();
  if (!shouldSync()) {
    reader = startSync(store, remote, { onConflict: decideAgain });
    await reader.stop();
  }
}
await showStorage();
await refresh();
/** For a look from the console (and the tests): the store, and the sync that runs (or ran last) in this tab. */
window.aetherDemo = {
  store,
  get sync() {
    return sync ?? reader;
  },
};
document.body.dataset.ready = 'true';
