// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// BCR's app registry, a system contract at 0x000000000000000000000000000000000000bc10.
/// Developers publish apps; users buy them (periodSlots = 0) or subscribe (each purchase licenses
/// periodSlots more slots); the price is split to the payees in the same call.
interface IBcrApps {
    struct Payee {
        address account;
        /// Basis points; an app's shares add up to 10000.
        uint16 shareBps;
    }

    struct App {
        bool exists;
        address developer;
        string name;
        string version;
        bytes32 contentHash;
        /// Where to fetch it, e.g. an IPFS CID.
        string uri;
        uint256 price;
        uint64 periodSlots;
        Payee[] payees;
        uint64 sales;
        uint64 publishedHeight;
        uint64 updatedHeight;
    }

    event Published(uint64 indexed id, address indexed developer, string name, string version);
    event Updated(uint64 indexed id, string version, uint256 price);
    event Purchased(uint64 indexed id, address indexed user, address indexed payer, uint256 price, uint64 licensedUntil);

    /// msg.sender becomes the developer. Name 1-64 bytes, version 1-32, uri up to 128, 1-16 payees.
    function publish(string calldata name, string calldata version, bytes32 contentHash, string calldata uri, uint256 price, uint64 periodSlots, Payee[] calldata payees) external returns (uint64 id);

    /// Only the developer; payees and period stay.
    function update(uint64 id, string calldata version, bytes32 contentHash, string calldata uri, uint256 price) external;

    /// msg.value must equal the current price. Returns the slot the license runs to (uint64 max: forever).
    function buy(uint64 id) external payable returns (uint64 licensedUntil);

    function buyFor(uint64 id, address user) external payable returns (uint64 licensedUntil);

    function getApp(uint64 id) external view returns (App memory);

    function licenseOf(uint64 id, address user) external view returns (uint64 licensedUntil);

    function hasLicense(uint64 id, address user) external view returns (bool);

    function appCount() external view returns (uint64);
}
