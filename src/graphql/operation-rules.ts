import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLNamedType,
  type GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isUnionType,
  Kind,
  NoSchemaIntrospectionCustomRule,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  getIntrospectionQuery,
  getOperationAST,
  parse,
  TypeInfo,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import { type ComplexityEstimator, fieldExtensionsEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';
import { ErrorCode } from '../errors';
import { depthLimitRule } from './depth-limit.rule';

/** The limits every GraphQL operation is held to, over HTTP and graphql-ws alike. */
export interface OperationPolicy {
  /** Deepest selection accepted (GRAPHQL_MAX_DEPTH; introspection fields are not counted). */
  readonly maxDepth: number;
  /** Highest estimated cost of an authenticated caller's operation (GRAPHQL_MAX_COMPLEXITY). */
  readonly maxComplexity: number;
  /** Highest estimated cost of an operation sent without a key (GRAPHQL_ANONYMOUS_MAX_COMPLEXITY). */
  readonly anonymousMaxComplexity: number;
  /** Whether `__schema`/`__type` may be asked at all (GRAPHQL_INTROSPECTION). */
  readonly introspection: boolean;
}

/** `__type` selections one operation may make (`__schema` once). */
export const MAX_TYPE_SELECTIONS = 10;
/** Nesting accepted below `__schema`/`__type` (the standard introspection query needs 13). */
export const MAX_INTROSPECTION_DEPTH = 16;

/** Selections either walk below visits before giving up (a cost past every budget, or refused). */
const WALK_BUDGET = 100_000;

/** An operation's estimated cost: its data fields, and its introspection apart. */
export interface OperationCost {
  /** Fields, list fields multiplied by their page size (graphql-query-complexity's estimators). */
  complexity: number;
  /** `__schema`/`__type` selections: fields, lists multiplied by this schema's counts. */
  introspection: number;
}

/**
 * The one rule set of the GraphQL API, built once and used by both transports (Apollo over
 * HTTP, graphql-ws over WebSocket), so that an operation passes exactly the same checks
 * whichever way it comes:
 *
 * - validation rules ({@link validationRules}): graphql-js' specified rules (each transport
 *   adds them), the depth limit, introspection off when the policy says so, and at most one
 *   `__schema` and {@link MAX_TYPE_SELECTIONS} `__type` selections, nested at most
 *   {@link MAX_INTROSPECTION_DEPTH} levels;
 * - the cost ({@link checkCost}), once the variables are known: every field costs 1, list
 *   fields multiply their children by the page size asked for (`first`), up to
 *   `maxComplexity`. Introspection is costed too, lists of the schema's types, fields and
 *   arguments multiplied by how many this schema really has (so its cost is the size of its
 *   answer), up to one standard full introspection query's worth ({@link introspectionBudget}).
 *   Callers without a key may not introspect and have a much smaller budget.
 */
export class OperationRules {
  /** Validation rules beyond graphql-js' specified ones. */
  readonly validationRules: readonly ValidationRule[];
  /** The introspection one operation may ask: as much as the standard full introspection query. */
  readonly introspectionBudget: number;
  private readonly multipliers: Map<string, number>;
  private readonly costs = new WeakMap<DocumentNode, { costVariables: string[]; byKey: Map<string, OperationCost> }>();

  constructor(
    private readonly schema: GraphQLSchema,
    readonly policy: OperationPolicy,
  ) {
    this.validationRules = [
      depthLimitRule(policy.maxDepth),
      ...(policy.introspection ? [] : [NoSchemaIntrospectionCustomRule]),
      introspectionLimitRule,
    ];
    this.multipliers = introspectionMultipliers(schema);
    const standard = parse(getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, inputValueDeprecation: true }));
    this.introspectionBudget = this.costOf(standard, undefined, {})?.introspection ?? 0;
  }

  /**
   * The cost of `operationName` in `document` with `variables`; undefined when the
   * variables do not fit the operation (execution reports them with their own code).
   */
  costOf(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown>): OperationCost | undefined {
    // the cost depends on the document and on the variables of arguments that estimators
    // read (e.g. `first`); everything else (an instanceId, a JSON value) does not change it.
    // Documents come from the transports' caches, so the same object repeats per query text.
    let perDocument = this.costs.get(document);
    if (!perDocument) {
      perDocument = { costVariables: costVariablesOf(document, this.schema), byKey: new Map() };
      this.costs.set(document, perDocument);
    }
    const key = `${operationName ?? ''}\u0000${perDocument.costVariables.map((name) => JSON.stringify(variables[name] ?? null)).join('\u0000')}`;
    const cached = perDocument.byKey.get(key);
    if (cached) return cached;
    const cost = this.computeCost(document, operationName, variables);
    // a bounded memo per document: page sizes are few, hostile variety just recomputes
    if (cost && perDocument.byKey.size < 64) perDocument.byKey.set(key, cost);
    return cost;
  }

  private computeCost(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown>): OperationCost | undefined {
    let complexity: number;
    try {
      complexity = getComplexity({
        schema: this.schema,
        query: document,
        operationName: operationName ?? undefined,
        variables,
        estimators: [introspectionApart, fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
      });
    } catch {
      return undefined;
    }
    const operation = getOperationAST(document, operationName);
    const introspection = operation ? introspectionCost(operation, document, this.multipliers) : 0;
    return { complexity, introspection };
  }

  /**
   * The error that refuses the operation for this caller (`authenticated` false: no key was
   * sent), or undefined when it may run. Codes: BAD_USER_INPUT with `limit: 'complexity'`
   * (HTTP 400); without a key, UNAUTHENTICATED (HTTP 401) for any introspection and for a
   * cost above the anonymous budget.
   */
  checkCost(
    document: DocumentNode,
    operationName: string | null | undefined,
    variables: Record<string, unknown>,
    authenticated: boolean,
  ): GraphQLError | undefined {
    const cost = this.costOf(document, operationName, variables);
    if (!cost) return undefined;
    if (!authenticated && cost.introspection > 0) {
      return keyRequired('introspection needs an API key: send Authorization: Bearer <key> (any role)');
    }
    if (cost.introspection > this.introspectionBudget) {
      return new GraphQLError(
        `the introspection asked is larger than the whole schema: ${cost.introspection} exceeds the maximum of ${this.introspectionBudget}`,
        { extensions: { code: ErrorCode.BAD_USER_INPUT, limit: 'introspection', max: this.introspectionBudget, http: { status: 400 } } },
      );
    }
    if (!authenticated && cost.complexity > this.policy.anonymousMaxComplexity) {
      // every field with data needs a key anyway: say that, not how to make it cheaper
      return keyRequired(
        `a request without an API key may cost at most ${this.policy.anonymousMaxComplexity} (this one: ${cost.complexity}); send Authorization: Bearer <key>`,
      );
    }
    const max = this.policy.maxComplexity;
    if (cost.complexity <= max) return undefined;
    return new GraphQLError(`the query is too complex: ${cost.complexity} exceeds the maximum of ${max}`, {
      extensions: {
        code: ErrorCode.BAD_USER_INPUT,
        limit: 'complexity',
        max,
        complexity: cost.complexity,
        http: { status: 400 },
      },
    });
  }
}

