//! In-process entry points for the fuzz targets in `ci/fuzz/`: not part of
//! promready's interface, hidden from its documentation, and free to change.
//!
//! Each entry point scans bytes held in memory the way the command line
//! scans what it is given (an image is an in-memory [`MemTree`], resolved by
//! the same code as a directory or an archive), renders every report
//! format, then applies the fixes the findings suggest round by round, each
//! followed by a scan of the result, as `fix` does. Rules and component
//! settings are loaded once per process. Nothing touches the disk: a named
//! file lives in a `memfd`.

use std::collections::{BTreeMap, HashSet};
use std::io::Write as _;
use std::os::fd::AsRawFd as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::model::ComponentSpec;
use crate::report::{self, human};
use crate::rules::Rule;
use crate::scan::{self, InputKind, Options, Scanned, Target};
use crate::source::{FileDb, MemTree, Overlay};

/// Rounds of fixes applied at most (`fix` itself stops at 64): each is a
/// scan more; one round exercises planning, editing and reading the result.
const MAX_ROUNDS: usize = 1;

/// What scanning the bytes produced.
#[derive(Debug, Default)]
pub struct Report {
    /// 0 (no finding), 1 (findings) or 2 (an input error), as `scan` exits.
    pub status: u8,
    pub json: String,
    pub sarif: String,
    pub human: String,
    pub concise: String,
    pub github: String,
    /// The input errors, as standard error shows them.
    pub errors: String,
    /// Rounds in which a fix changed something.
    pub fix_rounds: usize,
    /// The JSON report of the last scan after the fixes (empty when there
    /// was nothing to fix).
    pub fixed_json: String,
    /// Each changed file as reports name it, with its text after the fixes.
    pub fixed: Vec<(String, String)>,
}

struct Loaded {
    components: BTreeMap<String, ComponentSpec>,
    rules: Vec<Rule>,
}

fn loaded() -> &'static Loaded {
    static LOADED: OnceLock<Loaded> = OnceLock::new();
    LOADED.get_or_init(|| {
        let (components, rules) =
            crate::load_rules(&[]).unwrap_or_else(|_| panic!("the built-in rules load"));
        Loaded { components, rules }
    })
}

/// Where host paths of in-memory inputs start (nothing exists there).
const ROOT: &str = "/promready-fuzz";

/// Scans an image made of `files` (in-image path and bytes) and `links`
/// (in-image path and symlink target).
#[must_use]
pub fn image(files: &[(&str, &[u8])], links: &[(&str, &str)]) -> Report {
    let l = loaded();
    let input = Path::new(ROOT);
    exercise(l, |overlay| {
        let mut tree = MemTree::new(ROOT).with_overlay(Arc::clone(&overlay));
        for (path, bytes) in files {
            tree = tree.file(path, *bytes);
        }
        for (path, target) in links {
            tree = tree.symlink(path, target);
        }
        let opts = Options {
            overlay,
            ..Options::default()
        };
        let mut out = Scanned::default();
        match scan::scan_image(
            input,
            crate::source::Image::new(Box::new(tree)),
            &l.components,
            &opts,
        ) {
            Ok(mut t) => {
                scan::evaluate_all(&mut t, &l.components, &l.rules, &opts);
                out.targets.push(t);
            }
            Err(e) => out.errors.push(e),
        }
        out
    })
}

/// Scans a configuration directory holding `files` (relative path and
/// bytes), as `scan DIR` reads a kubeadm configuration repository.
#[must_use]
pub fn directory(files: &[(&str, &[u8])]) -> Report {
    let l = loaded();
    exercise(l, |overlay| {
        let opts = Options {
            overlay: Arc::clone(&overlay),
            ..Options::default()
        };
        let mut db = FileDb::default();
        let mut ids = Vec::new();
        for (path, bytes) in files {
            let host = Path::new(ROOT).join(path);
            let bytes = overlay.get(&host).map_or(*bytes, Vec::as_slice);
            // Binary files are not configuration (as the directory walk has it).
            if bytes.len() as u64 > crate::source::MAX_FILE_SIZE
                || bytes.iter().take(8192).any(|&b| b == 0)
            {
                continue;
            }
            ids.push(db.add((*path).to_owned(), None, bytes, host));
        }
        let mut notices = Vec::new();
        let found = crate::discover::repo::discover(&db, &ids, &l.components, None, &mut notices);
        let mut t = Target {
            input: PathBuf::from(ROOT),
            kind: InputKind::Directory,
            files: db,
            notices,
            skipped: Vec::new(),
            version: found.version,
            invocations: found.invocations,
            findings: Vec::new(),
        };
        scan::evaluate_all(&mut t, &l.components, &l.rules, &opts);
        Scanned {
            targets: vec![t],
            errors: Vec::new(),
        }
    })
}

