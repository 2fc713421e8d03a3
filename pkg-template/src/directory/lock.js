// One writer per directory: the LOCK file, held while a store is open.
//
// Taking it: the holder's record (process id, host, a random token, and on
// Linux the process's start time) is written to a file of its own, then
// hard-linked to LOCK, which fails if LOCK exists: so LOCK is never seen half
// written, and at most one process makes it. (Where hard links are not
// supported, LOCK is created exclusively instead, and an unreadable LOCK
// younger than a second is waited for rather than taken over.)
//
// A LOCK whose process is gone (same host, and no process with that id, or one
// that started at another time: the id was reused) is stale. Taking it over:
// only the process that creates LOCK.takeover-<token of the stale lock> may
// remove it, and only after checking that LOCK still holds that token; then it
// tries to take LOCK like anyone else. Tokens are never reused, so no process
// can remove a LOCK made after the stale one it saw.

import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StorageError } from '../errors.js';

const LOCK = 'LOCK';
/** How long a takeover left by a process that died while taking over is waited for. */
const TAKEOVER_WAIT_MS = 2000;

/** This process's start time as Linux counts it (clock ticks since boot), or `undefined` elsewhere. */
function processStart(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote `holder` (on this host) is still running. */
function isRunning(holder) {
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if (error?.code === 'ESRCH') return false;
    // EPERM: it runs, as another user.
  }
  if (holder.processStart !== undefined) {
    const start = processStart(holder.pid);
    if (start !== undefined && start !== holder.processStart) return false; // the id was reused
  }
  return true;
}

/** The holder recorded in a LOCK file: `null` if there is none, `{ unreadable: true }` if it is not a holder's record. */
function readHolder(path) {
  let holder;
  try {
    holder = JSON.parse(fs.readFileSync(path, 'utf8'));
  } catch (error) {
    if (error?.code === 'ENOENT') return null;
    return { unreadable: true };
  }
  const sound = Number.isSafeInteger(holder?.pid) && holder.pid > 0 && typeof holder.hostname === 'string' && typeof holder.token === 'string';
  return sound ? holder : { unreadable: true };
}

/**
 * Makes LOCK from the draft holding `me`, unless LOCK exists: by a hard link,
 * or where the file system has none, by an exclusive create (then LOCK is empty
 * for an instant, which others wait out: isFresh).
 */
function create(draft, path, me) {
  try {
    fs.linkSync(draft, path);
    return true;
  } catch (error) {
    if (error?.code === 'EEXIST') return false;
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV'].includes(error?.code)) throw error;
  }
  try {
    fs.writeFileSync(path, `${JSON.stringify(me)}\n`, { flag: 'wx' });
    return true;
  } catch (error) {
    if (error?.code === 'EEXIST') return false;
    throw error;
  }
}

/** Whether a file was modified in the last second. */
function isFresh(path) {
  const modified = fs.statSync(path, { throwIfNoEntry: false })?.mtimeMs;
  return modified !== undefined && Date.now() - modified < 1000;
}

/** Locks held by this process, released at exit if their stores were not closed. */
const held = new Map();
let exitHookInstalled = false;

function releaseAtExit() {
  for (const [path, token] of held) {
    try {
      if (readHolder(path)?.token === token) fs.unlinkSync(path);
    } catch {
      // exiting: nothing more to do
    }
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class DirectoryLock {
  #path;
  #token;

  constructor(path, token) {
    this.#path = path;
    this.#token = token;
  }

  /**
   * Takes the lock of `directory`, or rejects with StorageError naming the
   * process that holds it.
   * @param {string} directory
   */
  static async acquire(directory) {
    const path = join(directory, LOCK);
    const token = randomUUID();
    const me = { pid: process.pid, hostname: hostname(), token, since: new Date().toISOString() };
    const start = processStart(process.pid);
    if (start !== undefined) me.processStart = start;
    const draft = join(directory, `LOCK.${token}`);
    fs.writeFileSync(draft, `${JSON.stringify(me)}\n`);
    const deadline = Date.now() + TAKEOVER_WAIT_MS;
    try {
      for (;;) {
        if (create(draft, path, me)) break;
        const holder = readHolder(path);
        if (holder === null) continue; // released meanwhile: try again
        if (!holder.unreadable && (holder.hostname !== me.hostname || isRunning(holder))) {
          throw lockedError(directory, holder);
        }
        if (holder.unreadable && isFresh(path)) {
          // Being written (where hard links are not supported), or damaged: waited for, then taken over.
          if (Date.now() > deadline) throw lockedError(directory, holder, true);
          await sleep(10);
          continue;
        }
        // Stale (its process is gone) or unreadable (written by something else, or damaged).
        if (!takeOver(directory, path, holder)) {
          if (Date.now() > deadline) throw lockedError(directory, holder, true);
          await sleep(10);
        }
      }
    } finally {
      fs.rmSync(draft, { force: true });
    }
    held.set(path, token);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', releaseAtExit);
    }
    return new DirectoryLock(path, token);
  }

  /** Releases the lock (if it is still this store's). */
  release() {
    held.delete(this.#path);
    try {
      if (readHolder(this.#path)?.token === this.#token) fs.unlinkSync(this.#path);
    } catch (error) {
      if (error?.code !== 'ENOENT') throw error;
    }
  }
}

/**
 * Removes the stale LOCK `holder` if this process wins its takeover; returns
 * whether LOCK is gone (to be taken by whoever links first).
 */
function takeOver(directory, path, holder) {
  const stale = holder.unreadable ? `unreadable-${fs.statSync(path, { throwIfNoEntry: false })?.ino}` : holder.token;
  const marker = join(directory, `LOCK.takeover-${String(stale).replace(/[^A-Za-z0-9-]/g, '_')}`);
  try {
    fs.writeFileSync(marker, `${process.pid}\n`, { flag: 'wx' });
  } catch (error) {
    if (error?.code !== 'EEXIST') throw error;
    // Someone else is taking it over; if they died doing it, their marker is stale too.
    let pid;
    try {
      pid = Number(fs.readFileSync(marker, 'utf8'));
    } catch {
      return false; // done meanwhile
    }
    if (Number.isSafeInteger(pid) && pid > 0 && !isRunning({ pid })) fs.rmSync(marker, { force: true });
    return false;
  }
  try {
    const now = readHolder(path);
    const same = holder.unreadable ? now?.unreadable : now?.token === holder.token;
    if (same) fs.rmSync(path, { force: true });
    return true;
  } finally {
    fs.rmSync(marker, { force: true });
  }
}

function lockedError(directory, holder, stuck = false) {
  const who = holder.unreadable
    ? 'a LOCK file that cannot be read'
    : `process ${holder.pid}${holder.pid === process.pid ? ' (this process)' : ''}` +
      `${holder.hostname && holder.hostname !== hostname() ? ` on host ${holder.hostname}` : ''}` +
      `${holder.since ? ` since ${holder.since}` : ''}`;
  const cause = Object.assign(new Error(`locked by ${who}`), {
    code: 'ELOCKED',
    pid: holder.pid,
    hostname: holder.hostname,
  });
  const message = stuck
    ? `directory "${directory}" is locked by ${who}, and taking the lock over did not finish; if no process uses it, remove ${join(directory, LOCK)}`
    : `directory "${directory}" is open in ${who}: one process writes a directory at a time (close that store first)`;
  return new StorageError(message, { cause });
}
