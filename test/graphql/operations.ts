import fs from 'node:fs';
import path from 'node:path';
import { type DefinitionNode, type DocumentNode, Kind, parse, print, visit } from 'graphql';

// operations.graphql, plus one file per feature (routing.graphql, …)
const document: DocumentNode = parse(
  fs
    .readdirSync(__dirname)
    .filter((file) => file.endsWith('.graphql'))
    .sort()
    .map((file) => fs.readFileSync(path.join(__dirname, file), 'utf8'))
    .join('\n'),
);
const fragments = new Map(
  document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])),
);

/**
 * The text of operation `name` from operations.graphql with the fragments it uses; its
 * result and variable types are in test/generated/operations.ts (`npm run codegen`).
 */
export function op(name: string): string {
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION && d.name?.value === name);
  if (!operation) throw new Error(`no operation ${name} in test/graphql/*.graphql`);
  const used = new Set<string>();
  const collect = (node: DefinitionNode) =>
    visit(node, {
      FragmentSpread(spread) {
        if (used.has(spread.name.value)) return;
        used.add(spread.name.value);
        collect(fragments.get(spread.name.value)!);
      },
    });
  collect(operation);
  return [operation, ...[...used].map((n) => fragments.get(n)!)].map((d) => print(d)).join('\n\n');
}
