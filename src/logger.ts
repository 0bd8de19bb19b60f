import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs, one object per line, on stdout (or `destination`). Lines about an
 * HTTP request carry its `requestId` (passed explicitly: src/ops/request-context.ts).
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'agent-registry' },
    },
    destination,
  );
}
