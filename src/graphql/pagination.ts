import { type ClassType, ArgsType, Field, Int, ObjectType } from 'type-graphql';
import { Min } from './constraints';
import type { ComplexityEstimator } from 'graphql-query-complexity';
import { AppError, ErrorCode, badInput } from '../errors';

/** Page size when `first` is not given. Default 20 (or the maximum page size if lower). */
export const DEFAULT_PAGE_SIZE = 20;

@ObjectType({ description: 'Where a page ends and whether another follows.' })
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: 'Pass as `after` to get the next page.' })
  endCursor!: string | null;
}

/** `first`/`after` cursor pagination arguments of every list field. */
@ArgsType()
export class PageArgs {
  @Field(() => Int, { nullable: true, description: `Page size: 1 to the server's maximum (MAX_PAGE_SIZE, default 100). Default ${DEFAULT_PAGE_SIZE}.` })
  @Min(1)
  first?: number | null;

  @Field(() => String, { nullable: true, description: "The previous page's pageInfo.endCursor." })
  after?: string | null;
}

/** A page of nodes, the total matching the filters, and where the page ends. */
export interface Page<T> {
  nodes: T[];
  pageInfo: PageInfo;
  totalCount: number;
}

/**
 * The generic connection shape: `nodes`, `pageInfo` and `totalCount` (which counts every
 * row matching the filters, not just this page).
 */
export function Connection<T extends object>(nodeType: ClassType<T>) {
  @ObjectType()
  abstract class ConnectionType implements Page<T> {
    @Field(() => [nodeType])
    nodes!: T[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    @Field(() => Int, { description: 'Rows matching the filters, over all pages.' })
    totalCount!: number;
  }
  return ConnectionType;
}

/** A validated page request: `limit` rows after the decoded cursor key. */
export interface PageRequest {
  limit: number;
  /** The sort key the page starts after, or null for the first page. */
  afterKey: string | null;
}

/** Checks `first` against the maximum page size and decodes `after`. */
export function pageRequest(args: PageArgs, maxPageSize: number): PageRequest {
  const limit = args.first ?? Math.min(DEFAULT_PAGE_SIZE, maxPageSize);
  if (!Number.isInteger(limit) || limit < 1 || limit > maxPageSize) {
    throw new AppError(ErrorCode.BAD_USER_INPUT, `first must be between 1 and ${maxPageSize} (the maximum page size)`, {
      field: 'first',
      limit: 'pageSize',
      max: maxPageSize,
    });
  }
  return { limit, afterKey: args.after ? decodeCursor(args.after) : null };
}

/** Opaque cursors: base64url of the row's sort key. */
export function encodeCursor(key: string): string {
  return Buffer.from(`k:${key}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const text = /^[A-Za-z0-9_-]{1,2000}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (!text.startsWith('k:')) throw badInput('after is not a cursor this API returned', 'after');
  return text.slice(2);
}

/**
 * Builds a page from rows fetched with `limit + 1` (the extra row only says whether a
 * next page exists) and the key function of the sort order.
 */
export function toPage<T>(rows: T[], request: PageRequest, totalCount: number, keyOf: (row: T) => string): Page<T> {
  const nodes = rows.slice(0, request.limit);
  const last = nodes[nodes.length - 1];
  return {
    nodes,
    totalCount,
    pageInfo: { hasNextPage: rows.length > request.limit, endCursor: last ? encodeCursor(keyOf(last)) : null },
  };
}

/** Complexity of a list field: its children counted once per requested row. */
export const connectionComplexity: ComplexityEstimator = ({ args, childComplexity }) => {
  const first = typeof args.first === 'number' && args.first > 0 ? args.first : DEFAULT_PAGE_SIZE;
  return 1 + childComplexity * first;
};
