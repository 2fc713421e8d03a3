// The directory store's framing and recovery modules on their own (they are
// plain Node.js modules of the repository, not the package's exports), with
// torn and flipped bytes at every position.
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import assert from 'node:assert/strict';

const repo = process.env.AETHER_REPO ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const load = (name) => import(pathToFileURL(join(repo, 'pkg-template', 'src', 'directory', name)).href);
const { UNFLUSHED, encodeFrame, forEachRecord, scanFrames } = await load('frame.js');
const { crc32, tableCrc32 } = await load('crc32.js');
const { LogFile } = await load('log-file.js');
const { recover } = await load('recovery.js');

const base = fs.mkdtempSync(join(tmpdir(), 'aether-framing-'));
after(() => fs.rmSync(base, { recursive: true, force: true }));
let logs = 0;

/** A commit of `lines` (event-like JSON texts) at `dataOffset`: its data bytes and frame. */
function commit(lines, { dataOffset = 0, firstPosition = 1, flags = 0 } = {}) {
  const actors = [...new Set(lines.map((line) => JSON.parse(line).actorId))];
  const bytes = lines.map((line) => Buffer.from(line));
  const frame = encodeFrame({
    flags,
    firstPosition,
    dataOffset,
    actors,
    recordActors: lines.map((line) => actors.indexOf(JSON.parse(line).actorId)),
    versions: lines.map((line) => JSON.parse(line).version),
    lengths: bytes.map((b) => b.length),
    crcs: bytes.map((b) => crc32(b)),
  });
  return { data: Buffer.from(lines.map((line) => `${line}\n`).join('')), frame: Buffer.from(frame) };
}

const line = (actorId, version) => JSON.stringify({ actorId, version, data: { text: `${actorId} at ${version}` } });
const threeFrames = () => {
  const a = commit([line('a', 1)]);
  const b = commit([line('a', 2), line('b', 1), line('a', 3)], { dataOffset: a.data.length, firstPosition: 2 });
  const c = commit([line('ü😀', 1)], { dataOffset: a.data.length + b.data.length, firstPosition: 5 });
  return [a, b, c];
};

describe('directory framing: frames', () => {
  test('CRC-32 is zlib\'s, with or without node:zlib\'s own', () => {
    const check = Buffer.from('123456789');
    assert.equal(crc32(check), 0xcbf43926);
    assert.equal(tableCrc32(check), 0xcbf43926);
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131) % 256));
    assert.equal(tableCrc32(bytes), crc32(bytes));
  });

  test('a frame names its records: actor, version, length and checksum, and where its data starts and ends', () => {
    const [a, b, c] = threeFrames();
    const log = Buffer.concat([a.frame, b.frame, c.frame]);
    const { frames, damaged, end, torn } = scanFrames(log);
    assert.deepEqual(damaged, []);
    assert.equal(torn, false);
    assert.equal(end, log.length);
    assert.deepEqual(frames.map((f) => [f.firstPosition, f.dataOffset, f.count, f.actors, f.flags]), [
      [1, 0, 1, ['a'], 0],
      [2, a.data.length, 3, ['a', 'b'], 0],
      [5, a.data.length + b.data.length, 1, ['ü😀'], 0],
    ]);
    assert.equal(frames[2].dataEnd, a.data.length + b.data.length + c.data.length);
    const records = [];
    forEachRecord(log, frames[1], (actor, version, length, crc) => records.push([frames[1].actors[actor], version, length, crc]));
    assert.deepEqual(records, [line('a', 2), line('b', 1), line('a', 3)].map((l) => [JSON.parse(l).actorId, JSON.parse(l).version, l.length, crc32(Buffer.from(l))]));
  });

  test('a log cut anywhere in its last frame ends in a torn tail after the frames before it', () => {
    const [a, b, c] = threeFrames();
    const log = Buffer.concat([a.frame, b.frame, c.frame]);
    for (let cut = a.frame.length + b.frame.length + 1; cut < log.length; cut++) {
      const scan = scanFrames(log.subarray(0, cut));
      assert.equal(scan.frames.length, 2, `cut at ${cut}`);
      assert.equal(scan.torn, true);
      assert.equal(scan.end, a.frame.length + b.frame.length);
      assert.deepEqual(scan.damaged, []);
    }
  });

  test('a flipped bit anywhere in a frame with sound frames after it is a damaged stretch; the later frames count', () => {
    const [a, b, c] = threeFrames();
    const log = Buffer.concat([a.frame, b.frame, c.frame]);
    for (let at = a.frame.length; at < a.frame.length + b.frame.length; at++) {
      for (const bit of [0x01, 0x80]) {
        const damaged = Buffer.from(log);
        damaged[at] ^= bit;
        const scan = scanFrames(damaged);
        assert.deepEqual(scan.frames.map((f) => f.firstPosition), [1, 5], `byte ${at} bit ${bit}`);
        assert.deepEqual(scan.damaged, [{ from: a.frame.length, to: a.frame.length + b.frame.length }]);
        assert.equal(scan.torn, false);
      }
    }
  });

  test('a flipped bit in the last frame is a torn tail', () => {
    const [a, b, c] = threeFrames();
    const log = Buffer.concat([a.frame, b.frame, c.frame]);
    for (let at = a.frame.length + b.frame.length; at < log.length; at++) {
      const damaged = Buffer.from(log);
      damaged[at] ^= 0x04;
      const scan = scanFrames(damaged);
      assert.equal(scan.frames.length, 2, `byte ${at}`);
      assert.equal(scan.torn, true);
    }
  });
});

