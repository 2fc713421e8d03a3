// Entry point for browsers, workers and bundlers. The wasm module is fetched
// and instantiated in the background: no top-level await (which a Service
// Worker forbids) and no init() call; every data method waits for it.

import init from '#wasm';
import { loadingWasm } from './wasm-loading.js';

loadingWasm(init({ module_or_path: new URL('./aether_eventstore_bg.wasm', import.meta.url) }));

export * from './index.js';
