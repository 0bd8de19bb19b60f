/**
 * The API key of this browser tab. Kept in sessionStorage only (gone when the tab
 * closes), sent only as an Authorization header or graphql-ws connectionParams, never
 * put in a URL and never logged.
 */
const STORAGE_KEY = 'agent-registry.api-key';

export function storedKey(): string | null {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function storeKey(key: string): void {
  sessionStorage.setItem(STORAGE_KEY, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}
