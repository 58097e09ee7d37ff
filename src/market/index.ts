export * from './orders.js';
export * from './book.js';
export * from './askPublisher.js';
