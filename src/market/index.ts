export * from './orders.js';
export * from './book.js';
export * from './askPublisher.js';
export * from './dealProtocol.js';
export * from './dealChecks.js';
export * from './dealProvider.js';
export * from './dealClient.js';
