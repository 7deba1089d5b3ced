import type { Norm } from '../../attacks/types.js';
import {
  threatModel,
  type ClassAccuracy,
  type EpsResult,
  type EvaluationReport,
  type SanityFlag,
} from '../../evaluate/report-types.js';
import type { PixelImage } from '../pixel-image.js';
import type { ReportGalleryItem } from './report-gallery-html.js';

/** Tests only: a plausible evaluation report with made-up numbers, for any norm and list of budgets. */
export function sampleReport({
  norm = 'linf',
  eps = [0.1, 0.2, 0.3],
  classes = 10,
  flags = [],
  classNames,
}: {
  norm?: Norm;
  eps?: number[];
  classes?: number;
  flags?: SanityFlag[];
  classNames?: string[];
} = {}): EvaluationReport {
  const attacks = ['apgd-ce', 'apgd-t', 'fab-t', 'square'];
  const clean = 0.9875;
  const robust = eps.map((e, k): EpsResult => {
    const worst = Math.max(0, clean - 0.2 * (k + 1) - e / 10);
    const after = attacks.map((_, a) => worst + (0.03 * (attacks.length - 1 - a)) / (a + 1));
    return {
      eps: e,
      autoattack_acc: worst,
      by_attack: attacks.map((name, a) => ({
        name,
        accuracy_after: after[a],
        newly_broken: Math.round(((a === 0 ? clean : after[a - 1]) - after[a]) * 1000),
        attacked: Math.round((a === 0 ? clean : after[a - 1]) * 1000),
        gradients_per_point: name === 'square' ? 0 : 1000 * (a + 1),
        queries_per_point: name === 'square' ? 5000 : 1000 * (a + 1) + 100,
        seconds: 12.5 * (a + 1),
      })),
      per_class: Array.from({ length: classes }, (_, c): ClassAccuracy => ({
        class: c,
        n: 100,
        clean_acc: 0.95 + (c % 5) / 100,
        robust_acc: Math.max(0, worst - (c % 3) / 20),
      })),
    };
  });
  return {
    format: 'advkit-evaluation/1',
    advkit: { version: '0.1.0', tfjs: '4.22.0', backend: 'wasm' },
    model: {
      name: 'mnist-cnn-robust',
      path: 'models/mnist-cnn-robust',
      sha256: 'a'.repeat(64),
      architecture: 'cnn',
    },
    dataset: { name: 'mnist', split: 'test', n: 1000, sha256: 'b'.repeat(64) },
    threat_model: threatModel(norm),
    norm,
    eps,
    suite: {
      name: 'standard',
      attacks: attacks.map((name) => ({ name, attack: name, params: { restarts: 1, steps: 100 }, eot: 1 })),
    },
    seed: 7,
    clean_acc: clean,
    robust,
    class_names: classNames ?? Array.from({ length: classes }, (_, c) => String(c)),
    sanity_checked: true,
    flags,
    command: `advkit evaluate --model models/mnist-cnn-robust --data mnist --norm ${norm} --eps ${eps.join(',')}`,
    started: '2025-01-02T03:04:05.000Z',
    seconds: 754.2,
  };
}

const digit = (value: number): PixelImage => {
  const data = new Uint8Array(28 * 28);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + value) % 256;
  return { data, height: 28, width: 28, channels: 1 };
};

/** Tests only: gallery items for the sample report, one broken and one robust point per budget. */
export function sampleGallery(report: EvaluationReport): ReportGalleryItem[] {
  return report.eps.flatMap((eps, k) => [
    {
      index: 10 + k,
      eps,
      attack: 'apgd-t',
      label: 7,
      cleanPrediction: 7,
      adversarialPrediction: 3,
      original: digit(0),
      adversarial: digit(40),
      perturbation: digit(128),
    },
    {
      index: 20 + k,
      eps,
      attack: null,
      label: 1,
      cleanPrediction: 1,
      adversarialPrediction: 1,
      original: digit(5),
      adversarial: digit(6),
      perturbation: digit(128),
    },
  ]);
}
