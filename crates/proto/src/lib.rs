//! Codecs for the control, remote and mux protocols: framing, messages, uuencode.
