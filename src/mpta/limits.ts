/** Caps applied to an archive before anything is inflated (zip-bomb and zip-slip defence). */
export interface ArchiveLimits {
  /** Largest archive file accepted, bytes. Default 512 MiB. */
  maxArchiveBytes: number;
  /** Most entries (files and folders) in the central directory. Default 1000. */
  maxEntries: number;
  /** Largest sum of uncompressed sizes. Default 768 MiB. */
  maxTotalBytes: number;
  /** Largest uncompressed size of one entry. Default 512 MiB. */
  maxEntryBytes: number;
  /** Largest `pipeline.json`. Default 1 MiB. */
  maxPipelineJsonBytes: number;
}

export const DEFAULT_LIMITS: ArchiveLimits = {
  maxArchiveBytes: 512 * 1024 ** 2,
  maxEntries: 1000,
  maxTotalBytes: 768 * 1024 ** 2,
  maxEntryBytes: 512 * 1024 ** 2,
  maxPipelineJsonBytes: 1024 ** 2,
};

export function resolveLimits(partial?: Partial<ArchiveLimits>): ArchiveLimits {
  return { ...DEFAULT_LIMITS, ...partial };
}
