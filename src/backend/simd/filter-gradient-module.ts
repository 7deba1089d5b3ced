import { encodeModule, F32, FunctionBody, I32, V128, type MemoryImport } from './wasm-encoder.js';

/**
 * The filter gradient of conv2d as a wasm SIMD kernel generated for one layer shape.
 *
 * dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*sh + kh*dh - top, ow*sw + kw*dw - left, ci] * dy[n,oh,ow,co]
 * is, for each filter tap (kh, kw), a matrix product x_tap^T [Cin, P] x dy [P, Cout] over the P = N*OH*OW output
 * pixels: a huge reduction into a small output. The caller cuts the reduction into tasks (one filter tap over a
 * band of output rows of one image, clipped to the pixels whose input lies inside the image, so no padding is
 * ever read or copied; see filter-gradient-plan.ts). A task walks its pixels once per register tile of
 * R input channels x 4G output channels: per pixel it loads G vectors of dy, broadcasts R values of x
 * (load32_splat) and does R*G f32x4 multiply-adds into accumulators that stay in registers; the tile is added
 * to dW once at the end of the task. This is the shape of XNNPACK's wasm SIMD "loadsplat" GEMM micro-kernels,
 * with the pixel walk made two-dimensional so that taps need no im2col.
 *
 * The shape's constants (channel counts, strides, row pitches) are baked into the code, most of them as the
 * constant offsets of loads and stores, and channel counts that are not multiples of the tile get their own tail
 * tiles (fewer input channels; one vector; scalar f32 columns).
 *
 * Why bytes emitted from TypeScript (wasm-encoder.ts) rather than AssemblyScript compiled at build time: the
 * per-shape specialisation above comes for free; there is no generated binary to build before the tests (which
 * run from src/) or to locate from both src/ and dist/; and nothing is needed beyond the JavaScript engine. The
 * kernel is small enough that its generator reads as the loop nest it emits.
 */

export interface FilterGradientShape {
  inWidth: number;
  inChannels: number;
  outWidth: number;
  outChannels: number;
  strideHeight: number;
  strideWidth: number;
}

/** Register tile: `inChannels` input channels x `outVectors` f32x4 vectors of output channels. */
export interface RegisterTile {
  inChannels: number;
  outVectors: number;
}

/**
 * 4 input channels x 8 output channels: 8 accumulators, 2 dy vectors and a broadcast fit x64's 16 vector
 * registers (V8 keeps one as scratch) with room to spare; measured against 6x8, 3x12 and 2x16 on CIFAR layers.
 */
export const DEFAULT_TILE: RegisterTile = { inChannels: 4, outVectors: 2 };

/** Bytes per task-table entry: x offset, dy offset, dW offset (bytes), rows, columns (int32 each). */
export const TASK_BYTES = 20;

type Columns = { kind: 'vector'; count: number } | { kind: 'scalar'; count: number };

/**
 * Encode the kernel module. It exports `run(begin, end, table, xBase, dyBase, dwBase)`: for tasks
 * [begin, end) of the table at byte address `table`, add each task's contribution to dW at `dwBase` (which the
 * caller zeroed), reading x and dy at `xBase` and `dyBase` (all byte addresses in the imported memory).
 */
export function encodeFilterGradientModule(
  shape: FilterGradientShape,
  memory: MemoryImport,
  tile: RegisterTile = DEFAULT_TILE,
): Uint8Array<ArrayBuffer> {
  const task = taskFunction(shape, tile);
  const run = runFunction();
  return encodeModule(memory, [{ body: task }, { exportName: 'run', body: run }]);
}

/** run(begin, end, table, xBase, dyBase, dwBase): calls task (function 0) for each table entry. */
function runFunction(): FunctionBody {
  const f = new FunctionBody([I32, I32, I32, I32, I32, I32]);
  const [begin, end, table, xBase, dyBase, dwBase] = [0, 1, 2, 3, 4, 5];
  const entry = f.local(I32);
  const left = f.local(I32);
  f.get(end).get(begin).i32Sub().set(left);
  f.get(begin).i32Const(TASK_BYTES).i32Mul().get(table).i32Add().set(entry);
  f.get(left).ifNonZero(() =>
    f.loop(() => {
      f.get(xBase).get(entry).i32Load(0).i32Add();
      f.get(dyBase).get(entry).i32Load(4).i32Add();
      f.get(dwBase).get(entry).i32Load(8).i32Add();
      f.get(entry).i32Load(12);
      f.get(entry).i32Load(16);
      f.call(0);
      f.addTo(entry, TASK_BYTES);
      f.addTo(left, -1).get(left).continueIf();
    }),
  );
  return f;
}

