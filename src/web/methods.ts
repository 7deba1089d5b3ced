/**
 * The explanation methods the playground offers, by the names its URL and #method use, and the library's
 * registry name of each (the CLI's: Integrated Gradients is 'ig' there).
 */
export const PLAYGROUND_METHODS: readonly { value: string; title: string; method: string }[] = [
  { value: 'saliency', title: 'Saliency (gradient)', method: 'saliency' },
  { value: 'smoothgrad', title: 'SmoothGrad', method: 'smoothgrad' },
  { value: 'integrated-gradients', title: 'Integrated Gradients', method: 'ig' },
  { value: 'gradcam', title: 'Grad-CAM', method: 'gradcam' },
];

/** The registry name for a playground method name; unknown names pass through for the library to refuse. */
export function methodName(value: string): string {
  return PLAYGROUND_METHODS.find((m) => m.value === value)?.method ?? value;
}

/** The attacks the playground offers, in its menu's order (all are in the library's registry). */
export const PLAYGROUND_ATTACKS: readonly string[] = ['fgsm', 'pgd', 'mifgsm', 'cw', 'deepfool', 'square'];

/**
 * Values the playground's forms start from where the library's default is made for evaluations, not for a
 * live page (C&W's 9 x 10,000 Adam steps take minutes in a browser). Shown beside the default in the form.
 */
export const PLAYGROUND_PRESETS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  cw: { binarySearchSteps: 4, steps: 100, stepSize: 0.05 },
  square: { queries: 1000 },
};
