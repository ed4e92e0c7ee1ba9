//! `promready fix`: apply the fixes of findings as minimal byte edits.
//!
//! Fixes are planned from each finding's provenance ([`plan`]), applied one
//! per file per round to an in-memory overlay, and checked by scanning
//! again: a fix whose finding does not go away, or that leaves a YAML file
//! unparsable, is reverted and reported. Rounds repeat until nothing is left
//! to fix, so applying fixes twice changes nothing the second time. Files
//! are written only at the end, atomically ([`write`]); a SIGINT or SIGTERM
//! then stops the writing between files, or inside one before its rename,
//! and the report says what was written ([`Interruption`]).

pub(crate) mod edit;
mod k3s;
pub(crate) mod plan;
mod verdict;
mod yaml_edit;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::finding::Finding;
use crate::finding::Safety;
use crate::model::ComponentSpec;
use crate::rules::Rule;
use crate::scan::{self, Options};
use crate::source::InputError;
use crate::target::{InputKind, Target};

/// What the user asked for.
pub(crate) struct FixOptions {
    pub(crate) unsafe_fixes: bool,
    /// The address used when rebinding off loopback.
    pub(crate) bind_address: String,
    /// Plan and show, but write nothing.
    pub(crate) dry_run: bool,
    /// For an archive: write the fixed archive here and leave the input as is.
    pub(crate) output: Option<PathBuf>,
}

/// A finding as the fix report names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Named {
    pub(crate) code: String,
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) line: usize,
}

/// A file the fixes change.
#[derive(Debug, Clone)]
pub(crate) struct Changed {
    /// The path as reports show it.
    pub(crate) path: String,
    pub(crate) before: String,
    pub(crate) after: String,
    /// The rules whose findings the change fixes.
    pub(crate) codes: Vec<String>,
    /// Where a durable fix belongs, for files a tool regenerates.
    pub(crate) note: Option<String>,
    /// Why the file could not be written, if it was not.
    pub(crate) error: Option<String>,
}

/// The outcome of `fix`.
pub(crate) struct FixReport {
    pub(crate) changed: Vec<Changed>,
    /// Fixes held back because they are unsafe, with the reason when it is
    /// more than the rule's own safety.
    pub(crate) held_back: Vec<(Named, Option<String>)>,
    /// Fixes that could not be made, and why.
    pub(crate) failed: Vec<(Named, String)>,
    /// Findings whose rule has no automatic fix.
    pub(crate) no_fix: Vec<Named>,
    /// Findings whose fix was not tried because fixing stopped at the
    /// round limit ([`MAX_ROUNDS`]); running `fix` again goes on.
    pub(crate) at_limit: Vec<Named>,
    /// The scan after the fixes.
    pub(crate) after: Vec<Target>,
    pub(crate) dry_run: bool,
    /// How many findings the changes fix.
    pub(crate) fixed: usize,
    /// A signal stopped the writing.
    pub(crate) interrupted: Option<Interruption>,
}

/// What a SIGINT or SIGTERM caught while writing left: each file (an
/// archive is one) is either written in full or as it was.
pub(crate) struct Interruption {
    pub(crate) signal: crate::interrupt::Interrupted,
    /// Files renamed into place before the signal, in the order written.
    pub(crate) written: Vec<String>,
    /// Files left as they were (the signal, or an error, stopped them).
    pub(crate) not_written: Vec<String>,
}

/// Which files a write phase wrote, and which not.
#[derive(Default)]
struct Progress {
    written: Vec<String>,
    not_written: Vec<String>,
}

/// The identity of a finding across rounds (lines move; tokens do not):
/// rule, file, deciding token, target and invocation (one file can hold
/// several invocations with the same token, as several documents).
type Key = (String, String, String, usize, usize);

fn key(t: &Target, tix: usize, f: &Finding) -> Key {
    let file = t.files.get(f.primary.loc.file);
    let token = file
        .text
        .get(f.primary.loc.span.clone())
        .unwrap_or("")
        .to_owned();
    (f.code.clone(), file.path.clone(), token, tix, f.invocation)
}

fn named(t: &Target, f: &Finding) -> Named {
    let file = t.files.get(f.primary.loc.file);
    Named {
        code: f.code.clone(),
        name: f.name.clone(),
        path: file.path.clone(),
        line: file.line_col(f.primary.loc.span.start).0,
    }
}

