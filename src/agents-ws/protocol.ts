/**
 * The agent WebSocket protocol (path `/agents`): JSON text frames `{type, id, method, params}`.
 * Pure constants and types, shared by the server (src/agents-ws/) and the client (src/client/).
 */

/** Message types of the seed's platform. */
export const MessageType = {
  Request: 0,
  Response: 1,
  Notification: 2,
  Error: 3,
  Ping: 4,
  Pong: 5,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Methods an agent may call. */
export const Method = {
  Register: 'agent.register',
  Heartbeat: 'agent.heartbeat',
  Deregister: 'agent.deregister',
  /** Routing: an instance of an agent to delegate a request to (src/routing/routing.socket.ts). */
  Pick: 'agent.pick',
  /** Routing: how a request sent to an instance went (circuit breaking). */
  ReportOutcome: 'agent.report_outcome',
  /** Routing: several outcomes in one message (a caller that routes many requests). */
  ReportOutcomes: 'agent.report_outcomes',
} as const;
export type Method = (typeof Method)[keyof typeof Method];

/** Notifications the server pushes. */
export const Notification = {
  ConfigUpdated: 'config.updated',
} as const;

/**
 * Numeric error codes, used both in error replies (`error.code`) and as WebSocket close
 * codes. `error.data.code` carries the string code of the error catalogue (src/errors.ts),
 * e.g. NOT_REGISTERED, so a client can tell what to do.
 */
export const WsErrorCode = {
  InvalidMessage: 4000,
  AuthFailed: 4001,
  RateLimited: 4002,
  ServerError: 4003,
  MethodNotFound: 4004,
  InvalidParams: 4005,
  Conflict: 4008,
} as const;
export type WsErrorCode = (typeof WsErrorCode)[keyof typeof WsErrorCode];

/** Standard WebSocket close codes the server uses. */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  MessageTooBig: 1009,
} as const;

export type MessageId = string | number;

export interface RequestMessage<P = Record<string, unknown>> {
  type: typeof MessageType.Request;
  id: MessageId;
  method: string;
  params?: P;
}

export interface ResponseMessage<R = Record<string, unknown>> {
  type: typeof MessageType.Response;
  id: MessageId;
  method: string;
  result: R;
}

export interface NotificationMessage<P = Record<string, unknown>> {
  type: typeof MessageType.Notification;
  method: string;
  params: P;
}

export interface ErrorBody {
  code: WsErrorCode;
  message: string;
  /**
   * `code`: the catalogue's string code (NOT_REGISTERED, BAD_USER_INPUT, ...); `field` for
   * invalid params; `counts` for NO_HEALTHY_INSTANCE (why no instance could be picked).
   */
  data: { code: string; field?: string; counts?: Record<string, number> };
}

export interface ErrorMessage {
  type: typeof MessageType.Error;
  /** The request's id; null when the message could not be read far enough to know it. */
  id: MessageId | null;
  method?: string;
  error: ErrorBody;
}

export interface PingMessage {
  type: typeof MessageType.Ping | typeof MessageType.Pong;
  id?: MessageId;
}

export type ServerMessage = ResponseMessage | NotificationMessage | ErrorMessage | PingMessage;

/** Params of `agent.register` (the seed's message, plus optional extras). */
export interface RegisterParams {
  agent_id: string;
  name?: string;
  capabilities?: string[];
  /** Defaults to the connection id; reuse the returned one to reconnect as the same instance. */
  instance_id?: string;
  /** Optional when the upgrade request carried `Authorization: Bearer <key>`. */
  auth?: { tenant_id?: string; api_key?: string };
  connection_details?: Record<string, unknown>;
  runtime_config?: Record<string, unknown>;
}

/** The configuration an instance runs with (sent at registration and in `config.updated`). */
export interface AgentConfiguration {
  id: string;
  agent_id: string;
  name: string;
  model_id: string;
  temperature: number;
  max_tokens: number;
  system_prompt: string;
  max_workload: number;
  enabled: boolean;
  settings: Record<string, unknown>;
  version: number;
  updated_at: string;
}

export interface RegisterResult {
  registration_id: string;
  instance_id: string;
  is_new: boolean;
  message: string;
  heartbeat_interval_ms: number;
  connection_id: string;
  configuration: AgentConfiguration | null;
}

export interface HeartbeatParams {
  /** Defaults to the instance registered on this connection. */
  instance_id?: string;
  health?: 'healthy' | 'degraded' | 'unhealthy';
  workload?: number;
}

export interface HeartbeatResult {
  registration_id: string;
  /** ok (nothing changed), changed (health or workload stored), revived (was stale). */
  outcome: 'ok' | 'changed' | 'revived';
}

export interface DeregisterParams {
  instance_id?: string;
  reason?: string;
}

export interface DeregisterResult {
  registration_id: string;
  was_active: boolean;
}
