// Types of format.js for the tests (the page itself is plain JavaScript).
export function bcrExact(atto: string | bigint): string;
export function bcrRounded(atto: string | bigint): string;
export function ago(ms: number, nowMs: number): string;
export function utc(ms: number): string;
export function slotText(slot: number | null | undefined): string;
export function bytesText(n: number | string): string;
export function blocksPerMinute(timestamps: number[], nowMs: number, minutes: number): { minuteStart: number; count: number }[];
export function sharesOfBlocks(blocks: { miner: number }[], powerMiners: { miner: number; power: string }[]): { miner: number; blocks: number; blockShare: number; powerShare: number }[];
