// Whether the wasm module is instantiated. Node.js instantiates it while the
// package loads (entry-node.js); browsers fetch it without blocking the import
// (entry-web.js: a Service Worker forbids top-level await), so every data
// method waits for it first. All of them are async, so nobody can tell.

import { storageError } from './errors.js';

/** @type {Promise<void> | undefined} pending while the module loads; undefined once loaded */
let loading;

/** Records that the module is being loaded by `promise`; a failure rejects every data method with StorageError. */
export function loadingWasm(promise) {
  loading = promise.then(
    () => {
      loading = undefined;
    },
    (error) => {
      throw storageError('cannot load the WebAssembly module aether_eventstore_bg.wasm', error);
    },
  );
  loading.catch(() => {}); // reported to whoever calls a data method, not as an unhandled rejection
}

/** A promise to await before using the module, or `undefined` when it is ready. */
export function wasmPending() {
  return loading;
}
