// Entry point for Node.js, bundled to CommonJS (index.cjs) and re-exported for
// `import` by index.mjs, so that both share one wasm instance and one set of classes.
// The wasm module is instantiated synchronously while the package is loaded, and
// the directory store (Node.js only) is made available to EventStore.openDirectory.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initSync } from '#wasm';
import { DirectoryBackend } from './directory/backend.js';
import { registerDirectoryBackend } from './event-store.js';

initSync({ module: readFileSync(join(__dirname, 'aether_eventstore_bg.wasm')) });
registerDirectoryBackend((directory, options) => DirectoryBackend.open(directory, options));

export * from './index.js';
