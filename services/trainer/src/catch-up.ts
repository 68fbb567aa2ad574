import path from 'node:path';
import { MANIFEST_FILE, ModelReceiver, type ModelRegistry, RegistryError, sha256File } from '@pncf/registry';
import type { Logger } from '@pncf/runtime';
import type { Kafka } from 'kafkajs';

/** version → sha256 of its version.json (the manifest of everything else). */
export type VersionDigests = ReadonlyMap<string, string>;

export interface Reconciliation {
  /** Local versions whose number the topic holds with other content: never published from here; discarded. */
  conflicting: string[];
  /** Local versions newer than everything on the topic: registered before a crash, not published; to send now. */
  unpublished: string[];
}

/**
 * Compare the local registry with what the artifact topic holds (its retained versions). The topic is the truth: a
 * local version of a number the topic has with other bytes is an orphan (this trainer registered it and never
 * published it, and another leader published that number since). A local version above the topic's newest was
 * registered and not published before this trainer stopped; nobody has used its number, so it may be sent now.
 */
export function reconcileVersions(local: VersionDigests, topic: VersionDigests): Reconciliation {
  const newestOnTopic = [...topic.keys()].sort().at(-1);
  const conflicting: string[] = [];
  const unpublished: string[] = [];
  for (const [version, digest] of [...local].sort(([a], [b]) => a.localeCompare(b))) {
    const published = topic.get(version);
    if (published !== undefined && published !== digest) conflicting.push(version);
    else if (published === undefined && (newestOnTopic === undefined || version > newestOnTopic)) {
      unpublished.push(version);
    }
  }
  return { conflicting, unpublished };
}

export interface CatchUpOptions {
  kafka: Kafka;
  topic: string;
  registry: ModelRegistry<unknown>;
  /** Prefix of the receivers' consumer groups (each pass reads the whole topic in a group of its own). */
  groupPrefix: string;
  keepVersions: number;
  logger: Logger;
}

export interface CatchUp extends Reconciliation {
  /** Versions installed from the topic. */
  installed: string[];
  current: string | undefined;
}

/**
 * Bring a new leader's registry up to the artifact topic with the receiver the scorers use: every retained version
 * it lacks installed, CURRENT on the newest (the warm start), so its next version number follows the last published
 * one. Orphans (reconcileVersions) are removed and the topic's version of that number installed in a second pass.
 */
export async function catchUpFromArtifactTopic(options: CatchUpOptions): Promise<CatchUp> {
  const { registry, logger } = options;
  const first = await readTopic(options, 'catch-up');
  const local = new Map(registry.list().map((version) => [version, localDigest(registry, version)]));
  const { conflicting, unpublished } = reconcileVersions(local, first.digests);
  let installed = first.installed;
  if (conflicting.length > 0) {
    logger.warn(
      { conflicting },
      'local model versions differ from the published ones of the same number (registered, never published); replacing them',
    );
    for (const version of conflicting) discard(registry, version);
    installed = [...installed, ...(await readTopic(options, 'replace')).installed];
  }
  return { installed, conflicting, unpublished, current: registry.currentVersion() };
}

/** Remove a local version, moving CURRENT off it first (to an older intact one, or none). */
export function discard(registry: ModelRegistry<unknown>, version: string): void {
  if (registry.currentVersion() === version) {
    try {
      registry.rollback();
    } catch (error) {
      if (!(error instanceof RegistryError)) throw error;
      registry.clearCurrent();
    }
  }
  registry.remove(version);
}

function localDigest(registry: ModelRegistry<unknown>, version: string): string {
  return sha256File(path.join(registry.versionsDir, version, MANIFEST_FILE));
}

async function readTopic(
  options: CatchUpOptions,
  pass: string,
): Promise<{ digests: Map<string, string>; installed: string[] }> {
  const digests = new Map<string, string>();
  const installed: string[] = [];
  const receiver = new ModelReceiver({
    kafka: options.kafka,
    topic: options.topic,
    registry: options.registry,
    groupId: `${options.groupPrefix}-${pass}-${Date.now().toString(36)}`,
    logger: options.logger,
    keepVersions: options.keepVersions,
    onInstalled: (version) => installed.push(version),
    onManifest: (version, manifest) => {
      const digest = manifest?.files.find((file) => file.path === MANIFEST_FILE)?.sha256;
      if (digest === undefined) digests.delete(version);
      else digests.set(version, digest);
    },
  });
  try {
    await receiver.start();
    await receiver.whenCaughtUp();
  } finally {
    await receiver.stop();
  }
  return { digests, installed };
}
