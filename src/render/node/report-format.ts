/**
 * How the evaluation report writes its numbers and text, shared by its charts and its HTML so that both say
 * the same thing the same way.
 */

/** Text made safe for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** An accuracy fraction as a percentage with two decimals, RobustBench-style ('88.50%'); '–' when not finite. */
export function formatPercent(fraction: number): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(2)}%` : '–';
}

/**
 * A budget as people write it: Linf budgets that are whole multiples of 1/255 and have no short decimal form
 * are written as a fraction ('8/255'); the rest with at most four significant digits ('0.3', '1.5').
 */
export function formatEps(eps: number): string {
  const short = String(Number(eps.toPrecision(4)));
  const k = Math.round(eps * 255);
  if (short !== String(eps) && k > 0 && Math.abs(eps * 255 - k) < 1e-6) return `${k}/255`;
  return short;
}

/** A cost or count with thousands separators and at most one decimal ('1,234.5'). */
export function formatCount(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { maximumFractionDigits: 1 });
}

/** A duration: '0.42 s', '12.3 s', '4 min 05 s', '1 h 02 min'. */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 1) return `${seconds.toFixed(2)} s`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  const pad = (v: number): string => String(v).padStart(2, '0');
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${pad(whole % 60)} s`;
  return `${Math.floor(whole / 3600)} h ${pad(Math.floor((whole % 3600) / 60))} min`;
}

/** The name shown for class `index`: its display name, or the index when the report has none. */
export function className(classNames: readonly string[], index: number): string {
  const name = classNames[index];
  return name === undefined || name === '' ? String(index) : name;
}
