import { ArtifactIntegrityError, type ModelRegistry, type ModelVersion, RegistryError } from '@pncf/registry';

/** CURRENT failed verification and was moved: from the broken version to the newest intact older one (or none). */
export interface Recovery {
  from: string;
  to: string | null;
  reason: string;
}

/**
 * The serving model a run builds on and compares with, verified. A CURRENT whose files fail their checksums is
 * rolled back to the newest intact older version, so one corrupted version neither stalls training nor leaves a
 * restarted scorer with nothing to load; with no intact version left the run starts cold and its publish
 * replaces the broken pointer.
 */
export function verifiedCurrent<M>(modelRegistry: ModelRegistry<M>): {
  current?: ModelVersion<M>;
  recovery?: Recovery;
} {
  let broken: { version: string; reason: string };
  try {
    const current = modelRegistry.current();
    return current ? { current } : {};
  } catch (error) {
    if (!(error instanceof ArtifactIntegrityError)) throw error;
    broken = { version: modelRegistry.currentVersion()!, reason: error.message };
  }
  try {
    const to = modelRegistry.rollback();
    return { current: modelRegistry.open(to), recovery: { from: broken.version, to, reason: broken.reason } };
  } catch (error) {
    if (!(error instanceof RegistryError)) throw error;
    return { recovery: { from: broken.version, to: null, reason: broken.reason } };
  }
}
