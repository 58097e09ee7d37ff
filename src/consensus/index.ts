export * from './issuance.js';
export * from './params.js';
export * from './election.js';
export * from './vrf.js';
export * from './header.js';
export * from './forkChoice.js';
export * from './vrfNative.js';
