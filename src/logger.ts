import pino, { type DestinationStream, type Logger } from 'pino';
import { currentRequestId } from './ops/request-context';

export type { Logger };

/**
 * Structured JSON logs, one object per line, on stdout (or `destination`). Lines written
 * while an HTTP request is handled carry its `requestId`.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'agent-registry' },
      mixin() {
        const requestId = currentRequestId();
        return requestId ? { requestId } : {};
      },
    },
    destination,
  );
}
