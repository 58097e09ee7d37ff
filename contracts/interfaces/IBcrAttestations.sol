// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// BCR's attestations, a system contract at 0x000000000000000000000000000000000000Bc04.
interface IBcrAttestations {
    struct AttestationInfo {
        bool exists;
        bytes32 hash;
        string tag;
        /// bytes32(0): no earlier attestation referenced.
        bytes32 ref;
        bytes meta;
        address attester;
        uint64 height;
    }

    /// Records an attestation whose attester is msg.sender (a contract or an account); tag 1-64
    /// bytes, meta up to 256 bytes, ref an existing attestation or bytes32(0).
    function attest(bytes32 hash, string calldata tag, bytes32 ref, bytes calldata meta) external returns (bytes32 id);

    function getAttestation(bytes32 id) external view returns (AttestationInfo memory);

    function countOf(bytes32 hash) external view returns (uint64);
}
