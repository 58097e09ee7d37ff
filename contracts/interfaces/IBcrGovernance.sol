// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// BCR's reserve governance, a system contract at 0x000000000000000000000000000000000000Bc03.
interface IBcrGovernance {
    /// state: 0 open, 1 executed, 2 cancelled (see docs/protocol.md, governance).
    struct ProposalInfo {
        bool exists;
        address proposer;
        uint8 state;
        uint64 approvals;
        uint64 createdSlot;
        uint64 approvedSlot;
        uint64 closedSlot;
    }

    function getProposal(bytes32 id) external view returns (ProposalInfo memory);
}
