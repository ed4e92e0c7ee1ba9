//! The Kubernetes version of an image, from the strongest evidence in it.
//!
//! In order: the package database (`/var/lib/dpkg/status`, the kubelet's
//! package, which decides which flags the kubelet accepts), then builder
//! marker files (`/etc/kubernetes-version` from image-builder,
//! `/kind/version` from kind).

use crate::model::{Version, VersionInfo};
use crate::source::{Image, InputError, Loaded};

const DPKG_STATUS: &str = "/var/lib/dpkg/status";
const MARKERS: &[&str] = &["/etc/kubernetes-version", "/kind/version"];

/// Detects the version, or `None` when the image does not say.
pub(crate) fn detect(image: &mut Image) -> Result<Option<VersionInfo>, InputError> {
    if let Loaded::File(id) = image.load(DPKG_STATUS)? {
        let f = image.files.get(id);
        for package in ["kubelet", "kubeadm"] {
            if let Some(v) = dpkg_version(&f.text, package) {
                return Ok(Some(VersionInfo {
                    version: v,
                    source: format!("the {package} package in {}", f.path),
                }));
            }
        }
    }
    for marker in MARKERS {
        if let Loaded::File(id) = image.load(marker)? {
            let f = image.files.get(id);
            if let Some(v) = f.text.lines().find_map(Version::parse) {
                return Ok(Some(VersionInfo {
                    version: v,
                    source: f.path.clone(),
                }));
            }
        }
    }
    Ok(None)
}

/// The installed version of `package` in a dpkg status file.
fn dpkg_version(status: &str, package: &str) -> Option<Version> {
    status.split("\n\n").find_map(|stanza| {
        let field = |name: &str| {
            stanza.lines().find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|r| r.strip_prefix(':'))
                    .map(str::trim)
            })
        };
        let installed = field("Status").is_some_and(|s| s.ends_with(" installed"));
        (field("Package") == Some(package) && installed)
            .then(|| field("Version").and_then(Version::parse))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_status_stanzas() {
        let status = "Package: kubeadm\nStatus: deinstall ok config-files\nVersion: 1.9.0-00\n\nPackage: kubelet\nStatus: install ok installed\nVersion: 1.10.13-00\n";
        assert_eq!(
            dpkg_version(status, "kubelet")
                .map(|v| v.to_string())
                .as_deref(),
            Some("1.10.13")
        );
        assert_eq!(dpkg_version(status, "kubeadm"), None);
    }
}
