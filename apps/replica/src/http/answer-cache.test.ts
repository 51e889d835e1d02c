import { describe, expect, it } from 'vitest';
import { AnswerCache, type CachedAnswer } from './answer-cache';

const answerOf = (text: string): CachedAnswer => ({ body: Buffer.from(text), etag: `W/"${text.length}"` });

describe('AnswerCache', () => {
  it('serves an answer only under the block and state it was made from', () => {
    const cache = new AnswerCache(1024);
    const block = {};
    const state = {};
    cache.set(block, state, 'k', answerOf('one'));
    expect(cache.get(block, state, 'k')?.body.toString()).toBe('one');
    expect(cache.get({}, state, 'k')).toBeUndefined();
    expect(cache.get(block, {}, 'k')).toBeUndefined();
  });

  it('a new block drops every answer of the old one', () => {
    const cache = new AnswerCache(1024);
    const [b1, b2, state] = [{}, {}, {}];
    cache.set(b1, state, 'a', answerOf('aaa'));
    cache.set(b1, state, 'b', answerOf('bbb'));
    cache.set(b2, state, 'c', answerOf('ccc'));
    expect(cache.get(b1, state, 'a')).toBeUndefined();
    expect(cache.size).toEqual({ entries: 1, bytes: 4 });
  });

  it('keeps its bytes within the bound, dropping the oldest answers first', () => {
    const cache = new AnswerCache(100);
    const [block, state] = [{}, {}];
    for (let i = 0; i < 20; i++) cache.set(block, state, `k${i}`, answerOf('x'.repeat(17)));
    expect(cache.size.bytes).toBeLessThanOrEqual(100);
    expect(cache.size.entries).toBe(5);
    expect(cache.get(block, state, 'k19')).toBeDefined();
    expect(cache.get(block, state, 'k14')).toBeUndefined();
    cache.set(block, state, 'huge', answerOf('y'.repeat(200)));
    expect(cache.get(block, state, 'huge')).toBeUndefined();
    expect(cache.size.bytes).toBeLessThanOrEqual(100);
  });
});
