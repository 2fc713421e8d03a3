// Runs every test: Rust formatting and lints, the core natively, the binding
// under wasm-bindgen-test (Node), then the packed npm package from fresh
// consumer projects (Node ESM and CommonJS, TypeScript, a browser page without
// a bundler, a Vite build) under node:test.
//
// Usage: node scripts/test.mjs

import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const steps = [];

function step(title, command, args, options = {}) {
  const started = Date.now();
  console.log(`\n=== ${title}: ${command} ${args.join(' ')}`);
  execFileSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  steps.push(`${title}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

step('rustfmt', 'cargo', ['fmt', '--check']);
step('clippy (native)', 'cargo', ['clippy', '--all-targets', '--', '-D', 'warnings']);
step('clippy (wasm)', 'cargo', ['clippy', '--all-targets', '--target', 'wasm32-unknown-unknown', '--', '-D', 'warnings']);
step('core tests (native)', 'cargo', ['test']);
step('binding tests (wasm-bindgen-test, Node)', 'cargo', ['test', '--target', 'wasm32-unknown-unknown']);
step('build the package', 'node', ['scripts/build.mjs']);

// A fresh consumer project with the packed tarball installed, as a user would have it.
const work = mkdtempSync(join(tmpdir(), 'aether-consumer-'));
step('npm pack', 'npm', ['pack', '--pack-destination', work, './pkg']);
const tarball = join(work, readdirSync(work).find((name) => name.endsWith('.tgz')));
const consumer = join(work, 'app');
cpSync(join(root, 'tests', 'consumer'), consumer, { recursive: true });
// "type": "commonjs" on purpose: .js files there are CommonJS, .mjs files ES modules.
writeFileSync(
  join(consumer, 'package.json'),
  JSON.stringify({ name: 'consumer', private: true, type: 'commonjs' }, null, 2),
);
// The NATS client packages are the package's optional peers: linked from this repository's dev dependencies.
const natsPeers = ['nats-core', 'transport-node', 'jetstream', 'kv'].map((name) => join(root, 'node_modules', '@nats-io', name));
step('install the tarball into a fresh consumer', 'npm', ['install', '--no-audit', '--no-fund', tarball, ...natsPeers], {
  cwd: consumer,
});
step('TypeScript declarations (tsc --strict)', join(root, 'node_modules', '.bin', 'tsc'), ['-p', consumer]);
// The main entry in a Node.js project without the DOM library (lib es2022, no @types), CommonJS too.
step('TypeScript declarations without DOM (tsc --strict, Node.js)', join(root, 'node_modules', '.bin', 'tsc'), [
  '-p',
  join(consumer, 'tsconfig.node.json'),
]);

const testFiles = [
  ...readdirSync(consumer)
    .filter((name) => /\.test\.(c|m)?js$/.test(name))
    .map((name) => join(consumer, name)),
  ...readdirSync(join(root, 'tests', 'browser'))
    .filter((name) => name.endsWith('.test.mjs'))
    .map((name) => join(root, 'tests', 'browser', name)),
];
try {
  step('package tests (node:test)', 'node', ['--test', '--test-concurrency=2', ...testFiles], {
    env: { ...process.env, AETHER_CONSUMER: consumer, AETHER_REPO: root, AETHER_DEV_MODULES: join(root, 'node_modules') },
  });
  // At a toy size, so that the benchmark keeps working; its figures mean nothing here.
  step('benchmark smoke run (npm run bench at a tiny size)', 'node', ['--expose-gc', 'bench/run.mjs', '--tiny']);
} finally {
  console.log(`\nsteps:\n  ${steps.join('\n  ')}`);
  rmSync(work, { recursive: true, force: true });
}
