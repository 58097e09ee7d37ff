export * from './keystore.js';
export * from './walletDir.js';
