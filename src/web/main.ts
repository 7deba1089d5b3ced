/**
 * The playground page: controls generated from the library's schemas, the state in the URL, and every
 * computation sent to the worker (worker.ts). Contracts with the browser tests: the element ids of
 * web/index.html, the URL parameters of url-state.ts, and document.body.dataset.state ('loading', 'ready',
 * 'running', 'done', 'cancelled', 'error').
 */
import { ATTACKS } from '../attacks/registry.js';
import { DEFAULT_EPS, parseNumberText } from '../tasks/budgets.js';
import { BUNDLED_MODELS, bundledModel, bundledModelPath, sampleSetFor, type SampleSet } from './catalog.js';
import { DrawPad } from './draw-pad.js';
import { formFields, paramsFromForm, type FormField } from './form-fields.js';
import { PLAYGROUND_ATTACKS, PLAYGROUND_METHODS, PLAYGROUND_PRESETS } from './methods.js';
import { clearCanvas, drawPixels, imageToPixels, topList } from './picture.js';
import type {
  AttackOutcome,
  ExplainOutcome,
  FromWorker,
  InputImage,
  ModelInfo,
  ModelRef,
  ToWorker,
} from './protocol.js';
import { loadSamples, sampleAt, type DecodedSamples } from './samples.js';
import {
  attackSummary,
  attackTitle,
  budgetText,
  durationText,
  explainSummary,
  short,
} from './status-text.js';
import { parseState, stateToSearch, type PlaygroundState } from './url-state.js';

type PageState = 'loading' | 'ready' | 'running' | 'done' | 'cancelled' | 'error';

function byId<T extends HTMLElement>(id: string, kind: { new (): T }): T {
  const el = document.getElementById(id);
  if (!(el instanceof kind)) throw new Error(`The page has no #${id}.`);
  return el;
}

const ui = {
  model: byId('model', HTMLSelectElement),
  urlFields: byId('url-fields', HTMLFieldSetElement),
  modelUrl: byId('model-url', HTMLInputElement),
  labelsUrl: byId('labels-url', HTMLInputElement),
  loadUrl: byId('load-url', HTMLButtonElement),
  compare: byId('compare', HTMLInputElement),
  sample: byId('sample', HTMLInputElement),
  sampleInfo: byId('sample-info', HTMLElement),
  photo: byId('photo', HTMLInputElement),
  drawArea: byId('draw-area', HTMLElement),
  draw: byId('draw', HTMLCanvasElement),
  clearDrawing: byId('clear-drawing', HTMLButtonElement),
  inputPreview: byId('input-preview', HTMLCanvasElement),
  inputLabel: byId('input-label', HTMLElement),
  attack: byId('attack', HTMLSelectElement),
  attackTitle: byId('attack-title', HTMLElement),
  norm: byId('norm', HTMLSelectElement),
  eps: byId('eps', HTMLInputElement),
  epsSlider: byId('eps-slider', HTMLInputElement),
  epsText: byId('eps-text', HTMLOutputElement),
  target: byId('target', HTMLSelectElement),
  params: byId('params', HTMLElement),
  run: byId('run', HTMLButtonElement),
  cancel: byId('cancel', HTMLButtonElement),
  progress: byId('progress', HTMLProgressElement),
  progressText: byId('progress-text', HTMLElement),
  progressTop: byId('progress-top5', HTMLElement),
  results: byId('results', HTMLElement),
  method: byId('method', HTMLSelectElement),
  explain: byId('explain', HTMLButtonElement),
  heatmapClean: byId('heatmap-clean', HTMLCanvasElement),
  heatmapAdversarial: byId('heatmap-adversarial', HTMLCanvasElement),
  explanations: byId('explanations', HTMLElement),
  status: byId('status', HTMLElement),
  backend: byId('backend', HTMLElement),
  timings: byId('timings', HTMLElement),
  share: byId('share', HTMLAnchorElement),
  patchFile: byId('patch-file', HTMLInputElement),
  patchSize: byId('patch-size', HTMLInputElement),
  patchX: byId('patch-x', HTMLInputElement),
  patchY: byId('patch-y', HTMLInputElement),
  patchRotation: byId('patch-rotation', HTMLInputElement),
  patchShape: byId('patch-shape', HTMLSelectElement),
  applyPatch: byId('apply-patch', HTMLButtonElement),
};

