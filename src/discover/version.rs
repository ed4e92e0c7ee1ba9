//! The Kubernetes version of an image, from the strongest evidence in it.
//!
//! In order (the README lists the whole ranking, command line and image
//! tags included):
//! 1. the package database: dpkg's `/var/lib/dpkg/status`, or rpm's
//!    database (`rpmdb.sqlite` or the Berkeley DB `Packages` file), for the
//!    `kubelet` package (which decides which flags the kubelet accepts),
//!    then `kubeadm`;
//! 2. package repository definitions that name a minor release:
//!    `pkgs.k8s.io/core:/stable:/v1.30/` in `/etc/yum.repos.d/*.repo`,
//!    `/etc/zypp/repos.d/*.repo`, `/etc/apt/sources.list` and
//!    `/etc/apt/sources.list.d/*.list` or deb822 `*.sources`;
//! 3. builder marker files (`/etc/kubernetes-version` from image-builder,
//!    `/kind/version` from kind).

use crate::model::{Version, VersionInfo};
use crate::source::{Image, InputError, Loaded};

const DPKG_STATUS: &str = "/var/lib/dpkg/status";
/// rpm's databases: `SQLite` (EL9, Fedora, Amazon Linux 2023; the second
/// path is Fedora's and SUSE's `/usr/lib/sysimage`), Berkeley DB (EL7,
/// Amazon Linux 2).
const RPM_DATABASES: &[&str] = &[
    "/var/lib/rpm/rpmdb.sqlite",
    "/usr/lib/sysimage/rpm/rpmdb.sqlite",
    "/var/lib/rpm/Packages",
    "/usr/lib/sysimage/rpm/Packages",
];
/// The largest package database read.
const MAX_RPM_DB: u64 = 512 << 20;
const PACKAGES: &[&str] = &["kubelet", "kubeadm"];
const MARKERS: &[&str] = &["/etc/kubernetes-version", "/kind/version"];
/// Directories of package repository definitions, and the file names
/// their package manager reads.
const REPO_DIRS: &[(&str, &[&str])] = &[
    ("/etc/yum.repos.d", &[".repo"]),
    ("/etc/zypp/repos.d", &[".repo"]),
    ("/etc/apt/sources.list.d", &[".list", ".sources"]),
];

/// Detects the version, or `None` when the image does not say.
pub(crate) fn detect(image: &mut Image) -> Result<Option<VersionInfo>, InputError> {
    if let Loaded::File(id) = image.load(DPKG_STATUS)? {
        let f = image.files.get(id);
        for package in PACKAGES {
            if let Some(v) = dpkg_version(&f.text, package) {
                return Ok(Some(VersionInfo {
                    version: v,
                    source: format!("the {package} package in {}", f.path),
                }));
            }
        }
    }
    if let Some(v) = rpm_version(image)? {
        return Ok(Some(v));
    }
    if let Some(v) = repository_version(image)? {
        return Ok(Some(v));
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
    super::k3s::version(image)
}

/// The version of the `kubelet` (or `kubeadm`) package in rpm's database.
fn rpm_version(image: &mut Image) -> Result<Option<VersionInfo>, InputError> {
    for path in RPM_DATABASES {
        let Some(bytes) = image.read_raw(path, MAX_RPM_DB, "package databases")? else {
            continue;
        };
        match super::rpmdb::packages(&bytes) {
            Ok(packages) => {
                if let Some(p) = super::rpmdb::version_of(&packages, PACKAGES)
                    && let Some(v) = Version::parse(&p.version)
                {
                    return Ok(Some(VersionInfo {
                        version: v,
                        source: format!(
                            "the {} package ({}-{}) in {}",
                            p.name,
                            p.version,
                            p.release,
                            crate::source::display_path(path)
                        ),
                    }));
                }
            }
            Err(e) => image.notice(
                path,
                format!("not a readable rpm database ({e}); not used to detect the version"),
            ),
        }
    }
    Ok(None)
}

/// The minor version named by the Kubernetes package repositories the
/// image is configured with (`https://pkgs.k8s.io/core:/stable:/v1.30/rpm/`).
fn repository_version(image: &mut Image) -> Result<Option<VersionInfo>, InputError> {
    let mut files = vec!["/etc/apt/sources.list".to_owned()];
    for (dir, suffixes) in REPO_DIRS {
        for name in image.list_dir(dir)? {
            if suffixes.iter().any(|s| name.ends_with(s)) && !name.starts_with('.') {
                files.push(format!("{dir}/{name}"));
            }
        }
    }
    let mut found: Vec<(Version, String)> = Vec::new();
    for path in files {
        let Loaded::File(id) = image.load(&path)? else {
            continue;
        };
        let f = image.files.get(id);
        let urls = if path.ends_with(".sources") {
            deb822_urls(&f.text)
        } else if path.ends_with(".repo") {
            ini_urls(&f.text)
        } else {
            apt_list_urls(&f.text)
        };
        for v in urls.iter().filter_map(|u| pkgs_k8s_minor(u)) {
            if !found.iter().any(|(w, _)| *w == v) {
                found.push((v, f.path.clone()));
            }
        }
    }
    match found.as_slice() {
        [] => Ok(None),
        [(v, path)] => Ok(Some(VersionInfo {
            version: *v,
            source: format!("the Kubernetes package repository in {path}"),
        })),
        several => {
            let list: Vec<String> = several.iter().map(|(v, p)| format!("{v} in {p}")).collect();
            image.notice(
                &several[0].1,
                format!(
                    "the Kubernetes package repositories name several minor versions ({}); none is used as the version",
                    list.join(", ")
                ),
            );
            Ok(None)
        }
    }
}

/// `v1.30` from a `pkgs.k8s.io` URL of the core stable (or prerelease)
/// channel.
fn pkgs_k8s_minor(url: &str) -> Option<Version> {
    let rest = url.split_once("pkgs.k8s.io/core:/")?.1;
    let rest = rest
        .strip_prefix("stable:/")
        .or_else(|| rest.strip_prefix("prerelease:/"))?;
    let minor = rest.split('/').next()?;
    let v = Version::parse(minor)?;
    minor.starts_with('v').then_some(v.minor_only())
}

/// Whether an ini or deb822 value turns a repository off.
fn disabled(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "0" | "no" | "false" | "off"
    )
}

