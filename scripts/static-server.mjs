// A small static file server on loopback, for the demo and the browser tests.

import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * Serves `mounts`, pairs of a URL path and a file or directory: a file answers
 * its exact path, a directory every path below it. The first match wins.
 * Resolves with the base URL and a function that stops the server.
 * @param {[string, string][]} mounts
 * @param {{ port?: number }} [options] port 0 (the default) picks a free one
 */
export async function serveStatic(mounts, { port = 0 } = {}) {
  const server = createServer(async (request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url, 'http://localhost').pathname));
    for (const [prefix, target] of mounts) {
      const isDirectory = prefix.endsWith('/');
      if (isDirectory ? !path.startsWith(prefix) : path !== prefix) continue;
      let file = isDirectory ? join(target, path.slice(prefix.length)) : target;
      try {
        if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
        const body = await readFile(file);
        response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
        response.end(body);
        return;
      } catch {
        // Not here; a later mount may have it.
      }
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    url: `http://localhost:${server.address().port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
