import { describe, expect, it } from 'vitest';
import {
  className,
  escapeHtml,
  formatCount,
  formatEps,
  formatPercent,
  formatSeconds,
} from './report-format.js';

describe('report formatting', () => {
  it('escapes the characters that could open markup or close an attribute', () => {
    expect(escapeHtml(`<a href='x'>"b" & c</a>`)).toBe(
      '&#60;a href=&#39;x&#39;&#62;&#34;b&#34; &#38; c&#60;/a&#62;',
    );
  });

  it('writes budgets as people do', () => {
    expect([8 / 255, 2 / 255, 16 / 255].map(formatEps)).toEqual(['8/255', '2/255', '16/255']);
    expect([0, 0.1, 0.2, 0.3, 0.5, 1.5, 0.031].map(formatEps)).toEqual([
      '0',
      '0.1',
      '0.2',
      '0.3',
      '0.5',
      '1.5',
      '0.031',
    ]);
    expect(formatEps(0.123456)).toBe('0.1235');
  });

  it('writes accuracies, counts and durations', () => {
    expect([0.885, 1, 0, Number.NaN].map(formatPercent)).toEqual(['88.50%', '100.00%', '0.00%', '–']);
    expect([1234.56, 0, 12].map(formatCount)).toEqual(['1,234.6', '0', '12']);
    expect([0.42, 12.34, 245, 3725].map(formatSeconds)).toEqual([
      '0.42 s',
      '12.3 s',
      '4 min 05 s',
      '1 h 02 min',
    ]);
  });

  it('names classes by display name, or by index when there is none', () => {
    expect(className(['cat', ''], 0)).toBe('cat');
    expect(className(['cat', ''], 1)).toBe('1');
    expect(className([], 7)).toBe('7');
  });
});