/// Scans `bytes` as a file named on the command line: configuration, a
/// rootfs tarball (`.tar`, `.tar.gz`, `.tar.zst`, by its magic bytes) or a
/// format promready refuses. The file is a `memfd`, named by its
/// `/proc/self/fd` path.
#[must_use]
pub fn named_file(bytes: &[u8]) -> Report {
    let l = loaded();
    let fd = rustix::fs::memfd_create("promready-fuzz", rustix::fs::MemfdFlags::CLOEXEC)
        .expect("memfd_create");
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes).expect("write to a memfd");
    let path = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    let report = exercise(l, |overlay| {
        let opts = Options {
            overlay,
            ..Options::default()
        };
        scan::scan_inputs(std::slice::from_ref(&path), &l.components, &l.rules, &opts)
    });
    drop(file);
    report
}

/// Renders every format for `scanned`, then fixes round by round.
fn exercise(l: &Loaded, scan: impl Fn(Arc<Overlay>) -> Scanned) -> Report {
    let scanned = scan(Arc::default());
    let mut report = render(&scanned, &l.rules);
    if !scanned.errors.is_empty() {
        return report;
    }
    let mut overlay = Overlay::new();
    let mut last = scanned;
    let mut originals: BTreeMap<PathBuf, String> = BTreeMap::new();
    while report.fix_rounds < MAX_ROUNDS {
        let mut touched: HashSet<PathBuf> = HashSet::new();
        for t in &last.targets {
            for f in t.findings.iter().filter(|f| f.suppressed.is_none()) {
                // One fix per file per round, as `fix` applies them.
                let mut by_file: BTreeMap<_, Vec<_>> = BTreeMap::new();
                for e in &f.suggestion {
                    by_file.entry(e.file).or_default().push(e);
                }
                let hosts: Vec<PathBuf> = by_file
                    .keys()
                    .map(|&id| t.files.get(id).host.clone())
                    .collect();
                if hosts.is_empty() || hosts.iter().any(|h| touched.contains(h)) {
                    continue;
                }
                for (id, edits) in by_file {
                    let file = t.files.get(id);
                    // Overlapping edits: `fix` reports them and moves on.
                    let Some(new) = crate::fix::edit::apply(&file.text, &edits) else {
                        continue;
                    };
                    originals
                        .entry(file.host.clone())
                        .or_insert_with(|| file.path.clone());
                    overlay.insert(file.host.clone(), new.into_bytes());
                    touched.insert(file.host.clone());
                }
            }
        }
        if touched.is_empty() {
            break;
        }
        report.fix_rounds += 1;
        last = scan(Arc::new(overlay.clone()));
        report.fixed_json = report::json::render(&run(&last));
        if !last.errors.is_empty() {
            break;
        }
    }
    report.fixed = originals
        .into_iter()
        .filter_map(|(host, path)| {
            let bytes = overlay.get(&host)?;
            Some((path, String::from_utf8_lossy(bytes).into_owned()))
        })
        .collect();
    report
}

fn run(scanned: &Scanned) -> report::Run<'_> {
    report::Run {
        targets: &scanned.targets,
        errors: &scanned.errors,
        verbose: true,
    }
}

fn render(scanned: &Scanned, rules: &[Rule]) -> Report {
    let status = if scanned.errors.is_empty() {
        crate::status_for(&scanned.targets, crate::config::FailOn::Warning)
    } else {
        crate::EXIT_ERROR
    };
    let run = run(scanned);
    // The SARIF log describes every rule, the same for every input: only
    // the rules with a finding are described here, which keeps a run fast
    // and still exercises each result's rule reference.
    let found: Vec<Rule> = rules
        .iter()
        .filter(|r| {
            scanned
                .targets
                .iter()
                .flat_map(|t| &t.findings)
                .any(|f| f.code == r.code)
        })
        .cloned()
        .collect();
    Report {
        status,
        json: report::json::render(&run),
        sarif: report::sarif::render(&run, &found, status),
        human: human::render(
            &run,
            human::Style {
                color: false,
                width: 100,
            },
        ),
        concise: report::concise::render(&run),
        github: report::github::render(&run),
        errors: scanned
            .errors
            .iter()
            .map(|e| crate::render_error(e, crate::Terminal::PLAIN))
            .collect(),
        ..Report::default()
    }
}
