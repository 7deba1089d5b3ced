import { describe, expect, it } from 'vitest';
import { pgd } from '../attacks/pgd.js';
import { fgsm } from '../attacks/fgsm.js';
import { field } from '../util/schema.js';
import { fieldLabel, formFields, paramsFromForm } from './form-fields.js';

describe('forms generated from a parameter schema', () => {
  it('gives one labelled control per field, with its kind, help, default and limits', () => {
    const schema = {
      steps: field.integer({ default: 40, min: 1, description: 'Number of gradient steps.' }),
      relStepSize: field.number({ default: 0.1, min: 0, exclusiveMin: true, description: 'Step size.' }),
      randomStart: field.boolean({ default: true, description: 'Start at a random point.' }),
      loss: field.choice(['ce', 'cw'], { default: 'ce', description: 'Loss.' }),
      tolerance: field.number({ min: 0, max: 1, description: 'Optional.' }),
    };
    expect(formFields(schema)).toEqual([
      {
        key: 'steps',
        label: 'Steps',
        kind: 'integer',
        help: 'Number of gradient steps.',
        default: 40,
        min: 1,
        step: 1,
      },
      {
        key: 'relStepSize',
        label: 'Rel step size',
        kind: 'number',
        help: 'Step size.',
        default: 0.1,
        min: 0,
        step: 'any',
      },
      {
        key: 'randomStart',
        label: 'Random start',
        kind: 'boolean',
        help: 'Start at a random point.',
        default: true,
      },
      { key: 'loss', label: 'Loss', kind: 'choice', help: 'Loss.', default: 'ce', choices: ['ce', 'cw'] },
      {
        key: 'tolerance',
        label: 'Tolerance',
        kind: 'number',
        help: 'Optional.',
        default: undefined,
        min: 0,
        max: 1,
        step: 'any',
      },
    ]);
    expect(formFields(schema, ['loss', 'tolerance']).map((f) => f.key)).toEqual([
      'steps',
      'relStepSize',
      'randomStart',
    ]);
    expect(fieldLabel('l1Sparsity')).toBe('L1 sparsity');
  });

  it("follows the registry's attacks: PGD's form is its schema, in its order", () => {
    expect(formFields(pgd.schema).map((f) => f.key)).toEqual(Object.keys(pgd.schema));
    expect(formFields(fgsm.schema)).toEqual([
      expect.objectContaining({ key: 'loss', kind: 'choice', default: 'ce', choices: ['ce', 'cw', 'dlr'] }),
    ]);
  });

  it("turns the form's text into parameters, leaving defaults and empty fields to the attack", () => {
    const values = { steps: '10', relStepSize: '1/20', randomStart: true, loss: 'ce', restarts: '' };
    expect(paramsFromForm(pgd.schema, values)).toEqual({ steps: 10, relStepSize: 1 / 20 });
    // Text that is not a number stays text, for the library's check to name the field.
    expect(paramsFromForm(pgd.schema, { steps: 'ten' })).toEqual({ steps: 'ten' });
  });
});
