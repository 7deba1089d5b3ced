/** The flag of a spec key: batchSize -> --batch-size (the CLI's spelling, and the reproduce line's). */
export function flagFor(key: string): string {
  return '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/**
 * The command line that reproduces a result: `advkit <task>` and each given option as its flag, in the order
 * given, values quoted for a POSIX shell where they need it. Options left undefined are skipped.
 */
export function reproduceCommand(task: string, options: readonly (readonly [string, unknown])[]): string {
  const parts = [`advkit ${task}`];
  for (const [key, value] of options) {
    if (value === undefined) continue;
    parts.push(flagFor(key), quote(typeof value === 'number' ? String(value) : String(value)));
  }
  return parts.join(' ');
}

function quote(text: string): string {
  return /^[\w./,:=+-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