/// The `baseurl`s of the enabled sections of a yum or zypper `.repo` file.
fn ini_urls(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut section: Vec<String> = Vec::new();
    let mut enabled = true;
    let mut flush = |section: &mut Vec<String>, enabled: bool| {
        if enabled {
            out.append(section);
        }
        section.clear();
    };
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            flush(&mut section, enabled);
            enabled = true;
        } else if let Some((k, v)) = line.split_once('=') {
            match k.trim() {
                "enabled" => enabled = !disabled(v),
                "baseurl" | "mirrorlist" | "metalink" => section.push(v.trim().to_owned()),
                _ => {}
            }
        } else if !line.starts_with(['#', ';']) && line.contains("://") {
            // A continuation line of a multi-line baseurl.
            section.push(line.to_owned());
        }
    }
    flush(&mut section, enabled);
    out
}

/// The URLs of the `deb` lines of a one-line-style apt list.
fn apt_list_urls(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("deb ") || l.starts_with("deb-src "))
        .flat_map(|l| l.split_whitespace().filter(|w| w.contains("://")))
        .map(str::to_owned)
        .collect()
}

/// The `URIs` of the enabled stanzas of a deb822 `.sources` file.
fn deb822_urls(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let mut uris = Vec::new();
        let mut enabled = true;
        for line in stanza.lines().filter(|l| !l.trim_start().starts_with('#')) {
            if let Some((k, v)) = line.split_once(':') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "enabled" => enabled = !disabled(v),
                    "uris" => uris.extend(v.split_whitespace().map(str::to_owned)),
                    _ => {}
                }
            }
        }
        if enabled {
            out.extend(uris);
        }
    }
    out
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

    #[test]
    fn repository_definitions_name_the_minor_version() {
        let v = |u: &str| pkgs_k8s_minor(u).map(|v| v.to_string());
        assert_eq!(
            v("https://pkgs.k8s.io/core:/stable:/v1.30/rpm/").as_deref(),
            Some("1.30")
        );
        assert_eq!(
            v("https://pkgs.k8s.io/core:/prerelease:/v1.31/deb/").as_deref(),
            Some("1.31")
        );
        assert_eq!(
            v("https://pkgs.k8s.io/addons:/cri-o:/stable:/v1.30/rpm/"),
            None
        );
        assert_eq!(v("https://apt.kubernetes.io/"), None);
        let repo = "[kubernetes]\nname=Kubernetes\nbaseurl=https://pkgs.k8s.io/core:/stable:/v1.29/rpm/\nenabled=1\n[old]\nbaseurl=https://pkgs.k8s.io/core:/stable:/v1.20/rpm/\nenabled=0\n";
        assert_eq!(
            ini_urls(repo),
            ["https://pkgs.k8s.io/core:/stable:/v1.29/rpm/"]
        );
        let list = "# deb https://pkgs.k8s.io/core:/stable:/v1.20/deb/ /\ndeb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.28/deb/ /\n";
        assert_eq!(
            apt_list_urls(list),
            ["https://pkgs.k8s.io/core:/stable:/v1.28/deb/"]
        );
        let sources = "Types: deb\nURIs: https://pkgs.k8s.io/core:/stable:/v1.31/deb/\nSuites: /\n\nTypes: deb\nURIs: https://pkgs.k8s.io/core:/stable:/v1.25/deb/\nEnabled: no\n";
        assert_eq!(
            deb822_urls(sources),
            ["https://pkgs.k8s.io/core:/stable:/v1.31/deb/"]
        );
    }
}
