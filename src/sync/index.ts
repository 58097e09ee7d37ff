export * from './syncManager.js';
