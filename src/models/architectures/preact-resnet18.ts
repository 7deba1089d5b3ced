import * as tfl from '@tensorflow/tfjs-layers';
import { OptionReader, SeededInitializers, type ArchitectureOptions } from './options.js';
import { conv, preActBlock, preActHead } from './preact-block.js';

/**
 * PreAct ResNet-18 (He et al. 2016, "Identity Mappings in Deep Residual Networks") as used for CIFAR-10 by
 * Wong et al. 2020 ("Fast is better than free", locuslab/fast_adversarial) and shared/bench/torch_baseline.py:
 * conv3x3-64, four stages of two pre-activation blocks (64, 128, 256, 512 channels; strides 1, 2, 2, 2),
 * BN-ReLU, average pooling, dense logits. Convolutions have no bias. The reference's avg_pool2d(4) is global
 * average pooling here (identical for 32x32 inputs, and it also accepts other sizes).
 */
export function buildPreactResnet18(opts: ArchitectureOptions): tfl.LayersModel {
  const o = new OptionReader('preact-resnet18', opts, []);
  const init = new SeededInitializers(o.seed);
  const input = tfl.input({ shape: o.inputShape, name: 'input' });
  let x = conv(input, 64, 3, 1, 'conv1', init);
  let inPlanes = 64;
  const stages: [number, number][] = [
    [64, 1],
    [128, 2],
    [256, 2],
    [512, 2],
  ];
  stages.forEach(([planes, stride], s) => {
    for (let b = 0; b < 2; b++) {
      x = preActBlock(x, inPlanes, planes, b === 0 ? stride : 1, `layer${s + 1}_block${b + 1}`, init);
      inPlanes = planes;
    }
  });
  return tfl.model({ inputs: input, outputs: preActHead(x, o.numClasses, init), name: 'preact_resnet18' });
}
