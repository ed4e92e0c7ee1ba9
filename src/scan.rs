//! The scan pipeline: input → source → discovery → model → rules → findings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::discover::{kubelet, version};
use crate::finding::Finding;
use crate::model::{ComponentSpec, Invocation, Version, VersionInfo};
use crate::rules::{Rule, Subject, evaluate};
use crate::source::{DirTree, Image, InputError};

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    /// Overrides version detection.
    pub(crate) kubernetes_version: Option<Version>,
}

/// One scanned input.
pub(crate) struct Target {
    /// The path as given on the command line.
    pub(crate) input: PathBuf,
    pub(crate) image: Image,
    pub(crate) version: Option<VersionInfo>,
    pub(crate) invocations: Vec<Invocation>,
    pub(crate) findings: Vec<Finding>,
}

/// Whether a directory looks like an unpacked root filesystem.
pub(crate) fn is_rootfs(dir: &Path) -> bool {
    dir.join("etc").is_dir() && (dir.join("usr").is_dir() || dir.join("var").is_dir())
}

/// Scans one input path.
pub(crate) fn scan_path(
    input: &Path,
    components: &BTreeMap<String, ComponentSpec>,
    rules: &[Rule],
    opts: &Options,
) -> Result<Target, InputError> {
    let meta = std::fs::metadata(input).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => InputError::Missing {
            path: input.to_path_buf(),
        },
        _ => InputError::Io {
            path: input.to_path_buf(),
            source,
        },
    })?;
    if !meta.is_dir() {
        return Err(InputError::NotScannable {
            path: input.to_path_buf(),
        });
    }
    if !is_rootfs(input) {
        return Err(InputError::NotRootfs {
            path: input.to_path_buf(),
        });
    }
    let tree = DirTree::open(input).map_err(|source| InputError::Io {
        path: input.to_path_buf(),
        source,
    })?;
    let mut image = Image::new(Box::new(tree));
    let version = match opts.kubernetes_version {
        Some(v) => Some(VersionInfo {
            version: v,
            source: "--kubernetes-version".to_owned(),
        }),
        None => version::detect(&mut image)?,
    };
    let mut invocations = Vec::new();
    if let Some(spec) = components.get("kubelet") {
        invocations.extend(kubelet::discover(&mut image, spec)?);
    }
    let mut findings = Vec::new();
    for inv in &invocations {
        let subject = Subject {
            invocation: inv,
            version: version.as_ref().map(|v| v.version),
            files: &image.files,
        };
        findings.extend(rules.iter().filter_map(|r| evaluate(r, &subject)));
    }
    findings.sort_by(|a, b| {
        let key = |f: &Finding| {
            let file = image.files.get(f.primary.loc.file);
            (file.path.clone(), f.primary.loc.span.start, f.code.clone())
        };
        key(a).cmp(&key(b))
    });
    Ok(Target {
        input: input.to_path_buf(),
        image,
        version,
        invocations,
        findings,
    })
}
