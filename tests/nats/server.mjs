// A real nats-server with JetStream and a WebSocket listener, on free loopback
// ports with a temporary store directory, for the tests and the benchmark.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A current nats-server, installed by scripts/setup.sh (Debian's 2.9 breaks the version rule on replicated streams). */
export const BINARY = process.env.NATS_SERVER ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.tools', 'nats', 'bin', 'nats-server');

/** A loopback port nobody listens on now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Starts nats-server; resolves with its URLs and functions to stop, kill and start it again. */
export async function startNats() {
  const dir = mkdtempSync(join(tmpdir(), 'aether-nats-'));
  const [port, wsPort] = [await freePort(), await freePort()];
  const config = join(dir, 'server.conf');
  writeFileSync(
    config,
    `listen: 127.0.0.1:${port}
jetstream { store_dir: "${join(dir, 'store')}" }
websocket { listen: "127.0.0.1:${wsPort}", no_tls: true }
`,
  );
  let child = null;

  async function start() {
    child = spawn(BINARY, ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server did not start:\n${log}`)), 15_000);
      child.stderr.on('data', (chunk) => {
        log += chunk;
        if (log.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited with ${code}:\n${log}`));
      });
    });
    child.stderr.resume();
  }

  async function stop(signal = 'SIGTERM') {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    start,
    /** Stops the server as a crash would (SIGKILL), or gracefully. */
    stop,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
