// The package's public API, the same for every entry point.

export { EventStore, EventTypeEventStored, ReplayResult } from './event-store.js';
export { CommandHandler } from './command-handler.js';
export { VersionConflictError, ValidationError, StorageError, isVersionConflict } from './errors.js';
export {
  MetadataKey,
  setMetadata,
  getMetadata,
  withMetadataFrom,
  setCorrelationId,
  getCorrelationId,
  setCausationId,
  getCausationId,
  setUserId,
  getUserId,
  setTraceId,
  getTraceId,
  setSpanId,
  getSpanId,
} from './metadata.js';
