//! A systemd service as systemd would start it from an image.
//!
//! Unit search path and drop-in merging (systemd.unit(5)), `Environment=`,
//! `EnvironmentFile=` and `UnsetEnvironment=` (systemd.exec(5)),
//! `ExecStart=` and its variable expansion (systemd.service(5)), following
//! systemd's own source where the man pages are silent.

use std::collections::{BTreeMap, HashMap};

pub(crate) use crate::model::Problem;
use crate::parse::envfile;
use crate::parse::flags::Word;
use crate::parse::unit::{self, Entry};
use crate::parse::words::{self, Mode, SplitError};
use crate::source::{FileDb, Image, InputError, Loaded};
use crate::span::{FileId, Loc};
use crate::text::Cooked;

/// System unit directories, highest priority first. `/run` is a tmpfs on a
/// running system, but an image may still carry it.
pub(crate) const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system.control",
    "/run/systemd/system.control",
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
];

/// The value of an environment variable.
#[derive(Debug, Clone)]
pub(crate) struct EnvValue {
    pub(crate) value: Cooked,
}

/// A service's start command after merging its unit and drop-ins.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    /// Unit file, drop-ins and environment files in the order they apply.
    pub(crate) files: Vec<FileId>,
    /// The executable word of `ExecStart=`.
    pub(crate) exec: Word,
    /// Arguments after expansion.
    pub(crate) args: Vec<Word>,
    /// `WorkingDirectory=`, against which relative paths resolve.
    pub(crate) working_directory: String,
    /// The names of the variables set in the process's environment.
    pub(crate) env: Vec<String>,
    /// The values of those variables.
    pub(crate) vars: HashMap<String, String>,
    /// The same values with the bytes they were written as.
    pub(crate) cooked: HashMap<String, Cooked>,
    /// Required environment files that are not in the image: something
    /// writes them at boot, so the command line is not fully known.
    pub(crate) written_at_boot: Vec<String>,
    /// Why systemd refuses to load the unit's command line, if it does
    /// (the command line is then empty).
    pub(crate) refused: Option<Problem>,
}

/// The `[Service]` settings of a unit and its drop-ins, merged in order.
#[derive(Debug, Default)]
pub(crate) struct Merged {
    pub(crate) env: HashMap<String, EnvValue>,
    /// `EnvironmentFile=` paths and whether each is optional (`-`).
    pub(crate) env_files: Vec<(Cooked, bool)>,
    pub(crate) unset: Vec<String>,
    pub(crate) exec: Option<Entry>,
    pub(crate) exec_count: usize,
    pub(crate) working_directory: Option<String>,
    pub(crate) problems: Vec<Problem>,
}

/// Merges the `[Service]` sections of `files` (unit first, then drop-ins).
pub(crate) fn merge(db: &FileDb, files: &[FileId]) -> Merged {
    let mut m = Merged::default();
    // A file named twice (a drop-in linked under two names) is parsed and
    // applied once, where it applies last: every later setting it makes
    // overrides, and what it appends is deduplicated keeping the last
    // occurrence anyway (environment files below, names to unset). Only
    // its `ExecStart=` commands count each time (unless it resets them).
    let mut last: HashMap<FileId, (usize, usize)> = HashMap::new();
    for (i, &id) in files.iter().enumerate() {
        let e = last.entry(id).or_insert((i, 0));
        *e = (i, e.1 + 1);
    }
    for (i, &id) in files.iter().enumerate() {
        let (at, times) = last[&id];
        if at != i {
            continue;
        }
        let text = &db.get(id).text;
        let entries: Vec<Entry> = unit::parse(id, text)
            .into_iter()
            .filter(|e| e.section == "Service")
            .collect();
        // Their values are held with their origins (see `budget`).
        let cooked = entries.iter().map(|e| e.value.len()).sum();
        if !crate::budget::hold_cooked(cooked, &db.get(id).path) {
            continue;
        }
        let commands = |empty: bool| {
            entries
                .iter()
                .filter(|e| e.key == "ExecStart" && e.value.is_empty() == empty)
                .count()
        };
        if commands(true) == 0 {
            m.exec_count += commands(false) * (times - 1);
        }
        for e in entries {
            match e.key.as_str() {
                "Environment" if e.value.is_empty() => m.env.clear(),
                "Environment" => environment(&mut m, &e),
                "EnvironmentFile" if e.value.is_empty() => m.env_files.clear(),
                "EnvironmentFile" => {
                    let (optional, path) = match e.value.as_str().strip_prefix('-') {
                        Some(_) => (true, e.value.slice(1..e.value.len())),
                        None => (false, e.value.clone()),
                    };
                    if path.as_str().starts_with('/') {
                        m.env_files.push((path, optional));
                    } else {
                        m.problems.push(Problem {
                            loc: e.value.loc(),
                            message:
                                "EnvironmentFile= needs an absolute path; systemd ignores this one"
                                    .to_owned(),
                        });
                    }
                }
                "UnsetEnvironment" if e.value.is_empty() => m.unset.clear(),
                "UnsetEnvironment" => {
                    m.unset.extend(
                        words::split(&e.value, Mode::Environ)
                            .words
                            .iter()
                            .map(|w| w.as_str().to_owned()),
                    );
                }
                "WorkingDirectory" => {
                    let dir = e.value.as_str().trim_start_matches('-');
                    m.working_directory = dir.starts_with('/').then(|| dir.to_owned());
                }
                "ExecStart" if e.value.is_empty() => {
                    m.exec = None;
                    m.exec_count = 0;
                }
                "ExecStart" => {
                    m.exec_count += 1;
                    m.exec = Some(e);
                }
                _ => {}
            }
        }
    }
    m
}

