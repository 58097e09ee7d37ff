// Data dirs written before the paged state tree hold one record per binary tree position (prefix
// 0x11). The flat state values (0x10) are the source of truth: rebuild the tree from them in the
// paged format and drop the old records, in one atomic batch, once. The caller then checks the
// rebuilt root against the head block's state root.
import type { Database } from '../db/index.js';
import { sha256 } from '../primitives/index.js';
import { LEGACY_SMT_NODE_PREFIX, Overlay, STATE_VALUE_PREFIX, smtKeyOf, smtUpdate, type SmtChange } from '../state/index.js';
import type { Logger } from '../util/logger.js';

export async function migrateStateTree(db: Database, log: Logger): Promise<void> {
  const legacy: Uint8Array[] = [];
  for await (const [key] of db.entries(LEGACY_SMT_NODE_PREFIX)) legacy.push(key);
  if (legacy.length === 0) return;
  log.info({ legacyRecords: legacy.length }, 'Rebuilding the state tree in the paged format (once)');
  const changes: SmtChange[] = [];
  for await (const [key, value] of db.entries(STATE_VALUE_PREFIX)) changes.push({ key: smtKeyOf(key.subarray(1)), valueHash: sha256(value) });
  const overlay = new Overlay(db);
  await smtUpdate(overlay, changes);
  const writes = overlay.entries();
  for (const key of legacy) writes.push({ key, value: null });
  await db.write(writes, true);
  log.info({ keys: changes.length }, 'State tree rebuilt');
}
