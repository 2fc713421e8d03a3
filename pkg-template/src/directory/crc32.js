// CRC-32 (ISO-HDLC, zlib's): node:zlib's native crc32 where Node.js has it
// (20.15 and later), else a table-driven one that gives the same values.

import * as zlib from 'node:zlib';

let table;

function crc32Table() {
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** The table-driven CRC-32, for Node.js versions without zlib's. */
export function tableCrc32(bytes) {
  const t = table ?? crc32Table();
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * The CRC-32 of `bytes`, as an unsigned 32-bit number.
 * @param {Uint8Array} bytes
 * @returns {number}
 */
export const crc32 = typeof zlib.crc32 === 'function' ? (bytes) => zlib.crc32(bytes) : tableCrc32;