/// The address fixes bind to off loopback unless the user chose one.
pub(crate) const DEFAULT_BIND: &str = "0.0.0.0";

/// How many rounds of fixes one run makes at most: each round applies at
/// most one fix per file, then scans again.
pub(crate) const MAX_ROUNDS: usize = 64;

/// A file's original text and where it was read from.
struct Original {
    path: String,
    text: String,
    kind: InputKind,
    input: PathBuf,
}

/// A fix applied in the last round, to be checked by the next scan.
struct Pending {
    key: Key,
    named: Named,
    host: PathBuf,
    before: Option<Vec<u8>>,
}

/// The fixer's state across rounds.
#[derive(Default)]
struct Fixer {
    overlay: HashMap<PathBuf, Vec<u8>>,
    originals: HashMap<PathBuf, Original>,
    failed: HashMap<Key, (Named, String)>,
    codes: HashMap<PathBuf, Vec<String>>,
    pending: Vec<Pending>,
    fixed: HashSet<Key>,
    /// Fixes held back because the state they lead to is more exposed, and why.
    held: HashMap<Key, String>,
    /// Unsafe fixes tried (without `--unsafe-fixes`) to see whether they
    /// would be refused.
    tried: HashSet<Key>,
}

/// Scans the input again with an overlay of changed files.
type Rescan<'a> = dyn Fn(&HashMap<PathBuf, Vec<u8>>) -> Result<Vec<Target>, InputError> + 'a;

impl Fixer {
    /// Keeps last round's fixes whose findings are gone and reverts the
    /// others; true if anything was reverted.
    fn verify(&mut self, targets: &[Target]) -> bool {
        let present: HashSet<Key> = targets
            .iter()
            .enumerate()
            .flat_map(|(ti, t)| t.findings.iter().map(move |f| key(t, ti, f)))
            .collect();
        let mut reverted = false;
        for p in std::mem::take(&mut self.pending) {
            if present.contains(&p.key) {
                match p.before {
                    Some(b) => self.overlay.insert(p.host.clone(), b),
                    None => self.overlay.remove(&p.host),
                };
                if let Some(c) = self.codes.get_mut(&p.host) {
                    c.retain(|x| *x != p.key.0);
                }
                self.fixed.remove(&p.key);
                self.failed.insert(
                    p.key,
                    (
                        p.named,
                        "the change did not remove the finding, so it was reverted".to_owned(),
                    ),
                );
                reverted = true;
            } else {
                self.fixed.insert(p.key);
            }
        }
        reverted
    }