const initial = parseState(location.search);
let state: PlaygroundState = initial.state;
let worker: Worker;
let nextId = 1;
let activeId = 0;
let cancelTimer: ReturnType<typeof setTimeout> | undefined;
let info: ModelInfo | undefined;
let samples: { set: SampleSet; decoded: DecodedSamples } | undefined;
let input: InputImage | undefined;
/** True while the adversarial inputs the worker holds belong to the current model and input. */
let adversarialCurrent = false;
let fields: FormField[] = [];
/** The patch picture the visitor chose, if any. */
let patchPicture: ImageBitmap | undefined;
const pending = new Map<number, (message: FromWorker) => void>();

function setPageState(s: PageState): void {
  document.body.dataset.state = s;
  const busy = s === 'running' || s === 'loading';
  ui.run.disabled = busy;
  ui.applyPatch.disabled = busy;
  ui.explain.disabled = busy;
  ui.cancel.disabled = s !== 'running';
}

function say(text: string): void {
  ui.status.textContent = text;
}

function timing(what: string, seconds: number): void {
  const item = document.createElement('li');
  item.textContent = `${what}: ${durationText(seconds * 1000)}`;
  ui.timings.prepend(item);
  while (ui.timings.children.length > 8) ui.timings.lastElementChild?.remove();
}

function post(message: ToWorker): void {
  worker.postMessage(message);
}

/** Sends a request and resolves with the worker's answer to it (its progress goes to onProgress). */
function request(message: ToWorker & { id: number }): Promise<FromWorker> {
  return new Promise((resolve) => {
    pending.set(message.id, resolve);
    post(message);
  });
}

function absolute(url: string): string {
  return new URL(url, document.baseURI).href;
}

function modelRef(name: string): ModelRef {
  if (bundledModel(name) !== undefined) return { name, url: absolute(bundledModelPath(name)) };
  return {
    name,
    url: absolute(name),
    ...(state.labels !== undefined ? { labels: absolute(state.labels) } : {}),
  };
}

/** The models an attack or explanation runs on: the chosen one, and its twin when comparing. */
function modelsToRun(): ModelRef[] {
  const twin = bundledModel(state.model)?.twin;
  return state.compare && twin !== undefined
    ? [modelRef(state.model), modelRef(twin)]
    : [modelRef(state.model)];
}

function startWorker(): void {
  worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  worker.addEventListener('message', (event: MessageEvent<FromWorker>) => onWorkerMessage(event.data));
  worker.addEventListener('error', (event) => {
    setPageState('error');
    say(`Error: the worker failed (${event.message}).`);
  });
  post({
    type: 'init',
    wasmPath: absolute('wasm/'),
    ...(state.backend !== undefined ? { backend: state.backend } : {}),
  });
}

function onWorkerMessage(message: FromWorker): void {
  if (message.type === 'ready') {
    ui.backend.textContent = message.backend;
    timing(`backend ${message.backend} start`, message.seconds);
    return;
  }
  if (message.type === 'progress') {
    if (message.id !== activeId) return;
    ui.progress.value = message.fraction;
    const parts = [`${message.model}: ${Math.round(message.fraction * 100)}%`];
    if (message.step !== undefined) parts.push(`step ${message.step}`);
    if (message.loss !== undefined) parts.push(`loss ${short(message.loss, 3)}`);
    ui.progressText.textContent = parts.join(', ');
    if (message.top5 !== undefined) ui.progressTop.replaceChildren(topList(message.top5, input?.label));
    return;
  }
  if (message.type === 'error' && message.id === 0) {
    setPageState('error');
    say(`Error: ${message.message}`);
    return;
  }
  const resolve = pending.get(message.id);
  pending.delete(message.id);
  resolve?.(message);
}

