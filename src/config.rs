//! Settings: the command line over `.promready.yaml` over defaults.
//!
//! The configuration file is `--config FILE`, or the nearest
//! `.promready.yaml` (or `.promready.yml`) from the first input that has
//! one upwards to its repository's root, or the current directory's.
//! Unknown keys are errors that point into the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::data::from_yaml;
use crate::finding::Severity;
use crate::model::Version;
use crate::rules::RuleError;
use crate::source::RuleDir;

/// When the exit status says "findings".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum FailOn {
    /// Errors only.
    Error,
    /// Errors and warnings (the default).
    #[default]
    Warning,
    /// Any finding, notes included.
    Note,
    /// Never: the exit status is 0 unless the input cannot be read.
    Never,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct SerializableConfig {
    #[serde(default)]
    select: Vec<String>,
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(default)]
    per_path_ignores: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    severity: BTreeMap<String, Severity>,
    kubernetes_version: Option<String>,
    bind_address: Option<String>,
    #[serde(default)]
    rules: Vec<PathBuf>,
    fail_on: Option<FailOn>,
}

/// The settings in force.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    /// Rules to run (codes or names); empty means all.
    pub(crate) select: Vec<String>,
    pub(crate) ignore: Vec<String>,
    /// Path globs (`*` within a path segment, `**` across them) and the
    /// rules ignored there.
    pub(crate) per_path_ignores: Vec<(String, Vec<String>)>,
    pub(crate) severity: BTreeMap<String, Severity>,
    pub(crate) kubernetes_version: Option<Version>,
    pub(crate) bind_address: Option<String>,
    pub(crate) rules: Vec<RuleDir>,
    pub(crate) fail_on: FailOn,
    /// The directory of the configuration file, absolute: `per-path-ignores`
    /// patterns are relative to it.
    pub(crate) base: Option<PathBuf>,
}

/// The name looked for in the scanned directory and the current one.
pub(crate) const FILE_NAME: &str = ".promready.yaml";
/// The names looked for, in order, in each directory.
const FILE_NAMES: &[&str] = &[FILE_NAME, ".promready.yml"];

/// The largest configuration file promready reads (1 MiB); the size is
/// checked before reading.
pub(crate) const MAX_CONFIG_SIZE: u64 = 1024 * 1024;

/// Where the configuration file comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    /// `--config FILE`: named by whoever runs promready, read as given, and
    /// its `rules:` may name any directory.
    Explicit(PathBuf),
    /// Found in a scanned directory, one of its parents or the current
    /// directory: part of what is scanned. It is read inside `dir` (see
    /// `source::inroot`), and its `rules:` must stay inside `dir`.
    Found { dir: PathBuf, name: &'static str },
}

/// The configuration file that applies to `input`: the nearest
/// `.promready.yaml` (or `.yml`) in its directory or a parent, up to the
/// root of the repository that holds it (the directory with `.git`), as
/// ruff finds `pyproject.toml`. A pre-commit run on one staged file so
/// gets the repository's settings. A name counts when the directory holds
/// a file or a symbolic link by that name (the link is then resolved
/// inside the directory when read).
fn discover(input: &Path) -> Option<Found> {
    let abs = std::path::absolute(input).ok()?;
    let start = if abs.is_dir() {
        abs.as_path()
    } else {
        abs.parent()?
    };
    for dir in start.ancestors() {
        if let Some(found) = in_dir(dir) {
            return Some(found);
        }
        if dir.join(".git").exists() {
            break;
        }
    }
    None
}

/// The configuration file of one directory, if it has one.
fn in_dir(dir: &Path) -> Option<Found> {
    FILE_NAMES.iter().find_map(|&name| {
        let meta = std::fs::symlink_metadata(dir.join(name)).ok()?;
        (meta.is_file() || meta.is_symlink()).then(|| Found::Found {
            dir: dir.to_path_buf(),
            name,
        })
    })
}

