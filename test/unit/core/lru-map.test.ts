import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LruMap } from '../../../functions/core/lru-map.ts';

describe('the LRU map', () => {
  it('forgets the least recently used entry beyond its size', () => {
    const map = new LruMap<string, number>(2);
    map.set('a', 1);
    map.set('b', 2);
    expect(map.get('a')).toBe(1);
    map.set('c', 3);
    expect([...map.keys()]).toEqual(['a', 'c']);
    expect(map.get('b')).toBeUndefined();
  });

  it('does not count a peek as a use', () => {
    const map = new LruMap<string, number>(2);
    map.set('a', 1);
    map.set('b', 2);
    expect(map.peek('a')).toBe(1);
    map.set('c', 3);
    expect([...map.keys()]).toEqual(['b', 'c']);
  });

  it('never holds more than its size, and keeps the most recently used keys', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 50 }),
        (size, keys) => {
          const map = new LruMap<number, number>(size);
          for (const key of keys) map.set(key, key);
          expect(map.size).toBeLessThanOrEqual(size);
          const recent = [...new Set([...keys].reverse())].slice(0, size).reverse();
          expect([...map.keys()]).toEqual(recent);
        },
      ),
    );
  });
});
