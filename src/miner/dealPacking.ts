// Packing deal pieces into sectors: largest first, first fit. Power-of-two pieces laid out in
// decreasing size each land at an offset that is a multiple of their size, with no gaps, which is
// the layout the chain's unsealed-CommD rule expects (docs/protocol.md §13.6).

/** Groups of pieces (indexes into `sizes`, with byte offsets) that each fill at most one sector. */
export function packPieces(sizes: number[], sectorSize: number): { index: number; offset: number }[][] {
  const order = sizes.map((size, index) => ({ size, index })).sort((a, b) => b.size - a.size || a.index - b.index);
  const sectors: { used: number; pieces: { index: number; offset: number }[] }[] = [];
  for (const { size, index } of order) {
    if (size > sectorSize) throw new RangeError(`a ${size}-byte piece does not fit a ${sectorSize}-byte sector`);
    let sector = sectors.find((s) => s.used + size <= sectorSize);
    if (!sector) {
      sector = { used: 0, pieces: [] };
      sectors.push(sector);
    }
    sector.pieces.push({ index, offset: sector.used });
    sector.used += size;
  }
  return sectors.map((s) => s.pieces);
}
