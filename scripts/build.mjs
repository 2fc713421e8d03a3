// Builds the npm package into pkg/: the Rust crate to wasm, wasm-bindgen's glue,
// wasm-opt, then esbuild bundles the JavaScript layer once for browsers and
// bundlers (ESM, index.js) and once for Node.js (CommonJS, index.cjs, with
// index.mjs re-exporting it for `import`).
//
// Usage: node scripts/build.mjs [--dev]   (--dev skips wasm-opt for a faster build)

import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const at = (...parts) => join(root, ...parts);
const template = at('pkg-template');
const out = at('pkg');
const glueDir = at('target', 'bindgen');
const crateWasm = at('target', 'wasm32-unknown-unknown', 'release', 'aether_eventstore.wasm');
const wasmName = 'aether_eventstore_bg.wasm';
const dev = process.argv.includes('--dev');

function run(command, args) {
  execFileSync(command, args, { cwd: root, stdio: 'inherit' });
}

run('cargo', ['build', '--release', '--lib', '--target', 'wasm32-unknown-unknown']);
rmSync(glueDir, { recursive: true, force: true });
run('wasm-bindgen', ['--target', 'web', '--no-typescript', '--encode-into', 'always', '--out-dir', glueDir, crateWasm]);

rmSync(out, { recursive: true, force: true });
mkdirSync(out);
if (dev) {
  copyFileSync(join(glueDir, wasmName), join(out, wasmName));
} else {
  run(at('node_modules', '.bin', 'wasm-opt'), [
    '-Oz',
    '--enable-bulk-memory',
    '--enable-nontrapping-float-to-int',
    '--enable-sign-ext',
    '--enable-mutable-globals',
    '--strip-debug',
    '--strip-producers',
    join(glueDir, wasmName),
    '-o',
    join(out, wasmName),
  ]);
}

/** Resolves `#wasm` to wasm-bindgen's glue, and the glue's copy of errors.js to the source, so that one set of error classes is bundled. */
const resolveGlue = {
  name: 'resolve-glue',
  setup(build) {
    build.onResolve({ filter: /^#wasm$/ }, () => ({ path: join(glueDir, 'aether_eventstore.js') }));
    build.onResolve({ filter: /\/snippets\/.*\/errors\.js$/ }, () => ({
      path: join(template, 'src', 'errors.js'),
    }));
  },
};

const common = {
  bundle: true,
  plugins: [resolveGlue],
  target: 'es2022',
  legalComments: 'none',
  logLevel: 'warning',
  // Smaller, with names kept for readable stack traces.
  minifySyntax: true,
};
/** What browsers download: on one line as well, with a source map (Node.js builds keep their lines, for stack traces). */
const browserOnly = { minifyWhitespace: true, sourcemap: true, sourcesContent: true };
await esbuild.build({
  ...common,
  ...browserOnly,
  entryPoints: [join(template, 'src', 'entry-web.js')],
  outfile: join(out, 'index.js'),
  format: 'esm',
  platform: 'neutral',
});
await esbuild.build({
  ...common,
  entryPoints: [join(template, 'src', 'entry-node.js')],
  outfile: join(out, 'index.cjs'),
  format: 'cjs',
  platform: 'node',
  // The glue's default wasm URL is never used in Node: entry-node.js passes the bytes.
  define: { 'import.meta.url': 'undefined' },
});

// aether-eventstore/jetstream: its own small modules, importing the main entry
// by the package's name (one shared instance) and the NATS client as peers.
const jetstream = { ...common, external: ['aether-eventstore', '@nats-io/*'] };
await esbuild.build({
  ...jetstream,
  ...browserOnly,
  entryPoints: [join(template, 'src', 'jetstream-web.js')],
  outfile: join(out, 'jetstream.js'),
  format: 'esm',
  platform: 'neutral',
});
for (const [format, file] of [['esm', 'jetstream.mjs'], ['cjs', 'jetstream.cjs']]) {
  await esbuild.build({
    ...jetstream,
    entryPoints: [join(template, 'src', 'jetstream-node.js')],
    outfile: join(out, file),
    format,
    platform: 'node',
  });
}

// aether-eventstore/sync: the same way, with no peers of its own.
const sync = { ...common, external: ['aether-eventstore'], entryPoints: [join(template, 'src', 'sync-entry.js')] };
await esbuild.build({ ...sync, ...browserOnly, outfile: join(out, 'sync.js'), format: 'esm', platform: 'neutral' });
for (const [format, file] of [['esm', 'sync.mjs'], ['cjs', 'sync.cjs']]) {
  await esbuild.build({ ...sync, outfile: join(out, file), format, platform: 'node' });
}

// index.mjs: the CommonJS build's exports as ES module exports, so that
// `import` and `require` in one Node.js process share one instance.
const names = Object.keys(createRequire(import.meta.url)(join(out, 'index.cjs'))).sort();
writeFileSync(
  join(out, 'index.mjs'),
  `// Node.js ES module entry: re-exports the CommonJS build (index.cjs).\n` +
    `import api from './index.cjs';\n\n` +
    `export const {\n${names.map((name) => `  ${name},\n`).join('')}} = api;\n`,
);

for (const name of ['index', 'jetstream', 'sync']) {
  copyFileSync(join(template, `${name}.d.ts`), join(out, `${name}.d.ts`));
  copyFileSync(join(template, `${name}.d.ts`), join(out, `${name}.d.cts`));
}
copyFileSync(join(template, 'package.json'), join(out, 'package.json'));
copyFileSync(join(template, 'README.md'), join(out, 'README.md')); // for users; the repository's README is for contributors
copyFileSync(at('LICENSE'), join(out, 'LICENSE'));
console.log(`built ${out}`);
