/**
 * What the explain task makes of its results: the picture (render/node/explain-grid) and the raw maps as
 * NumPy files. Kept apart from the run so that the run reads as the protocol.
 */
import path from 'node:path';
import { encodeNpy } from '../data/npy.js';
import type { AttributionMethod } from '../explain/types.js';
import { mapDisplay, renderExplainGrid, type ExplainGridRow } from '../render/node/explain-grid.js';
import { imageFromValues } from '../render/pixel-image.js';
import type { Schema } from '../util/schema.js';
import type { ExplainedModel, ExplainResult, ExplainVariant } from './explain.js';
import type { Artifact } from './task.js';

/** Everything one model's rows hold, kept after its tensors are gone: pictures, maps, results. */
export interface ModelRows {
  model: ExplainedModel;
  shape: readonly [number, number, number];
  bounds: readonly [number, number];
  /** Per variant, the inputs' values (n * h * w * c). */
  images: Map<ExplainVariant, Float32Array>;
  /** Per method, per variant, the raw maps (n * h * w * c, or n * h * w). */
  maps: Map<string, Map<ExplainVariant, Float32Array>>;
}

function variantText(variant: ExplainVariant, result: ExplainResult): string {
  if (variant === 'clean') return 'clean';
  if (variant === 'patched') return 'patched';
  const a = result.attack;
  return a === null ? 'adversarial' : `${a.name} ${a.epsText ?? ''}`.trim();
}

function pictureTitle(result: ExplainResult): string {
  const models = result.models.map((m) => m.name).join(' vs ');
  const a = result.attack;
  const versions = [
    ...(a === null ? [] : [`under ${a.name} (${a.norm}${a.epsText === null ? '' : ` ${a.epsText}`})`]),
    ...(result.patch === null ? [] : [`with the patch ${path.basename(result.patch.file)}`]),
  ];
  return `Attributions: ${models}${versions.length === 0 ? '' : `, clean and ${versions.join(' and ')}`}`;
}

function pictureLegend(result: ExplainResult): string {
  const target =
    result.target === 'predicted'
      ? "each row's prediction"
      : result.target === 'original'
        ? "the clean input's prediction"
        : result.target === 'label'
          ? 'the label'
          : `class ${result.target}`;
  const signed = result.methods.some((m) => mapDisplay(m.name, m.output, m.params).scale === 'signed');
  return `Over the grey input, scaled to the bars${signed ? ' (red for, blue against)' : ''}; explained: ${target}`;
}

/** The picture's rows: per input, per model, the clean row then the attacked one. */
function gridRows(
  done: readonly ModelRows[],
  methods: readonly AttributionMethod<Schema>[],
  result: ExplainResult,
): ExplainGridRow[] {
  const rows: ExplainGridRow[] = [];
  const inputs = result.inputs;
  inputs.forEach((input, i) => {
    let first = true;
    for (const d of done) {
      const [h, w, c] = d.shape;
      const size = h * w * c;
      const n = inputs.length;
      for (const row of d.model.rows.filter((r) => r.input === i)) {
        const lines = [input.label === null ? input.source : `${input.source} (${input.label.name})`];
        if (done.length > 1) lines.push(d.model.name);
        if (d.images.size > 1) lines.push(variantText(row.variant, result));
        const values = d.images.get(row.variant) ?? new Float32Array(n * size);
        rows.push({
          label: lines.join('\n'),
          groupStart: first && i > 0,
          image: imageFromValues(values.subarray(i * size, (i + 1) * size), d.shape, d.bounds),
          caption: `${row.prediction.name} ${(100 * row.prediction.confidence).toFixed(0)}%`,
          maps: methods.map((m) => {
            const all = d.maps.get(m.name)?.get(row.variant) ?? new Float32Array(0);
            const per = all.length / n;
            return {
              values: all.subarray(i * per, (i + 1) * per),
              channels: m.output === 'pixel' ? c : 1,
              display: mapDisplay(m.name, m.output, result.methods.find((x) => x.name === m.name)?.params),
              caption: `for ${row.target.name}`,
            };
          }),
        });
        first = false;
      }
    }
  });
  return rows;
}

/** The raw maps as .npy files: maps/<method>.npy, .adversarial.npy; under maps/<model>/ for several models. */
function npyArtifacts(done: readonly ModelRows[], methods: readonly AttributionMethod<Schema>[]): Artifact[] {
  const out: Artifact[] = [];
  for (const d of done) {
    const folder = done.length > 1 ? `maps/${d.model.name}/` : 'maps/';
    const [h, w, c] = d.shape;
    for (const m of methods) {
      for (const [variant, values] of d.maps.get(m.name) ?? []) {
        const perInput = m.output === 'pixel' ? [h, w, c] : [h, w];
        const n = values.length / perInput.reduce((a, v) => a * v, 1);
        out.push({
          name: `${folder}${m.name}${variant === 'clean' ? '' : `.${variant}`}.npy`,
          mediaType: 'application/octet-stream',
          bytes: encodeNpy(values, [n, ...perInput]),
        });
      }
    }
  }
  return out;
}

/** The artifacts asked for: 'explain.png' and the maps as 'maps/...npy'. */
export async function explainArtifacts(
  result: ExplainResult,
  done: readonly ModelRows[],
  methods: readonly AttributionMethod<Schema>[],
  wanted: { picture: boolean; saveMaps: boolean },
): Promise<Artifact[]> {
  const artifacts: Artifact[] = [];
  if (wanted.picture) {
    const png = await renderExplainGrid({
      title: pictureTitle(result),
      legend: pictureLegend(result),
      methods: methods.map((m) => m.name),
      rows: gridRows(done, methods, result),
    });
    artifacts.push({ name: 'explain.png', mediaType: 'image/png', bytes: new Uint8Array(png) });
  }
  if (wanted.saveMaps) artifacts.push(...npyArtifacts(done, methods));
  return artifacts;
}
