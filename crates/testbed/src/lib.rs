//! The emulated Internet: network namespaces, veth links, routers and user-space delay.
