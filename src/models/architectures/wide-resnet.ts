import * as tfl from '@tensorflow/tfjs-layers';
import { invalidArgument } from '../../errors.js';
import { OptionReader, SeededInitializers, type ArchitectureOptions } from './options.js';
import { conv, preActBlock, preActHead } from './preact-block.js';

/**
 * WideResNet WRN-depth-k (Zagoruyko & Komodakis 2016, "Wide Residual Networks",
 * github.com/szagoruyko/wide-residual-networks): conv3x3-16, three groups of n = (depth - 4) / 6
 * pre-activation blocks with 16k, 32k, 64k channels (strides 1, 2, 2), BN-ReLU, global average pooling,
 * dense logits. Convolutions have no bias.
 *
 * Options: `depth` (6n + 4, default 28), `widenFactor` (k, default 10: WRN-28-10, 36.5M parameters, the
 * standard robust CIFAR-10 model of Madry et al. / TRADES), `dropout` (rate between the two convolutions
 * of a block, default 0; training seeds its masks per step).
 */
export function buildWideResnet(opts: ArchitectureOptions): tfl.LayersModel {
  const o = new OptionReader('wide-resnet', opts, ['depth', 'widenFactor', 'dropout']);
  const depth = o.integer('depth', 28, 10);
  const widenFactor = o.integer('widenFactor', 10, 1);
  const dropout = o.rate('dropout', 0);
  if ((depth - 4) % 6 !== 0) {
    throw invalidArgument(`wide-resnet: depth must be 6n + 4 (10, 16, 22, 28, 34, ...), got ${depth}.`);
  }
  const blocksPerGroup = (depth - 4) / 6;
  const init = new SeededInitializers(o.seed);
  const input = tfl.input({ shape: o.inputShape, name: 'input' });
  let x = conv(input, 16, 3, 1, 'conv1', init);
  let inPlanes = 16;
  const groups: [number, number][] = [
    [16 * widenFactor, 1],
    [32 * widenFactor, 2],
    [64 * widenFactor, 2],
  ];
  groups.forEach(([planes, stride], g) => {
    for (let b = 0; b < blocksPerGroup; b++) {
      x = preActBlock(x, inPlanes, planes, b === 0 ? stride : 1, `group${g + 1}_block${b + 1}`, init, dropout);
      inPlanes = planes;
    }
  });
  return tfl.model({
    inputs: input,
    outputs: preActHead(x, o.numClasses, init),
    name: `wide_resnet_${depth}_${widenFactor}`,
  });
}
