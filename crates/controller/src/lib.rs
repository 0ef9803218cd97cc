//! The controller: VP links, metadata and the mux server.
