import { escapeHtml } from './report-format.js';
import { REPORT_CSS } from './report-style.js';

/**
 * A self-contained report page: inline CSS, no script, nothing fetched; `body` is already-escaped HTML placed
 * inside <main>. The evaluation and certification reports share it.
 */
export function reportPage(title: string, body: readonly string[]): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${REPORT_CSS}</style>`,
    '</head>',
    '<body>',
    '<main>',
    ...body,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** A titled section of a report page (`body` already escaped). */
export function reportSection(heading: string, body: readonly string[]): string {
  return `<section>\n<h2>${escapeHtml(heading)}</h2>\n${body.join('\n')}\n</section>`;
}

/** A chart without its XML namespace declarations: HTML puts inline <svg> in the SVG namespace itself. */
export function inlineSvg(svg: string): string {
  return svg.replace(
    /^<svg([^>]*)>/,
    (_, attrs: string) => `<svg${attrs.replace(/\s+xmlns(?::\w+)?="[^"]*"/g, '')}>`,
  );
}
