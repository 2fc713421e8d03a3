// What the core hands back to the storage backends, as plain JavaScript: the
// wasm objects are read field by field once and freed. Records go to the core's
// checks as their bytes one after another, so that a whole read crosses into
// wasm once. Shared by the IndexedDB and JetStream backends.

/**
 * @param {Uint8Array[]} chunks
 * @returns {{ utf8: Uint8Array, ends: Uint32Array }}
 */
export function concatenate(chunks) {
  const utf8 = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.length, 0));
  const ends = new Uint32Array(chunks.length);
  let end = 0;
  chunks.forEach((chunk, i) => {
    utf8.set(chunk, end);
    end += chunk.length;
    ends[i] = end;
  });
  return { utf8, ends };
}

/**
 * Events prepared by the core (`prepareEvent`, `prepareEvents`): `utf8` holds
 * their JSON comma-separated, event `i` ending at `ends[i]`.
 */
export function unwrapEvents(prepared) {
  const events = {
    ids: prepared.ids,
    actorIds: prepared.actorIds,
    versions: prepared.versions,
    utf8: prepared.utf8,
    ends: prepared.ends,
  };
  prepared.free();
  return events;
}

/** A snapshot prepared by the core (`prepareSnapshot`): its JSON and key fields. */
export function unwrapSnapshot(prepared) {
  const snapshot = { json: prepared.json, actorId: prepared.actorId, version: prepared.version };
  prepared.free();
  return snapshot;
}

/**
 * Checks stored records with `check(utf8, ends)` (the core's `checkEventRecords`
 * or `checkMessages`): the sound ones' events as a JSON array and their count, the last version
 * among them, and the indices of the others with what is wrong with each.
 * @param {Uint8Array[]} chunks the records' bytes
 */
export function checkRecords(chunks, check) {
  const { utf8, ends } = concatenate(chunks);
  const checked = check(utf8, ends);
  const { events, count, lastVersion, failed, errors } = checked;
  checked.free();
  return { events, count, lastVersion, failed, errors };
}
