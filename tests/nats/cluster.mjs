// A real three-node nats-server cluster with JetStream, on free loopback ports
// with one temporary store directory per node, for the failover tests. Each
// node can be killed (SIGKILL, as a crash) and started again on the same store.
// close() kills every node it started and removes the directories, and an exit
// hook kills any node still running if the test process ends without close().

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BINARY, freePort } from './server.mjs';

/** Every node process this module started and has not seen exit: killed if the test process ends first. */
const running = new Set();
function killRunning() {
  for (const child of running) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.once('exit', killRunning);
// Interrupted (Ctrl-C, a runner's SIGTERM): kill the nodes, then end as the signal would have.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killRunning();
    process.kill(process.pid, signal);
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** GET a monitoring endpoint of a node as JSON; `undefined` if it does not answer. */
async function monitor(node, path) {
  try {
    const response = await fetch(`http://127.0.0.1:${node.httpPort}${path}`, { signal: AbortSignal.timeout(1000) });
    return response.ok ? await response.json() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts `size` nats-server nodes (default 3) routed into one cluster with
 * JetStream, and waits until JetStream has a meta leader that every node knows.
 * `binary` runs another nats-server (an old release, to test that it is refused).
 */
export async function startCluster({ size = 3, clusterName = 'aether', binary = BINARY } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'aether-nats-cluster-'));
  const nodes = [];
  for (let i = 1; i <= size; i++) {
    nodes.push({ name: `n${i}`, port: await freePort(), clusterPort: await freePort(), httpPort: await freePort(), child: null, log: '' });
  }
  const routes = nodes.map((node) => `nats-route://127.0.0.1:${node.clusterPort}`).join(', ');
  for (const node of nodes) {
    const store = join(dir, node.name);
    mkdirSync(store);
    node.config = join(dir, `${node.name}.conf`);
    writeFileSync(
      node.config,
      `server_name: ${node.name}
listen: 127.0.0.1:${node.port}
http: 127.0.0.1:${node.httpPort}
jetstream { store_dir: "${store}" }
cluster {
  name: ${clusterName}
  listen: 127.0.0.1:${node.clusterPort}
  routes: [${routes}]
}
`,
    );
    node.url = `nats://127.0.0.1:${node.port}`;
  }

  function byName(name) {
    const node = nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node named ${name}`);
    return node;
  }

  /** Starts a node's process; resolves once it accepts clients. */
  async function start(name) {
    const node = byName(name);
    if (node.child && node.child.exitCode === null && node.child.signalCode === null) return;
    const child = spawn(binary, ['-c', node.config], { stdio: ['ignore', 'ignore', 'pipe'] });
    node.child = child;
    running.add(child);
    child.once('exit', () => running.delete(child));
    node.log = '';
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server ${name} did not start:\n${node.log}`)), 15_000);
      child.stderr.on('data', (chunk) => {
        node.log = (node.log + chunk).slice(-20_000);
        if (node.log.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`nats-server ${name} exited with ${code ?? signal}:\n${node.log}`));
      });
    });
  }

  /** Kills a node as a crash would (SIGKILL by default); resolves once its process has exited. */
  async function kill(name, signal = 'SIGKILL') {
    const { child } = byName(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  /** The names of the nodes whose process runs. */
  function up() {
    return nodes.filter((n) => n.child && n.child.exitCode === null && n.child.signalCode === null).map((n) => n.name);
  }

  /**
   * Waits until every running node reports the same JetStream meta leader and
   * reports itself healthy (/healthz: JetStream current); resolves with the leader's name.
   */
  async function waitForMetaLeader(timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const names = up();
      const leaders = await Promise.all(names.map(async (name) => (await monitor(byName(name), '/jsz'))?.meta_cluster?.leader));
      if (leaders.length > 0 && leaders[0] && leaders.every((leader) => leader === leaders[0])) {
        const health = await Promise.all(names.map((name) => monitor(byName(name), '/healthz')));
        if (health.every((h) => h?.status === 'ok')) return leaders[0];
      }
      if (Date.now() > deadline) throw new Error(`no JetStream meta leader within ${timeoutMs} ms (saw ${JSON.stringify(leaders)})`);
      await sleep(100);
    }
  }

  /**
   * What each running node holds of a stream, from its own monitoring endpoint:
   * `{ [name]: { leader, messages, lastSeq } }` (`undefined` for a node without it).
   */
  async function streamState(stream) {
    const states = {};
    for (const name of up()) {
      const jsz = await monitor(byName(name), `/jsz?streams=true&raft=true`);
      const detail = jsz?.account_details?.flatMap((account) => account.stream_detail ?? []).find((s) => s.name === stream);
      states[name] = detail && { leader: detail.cluster?.leader, messages: detail.state.messages, lastSeq: detail.state.last_seq };
    }
    return states;
  }

  /** Kills every node this cluster started and removes the store directories; safe to call twice. */
  async function close() {
    await Promise.all(nodes.map((node) => kill(node.name)));
    rmSync(dir, { recursive: true, force: true });
  }

  try {
    await Promise.all(nodes.map((node) => start(node.name)));
    await waitForMetaLeader();
  } catch (error) {
    await close();
    throw error;
  }
  return {
    nodes,
    /** Every node's client URL. */
    urls: nodes.map((node) => node.url),
    url: (name) => byName(name).url,
    start,
    kill,
    up,
    waitForMetaLeader,
    streamState,
    close,
  };
}
