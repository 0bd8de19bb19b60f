/** The agent client, importable by agents: `import { AgentClient } from 'agent-registry/dist/src/client'`. */
export { AgentClient, AgentRequestError, type AgentClientEvents, type AgentClientOptions } from './agent-client';
export { backoffDelay, type BackoffOptions } from './backoff';
export {
  type AgentConfiguration,
  type DeregisterResult,
  type HeartbeatResult,
  type RegisterResult,
  MessageType,
  Method,
  WsErrorCode,
} from '../agents-ws/protocol';
export type {
  PickParams,
  PickResultMessage,
  PickedInstanceResult,
  ReportOutcomeParams,
  ReportOutcomeResult,
  ReportOutcomesItem,
  ReportOutcomesParams,
  ReportOutcomesResult,
} from '../routing/routing.socket';