/// Applies one `Environment=` line.
fn environment(m: &mut Merged, e: &Entry) {
    let split = words::split(&e.value, Mode::Environ);
    if split.error.is_some() {
        m.problems.push(Problem {
            loc: e.value.loc(),
            message:
                "invalid quoting or escape in Environment=: systemd ignores the rest of this line"
                    .to_owned(),
        });
    }
    for w in split.words {
        let w = specifiers(&w, &mut m.problems);
        if envfile::is_env_name(w.as_str()) {
            m.problems.push(Problem {
                loc: w.loc().or_else(|| e.value.loc()),
                message: format!(
                    "Environment={} has no `=`: systemd ignores the assignment, so {} is not set",
                    w.as_str(),
                    w.as_str()
                ),
            });
        }
        if let Some(eq) = w.as_str().find('=') {
            let name = &w.as_str()[..eq];
            if envfile::is_env_name(name) {
                m.env.insert(
                    name.to_owned(),
                    EnvValue {
                        value: w.slice(eq + 1..w.len()),
                    },
                );
            }
        }
    }
}

/// Applies `UnsetEnvironment=` (names, or exact `NAME=value` pairs).
fn unset(env: &mut HashMap<String, EnvValue>, names: &[String]) {
    for n in names {
        match n.split_once('=') {
            Some((name, value)) => {
                if env.get(name).is_some_and(|v| v.value.as_str() == value) {
                    env.remove(name);
                }
            }
            None => {
                env.remove(n);
            }
        }
    }
}

/// Unit specifiers: `%%` is a percent sign; others (`%H`, `%n`, …) depend
/// on the running system and are left as written, with a problem noted.
fn specifiers(word: &Cooked, problems: &mut Vec<Problem>) -> Cooked {
    let text = word.as_str();
    if !text.contains('%') {
        return word.clone();
    }
    let mut out = Cooked::new();
    let mut at = 0;
    while at < text.len() {
        let here = text[at..].chars().next().unwrap_or('%');
        if here == '%' {
            match text[at + 1..].chars().next() {
                Some('%') => {
                    out.push_cooked(&word.slice(at..at + 1));
                    at += 2;
                    continue;
                }
                Some(letter) if letter.is_ascii_alphabetic() => problems.push(Problem {
                    loc: word.loc_of(at..at + 2),
                    message: format!("unit specifier %{letter} depends on the running system; it is not expanded here"),
                }),
                _ => {}
            }
        }
        out.push_cooked(&word.slice(at..at + here.len_utf8()));
        at += here.len_utf8();
    }
    out
}

/// The specifiers of an `EnvironmentFile=` path that name the unit
/// itself (systemd.unit(5)): `%n` the full name, `%N` without the type
/// suffix, `%p` the prefix (before `@`), `%%` a percent sign. The RKE2
/// units read `/usr/local/lib/systemd/system/%N.env`.
fn name_specifiers(path: &str, unit: &str) -> String {
    let stem = unit.rsplit_once('.').map_or(unit, |(s, _)| s);
    let prefix = stem.split_once('@').map_or(stem, |(p, _)| p);
    let mut out = String::with_capacity(path.len());
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push_str(unit),
            Some('N') => out.push_str(stem),
            Some('p') => out.push_str(prefix),
            Some('%') | None => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
        }
    }
    out
}

