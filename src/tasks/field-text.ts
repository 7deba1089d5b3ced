import { fieldKind, type Field } from '../util/schema.js';
import { parseNumberText } from './budgets.js';

/**
 * A value typed as text ('0.3', '8/255', 'false') as its field's kind, for a field given in a text form such
 * as compare's 'pgd:steps=100'. Text that is not of the kind stays text, so that the field's check names
 * the option and what it expects.
 */
export function fieldFromText(field: Field, text: string): unknown {
  const kind = fieldKind(field);
  if (kind === 'number' || kind === 'integer') {
    const n = parseNumberText(text);
    return Number.isNaN(n) ? text : n;
  }
  if (kind === 'boolean') {
    const v = text.toLowerCase();
    if (['true', 'yes', 'on', '1'].includes(v)) return true;
    if (['false', 'no', 'off', '0'].includes(v)) return false;
  }
  return text;
}
