package config

import "slices"

// SnapshotsConfig is the [snapshots] section: checkpoint images on disk.
type SnapshotsConfig struct {
	MaxBytes          ByteSize `toml:"max_bytes" doc:"Largest snapshot (a checkpoint over it is refused with ResourceExhausted and nothing is kept); 0 means no limit."`
	MaxBytesPerUID    ByteSize `toml:"max_bytes_per_uid" doc:"Total size of one owner's snapshots; 0 means no limit."`
	MaxTotalBytes     ByteSize `toml:"max_total_bytes" doc:"Total size of all snapshots; 0 means no limit."`
	Compression       string   `toml:"compression" doc:"Checkpoint image compression: \"none\" (larger, and restores can load memory in the background) or \"flate-best-speed\"."`
	ExcludeZeroPages  bool     `toml:"exclude_zero_pages" doc:"Leave committed all-zero memory pages out of checkpoint images (runsc --exclude-committed-zero-pages)."`
	BackgroundRestore bool     `toml:"background_restore" doc:"Let a restored sandbox run while the rest of an uncompressed image is still loading (runsc restore --background)."`
}

func (s *SnapshotsConfig) validate(p *problems) {
	if !slices.Contains([]string{"none", "flate-best-speed"}, s.Compression) {
		p.add("snapshots.compression", "%q is not none or flate-best-speed", s.Compression)
	}
	for key, v := range map[string]ByteSize{"snapshots.max_bytes": s.MaxBytes, "snapshots.max_bytes_per_uid": s.MaxBytesPerUID, "snapshots.max_total_bytes": s.MaxTotalBytes} {
		if v < 0 {
			p.add(key, "%s is negative", v)
		}
	}
}
