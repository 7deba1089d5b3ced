/**
 * What the built site ships (vite.config.ts copies models/ and samples/ into it): the bundled models with
 * their robust or standard twin, and the bundled test samples. Paths are relative to the page, so the site
 * deploys under any path.
 */
export interface BundledModel {
  name: string;
  title: string;
  dataset: 'mnist' | 'cifar10';
  /** The same architecture trained the other way (standard <-> adversarially robust), for Compare. */
  twin: string;
}

export const BUNDLED_MODELS: readonly BundledModel[] = [
  { name: 'mnist-cnn', title: 'MNIST CNN (standard)', dataset: 'mnist', twin: 'mnist-cnn-robust' },
  { name: 'mnist-cnn-robust', title: 'MNIST CNN (robust, PGD-trained)', dataset: 'mnist', twin: 'mnist-cnn' },
  { name: 'cifar-cnn', title: 'CIFAR-10 CNN (standard)', dataset: 'cifar10', twin: 'cifar-cnn-robust' },
  { name: 'cifar-cnn-robust', title: 'CIFAR-10 CNN (robust)', dataset: 'cifar10', twin: 'cifar-cnn' },
  {
    name: 'cifar-linear',
    title: 'Airplane vs cat, linear (standard)',
    dataset: 'cifar10',
    twin: 'cifar-linear-robust',
  },
  {
    name: 'cifar-linear-robust',
    title: 'Airplane vs cat, linear (robust)',
    dataset: 'cifar10',
    twin: 'cifar-linear',
  },
];

export function bundledModel(name: string): BundledModel | undefined {
  return BUNDLED_MODELS.find((m) => m.name === name);
}

/** The model.json of a bundled model, relative to the page. */
export function bundledModelPath(name: string): string {
  return `models/${name}/model.json`;
}

export interface SampleSet {
  dataset: 'mnist' | 'cifar10';
  count: number;
  /** gzip files relative to the page: IDX images and labels (MNIST) or one CIFAR-10 binary batch. */
  files: readonly string[];
  height: number;
  width: number;
  channels: 1 | 3;
}

export const SAMPLE_SETS: Readonly<Record<'mnist' | 'cifar10', SampleSet>> = {
  mnist: {
    dataset: 'mnist',
    count: 1000,
    files: [
      'samples/mnist/t10k-images-idx3-ubyte.first1000.gz',
      'samples/mnist/t10k-labels-idx1-ubyte.first1000.gz',
    ],
    height: 28,
    width: 28,
    channels: 1,
  },
  cifar10: {
    dataset: 'cifar10',
    count: 200,
    files: ['samples/cifar10/test_batch.first200.bin.gz'],
    height: 32,
    width: 32,
    channels: 3,
  },
};

/** The sample set whose images a model takes: by its dataset when known, else by its input shape. */
export function sampleSetFor(
  dataset: string | undefined,
  inputShape: readonly [number, number, number],
): SampleSet | undefined {
  if (dataset === 'mnist' || dataset === 'cifar10') return SAMPLE_SETS[dataset];
  return Object.values(SAMPLE_SETS).find(
    (s) => s.height === inputShape[0] && s.width === inputShape[1] && s.channels === inputShape[2],
  );
}
