export * from './kv.js';
export * from './smt.js';
export * from './stateDb.js';
export * from './errors.js';
export * from './accounts.js';
export * from './txKinds/index.js';
export * from './tx.js';
export * from './execute.js';