describe('directory framing: recovery of a log on disk', () => {
  /** A log whose files hold `commits` (data, then frame, as LogFile.append writes them), reopened. */
  async function logOf(commits, { extraData = '', extraFrame = Buffer.alloc(0) } = {}) {
    const dataPath = join(base, `log-${++logs}.jsonl`);
    const commitsPath = join(base, `log-${logs}.commits`);
    fs.writeFileSync(dataPath, Buffer.concat([...commits.map((c) => c.data), Buffer.from(extraData)]));
    fs.writeFileSync(commitsPath, Buffer.concat([...commits.map((c) => c.frame), extraFrame]));
    return { log: await LogFile.open(dataPath, commitsPath), dataPath, commitsPath };
  }

  test('records past the last frame, and a frame cut short, are cut off the files', async () => {
    const [a, b, c] = threeFrames();
    const { log, dataPath, commitsPath } = await logOf([a, b], { extraData: c.data.toString(), extraFrame: c.frame.subarray(0, 15) });
    const { frames, cut, short } = await recover(log, true);
    assert.equal(frames.length, 2);
    assert.equal(cut, c.data.length + 15);
    assert.equal(short, false);
    assert.equal(fs.statSync(dataPath).size, a.data.length + b.data.length);
    assert.equal(fs.statSync(commitsPath).size, a.frame.length + b.frame.length);
    assert.deepEqual([log.dataEnd, log.commitsEnd], [a.data.length + b.data.length, a.frame.length + b.frame.length]);
    await log.close();
  });

  test('unflushed frames at the end are checked against their records: from the first that does not match, they are cut off', async () => {
    const a = commit([line('a', 1)], { flags: UNFLUSHED });
    const b = commit([line('a', 2), line('b', 1)], { dataOffset: a.data.length, firstPosition: 2, flags: UNFLUSHED });
    const c = commit([line('a', 3)], { dataOffset: a.data.length + b.data.length, firstPosition: 4, flags: UNFLUSHED });
    const lost = { data: Buffer.alloc(b.data.length), frame: b.frame }; // the frame reached the disk, its records did not
    const { log, dataPath } = await logOf([a, lost, c]);
    const { frames } = await recover(log, true);
    assert.deepEqual(frames.map((f) => f.firstPosition), [1]);
    assert.equal(fs.statSync(dataPath).size, a.data.length);
    await log.close();
  });

  test('flushed frames whose records are cut short are kept (damage, reported when read), and so is everything in an older log', async () => {
    const [a, b] = threeFrames();
    const { log, dataPath } = await logOf([a, { data: b.data.subarray(0, 10), frame: b.frame }]);
    const { frames, short } = await recover(log, true);
    assert.equal(frames.length, 2);
    assert.equal(short, true);
    assert.equal(fs.statSync(dataPath).size, a.data.length + 10);
    assert.equal(log.dataEnd, a.data.length + b.data.length, 'appends would go after the committed end');
    await log.close();
    const older = await logOf([a, b], { extraData: 'junk', extraFrame: Buffer.from('torn') });
    const scan = await recover(older.log, false);
    assert.equal(scan.frames.length, 2);
    assert.equal(fs.statSync(older.dataPath).size, a.data.length + b.data.length + 4, 'an older log is never cut');
    await older.log.close();
  });
});
