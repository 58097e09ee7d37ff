// How the explorer writes numbers and times: pure functions (no DOM), unit-tested in test/explorer/.

const ATTO = 10n ** 18n;
/** Slot numbers at or above this mean "no end" (the chain's u53 maximum). */
const NEVER = Number.MAX_SAFE_INTEGER;

/** Atto (decimal string or bigint) as BCR, exact to the last atto (trailing zeros dropped). */
export function bcrExact(atto) {
  const value = BigInt(atto);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const fracText = (abs % ATTO).toString().padStart(18, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${(abs / ATTO).toLocaleString('en-US')}${fracText ? `.${fracText}` : ''} BCR`;
}

/**
 * Atto as BCR for reading at a glance: 2 decimals from 1,000 BCR, 4 from 1 BCR, 4 significant digits
 * below (0.00002100 BCR reads 0.000021 BCR), rounded half up; under 10^-12 BCR, in atto. Exact
 * amounts go with it as a tooltip (see bcrExact).
 */
export function bcrRounded(atto) {
  const value = BigInt(atto);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  if (abs === 0n) return '0 BCR';
  if (abs < 1_000_000n) return `${negative ? '-' : ''}${abs.toLocaleString('en-US')} atto`;
  let decimals;
  if (abs >= 1000n * ATTO) decimals = 2;
  else if (abs >= ATTO) decimals = 4;
  else decimals = 18 - abs.toString().length + 4; // 4 significant digits
  const unit = 10n ** BigInt(18 - decimals);
  const rounded = (abs + unit / 2n) / unit; // in units of 10^-decimals BCR
  const scale = 10n ** BigInt(decimals);
  const fracText = (rounded % scale).toString().padStart(decimals, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${(rounded / scale).toLocaleString('en-US')}${fracText ? `.${fracText}` : ''} BCR`;
}

/** How long ago `ms` was, seen at `nowMs`: "just now", "12 s ago", "3 min ago", "5 h ago", "2 d ago" (or "in 4 s"). */
export function ago(ms, nowMs) {
  const seconds = Math.round((nowMs - ms) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 1) return 'just now';
  const [n, unit] = abs < 60 ? [abs, 's'] : abs < 3600 ? [Math.floor(abs / 60), 'min'] : abs < 86400 ? [Math.floor(abs / 3600), 'h'] : [Math.floor(abs / 86400), 'd'];
  return seconds > 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
}

/** A UTC time to the second. */
export function utc(ms) {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

/** A slot, or "never" for the chain's "no end". */
export function slotText(slot) {
  return slot === null || slot === undefined ? '—' : Number(slot) >= NEVER ? 'never' : String(slot);
}

export function bytesText(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = Number(n);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(2).replace(/\.?0+$/, '')} ${units[unit]}`;
}

/**
 * Blocks per minute over the `minutes` whole minutes before `nowMs`, oldest first, from block
 * timestamps (ms). The minute in progress is left out: it would always look slow.
 */
export function blocksPerMinute(timestamps, nowMs, minutes) {
  const end = Math.floor(nowMs / 60_000) * 60_000;
  const counts = new Array(minutes).fill(0);
  for (const t of timestamps) {
    const index = minutes - 1 - Math.floor((end - 1 - t) / 60_000);
    if (t < end && index >= 0) counts[index]++;
  }
  return counts.map((count, i) => ({ minuteStart: end - (minutes - i) * 60_000, count }));
}

/** Each miner's share of `blocks` ({miner}) next to its share of power, in percent (2 decimals). */
export function sharesOfBlocks(blocks, powerMiners) {
  const made = new Map();
  for (const b of blocks) if (b.miner !== 0) made.set(b.miner, (made.get(b.miner) ?? 0) + 1);
  const total = [...made.values()].reduce((a, b) => a + b, 0);
  const totalPower = powerMiners.reduce((sum, m) => sum + BigInt(m.power), 0n);
  const ids = [...new Set([...powerMiners.filter((m) => BigInt(m.power) > 0n).map((m) => m.miner), ...made.keys()])].sort((a, b) => a - b);
  return ids.map((miner) => {
    const power = BigInt(powerMiners.find((m) => m.miner === miner)?.power ?? 0);
    return {
      miner,
      blocks: made.get(miner) ?? 0,
      blockShare: total ? Math.round(((made.get(miner) ?? 0) * 10000) / total) / 100 : 0,
      powerShare: totalPower > 0n ? Number((power * 10000n) / totalPower) / 100 : 0,
    };
  });
}