/** Shows why a request did not finish; true when it did. */
function finished(answer: FromWorker): boolean {
  if (answer.type === 'cancelled') {
    setPageState('cancelled');
    say('Cancelled.');
    return false;
  }
  if (answer.type === 'error') {
    setPageState('error');
    say(`Error: ${answer.message}`);
    return false;
  }
  return true;
}

function updateUrl(): void {
  history.replaceState(null, '', stateToSearch({ ...state, run: false }));
  ui.share.href = stateToSearch({ ...state, run: true });
}

// ---- the model -------------------------------------------------------------------------------------------

function fillModelSelect(): void {
  for (const m of BUNDLED_MODELS) ui.model.add(new Option(m.title, m.name));
  ui.model.add(new Option('A model by URL…', 'url'));
  if (bundledModel(state.model) !== undefined) ui.model.value = state.model;
  else {
    ui.model.value = 'url';
    ui.modelUrl.value = state.model;
    ui.labelsUrl.value = state.labels ?? '';
  }
  ui.urlFields.hidden = ui.model.value !== 'url';
}

async function loadModel(): Promise<void> {
  setPageState('loading');
  say(`Loading ${state.model}…`);
  const id = nextId++;
  const answer = await request({ type: 'load', id, model: modelRef(state.model) });
  if (answer.type !== 'loaded') {
    finished(answer);
    return;
  }
  info = answer.info;
  adversarialCurrent = false;
  timing(`load ${info.name}`, info.seconds);
  fillTargets();
  const set = sampleSetFor(info.dataset, info.inputShape);
  ui.drawArea.hidden = !(info.inputShape[0] === 28 && info.inputShape[1] === 28 && info.inputShape[2] === 1);
  if (set !== undefined && samples?.set !== set)
    samples = { set, decoded: await loadSamples(set, document.baseURI) };
  if (set === undefined) samples = undefined;
  ui.sample.disabled = samples === undefined;
  say(`${info.name} loaded: ${info.inputShape.join('x')} inputs, ${info.classNames.length} classes.`);
  ui.sample.max = String((samples?.decoded.count ?? 1) - 1);
  setEpsDefault();
  setPatchDefaults();
  if (samples !== undefined) useSample();
  else
    say(
      `${info.name} loaded; give it a photo (no bundled samples fit its ${info.inputShape.join('x')} input).`,
    );
  setPageState('ready');
}

function fillTargets(): void {
  ui.target.replaceChildren(new Option('untargeted', ''));
  info?.classNames.forEach((name, i) => ui.target.add(new Option(`${i}: ${name}`, String(i))));
  ui.target.value = state.target !== undefined ? String(state.target) : '';
}

// ---- the input -------------------------------------------------------------------------------------------

function showInput(next: InputImage, source: string): void {
  input = next;
  adversarialCurrent = false;
  drawPixels(ui.inputPreview, {
    data: next.pixels,
    height: next.height,
    width: next.width,
    channels: next.channels,
  });
  const label = next.label >= 0 ? (info?.classNames[next.label] ?? String(next.label)) : 'unknown';
  ui.inputLabel.textContent = `${source}, label ${label}`;
}

function useSample(): void {
  if (samples === undefined || info === undefined) return;
  const count = samples.decoded.count;
  const index = Math.min(count - 1, Math.max(0, Math.floor(Number(ui.sample.value) || 0)));
  ui.sample.value = String(index);
  state.sample = index;
  const [h, w, c] = info.inputShape;
  const d = samples.decoded;
  if (d.height !== h || d.width !== w || d.channels !== c) {
    say(`The ${samples.set.dataset} samples do not fit ${info.name}'s ${info.inputShape.join('x')} input.`);
    return;
  }
  const { pixels, label } = sampleAt(d, index);
  ui.sampleInfo.textContent = `of ${count} ${samples.set.dataset === 'mnist' ? 'MNIST' : 'CIFAR-10'} test images`;
  showInput({ pixels, height: h, width: w, channels: c === 1 ? 1 : 3, label }, `test sample ${index}`);
}

