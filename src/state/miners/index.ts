export * from './records.js';
export * from './accounting.js';
export * from './beacon.js';
export * from './equivocation.js';
export * from './txs.js';
export * from './cron.js';
export * from './deadlines.js';
