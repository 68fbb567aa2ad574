import { env } from '@pncf/runtime';
import { describe, expect, it } from 'vitest';
import { parseTfBackendChoice, TF_BACKEND_CHOICES, tfRuntime } from '../src/tf-backend.js';

describe('TF_BACKEND', () => {
  it('the services validate the same values tfRuntime accepts', () => {
    const schema = env.tfBackend();
    for (const choice of TF_BACKEND_CHOICES) expect(schema.parse(choice)).toBe(choice);
    expect(schema.parse(undefined)).toBe('auto');
    expect(schema.safeParse('gpu').success).toBe(false);
  });

  it('an empty or missing value means auto; an unknown one is a clear error', () => {
    expect(parseTfBackendChoice(undefined)).toBe('auto');
    expect(parseTfBackendChoice('')).toBe('auto');
    expect(parseTfBackendChoice('wasm')).toBe('wasm');
    expect(() => parseTfBackendChoice('gpu')).toThrow(/TF_BACKEND="gpu": expected one of auto, tensorflow, wasm, cpu/);
  });

  it('runs on the backend TF_BACKEND names, and auto never lands on the slow cpu backend here', async () => {
    const messages: string[] = [];
    const runtime = await tfRuntime((message) => messages.push(message));
    const asked = parseTfBackendChoice(process.env.TF_BACKEND);
    if (asked === 'auto') expect(['tensorflow', 'wasm']).toContain(runtime.backend);
    else expect(runtime.backend).toBe(asked);
    expect(runtime.tf.getBackend()).toBe(runtime.backend);
    expect(messages).toEqual([expect.stringContaining(`tfjs backend: ${runtime.backend}`)]);
  });
});
