// One log on disk: a data file of records, one per line, and the commit log
// beside it whose frames say which of those lines are committed (frame.js).
// This module does the I/O: appending a commit in the order that keeps it
// all-or-nothing across a crash, reading records back, and cutting off what a
// crash left uncommitted.

import * as fs from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';

const READ_WRITE_CREATE = fs.constants.O_RDWR | fs.constants.O_CREAT;
/**
 * Where the platform has it (Linux, macOS), a durable log's files are opened
 * with O_DSYNC: each write returns once its bytes are on disk, as a write then
 * a datasync would, in one call instead of two. Elsewhere, writes are followed by datasync.
 */
const DSYNC = fs.constants.O_DSYNC;

/** Reads `length` bytes at `position`; fewer where the file ends sooner. */
function readAt(fd, buffer, offset, length, position) {
  return new Promise((resolve, reject) => {
    fs.read(fd, buffer, offset, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
  });
}

/** Writes `length` bytes at `position`; resolves with how many were written. */
function writeAt(fd, buffer, offset, length, position) {
  return new Promise((resolve, reject) => {
    fs.write(fd, buffer, offset, length, position, (error, bytesWritten) => (error ? reject(error) : resolve(bytesWritten)));
  });
}

/**
 * Writes all of `bytes` at `position`, through the handle's descriptor with
 * fs.write (measured: a fifth less per save than the FileHandle's own write).
 */
async function writeAll(handle, bytes, position) {
  let written = 0;
  while (written < bytes.length) {
    const bytesWritten = await writeAt(handle.fd, bytes, written, bytes.length - written, position + written);
    if (bytesWritten === 0) throw new Error('the file system wrote nothing');
    written += bytesWritten;
  }
}

/**
 * Flushes a directory's entries (files created or removed in it) to disk.
 * Some platforms cannot open a directory for that (Windows): there it is a no-op.
 */
export async function syncDirectory(path) {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return;
  }
  try {
    await handle.sync();
  } catch (error) {
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF', 'ENOTSUP'].includes(error?.code)) throw error;
  } finally {
    await handle.close();
  }
}

export class LogFile {
  /** @type {import('node:fs/promises').FileHandle} */
  #data;
  /** @type {import('node:fs/promises').FileHandle} */
  #commits;
  /** Where the next commit's records and frame go: the ends of what is committed. */
  dataEnd = 0;
  commitsEnd = 0;
  /** Whether the files hold writes not flushed yet. */
  unflushed = false;
  /** Whether every write is on disk when it returns (O_DSYNC). */
  #writeThrough;

  constructor(data, commits, writeThrough) {
    this.#data = data;
    this.#commits = commits;
    this.#writeThrough = writeThrough;
  }

  /**
   * Opens (creating if missing) a data file and its commit log.
   * @param {{ durable?: boolean, syncCreated?: boolean }} [options] `durable`: every
   *   append will be flushed (durability 'strict'); `syncCreated`: flush their directory if either file was new
   */
  static async open(dataPath, commitsPath, { durable = false, syncCreated = false } = {}) {
    const existed = fs.existsSync(dataPath) && fs.existsSync(commitsPath);
    const writeThrough = durable && DSYNC !== undefined;
    const flags = READ_WRITE_CREATE | (writeThrough ? DSYNC : 0);
    const data = await open(dataPath, flags, 0o644);
    let commits;
    try {
      commits = await open(commitsPath, flags, 0o644);
    } catch (error) {
      await data.close();
      throw error;
    }
    if (!existed && syncCreated) await syncDirectory(dirname(dataPath));
    return new LogFile(data, commits, writeThrough);
  }

  /** The whole commit log. */
  readCommits() {
    return this.#commits.readFile();
  }

  async dataSize() {
    return (await this.#data.stat()).size;
  }

  /**
   * Reads the data file's bytes from `offset` on into `buffer` at `at`; fewer
   * than `length` where the file ends sooner. Resolves with how many were read.
   */
  async read(buffer, at, length, offset) {
    let total = 0;
    while (total < length) {
      const count = await readAt(this.#data.fd, buffer, at + total, length - total, offset + total);
      if (count === 0) break;
      total += count;
    }
    return total;
  }

  /**
   * Appends one commit: its records' bytes to the data file, then its frame to
   * the commit log. When `flush`, each is on disk before the next step (written
   * through, or flushed), so that a frame on disk always has its records on
   * disk. Without, both are written at once, and recovery checks unflushed
   * frames against their records. If anything fails, both files are cut back
   * to where they were and the error is thrown; if that fails too, the error
   * thrown has `broken: true`.
   */
  async append(records, frame, flush) {
    const { dataEnd, commitsEnd } = this;
    try {
      if (!flush) {
        // Both settled before anything is cut back: no write may land after the cut.
        const writes = await Promise.allSettled([writeAll(this.#data, records, dataEnd), writeAll(this.#commits, frame, commitsEnd)]);
        const failed = writes.find((write) => write.status === 'rejected');
        if (failed) throw failed.reason;
      } else {
        await writeAll(this.#data, records, dataEnd);
        if (!this.#writeThrough) await this.#data.datasync();
        await writeAll(this.#commits, frame, commitsEnd);
        if (!this.#writeThrough) await this.#commits.datasync();
      }
    } catch (error) {
      try {
        await this.truncate(dataEnd, commitsEnd);
      } catch (cutError) {
        // The files may now hold a part of this commit: no more writes until they are opened (and recovered) again.
        throw Object.assign(new Error(`${error?.message ?? error}; cutting the files back failed too (${cutError?.message ?? cutError})`, { cause: error }), {
          broken: true,
        });
      }
      throw error;
    }
    this.dataEnd = dataEnd + records.length;
    this.commitsEnd = commitsEnd + frame.length;
    if (!flush) this.unflushed = true;
  }

  /** Cuts both files back to the given ends, dropping what follows (an uncommitted tail). */
  async truncate(dataEnd, commitsEnd) {
    await this.#commits.truncate(commitsEnd);
    await this.#data.truncate(dataEnd);
    await this.#commits.datasync();
    await this.#data.datasync();
    this.dataEnd = dataEnd;
    this.commitsEnd = commitsEnd;
  }

  /** Flushes both files: the data file first, so that no frame reaches the disk before its records. */
  async flush() {
    await this.#data.datasync();
    await this.#commits.datasync();
    this.unflushed = false;
  }

  async close() {
    await Promise.allSettled([this.#data.close(), this.#commits.close()]);
  }
}
