export * from './block.js';
export * from './errors.js';
export * from './genesis.js';
export * from './election.js';
export * from './chainStore.js';
export * from './preverify.js';
export * from './vrfCache.js';
