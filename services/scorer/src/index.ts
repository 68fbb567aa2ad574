export * from './candidates.js';
export * from './config.js';
export * from './history.js';
export * from './serving-model.js';
