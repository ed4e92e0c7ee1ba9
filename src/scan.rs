//! The scan pipeline: input → source → discovery → model → rules → findings.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::archive::{self, TarIndex, TarTree};
use crate::config::path_matches;
use crate::discover::{self, repo, version};
use crate::finding::{Finding, Label};
use crate::model::{ComponentSpec, Invocation, Version, VersionInfo};
use crate::rules::{ForEach, Rule, Subject, evaluate};
use crate::source::{self, DirTree, FileDb, FileId, Image, InputError, Loc, Notice, Overlay};
use crate::suppress;

/// What the user asked for.
#[derive(Clone, Default)]
pub(crate) struct Options {
    /// Overrides version detection.
    pub(crate) kubernetes_version: Option<Version>,
    /// File contents to use instead of the disk's (host path → bytes).
    pub(crate) overlay: Arc<Overlay>,
    /// Path globs and the rules ignored there (from the configuration).
    pub(crate) per_path_ignores: Vec<(String, Vec<String>)>,
    /// The configuration file's directory, which those globs are relative to.
    pub(crate) config_dir: Option<PathBuf>,
    /// Archive indexes already built (a fix scans the same input again).
    pub(crate) archives: Arc<Mutex<HashMap<PathBuf, Arc<TarIndex>>>>,
}

/// What kind of input a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum InputKind {
    /// An unpacked root filesystem.
    Rootfs,
    /// A directory of configuration files (a kubeadm config repository).
    Directory,
    /// Files named on the command line.
    Files,
    /// A rootfs tarball (`.tar`, `.tar.gz`, `.tar.zst`).
    Archive,
}

/// One scanned input.
pub(crate) struct Target {
    /// The path as given on the command line (the first one, for named files).
    pub(crate) input: PathBuf,
    pub(crate) kind: InputKind,
    pub(crate) files: FileDb,
    pub(crate) notices: Vec<Notice>,
    /// Named files that hold no configuration promready reads (shown with
    /// `--verbose`; always in JSON and SARIF).
    pub(crate) skipped: Vec<Notice>,
    /// The version the input as a whole points at.
    pub(crate) version: Option<VersionInfo>,
    pub(crate) invocations: Vec<Invocation>,
    pub(crate) findings: Vec<Finding>,
}

/// Whether a directory looks like an unpacked root filesystem.
pub(crate) fn is_rootfs(dir: &Path) -> bool {
    dir.join("etc").is_dir() && (dir.join("usr").is_dir() || dir.join("var").is_dir())
}

