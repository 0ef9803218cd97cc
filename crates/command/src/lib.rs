//! The measurement command language: text to typed measurement specifications and back.
