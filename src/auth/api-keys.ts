import crypto from 'node:crypto';
import type { Queryable } from '../db/client';
import { mapErrors } from '../db/errors';
import type { ApiKeyRole } from '../generated/prisma/enums';

/** What an API key may do (the enum `mcp.api_key_role`). See README, "Authentication and roles". */
export type Role = ApiKeyRole;
export const ROLES: readonly Role[] = ['operator', 'admin', 'agent', 'viewer'];

/** The authenticated caller. `tenantId` is null only for operators. */
export interface Principal {
  /** The api_keys row, or null for the OPERATOR_KEY from the environment. */
  keyId: string | null;
  keyName: string;
  role: Role;
  tenantId: string | null;
}

export interface GeneratedKey {
  /** The key itself: shown once, never stored. */
  key: string;
  /** Hex SHA-256 of the key: what is stored. */
  hash: string;
  /** A short, non-secret prefix for display ("ar_ab12cd…"). */
  prefix: string;
}

/** A new random key: `ar_` + 43 characters of base64url (256 bits). */
export function generateApiKey(): GeneratedKey {
  const key = `ar_${crypto.randomBytes(32).toString('base64url')}`;
  return { key, hash: hashApiKey(key), prefix: key.slice(0, 9) };
}

export function hashApiKey(key: string): string {
  return crypto.createHash('sha256').update(key, 'utf8').digest('hex');
}

/** `Authorization: Bearer <key>` → the key, or undefined. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

export interface AuthenticatorOptions {
  /** The OPERATOR_KEY from the environment, if any. */
  operatorKey?: string;
  /** How long a looked-up key is trusted without asking the database again. Default 5 s. */
  cacheTtlMs?: number;
  /** How often last_used_at is written per key at most. Default 60 s. */
  touchIntervalMs?: number;
}

interface CacheEntry {
  principal: Principal | null;
  expiresAt: number;
}

/**
 * Resolves API keys to principals. Keys are compared by hash only. Lookups are cached
 * for a few seconds (the heartbeat path authenticates often); {@link forget} drops a
 * revoked key at once in this process, other processes see a revocation within the TTL.
 */
export class Authenticator {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly touched = new Map<string, number>();
  private readonly lookups = new Map<string, Promise<Principal | null>>();
  private readonly operatorHash: string | undefined;
  private readonly cacheTtlMs: number;
  private readonly touchIntervalMs: number;

  constructor(
    private readonly db: Queryable,
    options: AuthenticatorOptions = {},
  ) {
    this.operatorHash = options.operatorKey ? hashApiKey(options.operatorKey) : undefined;
    this.cacheTtlMs = options.cacheTtlMs ?? 5_000;
    this.touchIntervalMs = options.touchIntervalMs ?? 60_000;
  }

  /** The principal of `key`, or null when the key is unknown or revoked. */
  async authenticate(key: string | undefined): Promise<Principal | null> {
    if (!key || key.length > 200) return null;
    const hash = hashApiKey(key);
    if (this.operatorHash && timingSafeEqualHex(hash, this.operatorHash)) {
      return { keyId: null, keyName: 'OPERATOR_KEY', role: 'operator', tenantId: null };
    }
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.expiresAt > now) return cached.principal;
    // when a popular key's entry expires, every request arriving meanwhile shares one query
    const inflight = this.lookups.get(hash);
    if (inflight) return inflight;
    const lookup = this.lookup(hash, now).finally(() => this.lookups.delete(hash));
    this.lookups.set(hash, lookup);
    return lookup;
  }

  private async lookup(hash: string, now: number): Promise<Principal | null> {
    // mapped here: a lookup while the database is down is UNAVAILABLE on every transport
    const [row] = await mapErrors(() =>
      this.db.query<{ id: string; name: string; role: Role; tenant_id: string | null }>(
        `select id, name, role, tenant_id from mcp.api_keys where key_hash = $1 and revoked_at is null`,
        [hash],
      ),
    );
    const principal = row ? { keyId: row.id, keyName: row.name, role: row.role, tenantId: row.tenant_id } : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { principal, expiresAt: now + this.cacheTtlMs });
    if (principal?.keyId) this.touch(principal.keyId, now);
    return principal;
  }

  /** Drops cached lookups of a key (call after revoking it). */
  forget(keyId: string): void {
    for (const [hash, entry] of this.cache) {
      if (entry.principal?.keyId === keyId) this.cache.delete(hash);
    }
  }

  private touch(keyId: string, now: number): void {
    const last = this.touched.get(keyId) ?? 0;
    if (now - last < this.touchIntervalMs) return;
    this.touched.set(keyId, now);
    // best effort, off the request path
    this.db.query(`update mcp.api_keys set last_used_at = now() where id = $1`, [keyId]).catch(() => undefined);
  }
}

function timingSafeEqualHex(a: string, b: string): boolean {
  return a.length === b.length && crypto.timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}
