import { type DocumentNode, type GraphQLError, type GraphQLSchema, parse, specifiedRules, validate, type ValidationRule } from 'graphql';

/**
 * Parsing and validation for graphql-ws, cached by query text: a thousand dashboards
 * subscribing with the same query share one document (memory per subscription) and one
 * validation (CPU per subscribe). At most `maxEntries` distinct queries are kept; past
 * that the cache starts over (clients with ad-hoc queries just parse again).
 */
export function cachedDocuments(extraRules: readonly ValidationRule[], maxEntries = 500) {
  let documents = new Map<string, DocumentNode>();
  const validations = new WeakMap<DocumentNode, readonly GraphQLError[]>();
  return {
    parse(source: string | { body: string }): DocumentNode {
      const text = typeof source === 'string' ? source : source.body;
      let document = documents.get(text);
      if (!document) {
        document = parse(text);
        if (documents.size >= maxEntries) documents = new Map();
        documents.set(text, document);
      }
      return document;
    },
    validate(schema: GraphQLSchema, document: DocumentNode): readonly GraphQLError[] {
      let errors = validations.get(document);
      if (!errors) {
        errors = validate(schema, document, [...specifiedRules, ...extraRules]);
        validations.set(document, errors);
      }
      return errors;
    },
  };
}
