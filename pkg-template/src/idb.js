// Promise wrappers around IndexedDB requests and transactions.

/** Resolves with the request's result, or rejects with its error. */
export function request(idbRequest) {
  return new Promise((resolve, reject) => {
    idbRequest.onsuccess = () => resolve(idbRequest.result);
    idbRequest.onerror = () => reject(idbRequest.error);
  });
}

/** Resolves when the transaction has committed; rejects with why it aborted. */
export function committed(transaction) {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    const fail = () =>
      reject(transaction.error ?? new DOMException('The transaction was aborted', 'AbortError'));
    // A failed request aborts the transaction (its default action), so onabort reports every failure.
    transaction.onabort = fail;
  });
}

/** Aborts a transaction that may already have finished. */
export function abortQuietly(transaction) {
  try {
    transaction.abort();
  } catch {
    // It had already committed or aborted.
  }
}

/**
 * Walks a cursor request until `pick(value)` returns something other than
 * `undefined`, and resolves with that, or with `undefined` at the end.
 */
export function findWithCursor(cursorRequest, pick) {
  return new Promise((resolve, reject) => {
    cursorRequest.onsuccess = () => {
      const cursor = cursorRequest.result;
      if (!cursor) return resolve(undefined);
      const found = pick(cursor.value);
      if (found === undefined) cursor.continue();
      else resolve(found);
    };
    cursorRequest.onerror = () => reject(cursorRequest.error);
  });
}

/** The highest key of an object store in `range`, 0 if there is none. */
export function lastKey(store, range) {
  return request(store.openKeyCursor(range, 'prev')).then((cursor) => (cursor ? cursor.key : 0));
}
