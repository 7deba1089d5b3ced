import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { ATTACKS } from '../../attacks/registry.js';
import { defineAttack, type Attack } from '../../attacks/types.js';
import { AdvkitError } from '../../errors.js';
import { field, type Schema } from '../../util/schema.js';
import {
  addParamOptions,
  attacksAsJson,
  collectParamFlags,
  describeAttacks,
  flagFor,
  paramsFromFlags,
} from './attack-params.js';

const run = (): never => {
  throw new Error('not run in these tests');
};

const alpha = defineAttack({
  name: 'alpha',
  title: 'Alpha attack',
  norms: ['linf'],
  budget: 'fixed',
  targeted: true,
  schema: {
    steps: field.integer({ default: 10, min: 1, description: 'Iterations.' }),
    relStepSize: field.number({ default: 0.1, min: 0, exclusiveMin: true, description: 'Step.' }),
    randomStart: field.boolean({ default: false, description: 'Random start.' }),
  },
  run,
});

const beta = defineAttack({
  name: 'beta',
  title: 'Beta attack',
  norms: ['l2'],
  budget: 'minimal',
  targeted: false,
  schema: {
    steps: field.integer({ default: 100, min: 1, description: 'Iterations.' }),
    mode: field.choice(['fast', 'slow'], { default: 'fast', description: 'Mode.' }),
  },
  run,
});

const attacks: Attack<Schema>[] = [alpha, beta];

function parse(args: string[], attack: Attack<Schema>): Record<string, unknown> {
  const cmd = new Command('t').exitOverride();
  const flags = collectParamFlags(attacks);
  addParamOptions(cmd, flags);
  cmd.parse(args, { from: 'user' });
  return paramsFromFlags(attack, cmd.opts(), flags);
}

describe('attack parameter flags', () => {
  it('makes one kebab-case flag per parameter name across the attacks', () => {
    expect(flagFor('relStepSize')).toBe('--rel-step-size');
    expect(flagFor('l1Sparsity')).toBe('--l1-sparsity');
    const flags = collectParamFlags(attacks);
    expect(flags.map((f) => f.flag)).toEqual(['--steps', '--rel-step-size', '--random-start', '--mode']);
    expect(flags[0].attacks.map((a) => a.name)).toEqual(['alpha', 'beta']);
    expect(flags[1].attribute).toBe('relStepSize');
  });

  it('parses numbers (fractions too), booleans and choices for the chosen attack', () => {
    expect(parse(['--steps', '5', '--rel-step-size', '1/40', '--random-start', 'false'], alpha)).toEqual({
      steps: 5,
      relStepSize: 0.025,
      randomStart: false,
    });
    expect(parse(['--random-start'], alpha)).toEqual({ randomStart: true });
    expect(parse(['--mode', 'slow'], beta)).toEqual({ mode: 'slow' });
    expect(parse([], alpha)).toEqual({});
  });

  it('names the flags the chosen attack takes when given one it does not', () => {
    expect(() => parse(['--mode', 'slow', '--steps', '3'], alpha)).toThrow(
      'alpha does not take --mode. Its parameters are: --steps, --rel-step-size, --random-start.',
    );
  });

  it('checks values against the schema, naming the flag', () => {
    const err = (args: string[], attack: Attack<Schema>): AdvkitError => {
      try {
        parse(args, attack);
      } catch (e) {
        if (e instanceof AdvkitError) return e;
      }
      throw new Error('expected an AdvkitError');
    };
    expect(err(['--steps', '2.5'], alpha).message).toBe('alpha: --steps must be an integer >= 1, got 2.5.');
    expect(err(['--steps', 'many'], alpha).message).toBe(
      "alpha: --steps must be an integer >= 1, got 'many'.",
    );
    expect(err(['--rel-step-size', '0'], alpha).message).toBe(
      'alpha: --rel-step-size must be a number > 0, got 0.',
    );
    expect(err(['--mode', 'odd'], beta).message).toBe("beta: --mode must be one of fast, slow; got 'odd'.");
    expect(err(['--random-start', 'maybe'], alpha).code).toBe('INVALID_ARGUMENT');
  });

  it('refuses a parameter that would shadow one of the command flags', () => {
    const cmd = new Command('t').option('--steps <n>', 'taken');
    expect(() => addParamOptions(cmd, collectParamFlags(attacks))).toThrow(
      /'steps' of alpha, beta would be --steps/,
    );
  });

  it('shows defaults per attack in the help, grouped by value', () => {
    const cmd = new Command('t');
    addParamOptions(cmd, collectParamFlags(attacks));
    const help = cmd.helpInformation();
    expect(help).toContain('Attack parameters');
    expect(help).toMatch(/--steps <value> +Iterations\. \(default for alpha: 10; beta:\s+100\)/);
    expect(help).toMatch(/--mode <fast\|slow>/);
    expect(help).toMatch(/--random-start \[true\|false\]/);
  });

  it('lists attacks as text and JSON', () => {
    const text = describeAttacks(attacks);
    expect(text).toContain('alpha  Alpha attack');
    expect(text).toContain(
      'norms: l2; budget: minimal (--eps optional: it only decides success); targeted: no',
    );
    expect(text).toContain('--rel-step-size  Step. (default 0.1; a number > 0)');
    expect(text).toContain('--mode  Mode. (default fast; one of fast, slow)');
    const json = attacksAsJson(attacks) as {
      name: string;
      parameters: { name: string; flag: string; default: unknown }[];
    }[];
    expect(json[1].parameters).toEqual([
      expect.objectContaining({ name: 'steps', flag: '--steps', default: 100 }),
      expect.objectContaining({ name: 'mode', flag: '--mode', default: 'fast' }),
    ]);
  });

  it('gives every registered attack parameter a flag of its own', () => {
    const flags = collectParamFlags(ATTACKS);
    expect(new Set(flags.map((f) => f.flag)).size).toBe(flags.length);
    expect(() => addParamOptions(new Command('attack'), flags)).not.toThrow();
  });
});
