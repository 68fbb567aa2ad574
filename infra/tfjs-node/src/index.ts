export { type Probe, probeTfjsNode, type SetupOptions, type SetupResult, setupTfjsNode } from './setup.js';
export { tensorflowWheel } from './wheel.js';
