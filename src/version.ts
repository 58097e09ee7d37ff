// The node's version, reported by RPC and the CLI.
export const NODE_VERSION = '0.1.0';
