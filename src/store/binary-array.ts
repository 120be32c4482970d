// One-dimensional PostgreSQL arrays in the binary wire format (what `array_recv` reads), for the
// ledger's batched statements on PostgreSQL. `pg` sends a Buffer parameter as a binary value, and the
// server then copies each element instead of parsing it from text: for a batch of 1,000 transfers and
// its accounts (about 20 arrays, 25,000 elements) text parsing (`array_in`) cost several milliseconds
// per statement, about as much as the batch's insert itself (docs/performance.md).
//
// The layout: ndim (int32, 1, or 0 for an empty array), a has-nulls flag (int32), the element type's
// OID (int32), then for the one dimension its length and lower bound (int32 each, the bound 1), then
// each element as its length (int32, -1 for NULL) followed by its bytes, all big-endian.
//
// PGlite takes parameters as text only: callers ask the client (`SqlClient.binaryArrays`) and fall back
// to the text literals of array-literal.ts.

const OID = { int2: 21, int4: 23, int8: 20, text: 25, uuid: 2950 } as const;

const HEADER_BYTES = 20;

function header(buffer: Buffer, count: number, hasNulls: boolean, oid: number): number {
  if (count === 0) {
    buffer.writeInt32BE(0, 0);
    buffer.writeInt32BE(0, 4);
    buffer.writeInt32BE(oid, 8);
    return 12;
  }
  buffer.writeInt32BE(1, 0);
  buffer.writeInt32BE(hasNulls ? 1 : 0, 4);
  buffer.writeInt32BE(oid, 8);
  buffer.writeInt32BE(count, 12);
  buffer.writeInt32BE(1, 16);
  return HEADER_BYTES;
}

/** The value of each hexadecimal digit's character code, -1 for anything else. */
const HEX = new Int8Array(128).fill(-1);
for (let digit = 0; digit < 10; digit += 1) HEX[48 + digit] = digit;
for (let letter = 0; letter < 6; letter += 1) {
  HEX[65 + letter] = 10 + letter;
  HEX[97 + letter] = 10 + letter;
}
/** Where the 32 hexadecimal digits of a canonical UUID (8-4-4-4-12) are. */
const UUID_DIGITS = Array.from({ length: 36 }, (_, index) => index).filter((index) => ![8, 13, 18, 23].includes(index));

function hexAt(text: string, index: number): number {
  const code = text.charCodeAt(index);
  const value = code < 128 ? HEX[code]! : -1;
  if (value < 0) throw new TypeError(`Not a UUID: ${JSON.stringify(text)}.`);
  return value;
}

/** uuid[]: canonical UUIDs (36 characters with hyphens, either case); null is NULL. */
export function uuidArray(values: ReadonlyArray<string | null>): Buffer {
  let nulls = 0;
  for (const value of values) if (value === null) nulls += 1;
  const buffer = Buffer.allocUnsafe(HEADER_BYTES + values.length * 4 + (values.length - nulls) * 16);
  let at = header(buffer, values.length, nulls > 0, OID.uuid);
  for (const value of values) {
    if (value === null) {
      buffer.writeInt32BE(-1, at);
      at += 4;
      continue;
    }
    if (value.length !== 36 || value[8] !== '-' || value[13] !== '-' || value[18] !== '-' || value[23] !== '-') {
      throw new TypeError(`Not a UUID: ${JSON.stringify(value)}.`);
    }
    buffer.writeInt32BE(16, at);
    at += 4;
    for (let digit = 0; digit < 32; digit += 2) {
      buffer[at] = (hexAt(value, UUID_DIGITS[digit]!) << 4) | hexAt(value, UUID_DIGITS[digit + 1]!);
      at += 1;
    }
  }
  return buffer.subarray(0, at);
}

function fixedWidthArray<T>(
  values: ReadonlyArray<T | null>,
  oid: number,
  width: number,
  write: (buffer: Buffer, value: T, at: number) => void,
): Buffer {
  let nulls = 0;
  for (const value of values) if (value === null) nulls += 1;
  const buffer = Buffer.allocUnsafe(HEADER_BYTES + values.length * 4 + (values.length - nulls) * width);
  let at = header(buffer, values.length, nulls > 0, oid);
  for (const value of values) {
    if (value === null) {
      buffer.writeInt32BE(-1, at);
      at += 4;
      continue;
    }
    buffer.writeInt32BE(width, at);
    write(buffer, value, at + 4);
    at += 4 + width;
  }
  return buffer.subarray(0, at);
}

/** int8[]: bigints (or safe integers); null is NULL. A value out of int8's range throws a RangeError. */
export function int8Array(values: ReadonlyArray<bigint | number | null>): Buffer {
  return fixedWidthArray(values, OID.int8, 8, (buffer, value, at) => {
    buffer.writeBigInt64BE(typeof value === 'bigint' ? value : BigInt(value), at);
  });
}

/** int4[]: integers; null is NULL. A value out of int4's range throws a RangeError. */
export function int4Array(values: ReadonlyArray<number | null>): Buffer {
  return fixedWidthArray(values, OID.int4, 4, (buffer, value, at) => {
    buffer.writeInt32BE(value, at);
  });
}

/** int2[]: integers; null is NULL. A value out of int2's range throws a RangeError. */
export function int2Array(values: ReadonlyArray<number | null>): Buffer {
  return fixedWidthArray(values, OID.int2, 2, (buffer, value, at) => {
    buffer.writeInt16BE(value, at);
  });
}

/** text[]: any strings (UTF-8 on the wire; the server refuses NUL, as it does in text form); null is NULL. */
export function textArray(values: ReadonlyArray<string | null>): Buffer {
  let bytes = 0;
  let nulls = 0;
  for (const value of values) {
    if (value === null) nulls += 1;
    else bytes += Buffer.byteLength(value);
  }
  const buffer = Buffer.allocUnsafe(HEADER_BYTES + values.length * 4 + bytes);
  let at = header(buffer, values.length, nulls > 0, OID.text);
  for (const value of values) {
    if (value === null) {
      buffer.writeInt32BE(-1, at);
      at += 4;
      continue;
    }
    const written = buffer.write(value, at + 4);
    buffer.writeInt32BE(written, at);
    at += 4 + written;
  }
  return buffer.subarray(0, at);
}
