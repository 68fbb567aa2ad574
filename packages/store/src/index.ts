export * from './aggregate.js';
export * from './catch-up.js';
export * from './counts-view.js';
export * from './group-commit.js';
export * from './store.js';
