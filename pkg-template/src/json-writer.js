// JSON values (what json.js copies: plain objects, dense arrays, well-formed
// strings, finite numbers, booleans, null) written as UTF-8 JSON text straight
// into a byte array: byte for byte what `TextEncoder` gives for
// `JSON.stringify` of them (which, unlike this, would call a `toJSON` that
// some code put on `Object.prototype`), without the string in between. A new
// event's save writes its copy into the core's input area this way (see
// fresh-event.js).
//
// Writes go past the end of the array unnoticed (a typed array ignores them):
// each writer answers where its text ends, and the caller checks that it fits.

/** The UTF-8 bytes `JSON.stringify` writes after a backslash for a control character it escapes by letter. */
const ESCAPE_LETTER = new Map([
  [8, 98], // \b
  [9, 116], // \t
  [10, 110], // \n
  [12, 102], // \f
  [13, 114], // \r
]);
const HEX_DIGITS = '0123456789abcdef';
/** 1 for each ASCII character a JSON string holds as it is: not a quote, a backslash or a control character. */
const AS_IS = new Uint8Array(128).map((_, code) => (code >= 0x20 && code !== 34 && code !== 92 ? 1 : 0));

/** Writes `text`, which holds ASCII characters only, from `at`; answers where it ends. */
function writeAscii(text, out, at) {
  for (let i = 0; i < text.length; i++) out[at++] = text.charCodeAt(i);
  return at;
}

/** Writes an ASCII character that JSON escapes (a quote, a backslash, a control character). */
function writeEscape(code, out, at) {
  out[at++] = 92; // \
  if (code === 34 || code === 92) {
    out[at++] = code;
    return at;
  }
  const letter = ESCAPE_LETTER.get(code);
  if (letter !== undefined) {
    out[at++] = letter;
    return at;
  }
  out[at++] = 117; // u
  out[at++] = 48;
  out[at++] = 48;
  out[at++] = HEX_DIGITS.charCodeAt(code >> 4);
  out[at++] = HEX_DIGITS.charCodeAt(code & 15);
  return at;
}

/**
 * Writes `text` (well-formed UTF-16: json.js refuses lone surrogates) as a
 * JSON string from `at`; answers where it ends.
 */
function writeJsonString(text, out, at) {
  out[at++] = 34; // "
  const length = text.length;
  for (let i = 0; i < length; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      if (AS_IS[code] === 1) out[at++] = code;
      else at = writeEscape(code, out, at);
    } else if (code < 0x800) {
      out[at++] = 0xc0 | (code >> 6);
      out[at++] = 0x80 | (code & 0x3f);
    } else if (code >= 0xd800 && code < 0xdc00) {
      // A high surrogate, and the low one that follows it: one code point of four bytes.
      code = 0x10000 + ((code - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
      out[at++] = 0xf0 | (code >> 18);
      out[at++] = 0x80 | ((code >> 12) & 0x3f);
      out[at++] = 0x80 | ((code >> 6) & 0x3f);
      out[at++] = 0x80 | (code & 0x3f);
    } else {
      out[at++] = 0xe0 | (code >> 12);
      out[at++] = 0x80 | ((code >> 6) & 0x3f);
      out[at++] = 0x80 | (code & 0x3f);
    }
  }
  out[at++] = 34;
  return at;
}

/** Writes the JSON value `value` from `at`; answers where it ends. */
function writeJson(value, out, at) {
  switch (typeof value) {
    case 'string':
      return writeJsonString(value, out, at);
    case 'number':
      // A finite number's JSON is its shortest round-trip decimal, as String gives it.
      return writeAscii(String(value), out, at);
    case 'boolean':
      return writeAscii(value ? 'true' : 'false', out, at);
    default:
      if (value === null) return writeAscii('null', out, at);
      return Array.isArray(value) ? writeArray(value, out, at) : writeObject(value, out, at);
  }
}

function writeArray(array, out, at) {
  out[at++] = 91; // [
  for (let index = 0; index < array.length; index++) {
    if (index > 0) out[at++] = 44; // ,
    at = writeJson(array[index], out, at);
  }
  out[at++] = 93; // ]
  return at;
}

function writeObject(object, out, at) {
  out[at++] = 123; // {
  at = writeMembers(object, out, at, true);
  out[at++] = 125; // }
  return at;
}

/**
 * Writes the JSON of `{ [key]: value, ...object }` (`key` not one of the
 * object's own keys) from `at`; answers where it ends.
 */
export function writeObjectLedBy(key, value, object, out, at) {
  out[at++] = 123; // {
  at = writeJsonString(key, out, at);
  out[at++] = 58; // :
  at = writeJson(value, out, at);
  at = writeMembers(object, out, at, false);
  out[at++] = 125; // }
  return at;
}

/**
 * Writes the object's members (own enumerable keys, in `JSON.stringify`'s
 * order) as `"key":value`, separated by commas, with a comma before the first
 * too unless `first`; answers where they end.
 */
function writeMembers(object, out, at, first) {
  // for-in allocates no array of keys; the own ones are those JSON.stringify writes, in the same order.
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue;
    if (!first) out[at++] = 44; // ,
    first = false;
    at = writeJsonString(key, out, at);
    out[at++] = 58; // :
    at = writeJson(object[key], out, at);
  }
  return at;
}