async function usePhoto(file: File): Promise<void> {
  if (info === undefined) return;
  const [h, w, c] = info.inputShape;
  const bitmap = await createImageBitmap(file);
  // MNIST digits are light on dark; a photo of ink on paper is the other way round.
  const pixels = imageToPixels(bitmap, h, w, c === 1 ? 1 : 3, c === 1);
  bitmap.close();
  showInput({ pixels, height: h, width: w, channels: c === 1 ? 1 : 3, label: -1 }, `photo ${file.name}`);
}

function useDrawing(): void {
  if (info === undefined) return;
  const [h, w] = info.inputShape;
  showInput(
    { pixels: imageToPixels(ui.draw, h, w, 1), height: h, width: w, channels: 1, label: -1 },
    'drawing',
  );
}

// ---- the attack ------------------------------------------------------------------------------------------

function currentAttack(): (typeof ATTACKS)[number] {
  return ATTACKS.find((a) => a.name === ui.attack.value) ?? ATTACKS[0];
}

/** The attack's form, from its schema; `steps` comes from the URL when given. */
function buildAttackForm(): void {
  const attack = currentAttack();
  ui.attackTitle.textContent = attack.title;
  ui.norm.replaceChildren(
    ...attack.norms.filter((n) => n !== 'l1').map((n) => new Option(n === 'linf' ? 'Linf' : 'L2', n)),
  );
  if (state.norm !== undefined && attack.norms.some((n) => n === state.norm)) ui.norm.value = state.norm;
  ui.target.disabled = !attack.targeted;
  fields = formFields(attack.schema);
  ui.params.replaceChildren();
  const presets = PLAYGROUND_PRESETS[attack.name] ?? {};
  for (const f of fields) ui.params.append(fieldControl(f, presets[f.key]));
  const steps = document.getElementById('param-steps');
  if (state.steps !== undefined && steps instanceof HTMLInputElement) steps.value = String(state.steps);
  ui.eps.disabled = false;
  ui.epsSlider.disabled = ui.norm.value !== 'linf';
}

/** One labelled control for a schema field; `preset` is the playground's starting value, when it has one. */
function fieldControl(f: FormField, preset?: number): HTMLElement {
  const row = document.createElement('div');
  row.className = 'field';
  const id = `param-${f.key}`;
  const label = document.createElement('label');
  label.htmlFor = id;
  label.textContent = f.label;
  const help = document.createElement('small');
  help.id = `${id}-help`;
  const start = preset !== undefined ? `; the playground starts at ${preset}` : '';
  help.textContent = f.help + (f.default !== undefined ? ` (default ${String(f.default)}${start})` : '');
  let control: HTMLInputElement | HTMLSelectElement;
  if (f.kind === 'choice') {
    control = document.createElement('select');
    for (const c of f.choices ?? []) control.add(new Option(c, c));
    if (typeof f.default === 'string') control.value = f.default;
  } else if (f.kind === 'boolean') {
    control = document.createElement('input');
    control.type = 'checkbox';
    control.checked = f.default === true;
  } else {
    control = document.createElement('input');
    control.type = 'number';
    control.step = String(f.step ?? 'any');
    if (f.min !== undefined) control.min = String(f.min);
    if (f.max !== undefined) control.max = String(f.max);
    const value = preset ?? f.default;
    if (typeof value === 'number') control.value = String(value);
  }
  control.id = id;
  control.name = f.key;
  control.setAttribute('aria-describedby', help.id);
  if (f.kind === 'boolean') row.append(control, label, help);
  else row.append(label, control, help);
  return row;
}

function formValues(): Record<string, string | boolean> {
  const values: Record<string, string | boolean> = {};
  for (const f of fields) {
    const el = document.getElementById(`param-${f.key}`);
    if (el instanceof HTMLInputElement) values[f.key] = el.type === 'checkbox' ? el.checked : el.value;
    else if (el instanceof HTMLSelectElement) values[f.key] = el.value;
  }
  return values;
}

