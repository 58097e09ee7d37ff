// The gateway's erasure-coded files as RPC callers see them: add one by its manifest root id (admin:
// each add makes the node fetch K shards), and list what is served.
import { RpcError, RpcErrorCode, type MethodDescriptor } from './jsonRpc.js';

export interface GatewayFileJson {
  root: string;
  cid: string | null;
  name: string | null;
  size: number | null;
  status: 'fetching' | 'ready' | 'failed';
  error: string | null;
}

/** What the node's gateway part offers the RPC. */
export interface GatewayFilesService {
  add(root: string): Promise<GatewayFileJson>;
  list(): GatewayFileJson[];
}

const ROOT = '^0x[0-9a-fA-F]{64}@[0-9]+(,[0-9]+)*$';

export function gatewayMethods({ files }: { files: GatewayFilesService | null }): MethodDescriptor[] {
  const service = () => {
    if (!files) throw new RpcError(RpcErrorCode.notFound, 'this node runs no gateway (bcr node --gateway-port)');
    return files;
  };
  return [
    {
      name: 'bcr_gatewayAddFile',
      description: "Serves an erasure-coded file on this node's gateway: the node fetches its shards from the miners named in the root id (free ones), rebuilds the DAG's CAR, checks it against the manifest's CID and serves it by CID (admin). Returns the file's entry; its status becomes ready or failed.",
      permission: 'admin',
      params: [
        {
          name: 'root',
          schema: { type: 'string', pattern: ROOT, description: 'a manifest root id, 0x<manifest piece commitment>@<miner>,<miner>,...' },
          parse(value) {
            if (typeof value !== 'string' || value.length > 512 || !new RegExp(ROOT).test(value)) throw new Error('expected a root id 0x<64 hex>@<miner>,...');
            return value;
          },
        },
      ],
      handler: async ([root]) => service().add(root as string),
    },
    {
      name: 'bcr_gatewayFiles',
      description: "The erasure-coded files this node's gateway serves or is fetching: root id, CID, name, size, status (fetching, ready, failed) and the reason of a failure.",
      params: [],
      handler: async () => service().list(),
    },
  ];
}
