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
});
