import { buildAppSchema } from '../../src/app';
import { OperationRules } from '../../src/graphql/operation-rules';
import { cachedDocuments } from '../../src/subscriptions/document-cache';

describe('cachedDocuments: only valid documents are kept, within a budget', () => {
  const schema = buildAppSchema();
  const rules = new OperationRules(schema, { maxDepth: 10, maxComplexity: 2000, anonymousMaxComplexity: 50, introspection: true });

  it('a valid text is parsed once and shared', () => {
    const documents = cachedDocuments(schema, rules.validationRules);
    const first = documents.prepare('{ me { role } }');
    const second = documents.prepare('{ me { role } }');
    expect(first.kind).toBe('valid');
    expect(second.kind === 'valid' && first.kind === 'valid' && second.document === first.document).toBe(true);
    expect(documents.size).toBe(1);
  });

  it('syntax errors and invalid documents (a depth past the limit) are answered and never kept', () => {
    const documents = cachedDocuments(schema, rules.validationRules);
    expect(documents.prepare('{ me { role }').kind).toBe('syntax');
    for (let depth = 11; depth < 211; depth++) {
      const query = `query { ${'me { tenant { '.repeat(Math.ceil(depth / 2))}id${' } }'.repeat(Math.ceil(depth / 2))} }`;
      const prepared = documents.prepare(query);
      expect(prepared.kind === 'invalid' && prepared.errors.length > 0).toBe(true);
    }
    expect(documents.size).toBe(0);
  });

  it('texts longer than maxTextLength are not kept; the kept texts stay within maxEntries and maxTotalLength', () => {
    const documents = cachedDocuments(schema, rules.validationRules, { maxEntries: 5, maxTextLength: 200, maxTotalLength: 400 });
    const long = `{ me { role ${' '.repeat(300)}} }`;
    expect(documents.prepare(long).kind).toBe('valid');
    expect(documents.size).toBe(0);
    for (let i = 0; i < 12; i++) {
      documents.prepare(`query Q${i} { me { role } }`);
      expect(documents.size).toBeLessThanOrEqual(5);
    }
    const budget = cachedDocuments(schema, rules.validationRules, { maxEntries: 5, maxTextLength: 200, maxTotalLength: 400 });
    const padded = (i: number) => `query P${i} { me { role ${' '.repeat(150)}} }`;
    for (let i = 0; i < 6; i++) {
      budget.prepare(padded(i));
      // at most two of these ~175-character texts fit in 400
      expect(budget.size).toBeLessThanOrEqual(2);
    }
  });
});
