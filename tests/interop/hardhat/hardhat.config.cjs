// Minimal config: a local development node only (no contracts, no compiler download).
module.exports = {
  networks: {
    hardhat: { chainId: 31337 },
  },
};