/// Loads `name` (e.g. `kubelet.service`) from the image. `None` when the
/// image has no such unit, when it is masked, or when it cannot start.
/// The variables' values as plain strings.
fn values(env: &HashMap<String, EnvValue>) -> HashMap<String, String> {
    env.iter()
        .map(|(k, v)| (k.clone(), v.value.as_str().to_owned()))
        .collect()
}

pub(crate) fn load_service(image: &mut Image, name: &str) -> Result<Option<Service>, InputError> {
    let Some(unit) = find_unit(image, name)? else {
        return Ok(None);
    };
    let mut files = vec![unit];
    files.extend(find_dropins(image, name)?);
    let mut merged = merge(&image.files, &files);
    let unit_path = image.files.get(unit).path.clone();
    let Some(exec) = merged.exec.take() else {
        image.notice(
            &unit_path,
            format!("{name} has no ExecStart=; it cannot be started"),
        );
        return Ok(None);
    };
    if merged.exec_count > 1 {
        image.notice(
            &unit_path,
            format!("{name} has {} ExecStart= commands; systemd refuses more than one for this service type (the last is used)", merged.exec_count),
        );
    }

    // Settings from environment files override Environment=, whatever the order.
    let mut written_at_boot = Vec::new();
    // Each file once, where it applies last (a file named by many
    // `EnvironmentFile=` lines is parsed once): a later file overrides an
    // earlier one, so only its last place counts.
    let mut env_files: Vec<(FileId, String)> = Vec::new();
    for (pattern, optional) in std::mem::take(&mut merged.env_files) {
        let pattern = name_specifiers(pattern.as_str(), name);
        let paths = glob(image, &pattern)?;
        let mut loaded = false;
        for path in paths {
            if let Loaded::File(id) = image.load(&path)? {
                loaded = true;
                env_files.retain(|(seen, _)| *seen != id);
                env_files.push((id, path));
            }
        }
        if !loaded && !optional {
            image.notice(
                &pattern,
                format!("{name} needs EnvironmentFile={pattern} (no `-`), which is not in the image: the image relies on something writing it at boot (nodeadm, a bootstrap script), and systemd refuses to start the service until then; the variables it sets are unknown, so no finding rests on a default of this command"),
            );
            written_at_boot.push(pattern);
        }
    }
    apply_env_files(image, env_files, &mut merged, &mut files);
    unset(&mut merged.env, &merged.unset);

    let mut problems = merged.problems;
    let mut refused = None;
    let line = match command_line(&exec.value, &merged.env, &mut problems) {
        Ok(l) => Some(l),
        Err(message) => {
            // The service still exists, and a finding says why it cannot
            // start (PR012); its command line is unknown.
            refused = Some(Problem {
                loc: exec.value.loc(),
                message,
            });
            None
        }
    };
    for p in problems {
        let path = p.loc.as_ref().map_or_else(
            || unit_path.clone(),
            |l| image.files.get(l.file).path.clone(),
        );
        let at = p
            .loc
            .as_ref()
            .map(|l| image.files.get(l.file).line_col(l.span.start).0);
        let message = match at {
            Some(line) => format!("line {line}: {}", p.message),
            None => p.message,
        };
        image.notice(&path, message);
    }
    let (exec, args) = match line {
        Some(l) => l,
        None => (
            Word {
                text: Cooked::new(),
                via: exec.value.loc(),
            },
            Vec::new(),
        ),
    };
    let mut env: Vec<String> = merged.env.keys().cloned().collect();
    env.sort();
    Ok(Some(Service {
        vars: values(&merged.env),
        // Moved, not copied: values with their origins are the largest
        // thing a unit holds.
        cooked: merged.env.into_iter().map(|(k, v)| (k, v.value)).collect(),
        refused,
        written_at_boot,
        env,
        files,
        exec,
        args,
        working_directory: merged.working_directory.unwrap_or_else(|| "/".to_owned()),
    }))
}

