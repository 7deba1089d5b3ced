type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];

export interface FilterGradientCase {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
  dilation?: number;
}

/**
 * Shapes that reach every part of the generated kernel: full and tail channel tiles (Cin not a multiple of 4,
 * Cout with a 4-wide and a scalar tail), taps clipped by 'same' padding, strides 1 and 2, odd and even kernels,
 * batch 1 and several, bands of one row and of several rows, dilation.
 */
export const filterGradientCases: FilterGradientCase[] = [
  {
    name: 'batch 1, 3x3 same, Cin 5, Cout 7',
    x: [1, 7, 7, 5],
    filter: [3, 3, 5, 7],
    strides: 1,
    pad: 'same',
  },
  { name: 'even 4x4 kernel, stride 2 same', x: [3, 9, 8, 6], filter: [4, 4, 6, 13], strides: 2, pad: 'same' },
  { name: '2x3 kernel, stride 2 valid', x: [2, 11, 9, 3], filter: [2, 3, 3, 9], strides: 2, pad: 'valid' },
  { name: '5x5 same, Cout 16', x: [2, 8, 8, 9], filter: [5, 5, 9, 16], strides: 1, pad: 'same' },
  { name: 'one input channel, Cout 3', x: [2, 10, 10, 1], filter: [3, 3, 1, 3], strides: 1, pad: 'valid' },
  { name: 'pointwise stride 2', x: [2, 9, 9, 6], filter: [1, 1, 6, 10], strides: 2, pad: 'same' },
  {
    name: 'strides [1, 2], explicit padding',
    x: [1, 12, 12, 4],
    filter: [3, 3, 4, 8],
    strides: [1, 2],
    pad: [
      [0, 0],
      [1, 2],
      [0, 3],
      [0, 0],
    ],
  },
  { name: 'dilation 2', x: [2, 10, 10, 5], filter: [3, 3, 5, 6], strides: 1, pad: 'same', dilation: 2 },
  { name: 'many bands, CIFAR-like', x: [2, 16, 16, 12], filter: [3, 3, 12, 20], strides: 1, pad: 'same' },
];
