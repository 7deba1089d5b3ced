/**
 * The playground's shareable state, kept in the page's URL (?model=mnist-cnn&sample=3&attack=fgsm&eps=0.3):
 * a link reproduces a result, and run=1 runs it on load. Pure functions, so the round trip is tested in Node.
 */
export interface PlaygroundState {
  /** A bundled model's name ('mnist-cnn') or the URL of a tfjs model.json. */
  model: string;
  /** For a model given by URL: a labels file (one per line, JSON array or Keras class index). */
  labels?: string;
  /** Index of the bundled test sample. */
  sample: number;
  attack: string;
  /** The budget in input units (0.3, not 76.5/255); absent: the dataset's default. */
  eps?: number;
  /** The attack's `steps` parameter, when it has one. */
  steps?: number;
  norm?: string;
  /** A target class for a targeted attack; absent: untargeted. */
  target?: number;
  /** Explanation method: saliency, smoothgrad, integrated-gradients or gradcam. */
  method: string;
  /** Forces a tfjs backend (webgl, wasm, cpu); absent: the library's browser order. */
  backend?: string;
  /** Also attack the model's robust (or standard) twin, side by side. */
  compare: boolean;
  /** Run the attack as soon as the page has loaded. */
  run: boolean;
}

export const DEFAULT_STATE: Readonly<PlaygroundState> = {
  model: 'mnist-cnn',
  sample: 0,
  attack: 'fgsm',
  method: 'gradcam',
  compare: false,
  run: false,
};

/** What the URL asked for that could not be used, in words for the status line. */
export interface ParsedState {
  state: PlaygroundState;
  ignored: string[];
}

function finiteNumber(text: string): number | undefined {
  if (text.trim() === '') return undefined;
  const fraction = /^\s*([0-9]*\.?[0-9]+)\s*\/\s*([0-9]*\.?[0-9]+)\s*$/.exec(text);
  const n = fraction ? Number(fraction[1]) / Number(fraction[2]) : Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function wholeNumber(text: string, min: number): number | undefined {
  const n = finiteNumber(text);
  return n !== undefined && Number.isSafeInteger(n) && n >= min ? n : undefined;
}

const flag = (text: string): boolean => ['1', 'true', 'yes', 'on'].includes(text.toLowerCase());

/** The state a query string ('?model=...' or 'model=...') asks for; unusable values are named in `ignored`. */
export function parseState(search: string): ParsedState {
  const q = new URLSearchParams(search);
  const state: PlaygroundState = { ...DEFAULT_STATE };
  const ignored: string[] = [];
  const text = (key: string): string | undefined => {
    const v = q.get(key);
    return v === null || v === '' ? undefined : v;
  };
  const numeric = <K extends keyof PlaygroundState>(
    key: K,
    parse: (t: string) => number | undefined,
    what: string,
  ): number | undefined => {
    const raw = text(key);
    if (raw === undefined) return undefined;
    const n = parse(raw);
    if (n === undefined) ignored.push(`${key}=${raw} (expected ${what})`);
    return n;
  };
  state.model = text('model') ?? state.model;
  state.attack = text('attack') ?? state.attack;
  state.method = text('method') ?? state.method;
  const labels = text('labels');
  if (labels !== undefined) state.labels = labels;
  const norm = text('norm');
  if (norm !== undefined) state.norm = norm;
  const backend = text('backend');
  if (backend !== undefined) state.backend = backend;
  state.sample = numeric('sample', (t) => wholeNumber(t, 0), 'an index >= 0') ?? state.sample;
  const eps = numeric(
    'eps',
    (t) => {
      const n = finiteNumber(t);
      return n !== undefined && n >= 0 ? n : undefined;
    },
    'a number >= 0',
  );
  if (eps !== undefined) state.eps = eps;
  const steps = numeric('steps', (t) => wholeNumber(t, 1), 'an integer >= 1');
  if (steps !== undefined) state.steps = steps;
  const target = numeric('target', (t) => wholeNumber(t, 0), 'a class index >= 0');
  if (target !== undefined) state.target = target;
  state.compare = flag(q.get('compare') ?? '');
  state.run = flag(q.get('run') ?? '');
  return { state, ignored };
}

/** The query string for a state ('?model=mnist-cnn&sample=3&...'); defaults and absent fields are left out. */
export function stateToSearch(state: PlaygroundState): string {
  const q = new URLSearchParams();
  q.set('model', state.model);
  if (state.labels !== undefined) q.set('labels', state.labels);
  q.set('sample', String(state.sample));
  q.set('attack', state.attack);
  if (state.norm !== undefined) q.set('norm', state.norm);
  if (state.eps !== undefined) q.set('eps', String(Number(state.eps.toPrecision(6))));
  if (state.steps !== undefined) q.set('steps', String(state.steps));
  if (state.target !== undefined) q.set('target', String(state.target));
  q.set('method', state.method);
  if (state.backend !== undefined) q.set('backend', state.backend);
  if (state.compare) q.set('compare', '1');
  if (state.run) q.set('run', '1');
  return `?${q.toString()}`;
}
