export * from './bytes.js';
export * from './errors.js';
export * from './codec.js';
export * from './hash.js';
export * from './address.js';
export * from './keys.js';
export * from './units.js';
export * from './listRoot.js';