function keyRequired(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } } });
}

/**
 * The variables a cost can depend on: those passed to arguments of fields that have a
 * `complexity` estimator of their own (list fields: `first`). Found once per document,
 * with TypeInfo, fragments included.
 */
function costVariablesOf(document: DocumentNode, schema: GraphQLSchema): string[] {
  const names = new Set<string>();
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Argument(node) {
        const field = typeInfo.getFieldDef();
        if (field?.extensions?.complexity === undefined) return;
        visit(node.value, {
          Variable(variable) {
            names.add(variable.name.value);
          },
        });
      },
    }),
  );
  return [...names].sort();
}

/** Introspection is costed by {@link introspectionCost}, not by the data budget. */
const introspectionApart: ComplexityEstimator = ({ type, field }) =>
  type.name.startsWith('__') || field.name.startsWith('__') ? 0 : undefined;

/** List fields of the introspection types and what they are a list of, per schema. */
function introspectionMultipliers(schema: GraphQLSchema): Map<string, number> {
  const types: GraphQLNamedType[] = Object.values(schema.getTypeMap());
  const average = (count: (type: GraphQLNamedType) => number) =>
    Math.max(1, Math.ceil(types.reduce((sum, type) => sum + count(type), 0) / Math.max(1, types.length)));
  const fieldsOf = (type: GraphQLNamedType) => (isObjectType(type) || isInterfaceType(type) ? Object.values(type.getFields()) : []);
  const allFields = types.flatMap(fieldsOf);
  const argsPerField = Math.max(1, Math.ceil(allFields.reduce((sum, f) => sum + f.args.length, 0) / Math.max(1, allFields.length)));
  const directives = schema.getDirectives();
  return new Map([
    ['__Schema.types', types.length],
    ['__Schema.directives', directives.length],
    ['__Type.fields', average((type) => fieldsOf(type).length)],
    ['__Type.inputFields', average((type) => (isInputObjectType(type) ? Object.keys(type.getFields()).length : 0))],
    ['__Type.enumValues', average((type) => (isEnumType(type) ? type.getValues().length : 0))],
    ['__Type.interfaces', average((type) => (isObjectType(type) || isInterfaceType(type) ? type.getInterfaces().length : 0))],
    ['__Type.possibleTypes', average((type) => (isUnionType(type) || isInterfaceType(type) ? schema.getPossibleTypes(type).length : 0))],
    ['__Field.args', argsPerField],
    ['__Directive.args', Math.max(1, Math.ceil(directives.reduce((sum, d) => sum + d.args.length, 0) / Math.max(1, directives.length)))],
  ]);
}

