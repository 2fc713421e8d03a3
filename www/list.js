// The shopping list's domain: the events, how they fold into a state, and how a
// command becomes the next events. Nothing here touches storage or the page.
//
// A command says what the user wants (tick "milk", remove "soap"), never how to
// get there from what they saw ("toggle"): it is decided on the state it is saved
// over, which may not be the one the user saw when another tab got there first.

/** An empty list, before its first event. */
export const emptyList = () => ({ items: [] });

/** Applies one stored event to a list state, returning the next state. Unknown events change nothing. */
export function apply(state, event) {
  const items = state.items.map((item) => ({ ...item }));
  const item = items.find((candidate) => candidate.itemId === event.data?.itemId);
  switch (event.eventType) {
    case 'ItemAdded':
      if (!item) items.push({ itemId: event.data.itemId, name: event.data.name, checked: false, addedBy: event.id });
      break;
    case 'ItemChecked':
    case 'ItemUnchecked':
      if (item) item.checked = event.eventType === 'ItemChecked';
      break;
    case 'ItemRemoved':
      return { items: items.filter((candidate) => candidate !== item) };
  }
  return { items };
}

/** Commands, as the page makes them. Each has an `id`, which becomes its events' correlationId. */
export const commands = {
  /** Adds one item, or several at once from "milk, eggs, bread" (one command, one atomic batch). */
  add: (names) => ({
    id: crypto.randomUUID(),
    type: 'add',
    items: names.map((name) => ({ itemId: crypto.randomUUID().slice(0, 8), name })),
  }),
  check: (item, checked) => ({ id: crypto.randomUUID(), type: 'check', itemId: item.itemId, name: item.name, checked }),
  remove: (item) => ({ id: crypto.randomUUID(), type: 'remove', itemId: item.itemId, name: item.name }),
  /** Removes the ticked items the user saw, those still on the list and still ticked. */
  clearTicked: (items) => ({
    id: crypto.randomUUID(),
    type: 'clear ticked',
    items: items.map(({ itemId, name }) => ({ itemId, name })),
  }),
};

/** Splits what was typed in the add box into item names: commas or new lines separate them. */
export const namesIn = (text) =>
  text
    .split(/[,\n]/)
    .map((name) => name.trim().slice(0, 80))
    .filter(Boolean);

const quoted = (names) => names.map((name) => `“${name}”`).join(', ');

/**
 * The events that `command` makes on `state` (without actorId or version: the
 * CommandHandler gives them), and a note when part or all of it no longer applies.
 * `[]` when there is nothing left to do: a tick of an item already ticked, a
 * removal of an item already removed.
 */
export function decide(state, command) {
  const find = (itemId) => state.items.find((candidate) => candidate.itemId === itemId);
  const cause = (item) => ({ causationId: item.addedBy });
  switch (command.type) {
    case 'add':
      return {
        events: command.items
          .filter(({ itemId }) => !find(itemId))
          .map(({ itemId, name }) => ({ eventType: 'ItemAdded', data: { itemId, name } })),
      };
    case 'check': {
      const item = find(command.itemId);
      if (!item) return { events: [], note: `Nothing to do: “${command.name}” was removed meanwhile.` };
      if (item.checked === command.checked) {
        return { events: [], note: `Nothing to do: “${command.name}” is already ${command.checked ? 'ticked' : 'unticked'}.` };
      }
      const eventType = command.checked ? 'ItemChecked' : 'ItemUnchecked';
      return { events: [{ eventType, data: { itemId: item.itemId }, metadata: cause(item) }] };
    }
    case 'remove': {
      const item = find(command.itemId);
      if (!item) return { events: [], note: `Nothing to do: “${command.name}” was already removed.` };
      return { events: [{ eventType: 'ItemRemoved', data: { itemId: item.itemId }, metadata: cause(item) }] };
    }
    case 'clear ticked': {
      const ticked = command.items.map(({ itemId }) => find(itemId)).filter((item) => item?.checked);
      const gone = command.items.filter(({ itemId }) => !ticked.some((item) => item.itemId === itemId));
      const events = ticked.map((item) => ({ eventType: 'ItemRemoved', data: { itemId: item.itemId }, metadata: cause(item) }));
      if (gone.length === 0) return { events };
      const note = events.length === 0 ? 'Nothing to do' : `Left out ${gone.length === 1 ? 'one item' : `${gone.length} items`}`;
      return { events, note: `${note}: ${quoted(gone.map(({ name }) => name))} no longer ticked or already removed.` };
    }
    default:
      throw new Error(`unknown command ${command.type}`);
  }
}
