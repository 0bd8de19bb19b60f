/**
 * Keyset pages through Prisma Client, after the row whose id is `afterId`, in the query's
 * `orderBy` (which must end with `id`). Prisma's `cursor` compares against that row's own
 * values inside SQL, so timestamps keep their microseconds (a JS Date would cut them).
 * Without Prisma's usual `skip: 1`: when the cursor row no longer matches the filter (a key
 * revoked since the previous page), skipping would lose the row after it; the cursor row is
 * dropped by {@link dropCursorRow} instead. A cursor row that is gone yields an empty page,
 * as the SQL `(created_at, id) > (select …)` did.
 */
export function cursorArgs(afterId: string | null, limit: number): { cursor?: { id: string }; take: number } {
  return afterId ? { cursor: { id: afterId }, take: limit + 2 } : { take: limit + 1 };
}

/** The rows without the cursor row itself (first when it still matches the filter). */
export function dropCursorRow<T extends { id: string }>(rows: T[], afterId: string | null): T[] {
  return afterId && rows[0]?.id === afterId ? rows.slice(1) : rows;
}
