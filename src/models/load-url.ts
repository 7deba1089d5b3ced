import * as tf from '@tensorflow/tfjs-core';
import { AdvkitError } from '../errors.js';
import type { Classifier } from './classifier.js';
import { classifierFromArtifacts } from './from-artifacts.js';
import { parseLabels } from './labels.js';
import { METADATA_FILE, parseMetadata, type ClassifierMetadata } from './metadata.js';
import type { Preprocessing } from './preprocessing.js';

export interface LoadFromUrlOptions {
  /** URL of a labels file (one per line, JSON array or Keras class index). */
  labels?: string;
  preprocessing?: Preprocessing;
  inputShape?: [number, number, number];
  bounds?: [number, number];
}

async function fetchText(url: string): Promise<string | undefined> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new AdvkitError('NETWORK', `Cannot fetch ${url}: ${(err as Error).message}`, { url });
  }
  if (response.status === 404) return undefined;
  if (!response.ok) throw new AdvkitError('NETWORK', `Fetching ${url} failed: HTTP ${response.status}.`, { url });
  return response.text();
}

/**
 * The URL of the advkit.json beside a model.json. A page usually names its model relatively
 * ('/models/mnist-cnn/model.json', 'models/x/model.json'): that resolves against the page (`base`, by default
 * location.href where there is one), as fetch would resolve it; with no base a relative URL stays relative.
 */
export function metadataUrl(modelUrl: string, base: string | undefined = globalThis.location?.href): string {
  if (URL.canParse(modelUrl)) return new URL(METADATA_FILE, modelUrl).href;
  if (base !== undefined) return new URL(METADATA_FILE, new URL(modelUrl, base)).href;
  const path = modelUrl.replace(/[?#].*$/, '');
  return path.slice(0, path.lastIndexOf('/') + 1) + METADATA_FILE;
}

async function fetchMetadata(modelUrl: string): Promise<ClassifierMetadata | undefined> {
  const url = metadataUrl(modelUrl);
  const text = await fetchText(url);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new AdvkitError('CORRUPT_DATA', `${url} is not valid JSON: ${(err as Error).message}`, { file: url });
  }
  return parseMetadata(value, url);
}

/**
 * Loads a Classifier from the URL of a tfjs model.json (LayersModel or GraphModel) with the standard tfjs
 * HTTP loader: for browsers, or any runtime with fetch. An advkit.json next to model.json is used when the
 * server has one (a 404 means none).
 */
export async function loadClassifierFromUrl(modelUrl: string, opts: LoadFromUrlOptions = {}): Promise<Classifier> {
  let artifacts: tf.io.ModelArtifacts;
  const handler = tf.io.http(modelUrl);
  try {
    if (handler.load === undefined) throw new Error('the tfjs HTTP handler cannot load');
    artifacts = await handler.load();
  } catch (err) {
    throw new AdvkitError('NETWORK', `Cannot load the model at ${modelUrl}: ${(err as Error).message}`, {
      url: modelUrl,
    });
  }
  const metadata = await fetchMetadata(modelUrl);
  let classNames: string[] | undefined;
  if (opts.labels !== undefined) {
    const text = await fetchText(opts.labels);
    if (text === undefined) throw new AdvkitError('NOT_FOUND', `Labels file ${opts.labels} not found (HTTP 404).`);
    classNames = parseLabels(text, opts.labels);
  }
  return classifierFromArtifacts({
    artifacts,
    metadata,
    classNames,
    classNamesSource: opts.labels,
    preprocessing: opts.preprocessing,
    inputShape: opts.inputShape,
    bounds: opts.bounds,
    source: modelUrl,
  });
}
