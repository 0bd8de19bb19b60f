import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { bearerToken } from '../auth/api-keys';
import { ErrorCode } from '../errors';
import { complexityLimitPlugin } from './complexity.plugin';
import { type ApiLimits, type ApiServices, type GraphQLContext, createContext } from './context';
import type { createFormatError } from './format-error';
import type { OperationRules } from './operation-rules';

export interface GraphQLServerOptions {
  schema: GraphQLSchema;
  /** Masks unexpected errors and logs them (createFormatError); shared with graphql-ws. */
  formatError: ReturnType<typeof createFormatError>;
  /** The validation rules and cost limit, shared with graphql-ws. */
  rules: OperationRules;
}

/**
 * The Apollo server: masked errors, the shared operation rules (depth, introspection policy,
 * cost), CSRF prevention on, no stack traces in responses, the Sandbox landing page when
 * introspection is on. Apollo's own introspection switch stays on: the rules decide, so
 * that HTTP and graphql-ws refuse introspection with the same rule and code.
 */
export function createGraphQLServer(options: GraphQLServerOptions): ApolloServer<GraphQLContext> {
  const { rules } = options;
  return new ApolloServer<GraphQLContext>({
    schema: options.schema,
    introspection: true,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: false,
    validationRules: [...rules.validationRules],
    formatError: options.formatError,
    plugins: [
      complexityLimitPlugin(rules),
      rules.policy.introspection
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true, footer: false })
        : ApolloServerPluginLandingPageDisabled(),
    ],
  });
}

export interface GraphQLRouteOptions {
  server: ApolloServer<GraphQLContext>;
  services: ApiServices;
  limits: ApiLimits;
  /** Largest request body (MAX_BODY_BYTES); larger ones get 413. */
  maxBodyBytes: number;
}

/**
 * The /graphql HTTP handlers: JSON body parsing with the size limit, the caller from
 * `Authorization: Bearer <key>` (none: anonymous; an unknown or revoked key: 401
 * UNAUTHENTICATED), and JSON errors for bodies that are too large or not JSON.
 */
export function graphqlHandlers(options: GraphQLRouteOptions): Array<RequestHandler | ErrorRequestHandler> {
  const { services, limits } = options;
  const defaultBody: RequestHandler = (req, _res, next) => {
    // Apollo answers non-JSON requests itself (CSRF prevention); it only needs a body
    req.body ??= {};
    next();
  };
  const bodyErrors: ErrorRequestHandler = (error: { type?: string }, _req, res, next) => {
    if (error?.type === 'entity.too.large') {
      res.status(413).json(errorBody(`the request body exceeds the maximum of ${options.maxBodyBytes} bytes`, {
        limit: 'bodyBytes',
        max: options.maxBodyBytes,
      }));
    } else if (error?.type === 'entity.parse.failed' || error?.type === 'encoding.unsupported' || error?.type === 'charset.unsupported') {
      res.status(400).json(errorBody('the request body is not valid JSON'));
    } else {
      next(error);
    }
  };
  return [
    express.json({ limit: options.maxBodyBytes }),
    bodyErrors,
    defaultBody,
    expressMiddleware(options.server, {
      async context({ req }) {
        const header = req.headers.authorization;
        if (header === undefined || header.trim() === '') return createContext(services, limits, null);
        const principal = await services.auth.authenticate(bearerToken(header));
        if (!principal) {
          throw new GraphQLError('the API key is invalid or revoked; send Authorization: Bearer <key>', {
            extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } },
          });
        }
        return createContext(services, limits, principal);
      },
    }),
  ];
}

function errorBody(message: string, extensions: Record<string, unknown> = {}) {
  return { errors: [{ message, extensions: { code: ErrorCode.BAD_USER_INPUT, ...extensions } }] };
}