function epsRange(): number {
  return info === undefined ? 1 : info.bounds[1] - info.bounds[0];
}

/** The dataset's largest standard budget for the norm (MNIST Linf 0.3, CIFAR-10 8/255), unless the URL gave one. */
function setEpsDefault(): void {
  const norm = ui.norm.value === 'l2' ? 'l2' : 'linf';
  if (state.eps === undefined && currentAttack().budget === 'minimal') {
    // A minimal attack looks for the smallest perturbation; a budget would only decide success.
    ui.eps.value = '';
    syncSlider();
    return;
  }
  const dataset = info?.dataset ?? (info?.inputShape[2] === 1 ? 'mnist' : 'cifar10');
  const budgets = DEFAULT_EPS[dataset] ?? DEFAULT_EPS.cifar10;
  const list = budgets[norm].split(',').map(parseNumberText);
  const eps = state.eps ?? list[list.length - 1] * (norm === 'linf' ? epsRange() : 1);
  ui.eps.value = String(Number(eps.toPrecision(6)));
  syncSlider();
}

function syncSlider(): void {
  const eps = Number(ui.eps.value);
  const norm = ui.norm.value;
  ui.epsSlider.value = String(Math.round((eps / epsRange()) * 255));
  ui.epsText.textContent =
    Number.isFinite(eps) && info !== undefined ? budgetText(eps, norm, info.bounds) : '';
}

async function runAttackNow(): Promise<void> {
  if (info === undefined || input === undefined) {
    say('Pick a model and an input first.');
    return;
  }
  const attack = currentAttack();
  const epsText = ui.eps.value.trim();
  const eps = epsText === '' ? 0 : Number(epsText);
  if (!(eps >= 0) || (attack.budget === 'fixed' && !(eps > 0))) {
    say(
      `Error: ${attackTitle(attack.name)} needs a budget eps > 0 (in input units, e.g. 0.3), got '${epsText}'.`,
    );
    setPageState('error');
    return;
  }
  let params: Record<string, unknown>;
  try {
    params = paramsFromForm(attack.schema, formValues());
  } catch (err) {
    say(`Error: ${(err as Error).message}`);
    setPageState('error');
    return;
  }
  state = {
    ...state,
    attack: attack.name,
    norm: ui.norm.value,
    eps: eps > 0 ? eps : undefined,
    steps: typeof params.steps === 'number' ? params.steps : undefined,
    target: ui.target.value === '' ? undefined : Number(ui.target.value),
    compare: ui.compare.checked,
  };
  if (state.norm === 'linf') delete state.norm;
  updateUrl();
  const id = nextId++;
  activeId = id;
  setPageState('running');
  say(
    `Running ${attackTitle(attack.name)} on ${modelsToRun()
      .map((m) => m.name)
      .join(' and ')}…`,
  );
  ui.progress.value = 0;
  ui.progressText.textContent = '';
  ui.progressTop.replaceChildren();
  const answer = await request({
    type: 'attack',
    id,
    models: modelsToRun(),
    input,
    attack: {
      attack: attack.name,
      norm: ui.norm.value,
      ...(eps > 0 ? { eps } : {}),
      params,
      ...(state.target !== undefined ? { target: state.target } : {}),
    },
  });
  clearTimeout(cancelTimer);
  if (!finished(answer) || answer.type !== 'attacked') return;
  ui.progress.value = 1;
  showResults(answer.outcomes);
  adversarialCurrent = true;
  for (const o of answer.outcomes)
    timing(`${attackTitle(attack.name)} on ${o.model} (${o.gradients} gradients)`, o.seconds);
  say(
    answer.outcomes
      .map((o) => attackSummary(summaryOf(o, answer.outcomes.length > 1, attack.name)))
      .join('; '),
  );
  setPageState('done');
}

function className(index: number): string {
  return info?.classNames[index] ?? String(index);
}

