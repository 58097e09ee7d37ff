export * from './orders.js';
export * from './book.js';
