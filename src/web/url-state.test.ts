import { describe, expect, it } from 'vitest';
import { DEFAULT_STATE, parseState, stateToSearch, type PlaygroundState } from './url-state.js';

describe('the playground URL state', () => {
  it('round-trips every field, so a shared link reproduces the result', () => {
    const state: PlaygroundState = {
      model: 'mnist-cnn-robust',
      sample: 12,
      attack: 'pgd',
      eps: 0.1,
      steps: 20,
      norm: 'l2',
      target: 3,
      method: 'integrated-gradients',
      backend: 'wasm',
      compare: true,
      run: true,
    };
    expect(parseState(stateToSearch(state))).toEqual({ state, ignored: [] });
    const byUrl: PlaygroundState = {
      ...DEFAULT_STATE,
      model: 'https://example.org/darknet/model.json',
      labels: 'https://example.org/darknet/labels.txt',
    };
    expect(parseState(stateToSearch(byUrl)).state).toEqual(byUrl);
  });

  it('reads the contract parameters and defaults the rest', () => {
    const { state } = parseState(
      '?model=mnist-cnn&sample=0&attack=fgsm&eps=0.3&method=gradcam&backend=webgl&run=1',
    );
    expect(state).toEqual({
      ...DEFAULT_STATE,
      attack: 'fgsm',
      eps: 0.3,
      method: 'gradcam',
      backend: 'webgl',
      run: true,
    });
    expect(parseState('').state).toEqual(DEFAULT_STATE);
    expect(parseState('eps=8/255').state.eps).toBeCloseTo(8 / 255, 12);
  });

  it('names the values it cannot use instead of guessing', () => {
    const { state, ignored } = parseState('sample=-1&eps=big&steps=0.5&target=x');
    expect(state.sample).toBe(0);
    expect(state.eps).toBeUndefined();
    expect(state.steps).toBeUndefined();
    expect(ignored).toEqual([
      'sample=-1 (expected an index >= 0)',
      'eps=big (expected a number >= 0)',
      'steps=0.5 (expected an integer >= 1)',
      'target=x (expected a class index >= 0)',
    ]);
  });
});
