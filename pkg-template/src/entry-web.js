// Entry point for browsers and bundlers: fetches and instantiates the wasm
// module before the import resolves, so that no init() call is needed.

import init from '#wasm';

await init({ module_or_path: new URL('./aether_eventstore_bg.wasm', import.meta.url) });

export * from './index.js';