/// Applies environment files, each once, in order (later files override).
fn apply_env_files(
    image: &mut Image,
    env_files: Vec<(FileId, String)>,
    merged: &mut Merged,
    files: &mut Vec<FileId>,
) {
    for (id, path) in env_files {
        files.push(id);
        let text = &image.files.get(id).text;
        let assignments = envfile::parse(id, text);
        let cooked = assignments.iter().map(|a| a.value.len()).sum();
        if !crate::budget::hold_cooked(cooked, &image.files.get(id).path) {
            continue;
        }
        for a in assignments {
            merged.env.insert(a.name, EnvValue { value: a.value });
        }
        let continued = envfile::continued_comments(text);
        for line in continued {
            image.notice(
                &path,
                format!("line {line}: a comment ending in `\\` swallows the next line before systemd 254 but not from 254 on; this scan follows systemd 253 and older"),
            );
        }
    }
}

/// In-image paths matching an `EnvironmentFile=` glob (`*`, `?`), sorted.
fn glob(image: &mut Image, pattern: &str) -> Result<Vec<String>, InputError> {
    if !pattern.contains(['*', '?', '[']) {
        return Ok(vec![pattern.to_owned()]);
    }
    let (dir, file) = pattern.rsplit_once('/').unwrap_or(("", pattern));
    if dir.contains(['*', '?', '[']) {
        // Globs in directory names are rare in units; match files only.
        return Ok(Vec::new());
    }
    let mut out: Vec<String> = image
        .list_dir(if dir.is_empty() { "/" } else { dir })?
        .into_iter()
        .filter(|n| !n.starts_with('.') && crate::config::wildcard(file, n))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    out.sort();
    Ok(out)
}

/// The unit file from the highest-priority directory that has it, or `None`
/// when there is none or it is masked.
fn find_unit(image: &mut Image, name: &str) -> Result<Option<FileId>, InputError> {
    for dir in UNIT_DIRS {
        let path = format!("{dir}/{name}");
        match image.load(&path)? {
            Loaded::Missing | Loaded::Skipped => {}
            Loaded::DevNull => {
                image.notice(
                    &path,
                    format!("{name} is masked (linked to /dev/null): it is never started"),
                );
                return Ok(None);
            }
            Loaded::File(id) => {
                if image.files.get(id).text.is_empty() {
                    image.notice(
                        &path,
                        format!("{name} is masked (empty unit file): it is never started"),
                    );
                    return Ok(None);
                }
                return Ok(Some(id));
            }
        }
    }
    Ok(None)
}

/// Drop-ins that apply, in the order they apply: `*.conf` from every
/// `name.d/` (and the type-wide `service.d/`), a file in a higher-priority
/// directory masking a same-named one below it, then sorted by file name
/// regardless of directory. Hidden files are skipped, as systemd does.
fn find_dropins(image: &mut Image, name: &str) -> Result<Vec<FileId>, InputError> {
    let type_dir = name.rsplit_once('.').map(|(_, t)| format!("{t}.d"));
    // Name-specific directories outrank type-wide ones.
    let mut dirs: Vec<String> = UNIT_DIRS.iter().map(|d| format!("{d}/{name}.d")).collect();
    if let Some(t) = type_dir {
        dirs.extend(UNIT_DIRS.iter().map(|d| format!("{d}/{t}")));
    }
    let mut chosen: BTreeMap<String, String> = BTreeMap::new();
    for dir in &dirs {
        for file in image.list_dir(dir)? {
            if file.ends_with(".conf") && !file.starts_with('.') {
                chosen
                    .entry(file.clone())
                    .or_insert_with(|| format!("{dir}/{file}"));
            }
        }
    }
    let mut out = Vec::new();
    for path in chosen.into_values() {
        match image.load(&path)? {
            Loaded::File(id) if !image.files.get(id).text.is_empty() => out.push(id),
            _ => {}
        }
    }
    Ok(out)
}