/** task(x, dy, dw, rows, cols): one filter tap over a rectangle of output pixels, all channel tiles. */
function taskFunction(shape: FilterGradientShape, tile: RegisterTile): FunctionBody {
  const { inChannels: cin, outChannels: cout } = shape;
  const f = new FunctionBody([I32, I32, I32, I32, I32]);
  const p = { x: 0, dy: 1, dw: 2, rows: 3, cols: 4 };
  const dyCol = f.local(I32);
  const dwCol = f.local(I32);
  const xChannel = f.local(I32);
  const dwTile = f.local(I32);
  const columnCounter = f.local(I32);
  const channelCounter = f.local(I32);
  f.get(p.dy).set(dyCol);
  f.get(p.dw).set(dwCol);

  const fullBlocks = Math.floor(cout / (4 * tile.outVectors));
  const rest = cout - fullBlocks * 4 * tile.outVectors;
  const columnBlocks: { columns: Columns; repeat: number }[] = [];
  if (fullBlocks > 0)
    columnBlocks.push({ columns: { kind: 'vector', count: tile.outVectors }, repeat: fullBlocks });
  if (rest >= 4) columnBlocks.push({ columns: { kind: 'vector', count: rest >> 2 }, repeat: 1 });
  if (rest % 4 > 0) columnBlocks.push({ columns: { kind: 'scalar', count: rest % 4 }, repeat: 1 });

  const fullChannelBlocks = Math.floor(cin / tile.inChannels);
  const restChannels = cin - fullChannelBlocks * tile.inChannels;
  const tiles = (columns: Columns): void => {
    f.get(p.x).set(xChannel);
    f.get(dwCol).set(dwTile);
    const channelBlock = (channels: number): void => {
      emitTile(f, shape, channels, columns, {
        x: xChannel,
        dy: dyCol,
        dw: dwTile,
        rows: p.rows,
        cols: p.cols,
      });
      f.addTo(xChannel, 4 * channels);
      f.addTo(dwTile, 4 * channels * cout);
    };
    repeat(f, channelCounter, fullChannelBlocks, () => channelBlock(tile.inChannels));
    if (restChannels > 0) channelBlock(restChannels);
  };
  for (const { columns, repeat: times } of columnBlocks) {
    const width = columns.kind === 'vector' ? 4 * columns.count : columns.count;
    repeat(f, columnCounter, times, () => {
      tiles(columns);
      f.addTo(dyCol, 4 * width);
      f.addTo(dwCol, 4 * width);
    });
  }
  return f;
}

/** `body` `times` times (straight-line for one, a counted loop otherwise). */
function repeat(f: FunctionBody, counter: number, times: number, body: () => void): void {
  if (times <= 0) return;
  if (times === 1) {
    body();
    return;
  }
  f.i32Const(times).set(counter);
  f.loop(() => {
    body();
    f.addTo(counter, -1).get(counter).continueIf();
  });
}

interface TileLocals {
  x: number;
  dy: number;
  dw: number;
  rows: number;
  cols: number;
}

/** One register tile (`channels` input channels x `columns`) over the task's pixel rectangle, then into dW. */
function emitTile(
  f: FunctionBody,
  shape: FilterGradientShape,
  channels: number,
  columns: Columns,
  at: TileLocals,
): void {
  const vector = columns.kind === 'vector';
  const type = vector ? V128 : F32;
  const colBytes = vector ? 16 : 4;
  const acc = Array.from({ length: channels * columns.count }, () => f.local(type));
  const dyValues = Array.from({ length: columns.count }, () => f.local(type));
  const xValue = f.local(type);
  const xRow = f.local(I32);
  const dyRow = f.local(I32);
  const xp = f.local(I32);
  const dp = f.local(I32);
  const r = f.local(I32);
  const c = f.local(I32);
  const xPixel = 4 * shape.strideWidth * shape.inChannels;
  const dyPixel = 4 * shape.outChannels;
  const xRowPitch = 4 * shape.strideHeight * shape.inWidth * shape.inChannels;
  const dyRowPitch = 4 * shape.outWidth * shape.outChannels;
  const zero = (): FunctionBody => (vector ? f.v128Const0() : f.f32Const0());
  const add = (): FunctionBody => (vector ? f.f32x4Add() : f.f32Add());
  const mul = (): FunctionBody => (vector ? f.f32x4Mul() : f.f32Mul());
  const load = (offset: number): FunctionBody => (vector ? f.v128Load(offset) : f.f32Load(offset));

  for (const a of acc) zero().set(a);
  f.get(at.x).set(xRow);
  f.get(at.dy).set(dyRow);
  f.get(at.rows).set(r);
  f.loop(() => {
    f.get(xRow).set(xp);
    f.get(dyRow).set(dp);
    f.get(at.cols).set(c);
    f.loop(() => {
      dyValues.forEach((v, g) => {
        f.get(dp);
        load(g * colBytes);
        f.set(v);
      });
      for (let i = 0; i < channels; i++) {
        f.get(xp);
        if (vector) f.v128Load32Splat(4 * i);
        else f.f32Load(4 * i);
        f.set(xValue);
        dyValues.forEach((v, g) => {
          const a = acc[i * columns.count + g];
          f.get(a).get(xValue).get(v);
          mul();
          add();
          f.set(a);
        });
      }
      f.addTo(xp, xPixel).addTo(dp, dyPixel);
      f.addTo(c, -1).get(c).continueIf();
    });
    f.addTo(xRow, xRowPitch).addTo(dyRow, dyRowPitch);
    f.addTo(r, -1).get(r).continueIf();
  });
  for (let i = 0; i < channels; i++) {
    for (let g = 0; g < columns.count; g++) {
      const offset = 4 * i * shape.outChannels + g * colBytes;
      f.get(at.dw).get(at.dw);
      load(offset);
      f.get(acc[i * columns.count + g]);
      add();
      if (vector) f.v128Store(offset);
      else f.f32Store(offset);
    }
  }
}
