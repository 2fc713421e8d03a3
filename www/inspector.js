// The event inspector: a page of an actor's timeline, newest first, with each
// event's metadata, causation arrows, a colour per multi-event command, the latest
// snapshot and any records that could not be decoded.

const COLOURS = ['#3b5bdb', '#0c8599', '#e8590c', '#9c36b5', '#2f9e44', '#c2255c', '#5f3dc4', '#e67700'];
/** The colour of an event that is its command's only event. */
const SINGLE = '#ced4da';

/** A colour per correlationId, the same on every render and in every tab, unless `previous` has it already. */
function colourOf(correlationId, previous) {
  let hash = 0;
  for (const char of correlationId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  const colour = COLOURS[hash % COLOURS.length];
  return colour === previous ? COLOURS[(hash + 1) % COLOURS.length] : colour;
}

const short = (id) => (id ? id.slice(0, 8) : '');

function element(tag, properties = {}, ...children) {
  const node = Object.assign(document.createElement(tag), properties);
  node.append(...children.filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

/** One "label value" pair of an event's metadata line; the full value in its tooltip. */
function field(label, value, full = value) {
  if (!value) return null;
  return element('span', { className: 'field', title: `${label}: ${full}` }, element('b', { textContent: label }), ` ${value}`);
}

/**
 * `group`: the size of the event's command on this page, the event's index in it, and the command's colour.
 * `pending`: saved on this device, not yet accepted by the server.
 */
function eventCard(event, group, pending) {
  const correlation = event.metadata?.correlationId ?? '';
  const grouped = group.size > 1;
  const card = element(
    'article',
    { className: ['event', grouped && 'grouped', pending && 'pending'].filter(Boolean).join(' '), id: `event-${event.id}` },
    element(
      'header',
      {},
      element('span', { className: 'version', textContent: `v${event.version}` }),
      element('span', { className: 'type', textContent: event.eventType }),
      grouped &&
        element('span', {
          className: 'batch',
          textContent: `${event.metadata?.command ?? 'command'} · ${group.index + 1} of ${group.size}`,
          title: `one command, saved as one atomic batch: ${group.size} events sharing correlationId ${correlation}`,
        }),
      pending && element('span', { className: 'tag pending', textContent: 'pending', title: 'saved on this device, not yet accepted by the server' }),
      event.metadata?.redecided &&
        element('span', {
          className: 'tag redecided',
          textContent: 'decided again',
          title: 'made by deciding a command again after a conflict with another device (see Conflicts)',
        }),
      element('time', { dateTime: event.timestamp, textContent: new Date(event.timestamp).toLocaleTimeString() }),
    ),
    element('code', { className: 'data', textContent: JSON.stringify(event.data) }),
    element(
      'p',
      { className: 'meta' },
      field('id', short(event.id), event.id),
      field('correlation', short(correlation), correlation),
      field('causation', short(event.metadata?.causationId), event.metadata?.causationId),
      field('by', event.metadata?.userId),
      field('device', event.metadata?.device),
    ),
  );
  card.dataset.correlation = correlation;
  card.dataset.causation = event.metadata?.causationId ?? '';
  card.style.setProperty('--group', grouped ? group.colour : SINGLE);
  return card;
}

function corruptCard(error) {
  const preview = new TextDecoder().decode(error.rawData.slice(0, 60));
  return element(
    'article',
    { className: 'event corrupt' },
    element(
      'header',
      {},
      element('span', { className: 'version', textContent: `#${error.sequenceNumber}` }),
      element('span', { className: 'type', textContent: 'Corrupt record' }),
    ),
    element('p', { className: 'meta', textContent: error.error }),
    element('code', { className: 'data', textContent: `${error.rawData.length} bytes: ${preview}` }),
  );
}

/** Draws an arrow from each event to the event that caused it, in the timeline's left gutter. */
function drawCausation(timeline) {
  timeline.querySelector('svg')?.remove();
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('width', '56');
  svg.setAttribute('height', String(timeline.scrollHeight));
  const top = timeline.getBoundingClientRect().top;
  let lane = 0;
  for (const card of timeline.querySelectorAll('.event[data-causation]')) {
    const cause = card.dataset.causation && timeline.querySelector(`#event-${CSS.escape(card.dataset.causation)}`);
    if (!cause) continue;
    const from = cause.getBoundingClientRect();
    const to = card.getBoundingClientRect();
    const x = 48 - (lane++ % 5) * 9;
    const y1 = from.top - top + from.height / 2;
    const y2 = to.top - top + to.height / 2;
    const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    path.setAttribute('d', `M 56 ${y1} H ${x} V ${y2} H 52`);
    path.setAttribute('fill', 'none');
    path.setAttribute('stroke', card.classList.contains('grouped') ? card.style.getPropertyValue('--group') : '#868e96');
    path.setAttribute('stroke-width', '1.5');
    path.setAttribute('marker-end', 'url(#arrow)');
    svg.append(path);
  }
  svg.insertAdjacentHTML(
    'afterbegin',
    '<defs><marker id="arrow" viewBox="0 0 6 6" refX="5" refY="3" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L6,3 L0,6 z" fill="#66708a"/></marker></defs>',
  );
  timeline.prepend(svg);
}

/**
 * Renders a page of the timeline into `timeline`, newest first: `replay` is
 * getEventsWithErrors from version `from` on, `latest` the actor's latest version,
 * `snapshot` its latest snapshot, `pendingIds` the ids of this device's pending
 * events. When older events exist, a "show older" button calls `onOlder`.
 */
export function renderTimeline(timeline, { replay, snapshot, from, latest, pendingIds = new Set(), onOlder }) {
  // The events of one command share a correlationId: count them, and give each
  // command of several events a colour, unlike the command of several events before it.
  const groups = new Map();
  for (const event of replay.events) {
    const id = event.metadata?.correlationId ?? '';
    groups.set(id, { size: (groups.get(id)?.size ?? 0) + 1 });
  }
  let previous;
  for (const [id, group] of groups) {
    if (!id || group.size < 2) continue;
    group.colour = previous = colourOf(id, previous);
  }
  const seen = new Map();
  const cards = replay.events.map((event) => {
    const id = event.metadata?.correlationId ?? '';
    const index = seen.get(id) ?? 0;
    seen.set(id, index + 1);
    const group = id ? groups.get(id) : { size: 1 };
    return { version: event.version, node: eventCard(event, { ...group, index }, pendingIds.has(event.id)) };
  });
  cards.reverse();
  // Records that cannot be decoded carry no readable version: they are listed first.
  const nodes = [...replay.errors.map(corruptCard), ...cards.map((card) => card.node)];
  if (snapshot) {
    const marker = element('div', {
      className: 'snapshot',
      textContent:
        `Snapshot at v${snapshot.version}: ${snapshot.state.items.length} items, taken ` +
        `${new Date(snapshot.timestamp).toLocaleTimeString()}. Loading starts here, then the events above it.`,
    });
    const below = cards.find((card) => card.version <= snapshot.version);
    nodes.splice(below ? nodes.indexOf(below.node) : nodes.length, 0, marker);
  }
  if (nodes.length === 0) nodes.push(element('p', { className: 'muted', textContent: 'No events yet.' }));
  if (from > 1) {
    const older = element('button', {
      id: 'older',
      type: 'button',
      className: 'secondary older',
      textContent: `Show older events (v${from - 1} and before)`,
    });
    older.addEventListener('click', onOlder);
    nodes.push(older);
  }
  const count = replay.events.length + replay.errors.length;
  const waiting = replay.events.filter((event) => pendingIds.has(event.id)).length;
  const status = element('p', {
    id: 'timeline-status',
    className: 'muted page',
    textContent:
      (from > 1 ? `Newest first: v${latest} down to v${from} (${count} records shown).` : `Newest first: all ${count} records.`) +
      (waiting > 0 ? ` ${waiting} pending: not yet accepted by the server.` : ''),
  });
  timeline.replaceChildren(...(latest > 0 ? [status] : []), ...nodes);
  timeline.dataset.latest = String(latest); // the version shown, for whoever waits for it (the tests)
  drawCausation(timeline);
}

/** How a command reads in the conflicts list: "tick “milk”", "add “tea”, “honey”". */
function describe(events, names) {
  const command = events[0].metadata?.command || events[0].eventType;
  const items = events.map((event) => `“${event.data?.name ?? names.get(event.data?.itemId) ?? event.data?.itemId ?? '?'}”`);
  const verb = { add: 'add', check: events[0].eventType === 'ItemUnchecked' ? 'untick' : 'tick', remove: 'remove', 'clear ticked': 'clear ticked' }[command];
  return `${verb ?? command} ${items.join(', ')}`;
}

/**
 * Renders the list's conflicts into `container`: each command of this device
 * whose events another device's events displaced while it was offline (the
 * sync's `rejections`, oldest first), what took their versions, and what
 * deciding it again made (`events`: the actor's events now; `notes`: what
 * deciding said, by command id). Empty when there were none.
 */
export function renderConflicts(container, { rejections, events, notes }) {
  if (rejections.length === 0) {
    container.replaceChildren();
    return;
  }
  const names = new Map(
    [...events, ...rejections.map(({ event }) => event)].filter((event) => event.eventType === 'ItemAdded').map((event) => [event.data.itemId, event.data.name]),
  );
  const rejectedIds = new Set(rejections.map(({ event }) => event.id));
  const commands = new Map();
  for (const rejection of rejections) {
    const id = rejection.event.metadata?.correlationId || rejection.event.id;
    if (!commands.has(id)) commands.set(id, []);
    commands.get(id).push(rejection);
  }
  const cards = [...commands].map(([id, lost]) => {
    const versions = lost.map(({ event }) => event.version);
    const took = events.filter((event) => versions.includes(event.version) && !rejectedIds.has(event.id));
    const made = events.filter((event) => event.metadata?.correlationId === id && !rejectedIds.has(event.id));
    const outcome = made.length > 0 ? `now ${made.map((event) => `v${event.version} ${event.eventType}`).join(', ')}` : 'nothing left to do';
    const note = notes[id] ? ` ${notes[id]}` : '';
    return element(
      'article',
      { className: 'conflict-card', title: lost.map(({ event, reason }) => `v${event.version} ${event.eventType}: ${reason}`).join('\n') },
      element('p', {}, element('b', { textContent: describe(lost.map(({ event }) => event), names) }), ` by ${lost[0].event.metadata?.device ?? 'this device'}, made offline at v${versions.join(', v')}`),
      element('p', {
        className: 'muted',
        textContent: !lost[0].reason.startsWith('conflict')
          ? `Not sent again: ${lost[0].reason}.` // the server refused it for good (too large, not permitted)
          : took.length > 0
            ? `Another device got there first: ${took.map((event) => `v${event.version} ${event.eventType}${event.metadata?.device ? ` (${event.metadata.device})` : ''}`).join(', ')}.`
            : 'Another device got there first.',
      }),
      lost[0].reason.startsWith('conflict') && element('p', { className: 'outcome', textContent: `Decided again on the new list: ${outcome}.${note}` }),
    );
  });
  container.replaceChildren(
    element('h3', { textContent: `Conflicts (${commands.size})` }),
    element('p', {
      className: 'muted',
      textContent:
        'Commands of this device whose events lost their versions to another device’s (or that the server refused); the events they had are kept in the sync’s rejected().',
    }),
    ...cards.reverse(),
  );
}