fn io_error(path: &Path, source: std::io::Error) -> InputError {
    match source.kind() {
        std::io::ErrorKind::NotFound => InputError::Missing {
            path: path.to_path_buf(),
        },
        _ => InputError::Io {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// What a run scanned: the targets, and the inputs that could not be
/// scanned (each with its reason).
#[derive(Default)]
pub(crate) struct Scanned {
    pub(crate) targets: Vec<Target>,
    pub(crate) errors: Vec<InputError>,
}

/// What a path on the command line is.
enum Input {
    Rootfs,
    Directory,
    Archive(archive::Compression),
    /// A file read as configuration (or skipped with a note).
    Named,
}

/// Scans the command line's paths: each rootfs, directory or archive is a
/// target; named files together form one target. An input that cannot be
/// scanned is an error of its own and the others are still scanned, as
/// ruff does with a path it cannot read.
pub(crate) fn scan_inputs(
    paths: &[PathBuf],
    components: &BTreeMap<String, ComponentSpec>,
    rules: &[Rule],
    opts: &Options,
) -> Scanned {
    let mut out = Scanned::default();
    let mut named: Vec<PathBuf> = Vec::new();
    for p in paths {
        let scanned = match classify(p) {
            Ok(Input::Rootfs) => scan_rootfs(p, components, opts),
            Ok(Input::Directory) => scan_directory(p, components, opts),
            Ok(Input::Archive(compression)) => scan_archive(p, compression, components, opts),
            Ok(Input::Named) => {
                named.push(p.clone());
                continue;
            }
            Err(e) => Err(e),
        };
        match scanned {
            Ok(mut t) => {
                evaluate_all(&mut t, components, rules, opts);
                out.targets.push(t);
            }
            Err(e) => out.errors.push(e),
        }
    }
    if !named.is_empty()
        && let Some(mut t) = scan_files(&named, components, opts, &mut out.errors)
    {
        evaluate_all(&mut t, components, rules, opts);
        out.targets.push(t);
    }
    out
}

/// Scans the command line's paths, or fails on the first input that
/// cannot be scanned (`fix` changes nothing then).
pub(crate) fn scan_paths(
    paths: &[PathBuf],
    components: &BTreeMap<String, ComponentSpec>,
    rules: &[Rule],
    opts: &Options,
) -> Result<Vec<Target>, InputError> {
    let mut scanned = scan_inputs(paths, components, rules, opts);
    if scanned.errors.is_empty() {
        Ok(scanned.targets)
    } else {
        Err(scanned.errors.swap_remove(0))
    }
}

fn classify(p: &Path) -> Result<Input, InputError> {
    let meta = std::fs::metadata(p).map_err(|e| io_error(p, e))?;
    if meta.is_dir() {
        return Ok(if is_rootfs(p) {
            Input::Rootfs
        } else {
            Input::Directory
        });
    }
    if !meta.is_file() {
        return Err(InputError::NotScannable {
            path: p.to_path_buf(),
        });
    }
    if let Some(compression) = archive::detect(p).map_err(|e| io_error(p, e))? {
        return Ok(Input::Archive(compression));
    }
    let head = read_head(p).map_err(|e| io_error(p, e))?;
    if let Some(f) = foreign_format(&head) {
        return Err(InputError::Unsupported {
            path: p.to_path_buf(),
            format: f.name,
            help: f.help.to_owned(),
        });
    }
    if archive_name(p) {
        return Err(InputError::NotTar {
            path: p.to_path_buf(),
            reason: if head.is_empty() {
                "the file is empty"
            } else {
                "it does not start with a tar header"
            },
        });
    }
    Ok(Input::Named)
}

/// The first bytes of a file: enough for every magic number below.
fn read_head(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(HEAD);
    std::fs::File::open(path)?
        .take(HEAD as u64)
        .read_to_end(&mut head)?;
    Ok(head)
}

/// An ISO 9660 volume descriptor is at 32 KiB.
const HEAD: usize = 0x8006;

/// A format promready does not read, as its magic bytes tell.
struct Foreign {
    name: &'static str,
    help: &'static str,
}

const RECOMPRESS: &str = "promready reads rootfs archives as .tar, .tar.gz or .tar.zst (recognised by their content, not their name): recompress it (e.g. `xz -dc IMAGE.tar.xz | zstd -o IMAGE.tar.zst`), or unpack it and scan the directory";
const UNPACK: &str = "promready reads rootfs archives as .tar, .tar.gz or .tar.zst (recognised by their content, not their name): unpack it and scan the directory, or pack the root filesystem with `tar -C ROOTFS -cf IMAGE.tar .`";
const DISK: &str = "promready reads root filesystems, not disk images: mount the image's root file system read-only and scan the mount point, or export it as a tarball (e.g. `virt-tar-out -a IMAGE / rootfs.tar`) and scan that";

fn foreign_format(head: &[u8]) -> Option<Foreign> {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    // Weak magic numbers count only in binary data.
    let binary = head.iter().take(4096).any(|&b| b == 0);
    let (name, help) = if at(0, b"\xfd7zXZ\x00") {
        ("an xz-compressed file", RECOMPRESS)
    } else if at(0, b"BZh") && head.get(3).is_some_and(|b| (b'1'..=b'9').contains(b)) {
        ("a bzip2-compressed file", RECOMPRESS)
    } else if at(0, b"\x04\x22\x4d\x18") {
        ("an lz4-compressed file", RECOMPRESS)
    } else if at(0, b"LZIP") {
        ("an lzip-compressed file", RECOMPRESS)
    } else if at(0, b"\x1f\x9d") {
        ("a compress (.Z) file", RECOMPRESS)
    } else if at(0, b"PK\x03\x04") || at(0, b"PK\x05\x06") || at(0, b"PK\x07\x08") {
        ("a zip archive", UNPACK)
    } else if at(0, b"7z\xbc\xaf\x27\x1c") {
        ("a 7-Zip archive", UNPACK)
    } else if at(0, b"Rar!\x1a\x07") {
        ("a RAR archive", UNPACK)
    } else if binary && (at(0, b"070701") || at(0, b"070702") || at(0, b"070707")) {
        ("a cpio archive", UNPACK)
    } else if at(0, b"hsqs") || at(0, b"sqsh") {
        ("a SquashFS image", UNPACK)
    } else if at(0, b"QFI\xfb") {
        ("a QCOW2 disk image", DISK)
    } else if at(0, b"KDMV") || at(0, b"# Disk DescriptorFile") {
        ("a VMDK disk image", DISK)
    } else if at(0, b"vhdxfile") || at(0, b"conectix") {
        ("a VHD disk image", DISK)
    } else if at(0x8001, b"CD001") {
        ("an ISO 9660 image", DISK)
    } else if binary && at(1080, b"\x53\xef") {
        ("an ext2/3/4 file system image", DISK)
    } else if binary && at(510, b"\x55\xaa") {
        ("a disk image with a partition table", DISK)
    } else {
        return None;
    };
    Some(Foreign { name, help })
}

/// Whether a file's name says it is an archive or an image (so that a
/// file with that name which is not one is an error, not a skipped file).
fn archive_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    [
        ".tar", ".tgz", ".tzst", ".txz", ".tbz", ".tbz2", ".gz", ".zst", ".zstd", ".xz", ".bz2",
        ".lz4", ".zip", ".img", ".raw", ".qcow2", ".vmdk", ".iso",
    ]
    .iter()
    .any(|ext| name.ends_with(ext))
}

fn forced_version(opts: &Options) -> Option<VersionInfo> {
    opts.kubernetes_version.map(|v| VersionInfo {
        version: v,
        source: "--kubernetes-version".to_owned(),
    })
}

/// An archive read error as the user should see it.
fn archive_error(path: &Path, e: &std::io::Error) -> InputError {
    let message = match e.kind() {
        std::io::ErrorKind::UnexpectedEof => format!("{e} (truncated download?)"),
        _ => e.to_string(),
    };
    InputError::Archive {
        path: path.to_path_buf(),
        message,
    }
}

/// The index of an archive, built once per run.
pub(crate) fn archive_index(
    path: &Path,
    compression: archive::Compression,
    opts: &Options,
) -> Result<Arc<TarIndex>, InputError> {
    let mut cache = opts
        .archives
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(i) = cache.get(path) {
        return Ok(Arc::clone(i));
    }
    let index = Arc::new(TarIndex::open(path, compression).map_err(|e| archive_error(path, &e))?);
    cache.insert(path.to_path_buf(), Arc::clone(&index));
    Ok(index)
}

fn scan_archive(
    input: &Path,
    compression: archive::Compression,
    components: &BTreeMap<String, ComponentSpec>,
    opts: &Options,
) -> Result<Target, InputError> {
    let tree = TarTree {
        index: archive_index(input, compression, opts)?,
        overlay: Arc::clone(&opts.overlay),
    };
    let mut t = scan_image(input, Image::new(Box::new(tree)), components, opts)?;
    t.kind = InputKind::Archive;
    Ok(t)
}

fn scan_rootfs(
    input: &Path,
    components: &BTreeMap<String, ComponentSpec>,
    opts: &Options,
) -> Result<Target, InputError> {
    let tree = DirTree::open(input, Arc::clone(&opts.overlay)).map_err(|e| io_error(input, e))?;
    scan_image(input, Image::new(Box::new(tree)), components, opts)
}

/// Scans an image seen through any [`source::Tree`] (also an in-memory one).
pub(crate) fn scan_image(
    input: &Path,
    mut image: Image,
    components: &BTreeMap<String, ComponentSpec>,
    opts: &Options,
) -> Result<Target, InputError> {
    let version = match forced_version(opts) {
        Some(v) => Some(v),
        None => version::detect(&mut image)?,
    };
    let mut invocations = discover::image(&mut image, components, version.as_ref())?;
    if invocations.is_empty() && !holds_component(&mut image, components)? {
        return Err(not_a_node_image(input, &mut image)?);
    }
    if opts.kubernetes_version.is_some() {
        // The override applies to every component, image tags included.
        for inv in &mut invocations {
            inv.version.clone_from(&version);
        }
    }
    let (files, notices) = image.into_parts();
    Ok(Target {
        input: input.to_path_buf(),
        kind: InputKind::Rootfs,
        files,
        notices,
        skipped: Vec::new(),
        version,
        invocations,
        findings: Vec::new(),
    })
}

/// Where component binaries are installed.
const BIN_DIRS: &[&str] = &[
    "/usr/bin",
    "/usr/local/bin",
    "/bin",
    "/usr/sbin",
    "/sbin",
    "/opt/bin",
];

/// Whether an image in which discovery found nothing to judge still has a
/// component: a unit (even masked), a binary, or static pod manifests.
fn holds_component(
    image: &mut Image,
    components: &BTreeMap<String, ComponentSpec>,
) -> Result<bool, InputError> {
    let mut candidates = Vec::new();
    for spec in components.values() {
        for unit in &spec.systemd_units {
            candidates.extend(
                discover::systemd::UNIT_DIRS
                    .iter()
                    .map(|d| format!("{d}/{unit}")),
            );
        }
        for binary in &spec.binaries {
            candidates.extend(BIN_DIRS.iter().map(|d| format!("{d}/{binary}")));
        }
    }
    for path in candidates {
        if image
            .stat(&path)?
            .is_some_and(|r| r.node != source::Node::Missing || r.path == "/dev/null")
        {
            return Ok(true);
        }
    }
    Ok(!image
        .list_dir(discover::staticpod::KUBEADM_MANIFESTS)?
        .is_empty())
}

/// The error for an image without a component, with a hint when it is a
/// container image rather than a root filesystem.
fn not_a_node_image(input: &Path, image: &mut Image) -> Result<InputError, InputError> {
    let container = ["/oci-layout", "/manifest.json", "/index.json"]
        .iter()
        .any(|p| {
            image
                .stat(p)
                .ok()
                .flatten()
                .is_some_and(|r| matches!(r.node, source::Node::File { .. }))
        })
        && !image
            .stat("/etc")?
            .is_some_and(|r| r.node == source::Node::Dir);
    let hint = if container {
        "this looks like a container image (`docker save` or an OCI layout), not a root filesystem: scan the filesystem of a container made from it (`docker export`) or its unpacked layers"
    } else {
        "promready looks for kubelet.service (or another component's unit) in systemd's unit directories, component binaries in /usr/bin, /usr/local/bin, /bin and /opt/bin, and static pod manifests in /etc/kubernetes/manifests: point it at the root filesystem of the node image"
    };
    Ok(InputError::NotANodeImage {
        path: input.to_path_buf(),
        hint,
    })
}

/// The files that discovery used: those an invocation reads and those a
/// notice is about.
fn used_files(files: &FileDb, invocations: &[Invocation], notices: &[Notice]) -> Vec<FileId> {
    let mut used: Vec<FileId> = invocations
        .iter()
        .flat_map(|i| i.files.iter().copied().chain([i.start.file]))
        .chain(notices.iter().filter_map(|n| files.lookup(&n.path)))
        .collect();
    used.sort();
    used.dedup();
    used
}

/// Whether a path below `root` has a hidden component (the walk skips those).
fn hidden(path: &Path, root: &Path) -> bool {
    path.strip_prefix(root).is_ok_and(|rel| {
        rel.components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
    })
}

/// Reads a configuration file that the user pointed at (directly or in a
/// directory): regular files under the size cap that hold text.
fn read_config_file(path: &Path, overlay: &Overlay) -> Result<Option<Vec<u8>>, InputError> {
    if let Some(bytes) = overlay.get(path) {
        return Ok(Some(bytes.clone()));
    }
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
    if !meta.is_file() || meta.len() > source::MAX_FILE_SIZE {
        return Ok(None);
    }
    let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
    // Binary files are not configuration.
    if bytes.iter().take(8192).any(|&b| b == 0) {
        return Ok(None);
    }
    Ok(Some(bytes))
}

fn scan_directory(
    input: &Path,
    components: &BTreeMap<String, ComponentSpec>,
    opts: &Options,
) -> Result<Target, InputError> {
    let mut files = FileDb::default();
    let mut notices = Vec::new();
    let mut ids: Vec<FileId> = Vec::new();
    let root = input.canonicalize().map_err(|e| io_error(input, e))?;
    let walker = walkdir::WalkDir::new(input)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(input).to_path_buf();
            let source = e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("directory loop"));
            io_error(&path, source)
        })?;
        let path = entry.path();
        let shown = path
            .strip_prefix(input)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned();
        if entry.path_is_symlink() {
            // Follow a link only if it stays inside the scanned directory.
            match path.canonicalize() {
                // A link to a file that is scanned under its own name
                // would report the same findings twice.
                Ok(target)
                    if target.starts_with(&root) && target.is_file() && !hidden(&target, &root) =>
                {
                    continue;
                }
                Ok(target) if target.starts_with(&root) && target.is_file() => {}
                Ok(target) if !target.starts_with(&root) => {
                    notices.push(Notice {
                        path: shown,
                        message: "symlink leads outside the scanned directory; not followed"
                            .to_owned(),
                    });
                    continue;
                }
                _ => continue,
            }
        } else if !entry.file_type().is_file() {
            continue;
        }
        match read_config_file(path, &opts.overlay)? {
            Some(bytes) => ids.push(files.add(shown, None, &bytes, path.to_path_buf())),
            None if std::fs::metadata(path).is_ok_and(|m| m.len() > source::MAX_FILE_SIZE) => {
                notices.push(Notice {
                    path: shown,
                    message: format!(
                        "over the {}-byte limit for configuration files; skipped",
                        source::MAX_FILE_SIZE
                    ),
                });
            }
            None => {}
        }
    }
    let forced = forced_version(opts);
    let found = repo::discover(&files, &ids, components, forced.as_ref(), &mut notices);
    // A directory that gave nothing to judge and nothing to say is not
    // what the user meant to scan.
    if notices.is_empty() && used_files(&files, &found.invocations, &notices).is_empty() {
        return Err(InputError::NothingRecognised {
            path: input.to_path_buf(),
        });
    }
    Ok(Target {
        input: input.to_path_buf(),
        kind: InputKind::Directory,
        files,
        notices,
        skipped: Vec::new(),
        version: found.version,
        invocations: found.invocations,
        findings: Vec::new(),
    })
}