/// Splits an `ExecStart=` value and expands environment variables.
/// Returns the executable word and the arguments, or why systemd would not
/// load the unit.
pub(crate) fn command_line(
    value: &Cooked,
    env: &HashMap<String, EnvValue>,
    problems: &mut Vec<Problem>,
) -> Result<(Word, Vec<Word>), String> {
    let split = words::split(value, Mode::Exec);
    if split.error == Some(SplitError::UnbalancedQuote) {
        return Err(
            "unbalanced quoting in ExecStart=: systemd refuses to load the unit".to_owned(),
        );
    }
    let mut all = split.words;
    // Only a bare `;` separates commands; the service runs the first.
    if let Some(&end) = split.separators.first() {
        problems.push(Problem {
            loc: all[end].loc(),
            message: "ExecStart= holds several commands; only Type=oneshot services may (the first is used)".to_owned(),
        });
        all.truncate(end);
    }
    let mut it = all.into_iter().map(|w| specifiers(&w, problems));
    let Some(first) = it.next() else {
        return Err("empty ExecStart= command".to_owned());
    };
    let (prefix_len, flags) = prefixes(first.as_str());
    let expand = !flags.contains(':');
    let exec = first.slice(prefix_len..first.len());
    if flags.contains('@') {
        // `@` puts argv[0] in the next word; it is not a flag.
        it.next();
    }
    let words: Vec<Cooked> = it.collect();
    // The size of the expanded command line, counted before it is built:
    // one variable referenced many times would otherwise cost its size
    // (and 12 bytes of origin per byte) each time.
    let size = words.iter().fold(0usize, |n, w| {
        n.saturating_add(if expand {
            expanded_len(w, env)
        } else {
            w.len()
        })
    });
    if size > crate::budget::MAX_COMMAND_LINE {
        let why = format!(
            "ExecStart= expands to {size} bytes, over the {}-byte limit for a command line",
            crate::budget::MAX_COMMAND_LINE
        );
        crate::budget::exceeded(why.clone());
        return Err(why);
    }
    let mut args = Vec::new();
    for w in words {
        if expand {
            expand_word(&w, env, &mut args);
        } else {
            args.push(Word { text: w, via: None });
        }
    }
    Ok((
        Word {
            text: exec,
            via: None,
        },
        args,
    ))
}

/// The `ExecStart=` prefixes (`@`, `-`, `:`, `+`, `!`, `!!`, `|`), each at
/// most once: their length and the set.
fn prefixes(word: &str) -> (usize, String) {
    let mut seen = String::new();
    let mut len = 0;
    let bytes = word.as_bytes();
    while len < bytes.len() {
        let c = bytes[len] as char;
        if word[len..].starts_with("!!") && !seen.contains('!') {
            seen.push('!');
            len += 2;
        } else if "@-:+!|".contains(c) && !seen.contains(c) {
            seen.push(c);
            len += 1;
        } else {
            break;
        }
    }
    (len, seen)
}

/// `$NAME` as a whole word splits the value into words (an unset or invalid
/// name gives none); `${NAME}` inside a word is replaced by the value as is
/// (unset: empty); `$$` is a dollar. `${NAME:-x}` is not supported by
/// systemd on command lines and stays as written.
fn expand_word(w: &Cooked, env: &HashMap<String, EnvValue>, out: &mut Vec<Word>) {
    let s = w.as_str();
    if let Some(name) = s.strip_prefix('$').filter(|n| !n.starts_with(['{', '$'])) {
        if let Some(v) = env.get(name) {
            for part in words::split(&v.value, Mode::Value).words {
                out.push(Word {
                    text: part,
                    via: w.loc(),
                });
            }
        }
        return;
    }
    if !s.contains('$') {
        out.push(Word {
            text: w.clone(),
            via: None,
        });
        return;
    }
    let mut cooked = Cooked::new();
    let mut substituted = false;
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        if rest.starts_with("$$") {
            cooked.push_cooked(&w.slice(i..i + 1));
            i += 2;
            continue;
        }
        if let Some(inner) = rest.strip_prefix("${")
            && let Some(close) = inner.find('}')
            && envfile::is_env_name(&inner[..close])
        {
            if let Some(v) = env.get(&inner[..close]) {
                cooked.push_cooked(&v.value);
            }
            substituted = true;
            i += 2 + close + 1;
            continue;
        }
        let c = rest.chars().next().map_or(1, char::len_utf8);
        cooked.push_cooked(&w.slice(i..i + c));
        i += c;
    }
    out.push(Word {
        text: cooked,
        via: substituted.then(|| w.loc()).flatten(),
    });
}

/// The length of a word once [`expand_word`] expands it (an upper bound:
/// a whole-word `$NAME` counts its value's length).
fn expanded_len(w: &Cooked, env: &HashMap<String, EnvValue>) -> usize {
    let s = w.as_str();
    if let Some(name) = s.strip_prefix('$').filter(|n| !n.starts_with(['{', '$'])) {
        return env.get(name).map_or(0, |v| v.value.len());
    }
    let mut n = s.len();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        let inner = &rest[i + 2..];
        match inner.find('}') {
            Some(close) => {
                if let Some(v) = env.get(&inner[..close]) {
                    n = n.saturating_add(v.value.len());
                }
                rest = &inner[close + 1..];
            }
            None => break,
        }
    }
    n
}

