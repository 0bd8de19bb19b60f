import { GroupCommitWriter } from '../../src/db/group-commit';

/**
 * The group-commit writer on its own (a recording `write` in place of the SQL the heartbeat
 * and outcome writers run): what arrives during a write goes into the next one, results
 * reach their submitters in order, submitMany settles once for all its items.
 */
describe('GroupCommitWriter', () => {
  /** A writer whose writes wait for `release()`; records every batch it was given. */
  function recording(options: { maxBatch?: number; fail?: (items: string[]) => boolean } = {}) {
    const batches: string[][] = [];
    const waiting: Array<() => void> = [];
    const writer = new GroupCommitWriter<string, string>(
      'item',
      async (items) => {
        batches.push([...items]);
        await new Promise<void>((resolve) => waiting.push(resolve));
        if (options.fail?.(items)) throw new Error('the database went away');
        return items.map((item) => `stored ${item}`);
      },
      { maxBatch: options.maxBatch },
    );
    const release = async () => {
      while (waiting.length === 0) await new Promise((resolve) => setImmediate(resolve));
      waiting.shift()!();
    };
    return { writer, batches, release };
  }

  it('submits made during a write go into the next one, with submitMany items kept together and in order', async () => {
    const { writer, batches, release } = recording();
    const first = writer.submit('a');
    const second = writer.submit('b');
    const many = writer.submitMany(['c', 'd', 'e']);
    const third = writer.submit('f');
    await release();
    await release();
    expect(batches).toEqual([['a'], ['b', 'c', 'd', 'e', 'f']]);
    expect(await first).toBe('stored a');
    expect(await second).toBe('stored b');
    expect(await many).toEqual(['stored c', 'stored d', 'stored e']);
    expect(await third).toBe('stored f');
  });

  it('maxBatch counts items: submissions wait for the next write once it is full; one submitMany is never split', async () => {
    const { writer, batches, release } = recording({ maxBatch: 4 });
    const busy = writer.submit('x');
    const results = [writer.submitMany(['a', 'b', 'c']), writer.submitMany(['d', 'e']), writer.submit('f'), writer.submitMany(['g', 'h', 'i', 'j', 'k'])];
    for (let i = 0; i < 4; i++) await release();
    await busy;
    expect(batches).toEqual([['x'], ['a', 'b', 'c'], ['d', 'e', 'f'], ['g', 'h', 'i', 'j', 'k']]);
    expect(await Promise.all(results)).toEqual([
      ['stored a', 'stored b', 'stored c'],
      ['stored d', 'stored e'],
      'stored f',
      ['stored g', 'stored h', 'stored i', 'stored j', 'stored k'],
    ]);
  });

  it('a failed write fails every submission in it with UNAVAILABLE; the next write goes on', async () => {
    const { writer, release } = recording({ fail: (items) => items.includes('bad') });
    const busy = writer.submit('x');
    const single = writer.submit('bad');
    const many = writer.submitMany(['y', 'z']);
    await release();
    await release();
    await busy;
    await expect(single).rejects.toMatchObject({ code: 'UNAVAILABLE', message: 'item could not be stored; retry' });
    await expect(many).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const after = writer.submitMany(['w']);
    await release();
    expect(await after).toEqual(['stored w']);
    expect(await writer.submitMany([])).toEqual([]);
  });

  it('after close, submissions are refused with UNAVAILABLE', async () => {
    const { writer, release } = recording();
    const pending = writer.submitMany(['a']);
    const closing = writer.close();
    await release();
    await closing;
    expect(await pending).toEqual(['stored a']);
    await expect(writer.submit('b')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(writer.submitMany(['c'])).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  describe('with minIntervalMs (outcome reports)', () => {
    /**
     * A writer whose writes commit at once, except those `hold()` made wait for `release()`;
     * records every batch and when its write started.
     */
    function timed(options: { maxBatch?: number; minIntervalMs: number }) {
      const batches: Array<{ items: string[]; at: number }> = [];
      let gate: Promise<void> | null = null;
      let open: (() => void) | null = null;
      const writer = new GroupCommitWriter<string, string>(
        'item',
        async (items) => {
          batches.push({ items: [...items], at: performance.now() });
          if (gate) await gate;
          return items.map((item) => `stored ${item}`);
        },
        options,
      );
      const hold = () => {
        gate = new Promise<void>((resolve) => (open = resolve));
      };
      const release = () => {
        gate = null;
        open?.();
      };
      return { writer, batches, hold, release, items: () => batches.map((b) => b.items) };
    }
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    it('a lone caller waiting for each acknowledgement is not slowed: an idle writer writes in the submitter\'s tick', async () => {
      const { writer, items } = timed({ minIntervalMs: 60_000 });
      for (const item of ['a', 'b', 'c']) {
        const stored = writer.submit(item);
        expect(items().at(-1)).toEqual([item]);
        expect(await stored).toBe(`stored ${item}`);
      }
      expect(items()).toEqual([['a'], ['b'], ['c']]);
    });

    it('items queued while a statement ran wait until 150 ms after its start, and what arrives meanwhile joins them', async () => {
      const { writer, batches, items, hold, release } = timed({ minIntervalMs: 150 });
      hold();
      const first = writer.submit('a');
      const queued = writer.submit('b');
      release();
      expect(await first).toBe('stored a');
      await sleep(50);
      expect(items()).toEqual([['a']]);
      const later = [writer.submitMany(['c', 'd']), writer.submit('e')];
      expect(await queued).toBe('stored b');
      expect(await Promise.all(later)).toEqual([['stored c', 'stored d'], 'stored e']);
      expect(items()).toEqual([['a'], ['b', 'c', 'd', 'e']]);
      // timers fire no earlier than asked (a millisecond of rounding aside)
      expect(batches[1].at - batches[0].at).toBeGreaterThanOrEqual(148);
    });

    it('a full batch (maxBatch items queued) is written without waiting for the interval, even mid-wait', async () => {
      const { writer, items, hold, release } = timed({ maxBatch: 3, minIntervalMs: 60_000 });
      hold();
      const first = writer.submit('a');
      const waiting = writer.submit('b');
      release();
      await first;
      await sleep(20);
      expect(items()).toEqual([['a']]);
      const filling = writer.submitMany(['c', 'd']);
      expect(await waiting).toBe('stored b');
      expect(await filling).toEqual(['stored c', 'stored d']);
      expect(items()).toEqual([['a'], ['b', 'c', 'd']]);
    });

    it('close writes what waits for the interval at once, then refuses', async () => {
      const { writer, items, hold, release } = timed({ minIntervalMs: 60_000 });
      hold();
      const first = writer.submit('a');
      const waiting = writer.submitMany(['b', 'c']);
      release();
      await first;
      await sleep(20);
      expect(items()).toEqual([['a']]);
      await writer.close();
      expect(await waiting).toEqual(['stored b', 'stored c']);
      await expect(writer.submit('d')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    });
  });
});