    /// Plans and applies at most one fix per file; true if any was applied.
    /// Each fix is first tried on a copy and judged on the state it leads
    /// to ([`verdict`]).
    fn round(
        &mut self,
        targets: &[Target],
        components: &BTreeMap<String, ComponentSpec>,
        rules: &[Rule],
        rescan: &Rescan<'_>,
        opts: &FixOptions,
    ) -> bool {
        let mut touched: HashSet<PathBuf> = HashSet::new();
        for (ti, t) in targets.iter().enumerate() {
            for f in &t.findings {
                let k = key(t, ti, f);
                // An unsafe fix without --unsafe-fixes is only tried, so
                // that one that would stop a component is reported as
                // refused rather than as waiting for the option.
                let allowed =
                    f.fix.as_ref().is_none_or(|x| x.safety != Safety::Unsafe) || opts.unsafe_fixes;
                if self.failed.contains_key(&k)
                    || f.fix.is_none()
                    || f.suppressed.is_some()
                    || (!allowed && self.tried.contains(&k))
                {
                    continue;
                }
                let (Some(spec), Some(inv)) = (
                    components.get(&f.component),
                    t.invocations.get(f.invocation),
                ) else {
                    continue;
                };
                let rebind = plan::Rebind(&opts.bind_address);
                let planned = match plan::plan(&t.files, inv, f, spec, &rebind) {
                    Ok(p) => p,
                    Err(reason) => {
                        if allowed {
                            self.failed.insert(k, (named(t, f), reason));
                        }
                        continue;
                    }
                };
                let hosts: HashSet<PathBuf> = planned
                    .edits
                    .iter()
                    .map(|e| t.files.get(e.file).host.clone())
                    .collect();
                if hosts.iter().any(|h| touched.contains(h)) {
                    continue; // next round
                }
                let mut trial = self.overlay.clone();
                let applied = try_fix(t, ti, &planned, &mut trial, components, rules, rescan);
                if !allowed {
                    self.tried.insert(k.clone());
                    if let Ok((_, verdict::Verdict::Breaks(why))) = applied {
                        self.failed.insert(
                            k,
                            (
                                named(t, f),
                                format!("refused, even with --unsafe-fixes: {why}"),
                            ),
                        );
                    }
                    continue;
                }
                let applied = match applied {
                    Ok((_, verdict::Verdict::Breaks(why))) => Err(format!("refused: {why}")),
                    Ok((_, verdict::Verdict::Exposes(why))) => {
                        // Held, even with --unsafe-fixes: nothing may end up
                        // more exposed. A later round may make it safe (once
                        // the finding it waits for is fixed).
                        self.held.insert(k, why);
                        continue;
                    }
                    Ok((staged, _)) => {
                        self.held.remove(&k);
                        self.overlay = trial;
                        Ok(staged)
                    }
                    Err(e) => Err(e),
                };
                match applied {
                    Ok(befores) => {
                        for (host, before) in befores {
                            let file = t
                                .files
                                .get(t.files.lookup_host(&host).unwrap_or(f.primary.loc.file));
                            self.originals
                                .entry(host.clone())
                                .or_insert_with(|| Original {
                                    path: file.path.clone(),
                                    text: file.text.clone(),
                                    kind: t.kind,
                                    input: t.input.clone(),
                                });
                            self.codes
                                .entry(host.clone())
                                .or_default()
                                .push(f.code.clone());
                            self.pending.push(Pending {
                                key: k.clone(),
                                named: named(t, f),
                                host: host.clone(),
                                before,
                            });
                            touched.insert(host);
                        }
                    }
                    Err(reason) => {
                        self.failed.insert(k, (named(t, f), reason));
                    }
                }
            }
        }
        !touched.is_empty()
    }

    /// Writes (unless dry-running) every file whose content changed; an
    /// archive is rewritten once with all its patched entries. SIGINT and
    /// SIGTERM are deferred meanwhile: once one is caught, the file being
    /// written is dropped unless it was renamed already, the rest are not
    /// written, and the interruption says which were.
    fn write(
        &self,
        opts: &FixOptions,
        base: &Options,
        components: &BTreeMap<String, ComponentSpec>,
    ) -> (Vec<Changed>, Option<Interruption>) {
        let mut hosts: Vec<&PathBuf> = self.overlay.keys().collect();
        hosts.sort();
        let deferred = (!opts.dry_run).then(crate::interrupt::defer);
        let mut progress = Progress::default();
        let archive_errors = if opts.dry_run {
            HashMap::new()
        } else {
            self.write_archives(opts, base, &mut progress)
        };
        let mut changed = Vec::new();
        for host in hosts {
            let bytes = &self.overlay[host];
            let Some(o) = self.originals.get(host) else {
                continue;
            };
            let after = String::from_utf8_lossy(bytes).into_owned();
            if after == o.text {
                continue;
            }
            let mut error = archive_errors.get(&o.input).cloned();
            if !opts.dry_run && o.kind != InputKind::Archive {
                let rel = host.strip_prefix(&o.input).unwrap_or(host);
                let place = match o.kind {
                    InputKind::Rootfs => crate::sink::Place::InRoot {
                        root: &o.input,
                        rel,
                    },
                    InputKind::Directory | InputKind::Files | InputKind::Archive => {
                        crate::sink::Place::Host(host)
                    }
                };
                match crate::sink::replace(&place, bytes) {
                    Ok(()) => progress.written.push(o.path.clone()),
                    Err(e) => {
                        error = Some(format!("not written: {e}"));
                        progress.not_written.push(o.path.clone());
                    }
                }
            }
            let mut codes = self.codes.get(host).cloned().unwrap_or_default();
            codes.sort();
            codes.dedup();
            changed.push(Changed {
                path: o.path.clone(),
                before: o.text.clone(),
                after,
                codes,
                note: matches!(o.kind, InputKind::Rootfs | InputKind::Archive)
                    .then(|| durable_note(components, &o.path))
                    .flatten(),
                error,
            });
        }
        // From here on a signal ends the process at once; one caught before
        // is the interruption.
        drop(deferred);
        let interrupted = crate::interrupt::caught().map(|signal| Interruption {
            signal,
            written: progress.written,
            not_written: progress.not_written,
        });
        (changed, interrupted)
    }

