// Stored records as the core's record checks take them: their bytes one after
// another, and where each one ends, so that a whole read crosses into wasm once.

/**
 * @param {Uint8Array[]} chunks
 * @returns {{ utf8: Uint8Array, ends: Uint32Array }}
 */
export function concatenate(chunks) {
  const utf8 = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.length, 0));
  const ends = new Uint32Array(chunks.length);
  let end = 0;
  chunks.forEach((chunk, i) => {
    utf8.set(chunk, end);
    end += chunk.length;
    ends[i] = end;
  });
  return { utf8, ends };
}
