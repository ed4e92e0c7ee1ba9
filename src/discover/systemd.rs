//! A systemd service as systemd would start it from an image.
//!
//! Unit search path and drop-in merging (systemd.unit(5)), `Environment=`
//! and `EnvironmentFile=` (systemd.exec(5)), `ExecStart=` and its variable
//! expansion (systemd.service(5)).

use std::collections::{BTreeMap, HashMap};

use crate::parse::envfile;
use crate::parse::flags::Word;
use crate::parse::unit::{self, Entry};
use crate::parse::words::{self, Escapes};
use crate::source::{FileId, Image, InputError, Loaded, Loc};
use crate::text::Cooked;

/// System unit directories, highest priority first. `/run` is a tmpfs on a
/// running system, but an image may still carry it.
pub(crate) const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
];

/// The value of an environment variable and where it was assigned.
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
}

/// Loads `name` (e.g. `kubelet.service`) from the image. `None` when the
/// image has no such unit, when it is masked, or when it has no command.
pub(crate) fn load_service(image: &mut Image, name: &str) -> Result<Option<Service>, InputError> {
    let Some(unit) = find_unit(image, name)? else {
        return Ok(None);
    };
    let mut files = vec![unit];
    files.extend(find_dropins(image, name)?);

    let mut env: HashMap<String, EnvValue> = HashMap::new();
    let mut env_files: Vec<(Cooked, bool)> = Vec::new();
    let mut exec: Option<Entry> = None;
    let mut exec_count = 0;
    for &id in &files.clone() {
        let text = image.files.get(id).text.clone();
        for e in unit::parse(id, &text)
            .into_iter()
            .filter(|e| e.section == "Service")
        {
            match e.key.as_str() {
                "Environment" if e.value.is_empty() => env.clear(),
                "Environment" => {
                    for w in words::split(&e.value, Escapes::C) {
                        if let Some(eq) = w.as_str().find('=') {
                            let name = &w.as_str()[..eq];
                            if envfile::is_env_name(name) {
                                env.insert(
                                    name.to_owned(),
                                    EnvValue {
                                        value: w.slice(eq + 1..w.len()),
                                    },
                                );
                            }
                        }
                    }
                }
                "EnvironmentFile" if e.value.is_empty() => env_files.clear(),
                "EnvironmentFile" => {
                    let (optional, path) = match e.value.as_str().strip_prefix('-') {
                        Some(_) => (true, e.value.slice(1..e.value.len())),
                        None => (false, e.value.clone()),
                    };
                    env_files.push((path, optional));
                }
                "ExecStart" if e.value.is_empty() => {
                    exec = None;
                    exec_count = 0;
                }
                "ExecStart" => {
                    exec_count += 1;
                    exec = Some(e);
                }
                _ => {}
            }
        }
    }
    let unit_path = image.files.get(unit).path.clone();
    let Some(exec) = exec else {
        image.notice(
            &unit_path,
            format!("{name} has no ExecStart=; it cannot be started"),
        );
        return Ok(None);
    };
    if exec_count > 1 {
        image.notice(
            &unit_path,
            format!("{name} has {exec_count} ExecStart= commands; systemd refuses more than one for this service type (the last is used)"),
        );
    }

    // Settings from environment files override Environment=, whatever the order.
    for (path, optional) in env_files {
        match image.load(path.as_str())? {
            Loaded::File(id) => {
                files.push(id);
                let text = image.files.get(id).text.clone();
                for a in envfile::parse(id, &text) {
                    env.insert(a.name, EnvValue { value: a.value });
                }
            }
            Loaded::Missing if !optional => image.notice(
                path.as_str(),
                format!("{name} names EnvironmentFile={} without `-`, and the file does not exist: systemd will refuse to start the service unless it is created first", path.as_str()),
            ),
            Loaded::Missing | Loaded::DevNull | Loaded::Skipped => {}
        }
    }

    let (exec, args) = command_line(&exec.value, &env);
    let Some(exec) = exec else {
        image.notice(
            &unit_path,
            format!("{name} has an empty ExecStart= command"),
        );
        return Ok(None);
    };
    Ok(Some(Service { files, exec, args }))
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
/// regardless of directory.
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
            if file.ends_with(".conf") {
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
/// Returns the executable word and the arguments.
fn command_line(value: &Cooked, env: &HashMap<String, EnvValue>) -> (Option<Word>, Vec<Word>) {
    let mut all = words::split(value, Escapes::C);
    // Only `;` separates commands; the service runs the first.
    if let Some(end) = all.iter().position(|w| w.as_str() == ";") {
        all.truncate(end);
    }
    let mut it = all.into_iter();
    let Some(first) = it.next() else {
        return (None, Vec::new());
    };
    let prefix_len = first
        .as_str()
        .bytes()
        .take_while(|b| b"@-:+!".contains(b))
        .count();
    let prefix = &first.as_str()[..prefix_len];
    let expand = !prefix.contains(':');
    let exec = first.slice(prefix_len..first.len());
    if prefix.contains('@') {
        // `@` puts argv[0] in the next word; it is not a flag.
        it.next();
    }
    let mut args = Vec::new();
    for w in it {
        if expand {
            expand_word(&w, env, &mut args);
        } else {
            args.push(Word { text: w, via: None });
        }
    }
    (
        Some(Word {
            text: exec,
            via: None,
        }),
        args,
    )
}

/// `$NAME` as a whole word splits the value into words; `${NAME}` inside a
/// word is replaced by the value as is; `$$` is a dollar; unknown variables
/// are empty.
fn expand_word(w: &Cooked, env: &HashMap<String, EnvValue>, out: &mut Vec<Word>) {
    let s = w.as_str();
    if let Some(name) = s.strip_prefix('$')
        && envfile::is_env_name(name)
    {
        if let Some(v) = env.get(name) {
            for part in words::split(&v.value, Escapes::Literal) {
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
        } else if let Some(inner) = rest.strip_prefix("${") {
            if let Some(close) = inner.find('}') {
                let name = &inner[..close];
                if let Some(v) = env.get(name) {
                    cooked.push_cooked(&v.value);
                }
                substituted = true;
                i += 2 + close + 1;
                continue;
            }
            cooked.push_cooked(&w.slice(i..s.len()));
            break;
        } else {
            let c = rest.chars().next().map_or(1, char::len_utf8);
            cooked.push_cooked(&w.slice(i..i + c));
            i += c;
        }
    }
    out.push(Word {
        text: cooked,
        via: substituted.then(|| w.loc()).flatten(),
    });
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
        let (exec, args) = command_line(&c, e);
        (
            exec.map(|w| w.text.as_str().to_owned()).unwrap_or_default(),
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
    }
}
