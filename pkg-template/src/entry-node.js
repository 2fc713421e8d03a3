// Entry point for Node.js, bundled to CommonJS (index.cjs) and re-exported for
// `import` by index.mjs, so that both share one wasm instance and one set of classes.
// The wasm module is instantiated synchronously while the package is loaded.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initSync } from '#wasm';

initSync({ module: readFileSync(join(__dirname, 'aether_eventstore_bg.wasm')) });

export * from './index.js';
