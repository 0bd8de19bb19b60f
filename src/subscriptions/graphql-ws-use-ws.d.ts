// tsconfig resolves modules the node10 way, which ignores package.json "exports"; Node
// itself resolves graphql-ws/use/ws through them at run time. This points the types there.
declare module 'graphql-ws/use/ws' {
  export * from 'graphql-ws/dist/use/ws';
}
