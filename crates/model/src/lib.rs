//! The one result data model shared by every engine, codec and binding.
