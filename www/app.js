// The demo app: a shopping list kept as events in IndexedDB through
// aether-eventstore, in sync across tabs, usable offline, with an event inspector.

import { CommandHandler, EventStore, isVersionConflict } from 'aether-eventstore';
import { apply, commands, decide, emptyList, namesIn } from './list.js';
import { renderTimeline } from './inspector.js';

const DATABASE = 'aether-demo';
const SNAPSHOT_EVERY = 5;
const PAGE = 10; // inspector cards per page
const LISTS = { groceries: 'Groceries', hardware: 'Hardware store' };
const user = `tab-${crypto.randomUUID().slice(0, 4)}`;

const $ = (id) => document.getElementById(id);
const store = await EventStore.openIndexedDb(DATABASE);
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
 * With live sync on, a conflict (another tab saved first) is retried by loading
 * and deciding again, up to 3 times. With live sync off, the tab plays a device
 * that is offline: the command is decided on what the tab shows, once, and a
 * conflict is put to the user.
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
      { commandId: command.id, metadata: { correlationId: command.id, userId: user, command: command.type } },
    );
    if (decisions > 1) note = `Another tab saved first: your change was decided again on the new list. ${note}`;
    showNote(note);
    if (events.length > 0) await askToPersist();
  } catch (error) {
    if (!isVersionConflict(error)) throw error;
    pending.push({ command, error });
  }
  await refreshOrKeep();
}

/** With live sync on, shows the stored state; off, keeps this tab's (stale) view while a conflict waits. */
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
  const [replay, snapshot] = await Promise.all([store.getEventsWithErrors(actorId, from), store.getLatestSnapshot(actorId)]);
  renderTimeline($('timeline'), {
    replay,
    snapshot,
    from,
    latest: version,
    onOlder: () => {
      shown += PAGE;
      refresh();
    },
  });
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

/** Overwrites the newest event record of this list with bytes that are no event, to show the inspector's report. */
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
    if (cursor) cursor.update({ ...cursor.value, event: new TextEncoder().encode('{"eventType":"ItemAdd') });
  };
  await new Promise((resolve) => (tx.oncomplete = resolve));
  db.close();
  await refresh();
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
addEventListener('online', showNetwork);
addEventListener('offline', showNetwork);

// Other tabs' commits arrive here too: with live sync on, show them at once.
store.subscribe(() => {
  if ($('live').checked) refresh();
});

if ('serviceWorker' in navigator) await navigator.serviceWorker.register('./sw.js');
showNetwork();
await showStorage();
await refresh();
document.body.dataset.ready = 'true';
