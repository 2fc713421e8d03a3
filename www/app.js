// The demo app: a shopping list kept as events in IndexedDB through
// aether-eventstore, in sync across tabs, usable offline, with an event inspector.

import { EventStore, isVersionConflict } from 'aether-eventstore';
import { apply, decide, emptyList } from './list.js';
import { renderTimeline } from './inspector.js';

const DATABASE = 'aether-demo';
const SNAPSHOT_EVERY = 5;
const LISTS = { groceries: 'Groceries', hardware: 'Hardware store' };
const user = `tab-${crypto.randomUUID().slice(0, 4)}`;

const $ = (id) => document.getElementById(id);
const store = await EventStore.openIndexedDb(DATABASE);
let listId = new URL(location.href).searchParams.get('list') ?? 'groceries';
let state = emptyList();
/** A command refused by a version conflict, waiting for the user to retry or discard it. */
let pending = null;

const actorOf = (id) => `list:${id}`;

/** The list's state: its latest snapshot, then the events after it. */
async function load() {
  const actorId = actorOf(listId);
  const snapshot = await store.getLatestSnapshot(actorId);
  let next = snapshot ? { version: snapshot.version, items: snapshot.state.items } : emptyList();
  for (const event of await store.getEvents(actorId, next.version + 1)) next = apply(next, event);
  // A damaged record still holds its version: start the next save above it.
  next.version = Math.max(next.version, await store.getLatestVersion(actorId));
  return next;
}

async function refresh() {
  state = await load();
  render();
  await renderInspector();
}

/** Turns a command into the next event and saves it at the version this tab last saw. */
async function execute(command) {
  const decided = decide(state, command);
  if (!decided) return;
  const event = {
    eventType: decided.eventType,
    actorId: actorOf(listId),
    version: state.version + 1,
    data: decided.data,
    metadata: { correlationId: command.correlationId, userId: user },
  };
  if (decided.causedBy) event.metadata.causationId = decided.causedBy;
  try {
    await store.saveEvent(event);
    pending = null;
    if (event.version % SNAPSHOT_EVERY === 0) {
      const current = await load();
      await store.saveSnapshot({ actorId: event.actorId, version: current.version, state: { items: current.items } });
    }
    await askToPersist();
  } catch (error) {
    if (!isVersionConflict(error)) throw error;
    pending = { command, error };
  }
  await refreshOrKeep();
}

/** With live sync on, shows the stored state; off, keeps this tab's (stale) view. */
async function refreshOrKeep() {
  if ($('live').checked || !pending) await refresh();
  else render();
}

function render() {
  for (const [id, title] of Object.entries(LISTS)) {
    $(`list-${id}`).setAttribute('aria-current', String(id === listId));
    $(`list-${id}`).textContent = title;
  }
  const items = state.items.map((item) => {
    const checkbox = Object.assign(document.createElement('input'), { type: 'checkbox', checked: item.checked });
    checkbox.setAttribute('aria-label', `bought ${item.name}`);
    checkbox.addEventListener('change', () => execute({ type: 'toggle', itemId: item.itemId, correlationId: crypto.randomUUID() }));
    const remove = Object.assign(document.createElement('button'), { className: 'link', textContent: '✕', title: `remove ${item.name}` });
    remove.addEventListener('click', () => execute({ type: 'remove', itemId: item.itemId, correlationId: crypto.randomUUID() }));
    const li = document.createElement('li');
    li.className = item.checked ? 'checked' : '';
    li.append(checkbox, Object.assign(document.createElement('span'), { textContent: item.name }), remove);
    return li;
  });
  $('items').replaceChildren(...items);
  $('summary').textContent = `${state.items.length} items · version ${state.version} · snapshot every ${SNAPSHOT_EVERY} events`;
  $('conflict').hidden = !pending;
  if (pending) {
    $('conflict-text').textContent =
      `Another tab changed this list: it is at version ${pending.error.currentVersion}, ` +
      `and your change was made on version ${pending.error.attemptedVersion - 1}.`;
  }
}

async function renderInspector() {
  const actorId = actorOf(listId);
  renderTimeline($('timeline'), await store.getEventsWithErrors(actorId), await store.getLatestSnapshot(actorId));
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
    pending = null;
    history.replaceState(null, '', `?list=${id}`);
    await refresh();
  });
  $('lists').append(button);
}

$('add').addEventListener('submit', async (submit) => {
  submit.preventDefault();
  const name = $('item').value.trim();
  $('item').value = '';
  if (name) await execute({ type: 'add', itemId: crypto.randomUUID(), name, correlationId: crypto.randomUUID() });
});
$('retry').addEventListener('click', async () => {
  const { command } = pending;
  state = await load();
  await execute(command);
});
$('discard').addEventListener('click', async () => {
  pending = null;
  await refresh();
});
$('live').addEventListener('change', () => $('live').checked && refresh());
$('corrupt').addEventListener('click', damageNewestRecord);
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
