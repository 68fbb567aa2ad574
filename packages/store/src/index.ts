export * from './aggregate.js';
export * from './store.js';
