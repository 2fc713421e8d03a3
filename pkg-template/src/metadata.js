// Helpers for the `metadata` of plain event objects, as in the Go original.

/** Well-known metadata keys for tracing and auditing. */
export const MetadataKey = Object.freeze({
  CorrelationId: 'correlationId',
  CausationId: 'causationId',
  UserId: 'userId',
  TraceId: 'traceId',
  SpanId: 'spanId',
});

/** Sets `event.metadata[key] = value`, creating `metadata` when needed. */
export function setMetadata(event, key, value) {
  if (event.metadata === undefined || event.metadata === null) event.metadata = {};
  // defineProperty keeps keys such as `__proto__` ordinary data.
  Object.defineProperty(event.metadata, key, { value, writable: true, enumerable: true, configurable: true });
}

/** `event.metadata[key]`, or `''` when absent. */
export function getMetadata(event, key) {
  const metadata = event?.metadata;
  return metadata && Object.hasOwn(metadata, key) ? metadata[key] : '';
}

/** Copies every entry of `source.metadata` into `target.metadata`; a `null` source is a no-op. */
export function withMetadataFrom(target, source) {
  const metadata = source?.metadata;
  if (!metadata) return;
  for (const [key, value] of Object.entries(metadata)) setMetadata(target, key, value);
}

export const setCorrelationId = (event, id) => setMetadata(event, MetadataKey.CorrelationId, id);
export const getCorrelationId = (event) => getMetadata(event, MetadataKey.CorrelationId);
export const setCausationId = (event, id) => setMetadata(event, MetadataKey.CausationId, id);
export const getCausationId = (event) => getMetadata(event, MetadataKey.CausationId);
export const setUserId = (event, id) => setMetadata(event, MetadataKey.UserId, id);
export const getUserId = (event) => getMetadata(event, MetadataKey.UserId);
export const setTraceId = (event, id) => setMetadata(event, MetadataKey.TraceId, id);
export const getTraceId = (event) => getMetadata(event, MetadataKey.TraceId);
export const setSpanId = (event, id) => setMetadata(event, MetadataKey.SpanId, id);
export const getSpanId = (event) => getMetadata(event, MetadataKey.SpanId);