    /// Rewrites each archive with its patched entries; the errors by archive.
    fn write_archives(
        &self,
        opts: &FixOptions,
        base: &Options,
        progress: &mut Progress,
    ) -> HashMap<PathBuf, String> {
        let mut by_archive: BTreeMap<&PathBuf, HashMap<usize, Vec<u8>>> = BTreeMap::new();
        let mut errors = HashMap::new();
        for (host, bytes) in &self.overlay {
            let Some(o) = self
                .originals
                .get(host)
                .filter(|o| o.kind == InputKind::Archive)
            else {
                continue;
            };
            if o.text.as_bytes() == bytes.as_slice() {
                continue;
            }
            let index = base
                .archives
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(&o.input)
                .cloned();
            match index.and_then(|i| i.ordinal(&format!("/{}", o.path))) {
                Some(ordinal) => {
                    by_archive
                        .entry(&o.input)
                        .or_default()
                        .insert(ordinal, bytes.clone());
                }
                None => {
                    errors.insert(
                        o.input.clone(),
                        format!(
                            "not written: {} is not a regular entry of the archive",
                            o.path
                        ),
                    );
                }
            }
        }
        for (archive, patches) in by_archive {
            let output = opts.output.clone().unwrap_or_else(|| archive.clone());
            match crate::archive::rewrite(archive, &output, &patches) {
                Ok(()) => progress.written.push(output.display().to_string()),
                Err(e) => {
                    progress.not_written.push(output.display().to_string());
                    errors.insert(
                        archive.clone(),
                        format!("not written: {e}; {} is unchanged", archive.display()),
                    );
                }
            }
        }
        errors
    }
}

/// Fixes the findings of `paths`.
pub(crate) fn run(
    paths: &[PathBuf],
    components: &BTreeMap<String, ComponentSpec>,
    rules: &[Rule],
    base: &Options,
    opts: &FixOptions,
) -> Result<FixReport, InputError> {
    let mut fixer = Fixer::default();
    let mut rounds = 0;
    let mut at_limit = false;
    let targets = loop {
        let scan_opts = Options {
            overlay: Arc::new(fixer.overlay.clone()),
            ..base.clone()
        };
        let targets = scan::scan_paths(paths, components, rules, &scan_opts)?;
        if fixer.verify(&targets) {
            continue;
        }
        rounds += 1;
        let rescan = |overlay: &HashMap<PathBuf, Vec<u8>>| {
            let opts = Options {
                overlay: Arc::new(overlay.clone()),
                ..base.clone()
            };
            scan::scan_paths(paths, components, rules, &opts)
        };
        if rounds > MAX_ROUNDS {
            at_limit = true;
            break targets;
        }
        if !fixer.round(&targets, components, rules, &rescan, opts) {
            break targets;
        }
    };
    let (changed, interrupted) = fixer.write(opts, base, components);
    // A file that could not be written keeps its findings: the account is
    // then taken from what is on disk, not from the planned contents. An
    // interrupted run says what it wrote and stops.
    let targets = if interrupted.is_none() && changed.iter().any(|c| c.error.is_some()) {
        let on_disk = Options {
            overlay: Arc::default(),
            // Archives that were rewritten are indexed anew.
            archives: Arc::default(),
            ..base.clone()
        };
        match scan::scan_paths(paths, components, rules, &on_disk) {
            Ok(found) => {
                let present: HashSet<Key> = found
                    .iter()
                    .enumerate()
                    .flat_map(|(ti, t)| t.findings.iter().map(move |f| key(t, ti, f)))
                    .collect();
                fixer.fixed.retain(|k| !present.contains(k));
                found
            }
            Err(_) => targets,
        }
    } else {
        targets
    };
    let mut held_back = Vec::new();
    let mut failed = Vec::new();
    let mut no_fix = Vec::new();
    let mut left = Vec::new();
    let unwritten: HashSet<String> = changed
        .iter()
        .filter(|c| c.error.is_some())
        .map(|c| c.path.clone())
        .collect();
    for (ti, t) in targets.iter().enumerate() {
        for f in t.findings.iter().filter(|f| f.suppressed.is_none()) {
            let k = key(t, ti, f);
            if let Some((n, reason)) = fixer.failed.get(&k) {
                failed.push((n.clone(), reason.clone()));
            } else if let Some(fix) = f.fix.as_ref().filter(|x| x.safety == Safety::Unsafe)
                && !opts.unsafe_fixes
            {
                held_back.push((named(t, f), fix.held_because.clone()));
            } else if let Some(why) = fixer.held.get(&k) {
                held_back.push((named(t, f), Some(why.clone())));
            } else if f.fix.is_none() {
                no_fix.push(named(t, f));
            } else if unwritten.contains(&named(t, f).path) {
                failed.push((named(t, f), "its file could not be written".to_owned()));
            } else if at_limit {
                left.push(named(t, f));
            } else {
                failed.push((
                    named(t, f),
                    format!("still present when fixing stopped after {rounds} rounds"),
                ));
            }
        }
    }
    failed.sort();
    held_back.sort();
    no_fix.sort();
    left.sort();
    Ok(FixReport {
        changed,
        held_back,
        failed,
        no_fix,
        at_limit: left,
        after: targets,
        dry_run: opts.dry_run,
        fixed: fixer.fixed.len(),
        interrupted,
    })
}