/** The type each introspection field returns (the named type; lists are in the multipliers). */
const INTROSPECTION_FIELD_TYPES: Record<string, Record<string, string>> = {
  __Schema: { types: '__Type', queryType: '__Type', mutationType: '__Type', subscriptionType: '__Type', directives: '__Directive' },
  __Type: {
    fields: '__Field',
    interfaces: '__Type',
    possibleTypes: '__Type',
    enumValues: '__EnumValue',
    inputFields: '__InputValue',
    ofType: '__Type',
  },
  __Field: { args: '__InputValue', type: '__Type' },
  __InputValue: { type: '__Type' },
  __Directive: { args: '__InputValue' },
  __EnumValue: {},
};

/**
 * The cost of the `__schema`/`__type` selections of an operation: 1 a field, list fields
 * times the schema's count. Walks the selections with an explicit stack (no recursion), so a
 * hostile nesting cannot overflow the call stack; deeper than MAX_INTROSPECTION_DEPTH is refused
 * by validation before this runs.
 */
function introspectionCost(operation: OperationDefinitionNode, document: DocumentNode, multipliers: Map<string, number>): number {
  const fragments = fragmentsOf(document);
  type Frame = { selectionSet: SelectionSetNode; type: string | null; factor: number; depth: number; visited: ReadonlySet<string> };
  const stack: Frame[] = [{ selectionSet: operation.selectionSet, type: null, factor: 1, depth: 0, visited: new Set() }];
  let cost = 0;
  let steps = 0;
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.depth > MAX_INTROSPECTION_DEPTH * 2 || ++steps > WALK_BUDGET) return Math.max(cost, WALK_BUDGET + 1);
    for (const selection of frame.selectionSet.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        stack.push({ ...frame, selectionSet: selection.selectionSet, depth: frame.depth + 1 });
        continue;
      }
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (fragment && !frame.visited.has(name)) {
          stack.push({ ...frame, selectionSet: fragment.selectionSet, depth: frame.depth + 1, visited: new Set(frame.visited).add(name) });
        }
        continue;
      }
      // only the root has __schema/__type: other fields are the estimators' business
      const childType = introspectionChild(frame.type, selection);
      if (childType === undefined) continue;
      cost += frame.factor;
      // past any budget already: the exact figure no longer matters (and fragments reused
      // many times over must not make this walk long)
      if (cost > WALK_BUDGET) return cost;
      if (selection.selectionSet && childType !== null) {
        const multiplier = frame.type ? (multipliers.get(`${frame.type}.${selection.name.value}`) ?? 1) : 1;
        stack.push({
          selectionSet: selection.selectionSet,
          type: childType,
          factor: frame.factor * multiplier,
          depth: frame.depth + 1,
          visited: frame.visited,
        });
      }
    }
  }
  return cost;
}

