export * from './mempool.js';
