//! In-process entry points for the fuzz targets in `ci/fuzz/`: not part of
//! promready's interface, hidden from its documentation, and free to change.
//!
//! Each entry point scans bytes held in memory the way the command line
//! scans what it is given (an image is an in-memory [`MemTree`], resolved by
//! the same code as a directory or an archive), renders the report formats
//! asked for ([`Formats`]), then applies the fixes the findings suggest round by round, each
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
use crate::scan::{self, Options, Scanned};
use crate::source::{FileDb, MemTree, Overlay};
use crate::target::{InputKind, Target};

/// Rounds of fixes applied at most (`fix` itself stops at 64): each is a
/// scan more; one round exercises planning, editing and reading the result.
const MAX_ROUNDS: usize = 1;

/// The report formats a run renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formats {
    All,
    Json,
    Sarif,
    Human,
    Concise,
    Github,
}

impl Formats {
    /// One format, chosen by a hash of `data`: a fuzz target renders one
    /// report per input (rendering all five took most of a run's time),
    /// and its corpus of inputs covers every format.
    #[must_use]
    pub fn one_for(data: &[u8]) -> Self {
        // FNV-1a.
        let hash = data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        [
            Self::Json,
            Self::Sarif,
            Self::Human,
            Self::Concise,
            Self::Github,
        ][(hash % 5) as usize]
    }

    fn has(self, format: Self) -> bool {
        self == Self::All || self == format
    }
}

/// What scanning the bytes produced; a report not asked for is empty.
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
    /// The report of the last scan after the fixes, in the one format
    /// asked for (JSON for [`Formats::All`]); empty when there was nothing
    /// to fix.
    pub fixed_report: String,
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
            crate::cli::load_rules(&[]).unwrap_or_else(|_| panic!("the built-in rules load"));
        Loaded { components, rules }
    })
}

/// Where host paths of in-memory inputs start (nothing exists there).
const ROOT: &str = "/promready-fuzz";

