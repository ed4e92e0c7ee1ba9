//! The scan pipeline: input → source → discovery → model → rules → findings.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::archive::{self, TarIndex, TarTree};
use crate::config::path_matches;
use crate::discover::{self, repo, version};
use crate::finding::Finding;
use crate::model::{ComponentSpec, Invocation, Version, VersionInfo};
use crate::rules::{ForEach, Rule, Subject, evaluate};
use crate::source::{self, DirTree, FileDb, Image, InputError, Notice, Overlay};
use crate::span::FileId;
use crate::target::{InputKind, Target};

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

/// Whether a directory looks like an unpacked root filesystem.
pub(crate) fn is_rootfs(dir: &Path) -> bool {
    dir.join("etc").is_dir() && (dir.join("usr").is_dir() || dir.join("var").is_dir())
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
    crate::budget::start();
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
        match over_budget(p, scanned) {
            Ok(mut t) => {
                evaluate_all(&mut t, components, rules, opts);
                out.targets.push(t);
            }
            Err(e) => out.errors.push(e),
        }
    }
    if !named.is_empty()
        && let Some(t) = scan_files(&named, components, opts, &mut out.errors)
    {
        match over_budget(&t.input.clone(), Ok(t)) {
            Ok(mut t) => {
                evaluate_all(&mut t, components, rules, opts);
                out.targets.push(t);
            }
            Err(e) => out.errors.push(e),
        }
    }
    crate::budget::finish();
    out
}

/// The scan of an input, or the budget it went over (see `source::budget`).
fn over_budget(input: &Path, scanned: Result<Target, InputError>) -> Result<Target, InputError> {
    match crate::budget::take_exceeded() {
        Some(message) => Err(InputError::Budget {
            path: input.to_path_buf(),
            message,
        }),
        None => scanned,
    }
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
    let meta = std::fs::metadata(p).map_err(|e| InputError::io(p, e))?;
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
    if let Some(compression) = archive::detect(p).map_err(|e| InputError::io(p, e))? {
        return Ok(Input::Archive(compression));
    }
    let head = read_head(p).map_err(|e| InputError::io(p, e))?;
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
    let tree =
        DirTree::open(input, Arc::clone(&opts.overlay)).map_err(|e| InputError::io(input, e))?;
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

fn scan_directory(
    input: &Path,
    components: &BTreeMap<String, ComponentSpec>,
    opts: &Options,
) -> Result<Target, InputError> {
    let source::ConfigFiles {
        files,
        ids,
        mut notices,
        ..
    } = source::read_directory(input, &opts.overlay)?;
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
    let (read, first) = source::read_named(paths, &opts.overlay, errors);
    let source::ConfigFiles {
        files,
        ids,
        mut notices,
        mut skipped,
    } = read;
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
            codes.iter().any(|c| f.is_of(c))
                && path_matches(glob, &file.path, host, opts.config_dir.as_deref())
        })
    });
    crate::rules::apply_suppressions(&t.files, &mut findings, rules);
    t.findings = findings;
}
