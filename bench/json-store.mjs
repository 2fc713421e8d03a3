// The hand-written peer: what a careful JavaScript developer writes without a
// library. A Map of per-actor arrays holding each event as a JSON string, so
// that stored events stay immutable, and JSON.parse on read. It checks the
// version rule and nothing else.

export class JsonStore {
  /** @type {Map<string, { latest: number, events: string[] }>} */
  #streams = new Map();

  #stream(actorId) {
    let stream = this.#streams.get(actorId);
    if (!stream) {
      stream = { latest: 0, events: [] };
      this.#streams.set(actorId, stream);
    }
    return stream;
  }

  async saveEvent(event) {
    const stream = this.#stream(event.actorId);
    if (event.version <= stream.latest) throw new Error(`version conflict on ${event.actorId}`);
    const stored = { id: crypto.randomUUID(), ...event, timestamp: new Date().toISOString() };
    stream.events.push(JSON.stringify(stored));
    stream.latest = event.version;
    return stored;
  }

  async saveEvents(events) {
    const latest = new Map();
    for (const event of events) {
      const current = latest.get(event.actorId) ?? this.#stream(event.actorId).latest;
      if (event.version <= current) throw new Error(`version conflict on ${event.actorId}`);
      latest.set(event.actorId, event.version);
    }
    const timestamp = new Date().toISOString();
    const stored = events.map((event) => ({ id: crypto.randomUUID(), ...event, timestamp }));
    for (const event of stored) {
      const stream = this.#stream(event.actorId);
      stream.events.push(JSON.stringify(event));
      stream.latest = event.version;
    }
    return stored;
  }

  async getEvents(actorId, fromVersion = 0) {
    const stream = this.#streams.get(actorId);
    if (!stream) return [];
    const events = stream.events.map((json) => JSON.parse(json));
    return fromVersion > 0 ? events.filter((event) => event.version >= fromVersion) : events;
  }

  async getLatestVersion(actorId) {
    return this.#streams.get(actorId)?.latest ?? 0;
  }
}
