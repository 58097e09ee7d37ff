export * from './params.js';
export * from './merkle.js';
export * from './multiproof.js';
export * from './challenges.js';
export * from './graph.js';
export * from './seal.js';
export * from './porep.js';
export * from './post.js';
