export * from './electionSim.js';
export * from './report.js';
export * from './stats.js';
export * from './supply.js';
export * from './plots.js';
