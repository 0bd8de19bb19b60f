import fs from 'node:fs';
import path from 'node:path';
import type { PGliteOptions } from '@electric-sql/pglite';

/** A compiled WebAssembly module (this project's TypeScript libs have no WebAssembly types). */
type WasmModule = NonNullable<PGliteOptions['pgliteWasmModule']>;
const { WebAssembly } = globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule> } };

let compiling: Promise<WasmModule> | undefined;

/**
 * Starts compiling PGlite's WebAssembly (PostgreSQL, 8.7 MB) now. V8 compiles it on
 * background threads, so the entry point calls this before it loads the rest of the app:
 * the compilation overlaps the loading of the modules instead of following it.
 * {@link openPglite} uses the result when there is one.
 */
export function precompilePgliteWasm(): void {
  if (compiling) return;
  // the file PGlite itself reads (…/@electric-sql/pglite/dist/pglite.wasm); its option
  // pgliteWasmModule takes the compiled module
  try {
    const file = path.join(path.dirname(require.resolve('@electric-sql/pglite')), 'pglite.wasm');
    compiling = WebAssembly.compile(fs.readFileSync(file));
    compiling.catch(() => undefined);
  } catch {
    // not where this PGlite version keeps it: openPglite leaves the loading to PGlite
  }
}

/** The module {@link precompilePgliteWasm} compiled, or undefined (not started, or it failed). */
export async function precompiledPgliteWasm(): Promise<WasmModule | undefined> {
  return compiling?.catch(() => undefined);
}
