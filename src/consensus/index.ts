export * from './issuance.js';
export * from './params.js';
export * from './authority.js';
