//! Discovery: from files to the components an image starts.

pub(crate) mod kubelet;
pub(crate) mod systemd;
pub(crate) mod version;