/// Where an expanded word can be shown: its own bytes, else the reference.
pub(crate) fn word_loc(w: &Word) -> Option<Loc> {
    w.text.loc().or_else(|| w.via.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, EnvValue> {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    (*k).to_owned(),
                    EnvValue {
                        value: Cooked::verbatim(FileId::TEST, v, 0..v.len()),
                    },
                )
            })
            .collect()
    }

    fn run(line: &str, e: &HashMap<String, EnvValue>) -> (String, Vec<String>) {
        let c = Cooked::verbatim(FileId::TEST, line, 0..line.len());
        let (exec, args) = command_line(&c, e, &mut Vec::new()).unwrap();
        (
            exec.text.as_str().to_owned(),
            args.iter().map(|w| w.text.as_str().to_owned()).collect(),
        )
    }

    #[test]
    fn expansion_follows_systemd() {
        let e = env(&[("A", "--x=1 '--y=2 3'"), ("B", "")]);
        assert_eq!(run("/usr/bin/kubelet $A", &e).1, ["--x=1", "--y=2 3"]);
        assert_eq!(run("/usr/bin/kubelet ${A}", &e).1, ["--x=1 '--y=2 3'"]);
        assert_eq!(run("/usr/bin/kubelet $B $UNSET --z=$$5", &e).1, ["--z=$5"]);
        assert_eq!(run("/usr/bin/kubelet ${B}", &e).1, [""]);
        assert_eq!(
            run("-:/usr/bin/kubelet $A", &e),
            ("/usr/bin/kubelet".into(), vec!["$A".into()])
        );
        assert_eq!(
            run("@/usr/bin/kubelet kubelet --a ; /bin/true", &e).1,
            ["--a"]
        );
        // An invalid name after `$` yields no argument at all.
        assert_eq!(run("/usr/bin/kubelet $A-extra --b", &e).1, ["--b"]);
        // Extended forms are not supported on command lines.
        assert_eq!(run("/usr/bin/kubelet --p=${P:-0}", &e).1, ["--p=${P:-0}"]);
        assert_eq!(run("/usr/bin/kubelet --x=10%%", &e).1, ["--x=10%"]);
    }

    #[test]
    fn environment_file_paths_take_the_unit_names() {
        let got = |p: &str, u: &str| name_specifiers(p, u);
        assert_eq!(
            got(
                "/usr/local/lib/systemd/system/%N.env",
                "rke2-server.service"
            ),
            "/usr/local/lib/systemd/system/rke2-server.env"
        );
        assert_eq!(got("/etc/%p/%n", "a@b.service"), "/etc/a/a@b.service");
        assert_eq!(got("/etc/100%%/%H", "x.service"), "/etc/100%/%H");
    }

    #[test]
    fn prefixes_appear_once_each() {
        assert_eq!(prefixes("-:/usr/bin/x"), (2, "-:".to_owned()));
        assert_eq!(prefixes("!!/usr/bin/x"), (2, "!".to_owned()));
        assert_eq!(prefixes("--/usr/bin/x"), (1, "-".to_owned()));
        assert_eq!(prefixes("|/usr/bin/x"), (1, "|".to_owned()));
    }

    #[test]
    fn unbalanced_quotes_stop_the_unit() {
        let c = Cooked::verbatim(FileId::TEST, "/usr/bin/kubelet \"--a", 0..21);
        assert!(command_line(&c, &HashMap::new(), &mut Vec::new()).is_err());
    }

    #[test]
    fn wildcards() {
        use crate::config::wildcard;
        assert!(wildcard("*.env", "kubelet.env"));
        assert!(wildcard("k?be*", "kube"));
        assert!(!wildcard("*.env", "kubelet.conf"));
    }

    #[test]
    fn unset_environment_removes_names_and_pairs() {
        let mut e = env(&[("A", "1"), ("B", "2"), ("C", "3")]);
        unset(
            &mut e,
            &["A".to_owned(), "B=9".to_owned(), "C=3".to_owned()],
        );
        let mut left: Vec<&String> = e.keys().collect();
        left.sort();
        assert_eq!(left, ["B"]);
    }
}
