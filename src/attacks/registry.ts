import { invalidArgument } from '../errors.js';
import type { Schema } from '../util/schema.js';
import { apgd } from './apgd.js';
import { apgdT } from './apgd-targeted.js';
import { bim } from './bim.js';
import { cw } from './cw.js';
import { deepfool } from './deepfool.js';
import { fab } from './fab.js';
import { fabT } from './fab-targeted.js';
import { fgsm } from './fgsm.js';
import { hopSkipJump } from './hop-skip-jump.js';
import { mifgsm } from './mifgsm.js';
import { pgd } from './pgd.js';
import { square } from './square.js';
import type { Attack } from './types.js';

/** Every attack by its CLI name, in the order listings show them. */
export const ATTACKS: readonly Attack<Schema>[] = [
  fgsm,
  bim,
  pgd,
  mifgsm,
  apgd,
  apgdT,
  cw,
  deepfool,
  fab,
  fabT,
  square,
  hopSkipJump,
];

export function getAttack(name: string): Attack<Schema> {
  const attack = ATTACKS.find((a) => a.name === name);
  if (!attack) {
    throw invalidArgument(`Unknown attack '${name}'. Available: ${ATTACKS.map((a) => a.name).join(', ')}.`);
  }
  return attack;
}
