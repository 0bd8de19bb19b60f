import { invalidMessage, invalidParams } from './errors';
import { type MessageId, MessageType } from './protocol';

/** A client frame, read and checked far enough to dispatch it. */
export type ClientFrame =
  | { type: typeof MessageType.Request; id: MessageId; method: string; params: Record<string, unknown> }
  | { type: typeof MessageType.Ping; id?: MessageId }
  | { type: typeof MessageType.Pong; id?: MessageId };

/** Whatever id a frame carried, if it can be echoed back (string of at most 128 chars or a finite number). */
export function echoableId(value: unknown): MessageId | null {
  if (typeof value === 'string' && value.length <= 128) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  return null;
}

/**
 * Parses a text frame into a {@link ClientFrame}. Throws 4000 (a ProtocolError) for
 * anything that is not a well-formed message, 4005 (BAD_USER_INPUT) for params that are not an object.
 * Method names and params contents are checked by the handlers.
 */
export function parseFrame(text: string): ClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidMessage('the message is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidMessage('the message must be a JSON object {type, id, method, params}');
  }
  const message = value as Record<string, unknown>;
  const id = message.id === undefined ? undefined : echoableId(message.id);
  if (message.id !== undefined && id === null) {
    throw invalidMessage('id must be a string of at most 128 characters or a number');
  }
  switch (message.type) {
    case MessageType.Ping:
      return { type: MessageType.Ping, id: id ?? undefined };
    case MessageType.Pong:
      return { type: MessageType.Pong, id: id ?? undefined };
    case MessageType.Request: {
      if (id === undefined || id === null) throw invalidMessage('a request needs an id');
      if (typeof message.method !== 'string' || message.method.length === 0 || message.method.length > 64) {
        throw invalidMessage('a request needs a method name');
      }
      const params = message.params ?? {};
      if (typeof params !== 'object' || params === null || Array.isArray(params)) {
        throw invalidParams('params must be a JSON object', 'params');
      }
      return { type: MessageType.Request, id, method: message.method, params: params as Record<string, unknown> };
    }
    case MessageType.Response:
    case MessageType.Notification:
    case MessageType.Error:
      throw invalidMessage(`type ${message.type} is sent by the server only; agents send requests (0) and pings (4)`);
    default:
      throw invalidMessage('type must be 0 (request), 4 (ping) or 5 (pong)');
  }
}
