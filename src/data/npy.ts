/**
 * NumPy's .npy format, version 1.0 (numpy.lib.format; https://numpy.org/doc/stable/reference/generated/
 * numpy.lib.format.html), for float32 arrays in C order: the magic '\x93NUMPY', the version bytes 1 0, the
 * header's length as a little-endian uint16, the header (a Python dict literal, padded with spaces and ended by
 * a newline so that the data starts at a multiple of 64 bytes), then the values as little-endian float32.
 * `numpy.load('maps.npy')` reads what `encodeNpy` writes. Browser-safe: bytes in, bytes out.
 */
import { AdvkitError, invalidArgument } from '../errors.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const PREAMBLE = MAGIC.length + 2 + 2; // magic, version, header length
const ALIGN = 64;

/** The header dict: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" (a 1-D shape is "(5,)"). */
function headerText(shape: readonly number[]): string {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${dims}, }`;
  const padded = Math.ceil((PREAMBLE + dict.length + 1) / ALIGN) * ALIGN;
  return dict.padEnd(padded - PREAMBLE - 1, ' ') + '\n';
}

/** A float32 array of `shape` (C order) as the bytes of an .npy file. */
export function encodeNpy(values: ArrayLike<number>, shape: readonly number[]): Uint8Array {
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw invalidArgument(`encodeNpy: shape must be whole numbers >= 0, got [${shape.join(', ')}].`);
  }
  const size = shape.reduce((a, d) => a * d, 1);
  if (values.length !== size) {
    throw invalidArgument(
      `encodeNpy: ${values.length} values do not fill shape [${shape.join(', ')}] (${size} values).`,
    );
  }
  const header = headerText(shape);
  if (header.length > 0xffff) {
    throw invalidArgument(`encodeNpy: a ${shape.length}-dimensional shape is too long for .npy version 1.0.`);
  }
  const bytes = new Uint8Array(PREAMBLE + header.length + 4 * size);
  bytes.set(MAGIC, 0);
  bytes.set([1, 0], MAGIC.length);
  const view = new DataView(bytes.buffer);
  view.setUint16(MAGIC.length + 2, header.length, true);
  for (let i = 0; i < header.length; i++) bytes[PREAMBLE + i] = header.charCodeAt(i);
  const start = PREAMBLE + header.length;
  for (let i = 0; i < size; i++) view.setFloat32(start + 4 * i, values[i], true);
  return bytes;
}

function corrupt(name: string, message: string): AdvkitError {
  return new AdvkitError('CORRUPT_DATA', `${name}: ${message}`, { file: name });
}

/**
 * The shape and values of an .npy file that `encodeNpy` could have written (version 1.0, '<f4', C order);
 * anything else is refused with what was found. `name` names the file in messages.
 */
export function decodeNpy(bytes: Uint8Array, name = 'npy'): { shape: number[]; values: Float32Array } {
  if (bytes.length < PREAMBLE || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw corrupt(name, 'is not a NumPy .npy file (no \\x93NUMPY magic).');
  }
  if (bytes[6] !== 1 || bytes[7] !== 0) {
    throw corrupt(name, `is .npy version ${bytes[6]}.${bytes[7]}; only version 1.0 is read.`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint16(8, true);
  if (bytes.length < PREAMBLE + length) throw corrupt(name, 'is truncated inside its header.');
  const header = String.fromCharCode(...bytes.subarray(PREAMBLE, PREAMBLE + length));
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const dims = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr !== '<f4' || fortran !== 'False' || dims === undefined) {
    throw corrupt(
      name,
      `holds ${descr ?? '?'} data (fortran_order ${fortran ?? '?'}); expected '<f4' in C order.`,
    );
  }
  const shape = dims
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '')
    .map(Number);
  const size = shape.reduce((a, d) => a * d, 1);
  const start = PREAMBLE + length;
  if (bytes.length !== start + 4 * size) {
    throw corrupt(
      name,
      `has ${bytes.length - start} data bytes; shape (${shape.join(', ')}) needs ${4 * size}.`,
    );
  }
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = view.getFloat32(start + 4 * i, true);
  return { shape, values };
}
