// Errors that must not reach the caller (a listener's, a snapshot after a
// stored command), reported where the platform reports uncaught errors.

/**
 * Reports `error` through `reportError` where the platform has it, else `console.error` with `context`.
 * @param {string} context
 * @param {unknown} error
 */
export function reportError(context, error) {
  if (typeof globalThis.reportError === 'function') globalThis.reportError(error);
  else console.error(context, error);
}
