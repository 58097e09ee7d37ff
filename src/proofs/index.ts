export * from './params.js';
export * from './merkle.js';
export * from './multiproof.js';