/// Scans the files named on the command line as one target; a file that
/// cannot be read is an error of its own. `None` when no file was read.
fn scan_files(
    paths: &[PathBuf],
    components: &BTreeMap<String, ComponentSpec>,
    opts: &Options,
    errors: &mut Vec<InputError>,
) -> Option<Target> {
    let mut files = FileDb::default();
    let mut notices = Vec::new();
    let mut skipped = Vec::new();
    let mut ids = Vec::new();
    let mut first = None;
    for p in paths {
        match read_config_file(p, &opts.overlay) {
            Ok(Some(bytes)) => ids.push(files.add(p.display().to_string(), None, &bytes, p.clone())),
            Ok(None) => match std::fs::metadata(p) {
                // It may be configuration: say so as a note.
                Ok(m) if m.len() > source::MAX_FILE_SIZE => notices.push(Notice {
                    path: p.display().to_string(),
                    message: format!(
                        "{} bytes is over the size limit for configuration files ({} bytes); skipped",
                        m.len(),
                        source::MAX_FILE_SIZE
                    ),
                }),
                _ => skipped.push(Notice {
                    path: p.display().to_string(),
                    message: "not a text file; skipped".to_owned(),
                }),
            },
            Err(e) => {
                errors.push(e);
                continue;
            }
        }
        first.get_or_insert_with(|| p.clone());
    }
    let input = first?;
    let forced = forced_version(opts);
    let found = repo::discover(&files, &ids, components, forced.as_ref(), &mut notices);
    let used = used_files(&files, &found.invocations, &notices);
    for &id in ids.iter().filter(|id| !used.contains(id)) {
        skipped.push(Notice {
            path: files.get(id).path.clone(),
            message: "holds no configuration promready reads (kubeadm, kubelet or kube-proxy configuration, a static pod, a systemd unit or a kubelet environment file); skipped".to_owned(),
        });
    }
    Some(Target {
        input,
        kind: InputKind::Files,
        files,
        notices,
        skipped,
        version: found.version,
        invocations: found.invocations,
        findings: Vec::new(),
    })
}