function summaryOf(o: AttackOutcome, named: boolean, attack: string): Parameters<typeof attackSummary>[0] {
  return {
    attack,
    norm: ui.norm.value,
    ...(o.eps !== undefined ? { eps: o.eps } : {}),
    clean: className(o.clean.index),
    adversarial: className(o.adversarial.index),
    success: o.success,
    l2: o.l2,
    linf: o.linf,
    ...(named ? { model: o.model } : {}),
    ...(o.clean.index !== o.label && state.target === undefined ? { cleanWrong: true } : {}),
  };
}

function figure(caption: string, fill: (canvas: HTMLCanvasElement) => void, id?: string): HTMLElement {
  const fig = document.createElement('figure');
  const canvas = document.createElement('canvas');
  if (id !== undefined) canvas.id = id;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', caption);
  fill(canvas);
  const cap = document.createElement('figcaption');
  cap.textContent = caption;
  fig.append(canvas, cap);
  return fig;
}

function showResults(outcomes: readonly AttackOutcome[]): void {
  ui.results.replaceChildren(
    ...outcomes.map((o) => {
      const box = document.createElement('section');
      box.className = 'result';
      const title = document.createElement('h3');
      title.textContent = o.model;
      const pictures = document.createElement('div');
      pictures.className = 'pictures';
      pictures.append(
        figure(`original: ${className(o.clean.index)}`, (c) => drawPixels(c, o.cleanImage)),
        figure(`adversarial: ${className(o.adversarial.index)}`, (c) => drawPixels(c, o.adversarialImage)),
        figure('perturbation x10', (c) => drawPixels(c, o.perturbationImage)),
      );
      const bars = document.createElement('div');
      bars.className = 'bars';
      const before = document.createElement('div');
      before.append(heading('Top-5 before'), topList(o.clean.top5, input?.label));
      const after = document.createElement('div');
      after.append(heading('Top-5 after'), topList(o.adversarial.top5, input?.label));
      bars.append(before, after);
      const facts = document.createElement('p');
      facts.textContent =
        `${o.success ? 'Success' : 'Failed'}; L2 ${short(o.l2, 3)}, Linf ${short(o.linf, 3)}` +
        `${o.eps !== undefined ? ` (eps ${budgetText(o.eps, ui.norm.value, info?.bounds ?? [0, 1])})` : ''}; ` +
        `${o.gradients} gradients, ${o.queries} queries, ${durationText(o.seconds * 1000)}.`;
      box.append(title, pictures, bars, facts);
      return box;
    }),
  );
}

function heading(text: string): HTMLElement {
  const h = document.createElement('h4');
  h.textContent = text;
  return h;
}

// ---- a patch --------------------------------------------------------------------------------------------

function wholeValue(el: HTMLInputElement, min: number, max: number, fallback: number): number {
  const n = Math.round(Number(el.value));
  const value = el.value.trim() !== '' && Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
  el.value = String(value);
  return value;
}

/** Starting places for the patch: a third of the image's side, in its middle. */
function setPatchDefaults(): void {
  if (info === undefined) return;
  const [h, w] = info.inputShape;
  const side = Math.max(1, Math.round(Math.min(h, w) / 3));
  ui.patchSize.max = String(Math.min(h, w));
  ui.patchSize.value = String(side);
  ui.patchX.value = String(Math.floor((w - side) / 2));
  ui.patchY.value = String(Math.floor((h - side) / 2));
}

