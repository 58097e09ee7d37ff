// The BCR client library: store files with miners and get them back, pay for retrieval, follow
// deals. The `bcr client` commands are thin wrappers over it.
export * from './errors.js';
export * from './progress.js';
export * from './rpc.js';
export * from './deals.js';
export * from './putJournal.js';
export * from './gatewayFetch.js';
export * from './gatewayPayer.js';
export * from './records.js';
export * from './minerChoice.js';
export * from './putReplicas.js';
export * from './getContent.js';
export * from './getErasure.js';
export * from './manifest.js';
export * from './txs.js';
export * from './paymentChannels.js';
export * from './bcrClient.js';
export * from './apps.js';
export * from './contracts.js';
