// Recovery at open: what of a log is committed, what a crash left torn, and
// what damage left unreadable in the commit log.
//
// - A torn tail (a commit log that ends in a frame cut short, or data past the
//   last frame's records) is a commit that a crash interrupted before it was
//   acknowledged: in the log being written, it is cut off, so the commit never
//   happened, whole.
// - Frames written without a flush (durability 'relaxed') at the end of the log
//   being written are checked against their records' checksums: after a power
//   loss their records may not have reached the disk. From the first that does
//   not match, they are cut off too.
// - A stretch of damaged frames with sound ones after it (or in an older log)
//   is not a crash: those commits were acknowledged. Their records are rebuilt
//   from the data file's lines by the caller, never dropped.

import { UNFLUSHED, forEachRecord, scanFrames } from './frame.js';
import { crc32 } from './crc32.js';

const NEWLINE = 0x0a;

/**
 * Whether every record of `frame` is in the data file as the frame names it.
 * @param {import('./log-file.js').LogFile} log
 */
async function recordsMatch(log, commits, frame) {
  const data = Buffer.allocUnsafe(frame.dataEnd - frame.dataOffset);
  if ((await log.read(data, 0, data.length, frame.dataOffset)) < data.length) return false;
  let at = 0;
  let sound = true;
  forEachRecord(commits, frame, (actor, version, length, crc) => {
    if (sound) sound = crc32(data.subarray(at, at + length)) === crc && data[at + length] === NEWLINE;
    at += length + 1;
  });
  return sound;
}

/**
 * Reads a log's commit log and works out what is committed; in the log being
 * written (`writing`), cuts off what a crash left uncommitted. Damage shows as
 * discontinuities between the sound frames returned (a frame whose records do
 * not start where the previous one's end), which the caller rebuilds from the
 * data file's lines.
 * @param {import('./log-file.js').LogFile} log
 * @param {boolean} writing whether this is the log that appends go to
 * @returns {Promise<{ commits: Uint8Array, frames: import('./frame.js').Frame[], dataSize: number, cut: number, short: boolean }>}
 *   `cut`: how many bytes of torn tail were cut off the two files; `short`: whether
 *   the data file ends before the records its frames name (damage)
 */
export async function recover(log, writing) {
  const commits = await log.readCommits();
  let { frames } = scanFrames(commits);
  const dataSize = await log.dataSize();
  if (!writing) {
    log.dataEnd = dataSize;
    log.commitsEnd = commits.length;
    return { commits, frames, dataSize, cut: 0, short: false };
  }
  let kept = frames.length;
  let unflushed = kept;
  while (unflushed > 0 && frames[unflushed - 1].flags & UNFLUSHED) unflushed--;
  for (let k = unflushed; k < frames.length; k++) {
    if (!(await recordsMatch(log, commits, frames[k]))) {
      kept = k;
      break;
    }
  }
  frames = frames.slice(0, kept);
  const commitsEnd = kept > 0 ? frames[kept - 1].end : 0;
  const dataEnd = kept > 0 ? frames[kept - 1].dataEnd : 0;
  let cut = 0;
  if (commits.length > commitsEnd || dataSize > dataEnd) {
    cut = commits.length - commitsEnd + Math.max(0, dataSize - dataEnd);
    await log.truncate(Math.min(dataSize, dataEnd), commitsEnd);
  }
  // A data file shorter than its frames say (damage) keeps its place: appends go after the committed end.
  log.dataEnd = dataEnd;
  log.commitsEnd = commitsEnd;
  // Unflushed commits kept (a relaxed writer was killed; its writes are in the OS's cache) are
  // flushed now, before new commits follow them: a write-through write flushes only its own bytes.
  if (kept > unflushed) await log.flush();
  return { commits, frames, dataSize: Math.min(dataSize, dataEnd), cut, short: dataSize < dataEnd };
}

/**
 * The lines of the data file between `from` and `to`: each one's offset and
 * bytes (without its "\n"); a last piece with no "\n" counts as a line.
 * @param {import('./log-file.js').LogFile} log
 */
export async function readLines(log, from, to) {
  const bytes = Buffer.allocUnsafe(Math.max(0, to - from));
  const read = await log.read(bytes, 0, bytes.length, from);
  const lines = [];
  let start = 0;
  while (start < read) {
    let end = bytes.indexOf(NEWLINE, start);
    if (end === -1 || end >= read) end = read;
    lines.push({ offset: from + start, bytes: bytes.subarray(start, end) });
    start = end + 1;
  }
  return lines;
}