async function applyPatchNow(): Promise<void> {
  if (info === undefined || input === undefined) {
    say('Pick a model and an input first.');
    return;
  }
  const [h, w, c] = info.inputShape;
  const channels = c === 1 ? 1 : 3;
  const side = wholeValue(ui.patchSize, 1, Math.min(h, w), Math.round(Math.min(h, w) / 3));
  const x = wholeValue(ui.patchX, 0, w - side, 0);
  const y = wholeValue(ui.patchY, 0, h - side, 0);
  const rotation = Number(ui.patchRotation.value) || 0;
  const pixels =
    patchPicture !== undefined
      ? imageToPixels(patchPicture, side, side, channels)
      : new Uint8Array(side * side * channels).fill(255);
  const target = ui.target.value === '' ? undefined : Number(ui.target.value);
  const id = nextId++;
  activeId = id;
  setPageState('running');
  say(`Applying a ${side}-pixel patch…`);
  const answer = await request({
    type: 'patch',
    id,
    models: modelsToRun(),
    input,
    patch: {
      image: { pixels, height: side, width: side, channels, label: -1 },
      x,
      y,
      rotation,
      shape: ui.patchShape.value,
      ...(target !== undefined ? { target } : {}),
    },
  });
  if (!finished(answer) || answer.type !== 'attacked') return;
  showResults(answer.outcomes);
  adversarialCurrent = true;
  for (const o of answer.outcomes) timing(`patch on ${o.model}`, o.seconds);
  const where = `${side}px at (${x}, ${y})`;
  say(
    answer.outcomes
      .map((o) => attackSummary({ ...summaryOf(o, answer.outcomes.length > 1, 'patch'), how: where }))
      .join('; '),
  );
  setPageState('done');
}

// ---- explanations ----------------------------------------------------------------------------------------

async function explainNow(): Promise<void> {
  if (info === undefined || input === undefined) {
    say('Pick a model and an input first.');
    return;
  }
  state = { ...state, method: ui.method.value, compare: ui.compare.checked };
  updateUrl();
  const id = nextId++;
  activeId = id;
  setPageState('running');
  say(`Explaining with ${ui.method.selectedOptions[0]?.text ?? ui.method.value}…`);
  const answer = await request({
    type: 'explain',
    id,
    models: modelsToRun(),
    method: ui.method.value,
    input,
    withAdversarial: adversarialCurrent,
  });
  clearTimeout(cancelTimer);
  if (!finished(answer) || answer.type !== 'explained') return;
  showExplanations(answer.outcomes);
  for (const o of answer.outcomes) timing(`${ui.method.value} on ${o.model}`, o.seconds);
  say(
    answer.outcomes
      .map((o) =>
        explainSummary({
          method: answer.method,
          clean: o.cleanClass,
          ...(o.adversarialClass !== undefined ? { adversarial: o.adversarialClass } : {}),
          ...(o.gaps !== undefined ? { gaps: o.gaps } : {}),
          ...(answer.outcomes.length > 1 ? { model: o.model } : {}),
        }),
      )
      .join('; '),
  );
  setPageState('done');
}

function showExplanations(outcomes: readonly ExplainOutcome[]): void {
  const [first, ...others] = outcomes;
  drawPixels(ui.heatmapClean, first.clean);
  if (first.adversarial !== undefined) drawPixels(ui.heatmapAdversarial, first.adversarial);
  else clearCanvas(ui.heatmapAdversarial);
  byId('heatmap-clean-caption', HTMLElement).textContent = `${first.model}, clean: ${first.cleanClass}`;
  byId('heatmap-adversarial-caption', HTMLElement).textContent =
    first.adversarial !== undefined
      ? `${first.model}, adversarial: ${first.adversarialClass ?? ''}`
      : 'run an attack first';
  const extra = byId('explanations-twin', HTMLElement);
  extra.replaceChildren(
    ...others.flatMap((o) => [
      figure(`${o.model}, clean: ${o.cleanClass}`, (c) => drawPixels(c, o.clean)),
      ...(o.adversarial !== undefined
        ? [
            figure(`${o.model}, adversarial: ${o.adversarialClass ?? ''}`, (c) =>
              drawPixels(c, o.adversarial ?? o.clean),
            ),
          ]
        : []),
    ]),
  );
}

// ---- cancel ----------------------------------------------------------------------------------------------

/** Asks the worker to stop; if it does not answer within 2 s, it is ended and a fresh one started. */
function cancel(): void {
  if (document.body.dataset.state !== 'running') return;
  post({ type: 'cancel' });
  const id = activeId;
  cancelTimer = setTimeout(() => {
    if (document.body.dataset.state !== 'running' || activeId !== id) return;
    worker.terminate();
    pending.get(id)?.({ type: 'cancelled', id });
    pending.clear();
    startWorker();
    void loadModel().then(() => {
      setPageState('cancelled');
      say('Cancelled.');
    });
  }, 2000);
}

