// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// BCR's storage market, a system contract at 0x000000000000000000000000000000000000BC01.
interface IBcrMarket {
    /// DealState: 0 published, 1 active, 2 expired, 3 completed, 4 slashed.
    struct Deal {
        address client;
        uint64 provider;
        bytes32 pieceCommitment;
        uint64 pieceBytes;
        uint64 startSlot;
        uint64 endSlot;
        uint256 pricePerSlot;
        uint256 providerCollateral;
        uint256 clientCollateral;
        uint8 state;
        uint64 sector;
        uint64 lastPaidSlot;
    }

    /// Adds msg.value to `client`'s market escrow (call it directly: not by DELEGATECALL or CALLCODE).
    function deposit(address client) external payable;

    function escrow(address account) external view returns (uint256 total, uint256 locked);

    function dealExists(uint64 id) external view returns (bool);

    /// Reverts when the deal does not exist.
    function getDeal(uint64 id) external view returns (Deal memory);

    function dealActive(uint64 id) external view returns (bool);

    function dealCount() external view returns (uint64);
}