/// Reads a configuration file named with `--config`, refusing it before
/// reading when it is over [`MAX_CONFIG_SIZE`].
fn read_explicit(file: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let meta = std::fs::metadata(file).map_err(|e| format!("cannot read it: {e}"))?;
    // A pipe (`--config <(…)`) has no size; its read is capped below.
    if meta.is_file() && meta.len() > MAX_CONFIG_SIZE {
        return Err(format!(
            "cannot read it: {} bytes is over the {MAX_CONFIG_SIZE}-byte limit for configuration files",
            meta.len()
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(MAX_CONFIG_SIZE + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read it: {e}"))?;
    if bytes.len() as u64 > MAX_CONFIG_SIZE {
        return Err(format!(
            "cannot read it: it grew over the {MAX_CONFIG_SIZE}-byte limit for configuration files while being read"
        ));
    }
    Ok(bytes)
}

/// Reads a configuration file found in `dir`, inside `dir`.
fn read_found(dir: &Path, name: &str) -> Result<Vec<u8>, String> {
    let root = crate::source::Root::open(dir).map_err(|e| format!("cannot read it: {e}"))?;
    root.read(&format!("/{name}"), MAX_CONFIG_SIZE)
        .map_err(|e| format!("cannot read it: {e}"))
}

/// Finds and reads the configuration file: `--config`, else the one that
/// applies to the first input that has one, else the current directory's.
pub(crate) fn load(explicit: Option<&Path>, paths: &[PathBuf]) -> Result<Settings, Box<RuleError>> {
    let candidate = match explicit {
        Some(p) => Some(Found::Explicit(p.to_path_buf())),
        None => paths
            .iter()
            .find_map(|p| discover(p))
            .or_else(|| in_dir(Path::new("."))),
    };
    let Some(found) = candidate else {
        return Ok(Settings::default());
    };
    let (file, bytes) = match &found {
        Found::Explicit(file) => (file.clone(), read_explicit(file)),
        Found::Found { dir, name } => (
            if dir == Path::new(".") {
                PathBuf::from(name)
            } else {
                dir.join(name)
            },
            read_found(dir, name),
        ),
    };
    let shown = file.display().to_string();
    let unusable = |message: String| {
        Box::new(RuleError::config(
            &shown,
            "",
            crate::data::DataError {
                message,
                span: 0..0,
            },
        ))
    };
    let bytes = bytes.map_err(unusable)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        unusable(format!(
            "cannot read it: not valid UTF-8 (at byte {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let raw: SerializableConfig =
        from_yaml(&text).map_err(|e| Box::new(RuleError::config(&shown, &text, e)))?;
    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let absolute_base = std::path::absolute(if base.as_os_str().is_empty() {
        Path::new(".")
    } else {
        &base
    })
    .ok()
    .map(|b| lexical(&b));
    let kubernetes_version = match raw.kubernetes_version {
        None => None,
        Some(v) => Some(Version::parse(&v).ok_or_else(|| {
            RuleError::config(
                &shown,
                &text,
                at(&text, &v, format!("`{v}` is not a Kubernetes version")),
            )
        })?),
    };
    let checked_bind_address = match &raw.bind_address {
        Some(a) => {
            Some(bind_address(a).map_err(|m| RuleError::config(&shown, &text, at(&text, a, m)))?)
        }
        None => None,
    };
    let rules = rule_dirs(&found, &raw.rules, &base, &shown, &text)?;
    Ok(Settings {
        select: raw.select,
        ignore: raw.ignore,
        per_path_ignores: raw.per_path_ignores.into_iter().collect(),
        severity: raw.severity,
        kubernetes_version,
        bind_address: checked_bind_address,
        rules,
        fail_on: raw.fail_on.unwrap_or_default(),
        base: absolute_base,
    })
}

/// The rule directories a configuration file names: relative to its
/// directory; for a file found in a scanned directory, inside it (an entry
/// that is absolute or climbs out with `..` is an error).
fn rule_dirs(
    found: &Found,
    entries: &[PathBuf],
    base: &Path,
    shown: &str,
    text: &str,
) -> Result<Vec<RuleDir>, Box<RuleError>> {
    let mut rules = Vec::new();
    for r in entries {
        rules.push(match found {
            Found::Explicit(_) => {
                RuleDir::Trusted(if r.is_absolute() { r.clone() } else { base.join(r) })
            }
            Found::Found { dir, .. } => RuleDir::InRoot {
                root: dir.clone(),
                dir: crate::source::Root::inside(r).ok_or_else(|| {
                    let entry = r.to_string_lossy();
                    Box::new(RuleError::config(
                        shown,
                        text,
                        at(
                            text,
                            &entry,
                            format!(
                                "rules: `{}` is outside {}, the directory of this configuration file: a configuration file found in a scanned directory may only name rule directories inside it (name others with --rules, or pass the file with --config)",
                                crate::escape::bounded(&entry, 200),
                                crate::escape::path(dir)
                            ),
                        ),
                    ))
                })?,
            },
        });
    }
    Ok(rules)
}

/// A rebinding address (`--bind-address`, `bind-address:`): a non-loopback
/// IPv4 or IPv6 address, or the unspecified one (`0.0.0.0`, `::`).
pub(crate) fn bind_address(s: &str) -> Result<String, String> {
    let bare = s.trim_start_matches('[').trim_end_matches(']');
    let ip = bare.parse::<std::net::IpAddr>().map_err(|_| {
        format!("`{s}` is not an IP address (e.g. 0.0.0.0, ::, or the node's address)")
    })?;
    // Rebinding is how a component becomes reachable from Prometheus: a
    // loopback address (or a multicast one) would leave it unreachable
    // while the fix reported success.
    if ip.is_loopback() {
        return Err(format!(
            "`{s}` is a loopback address: rebinding to it leaves the component unreachable from other hosts; use 0.0.0.0, :: or the node's address"
        ));
    }
    if ip.is_multicast() {
        return Err(format!(
            "`{s}` is a multicast address, not one a server can listen on"
        ));
    }
    Ok(bare.to_owned())
}

/// `path` without `.` components and with `..` applied, as text (no
/// symlinks are followed).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Whether a `per-path-ignores` pattern names a file. The pattern is matched
/// against the path as reports show it (the in-image path, or the path in
/// the scanned directory), and, for a file on this machine, against its
/// path relative to the configuration file's directory (`base`), or its
/// absolute path when the pattern is absolute. `./` prefixes do not count.
pub(crate) fn path_matches(
    pattern: &str,
    shown: &str,
    host: Option<&Path>,
    base: Option<&Path>,
) -> bool {
    let mut shown = shown;
    while let Some(rest) = shown.strip_prefix("./") {
        shown = rest;
    }
    if glob_match(pattern, shown) {
        return true;
    }
    let Some(host) = host.and_then(|h| std::path::absolute(h).ok()) else {
        return false;
    };
    let host = lexical(&host);
    if pattern.starts_with('/') {
        return glob_match(pattern, &host.to_string_lossy());
    }
    base.and_then(|b| host.strip_prefix(b).ok())
        .is_some_and(|rel| glob_match(pattern, &rel.to_string_lossy()))
}

fn at(text: &str, needle: &str, message: String) -> crate::data::DataError {
    let span = text.find(needle).map_or(0..0, |i| i..i + needle.len());
    crate::data::DataError { message, span }
}

/// Shell wildcard matching of one name: `*` and `?`.
pub(crate) fn wildcard(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Glob matching on `/`-separated paths: `*` and `?` within a segment,
/// `**` for any number of segments.
pub(crate) fn glob_match(pattern: &str, path: &str) -> bool {
    fn segs(p: &[&str], s: &[&str]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(&"**"), _) => segs(&p[1..], s) || (!s.is_empty() && segs(p, &s[1..])),
            (Some(pp), Some(ss)) => wildcard(pp, ss) && segs(&p[1..], &s[1..]),
            _ => false,
        }
    }
    let mut pattern = pattern;
    while let Some(rest) = pattern.strip_prefix("./") {
        pattern = rest;
    }
    let p: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let s: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    segs(&p, &s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match(
            "etc/kubernetes/manifests/*",
            "etc/kubernetes/manifests/etcd.yaml"
        ));
        assert!(!glob_match(
            "etc/kubernetes/manifests/*",
            "etc/kubernetes/manifests/x/etcd.yaml"
        ));
        assert!(glob_match("**/*.yaml", "a/b/c.yaml"));
        assert!(glob_match("**/kubelet", "etc/default/kubelet"));
        assert!(glob_match(
            "clusters/*/kubeadm.yaml",
            "clusters/prod/kubeadm.yaml"
        ));
        assert!(!glob_match("*.yaml", "a/b.yaml"));
        assert!(glob_match("././a/*.yaml", "a/b.yaml"));
    }

    #[test]
    fn per_path_patterns_match_relative_dotted_and_absolute_paths() {
        let base = Path::new("/repo");
        let host = Path::new("/repo/clusters/prod/cluster.yaml");
        // The path as given on the command line, with or without `./`.
        for shown in ["clusters/prod/cluster.yaml", "./clusters/prod/cluster.yaml"] {
            assert!(path_matches(
                "clusters/*/cluster.yaml",
                shown,
                Some(host),
                Some(base)
            ));
            assert!(path_matches("./clusters/**", shown, Some(host), Some(base)));
        }
        // An absolute path given on the command line: relative to the
        // configuration file's directory.
        let shown = "/repo/clusters/prod/cluster.yaml";
        assert!(path_matches(
            "clusters/*/cluster.yaml",
            shown,
            Some(host),
            Some(base)
        ));
        // An absolute pattern.
        assert!(path_matches(
            "/repo/clusters/**",
            "cluster.yaml",
            Some(host),
            Some(base)
        ));
        assert!(!path_matches(
            "/other/**",
            "cluster.yaml",
            Some(host),
            Some(base)
        ));
        // A file outside the configuration's directory is matched by its
        // shown path only.
        assert!(!path_matches(
            "clusters/**",
            "x.yaml",
            Some(Path::new("/elsewhere/x.yaml")),
            Some(base)
        ));
        // In-image paths of a rootfs.
        assert!(path_matches(
            "etc/kubernetes/manifests/*",
            "etc/kubernetes/manifests/etcd.yaml",
            Some(Path::new(
                "/repo/images/rootfs/etc/kubernetes/manifests/etcd.yaml"
            )),
            Some(base)
        ));
        assert!(path_matches(
            "images/rootfs/etc/**",
            "etc/kubernetes/manifests/etcd.yaml",
            Some(Path::new(
                "/repo/images/./rootfs/etc/kubernetes/manifests/etcd.yaml"
            )),
            Some(base)
        ));
    }

    #[test]
    fn config_files_are_validated() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(FILE_NAME);
        std::fs::write(
            &f,
            "ignore: [PR010]\nfail-on: error\nrules: [extra]\nkubernetes-version: v1.29.3\n",
        )
        .unwrap();
        let s = load(Some(&f), &[]).unwrap();
        assert_eq!(s.ignore, ["PR010"]);
        assert_eq!(s.fail_on, FailOn::Error);
        assert_eq!(s.rules, [RuleDir::Trusted(dir.path().join("extra"))]);
        assert_eq!(
            s.kubernetes_version.map(|v| v.to_string()).as_deref(),
            Some("1.29.3")
        );
        std::fs::write(&f, "ignores: [PR010]\n").unwrap();
        let e = load(Some(&f), &[]).unwrap_err().to_string();
        assert!(e.contains("unknown field `ignores`"), "{e}");
        std::fs::write(&f, "fail-on: sometimes\n").unwrap();
        assert!(load(Some(&f), &[]).is_err());
        for bad in ["::1", "127.0.0.1", "localhost", "224.0.0.1"] {
            std::fs::write(&f, format!("bind-address: \"{bad}\"\n")).unwrap();
            let e = load(Some(&f), &[]).unwrap_err().to_string();
            assert!(e.contains(bad), "{bad}: {e}");
        }
        std::fs::write(&f, "bind-address: \"[::]\"\n").unwrap();
        assert_eq!(
            load(Some(&f), &[]).unwrap().bind_address.as_deref(),
            Some("::")
        );
    }

    #[test]
    fn config_files_are_found_upwards_to_the_repository_root() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        let file = repo.join("nodes/etc/default/kubelet");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "KUBELET_EXTRA_ARGS=\n").unwrap();
        std::fs::create_dir(repo.join(".git")).unwrap();
        // Above the repository root: not used.
        std::fs::write(dir.path().join(FILE_NAME), "kubernetes-version: \"1.20\"\n").unwrap();
        assert!(
            load(None, std::slice::from_ref(&file))
                .unwrap()
                .kubernetes_version
                .is_none()
        );
        std::fs::write(
            repo.join(".promready.yml"),
            "kubernetes-version: \"1.22\"\n",
        )
        .unwrap();
        let found = load(None, std::slice::from_ref(&file)).unwrap();
        assert_eq!(
            found.kubernetes_version.map(|v| v.to_string()).as_deref(),
            Some("1.22")
        );
        // The nearest file wins, and `.yaml` before `.yml`.
        std::fs::write(
            repo.join("nodes/.promready.yaml"),
            "kubernetes-version: \"1.23\"\n",
        )
        .unwrap();
        std::fs::write(
            repo.join("nodes/.promready.yml"),
            "kubernetes-version: \"1.24\"\n",
        )
        .unwrap();
        let found = load(None, std::slice::from_ref(&file)).unwrap();
        assert_eq!(
            found.kubernetes_version.map(|v| v.to_string()).as_deref(),
            Some("1.23")
        );
    }
}
