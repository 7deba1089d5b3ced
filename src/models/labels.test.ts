import { describe, expect, it } from 'vitest';
import { AdvkitError } from '../errors.js';
import { isWordNetId, nameWordNetIds, parseClassIndex, parseLabels } from './labels.js';

describe('labels', () => {
  it('parses one label per line, a JSON array and a Keras class index', () => {
    expect(parseLabels('cat\r\ndog\nbird\n\n', 'l.txt')).toEqual(['cat', 'dog', 'bird']);
    expect(parseLabels('["cat", "dog"]', 'l.json')).toEqual(['cat', 'dog']);
    expect(parseLabels('{"1": ["n02", "dog"], "0": ["n01", "cat"]}', 'idx.json')).toEqual(['cat', 'dog']);
  });

  it('names WordNet ids from a class index and keeps unknown ids', () => {
    const index = parseClassIndex({ '0': ['n01440764', 'tench'], '1': ['n02123045', 'tabby'] }, 'idx.json');
    expect(isWordNetId('n01440764')).toBe(true);
    expect(isWordNetId('tench')).toBe(false);
    expect(nameWordNetIds(['n02123045', 'n01440764', 'n09999999'], index)).toEqual(['tabby', 'tench', 'n09999999']);
  });

  it('rejects malformed files with CORRUPT_DATA naming the file', () => {
    const cases: [string, RegExp][] = [
      ['["a", 3]', /bad.json: a JSON labels array must hold strings/],
      ['{"0": ["n1"]}', /bad.json: entry "0" must be \[id, name\]/],
      ['{"0": ["n1", "a"], "5": ["n2", "b"]}', /keys must be 0..1/],
      ['[oops', /bad.json: invalid JSON/],
      ['a\n\nb', /bad.json: line 2 is empty/],
      ['only-one', /at least 2 labels/],
    ];
    for (const [text, message] of cases) {
      expect(() => parseLabels(text, 'bad.json')).toThrow(message);
      try {
        parseLabels(text, 'bad.json');
      } catch (err) {
        expect((err as AdvkitError).code).toBe('CORRUPT_DATA');
      }
    }
  });
});
