//! Entry points for the fuzz targets (`fuzz/fuzz_targets/engine_*.rs`).
