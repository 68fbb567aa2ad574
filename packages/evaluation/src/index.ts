export * from './interactions.js';
export * from './model.js';
