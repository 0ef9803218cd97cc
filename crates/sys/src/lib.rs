//! Every syscall and all unsafe code: raw sockets, kernel timestamps, capture, privileges.