// ---- wiring ----------------------------------------------------------------------------------------------

function fillStaticControls(): void {
  for (const name of PLAYGROUND_ATTACKS) {
    const attack = ATTACKS.find((a) => a.name === name);
    if (attack !== undefined) ui.attack.add(new Option(attackTitle(name), name));
  }
  ui.attack.value = PLAYGROUND_ATTACKS.includes(state.attack) ? state.attack : 'fgsm';
  for (const m of PLAYGROUND_METHODS) ui.method.add(new Option(m.title, m.value));
  ui.method.value = PLAYGROUND_METHODS.some((m) => m.value === state.method) ? state.method : 'gradcam';
  ui.sample.value = String(state.sample);
  ui.compare.checked = state.compare;
  fillModelSelect();
  buildAttackForm();
}

function wire(): void {
  ui.model.addEventListener('change', () => {
    ui.urlFields.hidden = ui.model.value !== 'url';
    if (ui.model.value === 'url') return;
    state = { ...state, model: ui.model.value, labels: undefined, eps: undefined };
    updateUrl();
    void loadModel();
  });
  ui.loadUrl.addEventListener('click', () => {
    if (ui.modelUrl.value.trim() === '') return say('Give the URL of a model.json.');
    const labels = ui.labelsUrl.value.trim();
    state = {
      ...state,
      model: ui.modelUrl.value.trim(),
      labels: labels === '' ? undefined : labels,
      eps: undefined,
    };
    updateUrl();
    void loadModel();
  });
  ui.sample.addEventListener('change', () => {
    useSample();
    updateUrl();
  });
  ui.photo.addEventListener('change', () => {
    const file = ui.photo.files?.[0];
    if (file !== undefined) void usePhoto(file);
  });
  ui.inputPreview.addEventListener('dragover', (e) => e.preventDefault());
  ui.inputPreview.addEventListener('drop', (e) => {
    e.preventDefault();
    const file = e.dataTransfer?.files[0];
    if (file !== undefined) void usePhoto(file);
  });
  const pad = new DrawPad(ui.draw, useDrawing);
  ui.clearDrawing.addEventListener('click', () => pad.clear());
  ui.attack.addEventListener('change', () => {
    state = { ...state, attack: ui.attack.value, steps: undefined, eps: undefined, norm: undefined };
    buildAttackForm();
    setEpsDefault();
  });
  ui.norm.addEventListener('change', () => {
    state = { ...state, eps: undefined };
    ui.epsSlider.disabled = ui.norm.value !== 'linf';
    setEpsDefault();
  });
  ui.eps.addEventListener('input', syncSlider);
  ui.epsSlider.addEventListener('input', () => {
    ui.eps.value = String(Number(((Number(ui.epsSlider.value) / 255) * epsRange()).toPrecision(6)));
    syncSlider();
  });
  ui.run.addEventListener('click', () => void runAttackNow());
  ui.applyPatch.addEventListener('click', () => void applyPatchNow());
  ui.patchFile.addEventListener('change', () => {
    const file = ui.patchFile.files?.[0];
    if (file === undefined) return;
    void createImageBitmap(file).then((bitmap) => {
      patchPicture?.close();
      patchPicture = bitmap;
    });
  });
  ui.cancel.addEventListener('click', cancel);
  ui.explain.addEventListener('click', () => void explainNow());
  ui.method.addEventListener('change', () => {
    state = { ...state, method: ui.method.value };
    updateUrl();
  });
}

async function start(): Promise<void> {
  setPageState('loading');
  fillStaticControls();
  wire();
  updateUrl();
  startWorker();
  await loadModel();
  if (initial.ignored.length > 0) say(`Ignored from the URL: ${initial.ignored.join('; ')}.`);
  if (state.run && document.body.dataset.state === 'ready') await runAttackNow();
}

start().catch((err: unknown) => {
  setPageState('error');
  say(`Error: ${err instanceof Error ? err.message : String(err)}`);
});
