// The shopping list's domain: the events, how they fold into a state, and how a
// command becomes the next event. Nothing here touches storage or the page.

/** An empty list, before its first event. */
export const emptyList = () => ({ version: 0, items: [] });

/** Applies one stored event to a list state, returning the next state. */
export function apply(state, event) {
  const items = state.items.map((item) => ({ ...item }));
  const item = items.find((candidate) => candidate.itemId === event.data.itemId);
  switch (event.eventType) {
    case 'ItemAdded':
      items.push({ itemId: event.data.itemId, name: event.data.name, checked: false, addedBy: event.id });
      break;
    case 'ItemChecked':
    case 'ItemUnchecked':
      if (item) item.checked = event.eventType === 'ItemChecked';
      break;
    case 'ItemRemoved':
      return { version: event.version, items: items.filter((candidate) => candidate !== item) };
  }
  return { version: event.version, items };
}

/**
 * The event that `command` produces against `state`, without version or metadata,
 * or `null` when it no longer applies (say, the item was removed meanwhile).
 */
export function decide(state, command) {
  const item = state.items.find((candidate) => candidate.itemId === command.itemId);
  switch (command.type) {
    case 'add':
      return { eventType: 'ItemAdded', data: { itemId: command.itemId, name: command.name }, causedBy: null };
    case 'toggle':
      if (!item) return null;
      return { eventType: item.checked ? 'ItemUnchecked' : 'ItemChecked', data: { itemId: item.itemId }, causedBy: item.addedBy };
    case 'remove':
      if (!item) return null;
      return { eventType: 'ItemRemoved', data: { itemId: item.itemId }, causedBy: item.addedBy };
    default:
      throw new Error(`unknown command ${command.type}`);
  }
}