pub(crate) fn evaluate_all(
    t: &mut Target,
    components: &BTreeMap<String, ComponentSpec>,
    rules: &[Rule],
    opts: &Options,
) {
    // Problems that stop a component are findings of their own rule; when
    // that rule is not selected they stay notes.
    let start_rule = rules
        .iter()
        .any(|r| r.for_each == Some(ForEach::StartProblem));
    for inv in &t.invocations {
        let fallback = t.files.get(inv.start.file).path.clone();
        let problems = inv.problems.iter().filter(|_| !start_rule);
        for p in problems.chain(&inv.notes) {
            let n = repo::notice(&t.files, &fallback, p);
            if !t.notices.contains(&n) {
                t.notices.push(n);
            }
        }
    }
    let mut findings = Vec::new();
    for (index, inv) in t.invocations.iter().enumerate() {
        let Some(spec) = components.get(&inv.component) else {
            continue;
        };
        let subject = Subject {
            invocation: inv,
            spec,
            version: inv.version.as_ref().map(|v| v.version),
            files: &t.files,
        };
        if let Some(message) = crate::rules::window_note(&subject) {
            let n = Notice {
                path: t.files.get(inv.start.file).path.clone(),
                message,
            };
            if !t.notices.contains(&n) {
                t.notices.push(n);
            }
        }
        for r in rules {
            findings.extend(evaluate(r, &subject).into_iter().map(|mut f| {
                f.invocation = index;
                f
            }));
        }
    }
    // One finding per rule and token, even when two routes reach it.
    findings.sort_by(|a, b| {
        let key = |f: &Finding| {
            (
                t.files.get(f.primary.loc.file).path.clone(),
                f.primary.loc.span.start,
                f.code.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    findings.dedup_by(|a, b| a.code == b.code && a.primary.loc == b.primary.loc);
    // Per-path ignores from the configuration.
    findings.retain(|f| {
        let file = t.files.get(f.primary.loc.file);
        // An archive's entries have no path on this machine.
        let host = (t.kind != InputKind::Archive).then_some(file.host.as_path());
        !opts.per_path_ignores.iter().any(|(glob, codes)| {
            codes.iter().any(|c| names_rule(c, f))
                && path_matches(glob, &file.path, host, opts.config_dir.as_deref())
        })
    });
    apply_suppressions(t, &mut findings, rules);
    t.findings = findings;
    // The edits each fix would make, for reports that carry them.
    let planned: Vec<Vec<crate::fix::edit::Edit>> = t
        .findings
        .iter()
        .map(|f| {
            let spec = components.get(&f.component);
            match (f.fix.as_ref(), spec) {
                (Some(_), Some(spec)) => {
                    crate::fix::plan::plan(t, f, spec, &crate::fix::plan::Rebind("0.0.0.0"))
                        .map(|p| p.edits)
                        .unwrap_or_default()
                }
                _ => Vec::new(),
            }
        })
        .collect();
    for (f, edits) in t.findings.iter_mut().zip(planned) {
        f.suggestion = edits;
    }
}

/// Whether `reference` (a code in any case, or a name) names the finding's rule.
fn names_rule(reference: &str, f: &Finding) -> bool {
    reference.eq_ignore_ascii_case(&f.code) || reference == f.name
}

/// Marks findings that an inline comment suppresses, and reports comments
/// without a reason or without a finding.
fn apply_suppressions(t: &Target, findings: &mut Vec<Finding>, rules: &[Rule]) {
    let comments = suppress::comments(&t.files);
    let mut used = vec![false; comments.len()];
    for f in findings.iter_mut() {
        let file = t.files.get(f.primary.loc.file);
        let line = file.line_col(f.primary.loc.span.start).0;
        for (i, c) in comments.iter().enumerate() {
            let near = c.file == f.primary.loc.file && (c.line == line || c.line + 1 == line);
            if near && c.rules.iter().any(|r| names_rule(r, f)) {
                used[i] = true;
                f.suppressed = Some(if c.reason.is_empty() {
                    "no reason given".to_owned()
                } else {
                    c.reason.clone()
                });
            }
        }
    }
    let Some(rule) = rules
        .iter()
        .find(|r| r.for_each == Some(ForEach::SuppressionProblem))
    else {
        return;
    };
    for (i, c) in comments.iter().enumerate() {
        let which = c.rules.join(", ");
        let mut problems = Vec::new();
        if c.reason.is_empty() {
            problems.push(format!("the suppression of {which} gives no reason"));
        }
        if !used[i] {
            problems.push(format!(
                "the suppression of {which} matches no finding on its line or the next"
            ));
        }
        for problem in problems {
            let text = |t: &str| t.replace("{problem}", &problem);
            let message = rule
                .message
                .last()
                .map(|v| text(&v.text))
                .unwrap_or_default();
            let help = rule.help.last().map(|v| text(&v.text)).unwrap_or_default();
            let primary = Label {
                loc: Loc::new(c.file, c.span.clone()),
                text: problem.clone(),
            };
            findings.push(Finding::new(rule, "promready", message, help, primary));
        }
    }
}
