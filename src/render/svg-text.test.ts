import { describe, expect, it } from 'vitest';
import { escapeXml, fitText, svgText } from './svg-text.js';

describe('svg text', () => {
  it('escapes markup so that class names such as "A&P" cannot break the document', () => {
    expect(escapeXml(`<a & 'b' "c">`)).toBe('&#60;a &#38; &#39;b&#39; &#34;c&#34;&#62;');
  });

  it('cuts text that would overflow its width and ends it with an ellipsis', () => {
    expect(fitText('tabby 45.2%', 200, 14)).toBe('tabby 45.2%');
    const cut = fitText('a very long class name that cannot fit', 84, 14); // 10 characters at 8.4 px
    expect(cut).toBe('a very lo…');
    expect(fitText('abc', 1, 14)).toBe('…');
  });

  it('writes one text element per item with its style', () => {
    const svg = svgText(100, 40, [
      { text: 'goldfish 9%', x: 50, y: 20, size: 14, bold: true, color: '#c62828', anchor: 'middle' },
      { text: 'x<y', x: 2, y: 38, size: 12 },
    ]);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="100" height="40"/);
    expect(svg).toContain(
      '<text x="50" y="20" font-size="14" fill="#c62828" font-weight="bold" text-anchor="middle">goldfish 9%</text>',
    );
    expect(svg).toContain('<text x="2" y="38" font-size="12" fill="#222">x&#60;y</text>');
  });
});
