import { describe, expect, it } from 'vitest';
import { LruMap } from './lru-map.js';

describe('LruMap', () => {
  it('evicts the least recently used entry beyond its size, reads count as use, clear hands back the rest', () => {
    const evicted: string[] = [];
    const m = new LruMap<string, number>(2, (_, key) => evicted.push(key));
    m.set('a', 1);
    m.set('b', 2);
    expect(m.get('a')).toBe(1);
    m.set('c', 3);
    expect(evicted).toEqual(['b']);
    expect(m.get('b')).toBeUndefined();
    m.delete('a');
    expect(m.size).toBe(1);
    expect(m.clear()).toEqual([3]);
    expect(evicted).toEqual(['b']);
  });
});
