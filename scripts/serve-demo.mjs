// `npm run demo`: serves the demo app (www/) with the built package (pkg/) on
// localhost and prints the URL. Usage: node scripts/serve-demo.mjs [--port N]

import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from './static-server.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Starts the demo server; resolves with its URL and a close function. */
export function serveDemo({ port = 0 } = {}) {
  return serveStatic(
    [
      ['/pkg/', join(root, 'pkg')],
      ['/', join(root, 'www')],
    ],
    { port },
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const portArgument = process.argv.indexOf('--port');
  const port = portArgument > 0 ? Number(process.argv[portArgument + 1]) : 8080;
  const { url } = await serveDemo({ port });
  console.log(`aether-eventstore demo: ${url}/  (open it in two tabs; Ctrl-C stops the server)`);
}
