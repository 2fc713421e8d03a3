// Where an actor's pending events meet the remote's events: which of them the
// remote accepted, which lost their versions, and what a conflict's decision
// makes of the losers. Pure functions over plain events.

/** What the rejected list says of events that a conflict took out. */
export const REASONS = Object.freeze({
  discarded: 'conflict: discarded (onConflict answered "discard")',
  replaced: 'conflict: replaced by the events onConflict returned',
});

/**
 * The remote's events of one actor, ascending, against the actor's pending
 * events, ascending: a pending event that the remote holds as it is (the same
 * id at the same version) was accepted; the first pending event that the
 * remote's events reach otherwise lost its version, and it and every pending
 * event after it are in conflict.
 * @returns {{ pending: object[], remote: object[] } | null} the conflict, if any
 */
export function findConflict(pending, remote) {
  let next = 0;
  for (const event of remote) {
    const head = pending[next];
    if (!head) return null;
    if (head.version === event.version && head.id === event.id) next++;
    else if (head.version <= event.version) {
      const losing = pending.slice(next);
      return { pending: losing, remote: remote.filter((taken) => taken.version >= losing[0].version) };
    }
  }
  return null;
}

/** The actor's pending events renumbered after `latest`, the remote's latest version: same ids, data, metadata and timestamps. */
export function rebased(pending, latest) {
  return pending.map((event, i) => ({ ...event, version: latest + 1 + i }));
}

/**
 * Checks what `onConflict` returned as replacements: events of the actor, at
 * ascending versions above the remote's latest. Throws an Error saying what is wrong.
 */
export function checkReplacements(events, actorId, latest) {
  let floor = latest;
  events.forEach((event, i) => {
    if (typeof event !== 'object' || event === null) throw new TypeError(`[${i}] is not an event`);
    if (event.actorId !== actorId) throw new TypeError(`[${i}].actorId is ${JSON.stringify(event.actorId)}, not the conflict's actor ${JSON.stringify(actorId)}`);
    if (!(event.version > floor)) {
      throw new TypeError(`[${i}].version is ${event.version}: replacements take the versions after the remote's latest (${latest}), ascending`);
    }
    floor = event.version;
  });
}

/** Events grouped by actor, each group in the given order. */
export function groupByActor(events) {
  const groups = new Map();
  for (const event of events) {
    const group = groups.get(event.actorId);
    if (group) group.push(event);
    else groups.set(event.actorId, [event]);
  }
  return groups;
}
