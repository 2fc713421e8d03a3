// The event inspector: an actor's timeline with metadata, causation arrows,
// correlation colours, the latest snapshot and any records that could not be decoded.

const COLOURS = ['#3b5bdb', '#0c8599', '#e8590c', '#9c36b5', '#2f9e44', '#c2255c', '#5f3dc4', '#e67700'];

function colourOf(correlationId, colours) {
  if (!colours.has(correlationId)) colours.set(correlationId, COLOURS[colours.size % COLOURS.length]);
  return colours.get(correlationId);
}

function element(tag, properties = {}, ...children) {
  const node = Object.assign(document.createElement(tag), properties);
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function details(entries) {
  const list = element('dl');
  for (const [term, value] of entries) {
    if (value) list.append(element('dt', { textContent: term }), element('dd', { textContent: value }));
  }
  return list;
}

function eventCard(event, colours) {
  const correlation = event.metadata?.correlationId ?? '';
  const card = element(
    'article',
    { className: 'event', id: `event-${event.id}` },
    element(
      'header',
      {},
      element('span', { className: 'version', textContent: `v${event.version}` }),
      element('span', { className: 'type', textContent: event.eventType }),
      element('time', { dateTime: event.timestamp, textContent: new Date(event.timestamp).toLocaleTimeString() }),
    ),
    details([
      ['data', JSON.stringify(event.data)],
      ['id', event.id],
      ['correlation', correlation],
      ['causation', event.metadata?.causationId],
      ['user', event.metadata?.userId],
    ]),
  );
  card.dataset.causation = event.metadata?.causationId ?? '';
  card.style.setProperty('--group', colourOf(correlation, colours));
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
    details([
      ['error', error.error],
      ['bytes', `${error.rawData.length} bytes: ${preview}`],
    ]),
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
    path.setAttribute('stroke', getComputedStyle(card).getPropertyValue('--group'));
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

/** Renders `replay` (from getEventsWithErrors) and the latest snapshot into `timeline`. */
export function renderTimeline(timeline, replay, snapshot) {
  const colours = new Map();
  const cards = [];
  const broken = [...replay.errors];
  for (const event of replay.events) cards.push(eventCard(event, colours));
  for (const error of broken) cards.push(corruptCard(error));
  if (snapshot) {
    const marker = element('div', {
      className: 'snapshot',
      textContent: `Snapshot at v${snapshot.version}: ${snapshot.state.items.length} items, taken ${new Date(snapshot.timestamp).toLocaleTimeString()}`,
    });
    const after = cards.findIndex((card) => card.querySelector('.version')?.textContent === `v${snapshot.version}`);
    cards.splice(after + 1, 0, marker);
  }
  if (cards.length === 0) cards.push(element('p', { className: 'muted', textContent: 'No events yet.' }));
  timeline.replaceChildren(...cards);
  drawCausation(timeline);
}
