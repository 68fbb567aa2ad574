export * from './changelog-relay.js';
export * from './classify.js';
export * from './config.js';
export * from './ingester.js';
