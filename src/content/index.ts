export * from './cid.js';
export * from './car.js';
export * from './unixfs.js';
export * from './traverse.js';
export * from './carShards.js';
export * from './fileWriter.js';
