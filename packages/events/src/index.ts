export * from './decode.js';
export * from './event.js';
export * from './model-updated.js';
export * from './recommendation.js';
