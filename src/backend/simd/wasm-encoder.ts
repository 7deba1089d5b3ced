/**
 * A small WebAssembly binary encoder: just what advkit's generated SIMD kernels need (one imported memory,
 * exported functions, i32/f32/v128 locals, structured loops, loads and stores with constant offsets and the
 * few f32x4 instructions of a multiply-accumulate). Encodings follow the WebAssembly core specification 2.0,
 * section 5 (binary format), and its fixed-width SIMD proposal (opcodes after the 0xfd prefix).
 */

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export type ValueType = typeof I32 | typeof F32 | typeof V128;

const SIMD_PREFIX = 0xfd;
const EMPTY_BLOCK = 0x40;

function unsignedLeb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function signedLeb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...unsignedLeb(bytes.length), ...bytes];
}

function vector(items: number[][]): number[] {
  return [...unsignedLeb(items.length), ...items.flat()];
}

function section(id: number, content: number[]): number[] {
  return [id, ...unsignedLeb(content.length), ...content];
}

/** The body of one function: its extra locals and its instructions, appended by the methods below. */
export class FunctionBody {
  private readonly code: number[] = [];
  private readonly extraLocals: ValueType[] = [];

  constructor(readonly params: readonly ValueType[]) {}

  /** A new local of `type`; returns its index. */
  local(type: ValueType): number {
    this.extraLocals.push(type);
    return this.params.length + this.extraLocals.length - 1;
  }

  get(index: number): this {
    return this.emit(0x20, ...unsignedLeb(index));
  }

  set(index: number): this {
    return this.emit(0x21, ...unsignedLeb(index));
  }

  i32Const(value: number): this {
    return this.emit(0x41, ...signedLeb(value));
  }

  i32Add(): this {
    return this.emit(0x6a);
  }

  i32Sub(): this {
    return this.emit(0x6b);
  }

  i32Mul(): this {
    return this.emit(0x6c);
  }

  /** local[index] += delta */
  addTo(index: number, delta: number): this {
    return this.get(index).i32Const(delta).i32Add().set(index);
  }

  i32Load(offset: number): this {
    return this.emit(0x28, 2, ...unsignedLeb(offset));
  }

  f32Load(offset: number): this {
    return this.emit(0x2a, 2, ...unsignedLeb(offset));
  }

  f32Store(offset: number): this {
    return this.emit(0x38, 2, ...unsignedLeb(offset));
  }

  f32Const0(): this {
    return this.emit(0x43, 0, 0, 0, 0);
  }

  f32Add(): this {
    return this.emit(0x92);
  }

  f32Mul(): this {
    return this.emit(0x94);
  }

  v128Load(offset: number): this {
    return this.simd(0x00, 4, offset);
  }

  v128Load32Splat(offset: number): this {
    return this.simd(0x09, 2, offset);
  }

  v128Store(offset: number): this {
    return this.simd(0x0b, 4, offset);
  }

  v128Const0(): this {
    return this.emit(SIMD_PREFIX, ...unsignedLeb(0x0c), ...new Array<number>(16).fill(0));
  }

  f32x4Add(): this {
    return this.emit(SIMD_PREFIX, ...unsignedLeb(0xe4));
  }

  f32x4Mul(): this {
    return this.emit(SIMD_PREFIX, ...unsignedLeb(0xe6));
  }

  /** A loop whose body is `body`; `continueIf` inside it (depth 0) jumps back to the start. */
  loop(body: () => void): this {
    this.emit(0x03, EMPTY_BLOCK);
    body();
    return this.emit(0x0b);
  }

  /** `if (top of stack != 0) { body }` */
  ifNonZero(body: () => void): this {
    this.emit(0x04, EMPTY_BLOCK);
    body();
    return this.emit(0x0b);
  }

  /** Branch to the innermost enclosing loop's start when the i32 on the stack is not zero. */
  continueIf(): this {
    return this.emit(0x0d, 0);
  }

  call(functionIndex: number): this {
    return this.emit(0x10, ...unsignedLeb(functionIndex));
  }

  encode(): number[] {
    const groups: number[][] = [];
    for (const type of this.extraLocals) {
      const last = groups[groups.length - 1];
      if (last !== undefined && last[1] === type) last[0]++;
      else groups.push([1, type]);
    }
    const body = [
      ...vector(groups.map(([count, type]) => [...unsignedLeb(count), type])),
      ...this.code,
      0x0b,
    ];
    return [...unsignedLeb(body.length), ...body];
  }

  private simd(opcode: number, alignLog2: number, offset: number): this {
    return this.emit(SIMD_PREFIX, ...unsignedLeb(opcode), alignLog2, ...unsignedLeb(offset));
  }

  private emit(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }
}

export interface FunctionDef {
  /** Exported under this name; undefined for an internal function. */
  exportName?: string;
  body: FunctionBody;
}

export interface MemoryImport {
  /** A shared memory (threads) must declare a maximum; `maxPages` is that bound. */
  shared: boolean;
  maxPages: number;
}

/** A module importing `env.memory` and defining `functions` (no results; indices in array order). */
export function encodeModule(memory: MemoryImport, functions: FunctionDef[]): Uint8Array<ArrayBuffer> {
  const types = functions.map((f) => [0x60, ...vector(f.body.params.map((t) => [t])), 0]);
  const limits = memory.shared ? [0x03, 1, ...unsignedLeb(memory.maxPages)] : [0x00, 1];
  const imports = vector([[...name('env'), ...name('memory'), 0x02, ...limits]]);
  const exports = functions.flatMap((f, i) =>
    f.exportName === undefined ? [] : [[...name(f.exportName), 0x00, ...unsignedLeb(i)]],
  );
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector(types)),
    ...section(2, imports),
    ...section(3, vector(functions.map((_, i) => unsignedLeb(i)))),
    ...section(7, vector(exports)),
    ...section(10, vector(functions.map((f) => f.body.encode()))),
  ];
  return Uint8Array.from(bytes);
}
