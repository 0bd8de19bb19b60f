import type { FieldNode, GraphQLResolveInfo, SelectionSetNode } from 'graphql';

/**
 * The field names the operation selects under the resolving field (`under` given: under
 * that child field of it), fragments included. Directives (`@skip`, `@include`) are not
 * evaluated: a conditionally selected field counts as selected, which only costs work.
 * Lets a resolver skip what nobody asked for (a total count, unread columns).
 */
export function selectedFields(info: GraphQLResolveInfo, under?: string): Set<string> {
  const names = new Set<string>();
  const visit = (set: SelectionSetNode | undefined, into: (field: FieldNode) => void) => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === 'Field') into(selection);
      else if (selection.kind === 'InlineFragment') visit(selection.selectionSet, into);
      else visit(info.fragments[selection.name.value]?.selectionSet, into);
    }
  };
  for (const node of info.fieldNodes) {
    visit(node.selectionSet, (field) => {
      if (under === undefined) names.add(field.name.value);
      else if (field.name.value === under) visit(field.selectionSet, (child) => names.add(child.name.value));
    });
  }
  return names;
}

/** What a connection field's operation reads: the total, and which fields of its nodes. */
export interface ConnectionSelection {
  totalCount: boolean;
  /** Field names selected on `nodes`. */
  nodeFields: ReadonlySet<string>;
}

export function connectionSelection(info: GraphQLResolveInfo): ConnectionSelection {
  return { totalCount: selectedFields(info).has('totalCount'), nodeFields: selectedFields(info, 'nodes') };
}
