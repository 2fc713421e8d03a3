// The memory limit: an in-memory store filled until WebAssembly memory cannot
// grow, in a child process whose wasm memory V8 caps at 1 GiB (the real cap is
// 4 GiB: the same code path, four times the seconds), with 16 MiB events.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import assert from 'node:assert/strict';

test('memory: at the limit a save rejects with StorageError and stores nothing; every stored event reads back; the store and others go on', async () => {
  const pages = 16_384; // of 64 KiB: 1 GiB
  const worker = join(import.meta.dirname, 'capacity-worker.mjs');
  const { stdout } = await promisify(execFile)(process.execPath, [`--wasm-max-mem-pages=${pages}`, worker], {
    maxBuffer: 1024 * 1024,
    timeout: 240_000,
  });
  const figures = JSON.parse(stdout);
  console.log(`# capacity: ${figures.stored} events of 16 MiB (${(figures.storedBytes / 2 ** 30).toFixed(2)} GiB of a 1 GiB memory) stored in ${figures.filledMs} ms, then: ${figures.refusal.message}`);
  assert.ok(figures.storedBytes > 0.85 * pages * 65_536, 'the memory was filled (a save keeps room to run: three times its size)');
  assert.equal(figures.refusal.isStorageError, true, JSON.stringify(figures.refusal));
  assert.equal(figures.refusal.name, 'StorageError');
  assert.equal(figures.intact, figures.stored, 'every stored event reads back intact');
  assert.equal(figures.lastPosition, figures.stored, 'nothing of the refused save in the global order');
  assert.equal(figures.notStored, 0, 'the refused save stored nothing');
  assert.equal(figures.small, true, 'a save that fits is still stored');
  assert.equal(figures.refusedAgain, 'StorageError');
  assert.equal(figures.otherStore, 1, 'another store is unaffected');
});
