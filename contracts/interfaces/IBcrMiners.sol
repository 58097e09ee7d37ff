// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// BCR's miners, a system contract at 0x000000000000000000000000000000000000bc02.
interface IBcrMiners {
    struct MinerInfo {
        bool exists;
        address owner;
        address worker;
        uint64 sectorSize;
        /// Proven power in bytes (active, non-faulty sectors).
        uint256 power;
        uint256 collateral;
        uint256 pledge;
        uint64 nextSector;
    }

    /// SectorState: 0 precommitted, 1 active, 2 faulty, 3 terminated.
    struct SectorInfo {
        bool exists;
        uint8 state;
        bytes32 commD;
        bytes32 commR;
        uint64 activation;
        uint64 expiration;
        uint64[] dealIds;
    }

    function getMiner(uint64 id) external view returns (MinerInfo memory);

    function getSector(uint64 miner, uint64 sector) external view returns (SectorInfo memory);
}