/// Scans an image made of `files` (in-image path and bytes) and `links`
/// (in-image path and symlink target).
#[must_use]
pub fn image(files: &[(&str, &[u8])], links: &[(&str, &str)], formats: Formats) -> Report {
    let l = loaded();
    let input = Path::new(ROOT);
    exercise(l, formats, |overlay| {
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
pub fn directory(files: &[(&str, &[u8])], formats: Formats) -> Report {
    let l = loaded();
    exercise(l, formats, |overlay| {
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
pub fn named_file(bytes: &[u8], formats: Formats) -> Report {
    let l = loaded();
    let fd = rustix::fs::memfd_create("promready-fuzz", rustix::fs::MemfdFlags::CLOEXEC)
        .expect("memfd_create");
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes).expect("write to a memfd");
    let path = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    let report = exercise(l, formats, |overlay| {
        let opts = Options {
            overlay,
            ..Options::default()
        };
        scan::scan_inputs(std::slice::from_ref(&path), &l.components, &l.rules, &opts)
    });
    drop(file);
    report
}

/// Renders `formats` for `scanned`, then fixes round by round.
fn exercise(l: &Loaded, formats: Formats, scan: impl Fn(Arc<Overlay>) -> Scanned) -> Report {
    let scanned = scan(Arc::default());
    let mut report = render(&scanned, l, formats);
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
                let (Some(spec), Some(inv)) = (
                    l.components.get(&f.component),
                    t.invocations.get(f.invocation),
                ) else {
                    continue;
                };
                let rebind = crate::fix::plan::Rebind(crate::fix::DEFAULT_BIND);
                let Ok(planned) = crate::fix::plan::plan(&t.files, inv, f, spec, &rebind) else {
                    continue;
                };
                let mut by_file: BTreeMap<_, Vec<_>> = BTreeMap::new();
                for e in &planned.edits {
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
        let again = render(&last, l, formats);
        report.fixed_report = match formats {
            Formats::All | Formats::Json => again.json,
            Formats::Sarif => again.sarif,
            Formats::Human => again.human,
            Formats::Concise => again.concise,
            Formats::Github => again.github,
        };
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

fn render(scanned: &Scanned, l: &Loaded, formats: Formats) -> Report {
    let rules = &l.rules;
    let status = if scanned.errors.is_empty() {
        crate::cli::status_for(&scanned.targets, crate::config::FailOn::Warning)
    } else {
        crate::exit::EXIT_ERROR
    };
    let run = run(scanned);
    let when = |format: Formats, make: &dyn Fn() -> String| {
        if formats.has(format) {
            make()
        } else {
            String::new()
        }
    };
    let sarif = || {
        // The SARIF log describes every rule, the same for every input:
        // only the rules with a finding are described here, which keeps a
        // run fast and still exercises each result's rule reference.
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
        report::sarif::render(
            &run,
            &found,
            &report::sarif::Fixing {
                components: &l.components,
                bind_address: crate::fix::DEFAULT_BIND,
            },
            status,
        )
    };
    Report {
        status,
        json: when(Formats::Json, &|| report::json::render(&run)),
        sarif: when(Formats::Sarif, &sarif),
        human: when(Formats::Human, &|| {
            human::render(
                &run,
                human::Style {
                    color: false,
                    width: 100,
                },
            )
        }),
        concise: when(Formats::Concise, &|| report::concise::render(&run)),
        github: when(Formats::Github, &|| report::github::render(&run)),
        errors: scanned
            .errors
            .iter()
            .map(|e| crate::cli::render_error(e, crate::cli::Terminal::PLAIN))
            .collect(),
        ..Report::default()
    }
}

/// The bytes as the one file of a [`FileDb`] (invalid UTF-8 replaced, as a
/// scan reads it).
fn one_file(bytes: &[u8]) -> (FileDb, crate::span::FileId) {
    let mut db = FileDb::default();
    let id = db.add("fuzz".to_owned(), None, bytes, PathBuf::from(ROOT));
    (db, id)
}

/// Panics unless `loc` is a range of `text` on character boundaries: every
/// report slices the file's text with it.
fn check_loc(text: &str, loc: Option<&crate::span::Loc>, what: &str) {
    if let Some(l) = loc {
        check_span(text, &l.span, what);
    }
}

fn check_span(text: &str, r: &std::ops::Range<usize>, what: &str) {
    {
        assert!(
            r.start <= r.end
                && r.end <= text.len()
                && text.is_char_boundary(r.start)
                && text.is_char_boundary(r.end),
            "{what}: span {r:?} is not a range of the {}-byte text",
            text.len()
        );
    }
}

/// Splits a value into words as `mode` has it and parses them as a
/// component's flags (`--v` and `--anonymous-auth` as bools), checking every
/// span.
fn words_and_flags(text: &str, value: &crate::text::Cooked, mode: crate::parse::words::Mode) {
    use crate::parse::{flags, words};
    let split = words::split(value, mode);
    for w in &split.words {
        check_loc(text, w.loc().as_ref(), "word");
    }
    let args: Vec<flags::Word> = split
        .words
        .into_iter()
        .map(|text| flags::Word { text, via: None })
        .collect();
    let bools: std::collections::HashSet<String> =
        ["anonymous-auth", "v"].map(str::to_owned).into();
    let parsed = flags::parse(&args, &bools);
    for f in parsed.flags.iter().chain(&parsed.missing_value) {
        check_loc(text, f.loc.as_ref(), "flag");
        check_loc(text, f.value_loc.as_ref(), "flag value");
        let _ = parsed.last(&f.name);
    }
}

/// Parses `bytes` as a systemd unit or drop-in, splits every value as
/// `ExecStart=` and as `Environment=` would, and parses the words as flags;
/// every span must lie in the text. The parser alone, for speed.
pub fn unit_parser(bytes: &[u8]) {
    use crate::parse::words::Mode;
    let (db, id) = one_file(bytes);
    let text = &db.get(id).text;
    for e in crate::parse::unit::parse(id, text) {
        check_loc(text, e.value.loc().as_ref(), "unit value");
        for mode in [Mode::Exec, Mode::Environ] {
            words_and_flags(text, &e.value, mode);
        }
    }
}

/// Parses `bytes` as an environment file and splits each value as a `$VAR`
/// on a command line is split; every span must lie in the text.
pub fn envfile_parser(bytes: &[u8]) {
    let (db, id) = one_file(bytes);
    let text = &db.get(id).text;
    let _ = crate::parse::envfile::continued_comments(text);
    for a in crate::parse::envfile::parse(id, text) {
        check_loc(text, a.value.loc().as_ref(), "environment value");
        let _ = crate::parse::envfile::is_env_name(&a.name);
        words_and_flags(text, &a.value, crate::parse::words::Mode::Value);
    }
}

/// Parses `bytes` as YAML with Kubernetes' rules, reads every scalar's
/// value and each document's `apiVersion` and `kind`; every node's span
/// must lie in the text, and an error's offset too.
pub fn yaml_parser(bytes: &[u8]) {
    use crate::parse::yaml::{Kind, Node};
    fn walk(text: &str, node: &Node) {
        check_span(text, &node.span, "YAML node");
        match &node.kind {
            Kind::Scalar(s) => {
                let _ = s.value().to_flag_text();
            }
            Kind::Seq(items) => items.iter().for_each(|n| walk(text, n)),
            Kind::Map(entries) => {
                for (k, v) in entries {
                    walk(text, k);
                    walk(text, v);
                }
            }
        }
    }
    let text = String::from_utf8_lossy(bytes);
    match crate::parse::yaml::parse(&text) {
        Ok(docs) => {
            for d in &docs {
                let _ = d.type_meta();
                walk(&text, &d.root);
            }
        }
        Err(e) => assert!(
            e.offset <= text.len(),
            "YAML error offset {} past the end ({} bytes): {e}",
            e.offset,
            text.len()
        ),
    }
}