/**
 * The introspection type a field selects into: `__Schema`/`__Type` for the root's
 * `__schema`/`__type`, the field's type inside introspection, null for a leaf inside
 * introspection, undefined outside introspection.
 */
function introspectionChild(parent: string | null, field: FieldNode): string | null | undefined {
  const name = field.name.value;
  if (parent === null) {
    if (name === '__schema') return '__Schema';
    if (name === '__type') return '__Type';
    return undefined;
  }
  return INTROSPECTION_FIELD_TYPES[parent]?.[name] ?? null;
}

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  return fragments;
}

/**
 * At most one `__schema` and {@link MAX_TYPE_SELECTIONS} `__type` selections per operation
 * (fragments followed), nested at most {@link MAX_INTROSPECTION_DEPTH} levels below them:
 * a few hundred aliased copies of the schema are the cheapest way to make a server write
 * megabytes. Errors carry `extensions.limit = 'introspection'`.
 */
export const introspectionLimitRule: ValidationRule = (context: ValidationContext) => {
  const fragments = fragmentsOf(context.getDocument());
  return {
    OperationDefinition(node) {
      let schemas = 0;
      let types = 0;
      let deepest = 0;
      let steps = 0;
      // explicit stack: [selection set, depth below an introspection root (-1: outside), fragments on the path]
      const stack: Array<[SelectionSetNode, number, ReadonlySet<string>]> = [[node.selectionSet, -1, new Set()]];
      while (stack.length > 0) {
        const [selectionSet, depth, visited] = stack.pop()!;
        if (++steps > WALK_BUDGET) break;
        if (depth > MAX_INTROSPECTION_DEPTH) {
          deepest = depth;
          break;
        }
        for (const selection of selectionSet.selections) {
          if (selection.kind === Kind.INLINE_FRAGMENT) {
            stack.push([selection.selectionSet, depth, visited]);
          } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
            const name = selection.name.value;
            const fragment = fragments.get(name);
            if (fragment && !visited.has(name)) stack.push([fragment.selectionSet, depth, new Set(visited).add(name)]);
          } else if (depth < 0) {
            const name = selection.name.value;
            if (name === '__schema') schemas++;
            if (name === '__type') types++;
            if (selection.selectionSet && (name === '__schema' || name === '__type')) stack.push([selection.selectionSet, 1, visited]);
          } else if (selection.selectionSet) {
            deepest = Math.max(deepest, depth + 1);
            stack.push([selection.selectionSet, depth + 1, visited]);
          }
        }
      }
      const problem =
        steps > WALK_BUDGET
          ? 'the introspection selection is too large'
          : schemas > 1
          ? `__schema may be selected once per operation (got ${schemas})`
          : types > MAX_TYPE_SELECTIONS
            ? `__type may be selected at most ${MAX_TYPE_SELECTIONS} times per operation (got ${types})`
            : deepest > MAX_INTROSPECTION_DEPTH
              ? `introspection may be nested at most ${MAX_INTROSPECTION_DEPTH} levels deep`
              : undefined;
      if (problem) {
        context.reportError(new GraphQLError(problem, { nodes: [node], extensions: { limit: 'introspection', max: schemas > 1 ? 1 : MAX_TYPE_SELECTIONS } }));
      }
    },
  };
};
