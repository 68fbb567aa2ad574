/** One timed run of one side of an anchor. */
export interface Measurement {
  seconds: number;
  /** Units of work done (e.g. tokens × epochs), the same count on both sides of a pair. */
  work: number;
  /** Anything else worth keeping from the run (library versions, a sub-timing). */
  detail?: Record<string, unknown>;
}

/** A Python package an anchor's other side needs, installed pinned into the anchors venv (python-env.ts). */
export type PythonPackage = 'gensim' | 'torch';

/** What a pair's `theirs` is handed: the venv's interpreter, with every package the pair needs importable. */
export interface PythonSide {
  python: string;
  /** Environment for the child (e.g. OpenBLAS overrides removed, thread counts pinned). */
  env: NodeJS.ProcessEnv;
}

/**
 * Our implementation against an established one on the same work. `ours` and `theirs` are called alternately
 * (ours, theirs, ours, ...) so that a change in the machine's load hits both sides alike.
 */
export interface AnchorPair {
  name: string;
  /** How the table names the two main sides, e.g. { ours: 'ours (wasm)', theirs: 'gensim' }. */
  labels: { ours: string; theirs: string };
  /** Unit of `Measurement.work`, e.g. 'tokens'. */
  unit: string;
  needs: PythonPackage[];
  /** What both sides share and where they differ, written to the results as is. */
  setup: { identical: string[]; different: string[]; [key: string]: unknown };
  ours(): Promise<Measurement>;
  theirs(side: PythonSide): Promise<Measurement>;
  /** Further sides timed in the same interleaving, by label: ours (e.g. the fallback kernel), theirs (another mode). */
  moreOurs?: Record<string, () => Promise<Measurement>>;
  moreTheirs?: Record<string, (side: PythonSide) => Promise<Measurement>>;
}

/** A group of pairs sharing a setup (e.g. one corpus), built only when one of them is selected. */
export interface AnchorGroup {
  name: string;
  pairs: (options: { threads: number }) => Promise<AnchorPair[]>;
}