/// Applies a planned fix to `trial` (a copy of the overlay) and judges the
/// state it leads to.
fn try_fix(
    t: &Target,
    ti: usize,
    planned: &plan::Plan,
    trial: &mut HashMap<PathBuf, Vec<u8>>,
    components: &BTreeMap<String, ComponentSpec>,
    rules: &[Rule],
    rescan: &Rescan<'_>,
) -> Result<(Staged, verdict::Verdict), String> {
    check_writable(t, planned)?;
    let staged = apply(t, planned, trial)?;
    let after = rescan(trial).map_err(|e| e.to_string())?;
    let verdict = after.get(ti).map_or(verdict::Verdict::Safe, |a| {
        verdict::judge(t, a, rules, components)
    });
    Ok((staged, verdict))
}

/// Refuses plans that touch files which cannot be replaced safely.
fn check_writable(t: &Target, planned: &plan::Plan) -> Result<(), String> {
    for e in &planned.edits {
        let file = t.files.get(e.file);
        let place = match t.kind {
            // The archive itself is replaced as a whole.
            InputKind::Archive => continue,
            InputKind::Rootfs => crate::sink::Place::InRoot {
                root: &t.input,
                rel: std::path::Path::new(file.path.as_str()),
            },
            InputKind::Directory | InputKind::Files => crate::sink::Place::Host(&file.host),
        };
        crate::sink::check(&place).map_err(|e| format!("{}: {e}", file.path))?;
    }
    Ok(())
}

/// Files a plan changed, each with its previous overlay content.
type Staged = Vec<(PathBuf, Option<Vec<u8>>)>;

/// Applies a plan to the overlay; returns each file's previous overlay
/// content. A YAML file that no longer parses is not changed.
fn apply(
    t: &Target,
    planned: &plan::Plan,
    overlay: &mut HashMap<PathBuf, Vec<u8>>,
) -> Result<Staged, String> {
    let mut by_file: BTreeMap<crate::span::FileId, Vec<&edit::Edit>> = BTreeMap::new();
    for e in &planned.edits {
        by_file.entry(e.file).or_default().push(e);
    }
    let mut staged = Vec::new();
    for (id, edits) in by_file {
        let file = t.files.get(id);
        let new = edit::apply(&file.text, &edits).ok_or("two edits of this fix overlap")?;
        let was_yaml = crate::parse::yaml::parse(&file.text)
            .is_ok_and(|d| d.iter().any(|d| d.type_meta().is_some()));
        if was_yaml && crate::parse::yaml::parse(&new).is_err() {
            return Err(format!(
                "the change would leave {} unparsable; edit it by hand",
                file.path
            ));
        }
        staged.push((file.host.clone(), new.into_bytes()));
    }
    Ok(staged
        .into_iter()
        .map(|(host, bytes)| {
            let before = overlay.insert(host.clone(), bytes);
            (host, before)
        })
        .collect())
}

/// Where the durable fix belongs, for files that are rewritten at boot or
/// by tools such as kubeadm (each component's `rewritten` files).
fn durable_note(components: &BTreeMap<String, ComponentSpec>, path: &str) -> Option<String> {
    components
        .values()
        .find_map(|c| c.rewritten_note(path))
        .map(str::to_owned)
}
