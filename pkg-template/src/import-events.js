// importEvents: JSON Lines (one event per line, as exportEvents writes them,
// or as Go's encoding/json marshals the seed's Event) from text in chunks of
// any size. Events are saved in batches through the backend; a batch that fails
// is saved again line by line, so that what is already stored is skipped (an
// idempotent retry, by the core's rule) and a bad line stops the import with
// an error naming it, everything before it stored.

import { ValidationError, isVersionConflict } from './errors.js';

/** The most lines, and bytes, one batch carries. */
const BATCH_LINES = 500;
const BATCH_BYTES = 256 * 1024;

/**
 * The source's text in chunks: a string, an iterable of strings, an async
 * iterable of strings or bytes (a Node.js file stream), or a ReadableStream.
 * @returns {AsyncGenerator<string>}
 */
async function* chunksOf(source) {
  if (typeof source === 'string') {
    yield source;
    return;
  }
  const chunks = typeof source?.getReader === 'function' ? readerChunks(source) : source;
  if (chunks === null || chunks === undefined || (!chunks[Symbol.asyncIterator] && !chunks[Symbol.iterator])) {
    throw new ValidationError(
      'source must be a string, an iterable or async iterable of strings or bytes, or a ReadableStream',
      { field: 'source' },
    );
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const decode = (bytes, options) => {
    try {
      return decoder.decode(bytes, options);
    } catch (error) {
      throw new ValidationError('source is not valid UTF-8 text', { field: 'source', cause: error });
    }
  };
  for await (const chunk of chunks) {
    if (typeof chunk === 'string') yield chunk;
    else if (chunk instanceof Uint8Array) yield decode(chunk, { stream: true });
    else throw new ValidationError(`source must yield strings or bytes, not ${typeof chunk}`, { field: 'source' });
  }
  yield decode();
}

async function* readerChunks(stream) {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** The source's non-blank lines with their 1-based numbers. */
async function* numberedLines(source) {
  let rest = '';
  let number = 0;
  for await (const chunk of chunksOf(source)) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop();
    for (const line of lines) {
      number += 1;
      if (line.trim() !== '') yield { number, text: line };
    }
  }
  number += 1;
  if (rest.trim() !== '') yield { number, text: rest };
}

/** The error of a line, naming it: `line N: field` for a ValidationError, a `line` property otherwise. */
function atLine(error, number) {
  if (error instanceof ValidationError) {
    return new ValidationError(`line ${number}: ${error.message}`, { field: `line ${number}: ${error.field}`, cause: error });
  }
  if (typeof error === 'object' && error !== null) error.line = number;
  return error;
}

/**
 * Imports JSON Lines from `source` with the backend's saves, which resolve with
 * `{ retried }`: `saveOne(json)` for one event, `saveMany(jsonArray)` for a batch,
 * all or nothing. `oneActorPerBatch`: the backend commits only batches of one actor atomically.
 * @returns {Promise<{ imported: number, skipped: number }>}
 */
export async function importLines(source, { saveOne, saveMany }, oneActorPerBatch) {
  const counts = { imported: 0, skipped: 0 };
  let batch = [];
  let bytes = 0;
  let actor;

  async function saveBatch(lines) {
    if (lines.length === 1) {
      let saved;
      try {
        saved = await saveOne(lines[0].text);
      } catch (error) {
        throw atLine(error, lines[0].number);
      }
      counts[saved.retried ? 'skipped' : 'imported'] += 1;
      return;
    }
    try {
      const { retried } = await saveMany(`[${lines.map((line) => line.text).join(',')}]`);
      counts[retried ? 'skipped' : 'imported'] += lines.length;
      return;
    } catch (error) {
      if (!isVersionConflict(error) && !(error instanceof ValidationError)) throw error;
    }
    for (const line of lines) await saveBatch([line]); // what is stored is skipped; the bad line stops the import
  }

  for await (const line of numberedLines(source)) {
    const lineActor = oneActorPerBatch ? actorOf(line.text) : undefined;
    if (batch.length > 0 && (batch.length >= BATCH_LINES || bytes + line.text.length > BATCH_BYTES || lineActor !== actor)) {
      await saveBatch(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(line);
    bytes += line.text.length;
    actor = lineActor;
  }
  if (batch.length > 0) await saveBatch(batch);
  return counts;
}

/** A line's `actorId`, to keep batches to one actor; `undefined` if it has none (the save will say what is wrong). */
function actorOf(text) {
  try {
    return JSON.parse(text)?.actorId;
  } catch {
    return undefined;
  }
}
