//! Warts and JSON codecs for the result model, with streaming readers and compression.
