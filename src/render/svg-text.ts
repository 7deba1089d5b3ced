/**
 * Text for figures as an SVG overlay (rendered by librsvg through sharp in Node, or by a browser). Widths are
 * estimated, not measured: DejaVu Sans averages about 0.55 em per character, so 0.6 em keeps lines inside
 * their column.
 */
export interface TextItem {
  text: string;
  /** Left edge (anchor 'start') or centre (anchor 'middle'), in pixels. */
  x: number;
  /** Baseline, in pixels. */
  y: number;
  size: number;
  color?: string;
  bold?: boolean;
  anchor?: 'start' | 'middle';
  /** Longer text is cut and ends with an ellipsis. */
  maxWidth?: number;
}

export const FONT_FAMILY = 'DejaVu Sans, Verdana, sans-serif';
const EM_PER_CHAR = 0.6;

/** `text`, cut to fit `maxWidth` pixels at font size `size`, ending with '…' when cut. */
export function fitText(text: string, maxWidth: number, size: number): string {
  const chars = [...text];
  const fits = Math.floor(maxWidth / (size * EM_PER_CHAR));
  if (chars.length <= fits) return text;
  return fits <= 1 ? '…' : chars.slice(0, fits - 1).join('') + '…';
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A transparent SVG document of the given size holding the text items. */
export function svgText(width: number, height: number, items: readonly TextItem[]): string {
  const body = items.map((t) => {
    const text = t.maxWidth === undefined ? t.text : fitText(t.text, t.maxWidth, t.size);
    const attrs = [
      `x="${round(t.x)}"`,
      `y="${round(t.y)}"`,
      `font-size="${t.size}"`,
      `fill="${escapeXml(t.color ?? '#222')}"`,
      t.bold === true ? 'font-weight="bold"' : '',
      t.anchor === 'middle' ? 'text-anchor="middle"' : '',
    ].filter((a) => a !== '');
    return `<text ${attrs.join(' ')}>${escapeXml(text)}</text>`;
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `font-family="${FONT_FAMILY}">${body.join('')}</svg>`
  );
}

function round(v: number): string {
  return String(Math.round(v * 10) / 10);
}
