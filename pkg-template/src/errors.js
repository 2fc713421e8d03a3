// The error classes every store method throws. Rust constructs them through
// wasm-bindgen (src/wasm/errors.rs); the JavaScript layer re-exports them.
// `name` is a string literal, not the class name, so that minifiers cannot change it.

/** Thrown when a save's version is not above the actor's latest version. */
export class VersionConflictError extends Error {
  /**
   * @param {string} message
   * @param {{ actorId: string, attemptedVersion: number, currentVersion: number }} fields
   */
  constructor(message, { actorId, attemptedVersion, currentVersion }) {
    super(message);
    this.name = 'VersionConflictError';
    this.code = 'VERSION_CONFLICT';
    this.actorId = actorId;
    this.attemptedVersion = attemptedVersion;
    this.currentVersion = currentVersion;
  }
}

/** Thrown for input that breaks the contract; `field` is the path of the offending value. */
export class ValidationError extends TypeError {
  /**
   * @param {string} message
   * @param {{ field: string, cause?: unknown }} options
   */
  constructor(message, { field, cause }) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ValidationError';
    this.code = 'INVALID_INPUT';
    this.field = field;
  }
}

/** Thrown when the storage fails or the store is closed; `cause` is the underlying error. */
export class StorageError extends Error {
  /**
   * @param {string} message
   * @param {{ cause?: unknown }} [options]
   */
  constructor(message, { cause } = {}) {
    super(message, { cause });
    this.name = 'StorageError';
    this.code = 'STORAGE';
  }
}

/**
 * A StorageError saying what failed, with the underlying error (a DOMException,
 * a NATS client error) as `cause`; a StorageError passes through unchanged.
 * @param {string} what
 * @param {unknown} cause
 */
export function storageError(what, cause) {
  if (cause instanceof StorageError) return cause;
  const detail = cause?.name && cause?.message ? `${cause.name}: ${cause.message}` : String(cause);
  return new StorageError(`${what} (${detail})`, { cause });
}

/**
 * Whether `error` is a version conflict, also one thrown by another copy of this package.
 * @param {unknown} error
 * @returns {boolean}
 */
export function isVersionConflict(error) {
  return (
    error instanceof VersionConflictError ||
    (typeof error === 'object' &&
      error !== null &&
      /** @type {{ code?: unknown }} */ (error).code === 'VERSION_CONFLICT' &&
      /** @type {{ name?: unknown }} */ (error).name === 'VersionConflictError')
  );
}

/**
 * Internal (not exported from the package's entry points): thrown by a local
 * store's `syncCommit` when the pending events changed while the sync change was
 * prepared (e.g. another tab saved between the sync engine's read and its
 * commit). Nothing of the change is stored; the engine reads again and retries.
 */
export class PendingChangedError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(`the pending events changed while a sync change was prepared: ${message}`);
    this.name = 'PendingChangedError';
    this.code = 'PENDING_CHANGED';
  }
}
