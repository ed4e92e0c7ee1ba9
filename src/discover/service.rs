//! Components started by systemd services in an image (`kubelet.service`,
//! and `kube-proxy.service` or control-plane services on hand-built nodes),
//! with their `--config` files.
//!
//! For the kubelet (kubelet-config-file.md, "Kubelet configuration merging
//! order"): command-line flags > `--config-dir` drop-ins (lexical order) >
//! the `--config` file > defaults. Defaults are the legacy flag defaults
//! without `--config` and the `kubelet.config.k8s.io/v1beta1` defaults with
//! it (kubernetes/kubernetes#59666).

use std::collections::HashMap;

use super::invocation::{self, ConfigDoc, Defaults, Parts};
use super::systemd::{self, word_loc};
use super::unjudged;
use crate::model::{
    ComponentSpec, ConfigKind, DefaultMode, Invocation, Layout, Problem, Source, VersionInfo,
};
use crate::parse::flags::{self, Parsed, Word};
use crate::parse::yaml;
use crate::source::{self, FileDb, Image, InputError, Loaded};
use crate::span::{FileId, Loc};
use crate::text::Cooked;

/// Finds the invocations of `spec` started by its systemd units.
pub(crate) fn discover(
    image: &mut Image,
    spec: &ComponentSpec,
    version: Option<&VersionInfo>,
) -> Result<Vec<Invocation>, InputError> {
    let mut out = Vec::new();
    for unit in &spec.systemd_units {
        let Some(service) = systemd::load_service(image, unit)? else {
            continue;
        };
        let Some(start) = word_loc(&service.exec) else {
            continue;
        };
        if let Some(problem) = service.refused.clone() {
            // systemd does not load this command line: the component does
            // not start, and nothing else about it is known.
            let mut inv = invocation::build(Parts {
                spec,
                db: &image.files,
                start,
                files: service.files.clone(),
                args: Parsed::default(),
                configs: Vec::new(),
                defaults: Defaults {
                    mode: DefaultMode::Unknown,
                    reason: format!("systemd refuses to load the command line of {unit}"),
                },
                version: version.cloned(),
                layout: Layout::SystemdUnit,
                source: Source::CommandLine,
            });
            inv.problems.push(problem);
            out.push(inv);
            continue;
        }
        if started_in_container(image, spec, unit, &service, &start) {
            continue;
        }
        let mut args = flags::parse(&service.args, &spec.bool_flags);
        check_executable(image, spec, unit, &service.exec, &start);
        let mut files = service.files.clone();
        let (mut env_problems, mut env_notes) = (Vec::new(), Vec::new());
        if let Some(prefix) = &spec.env_prefix {
            (env_problems, env_notes) = env_flags(spec, prefix, &service.cooked, &mut args);
        }
        let mut defaults = Defaults {
            mode: DefaultMode::Flags,
            reason: format!(
                "{} runs without a configuration file, so the command-line defaults apply",
                spec.name
            ),
        };
        if let Some(path) = service.written_at_boot.first() {
            // Only what the image holds is known: what the missing file
            // adds to the command line could change any setting.
            defaults = Defaults {
                mode: DefaultMode::Unknown,
                reason: format!("{path} is written at boot, and the variables it sets are unknown"),
            };
        }
        // A configuration file: etcd's `--config-file` decides every
        // setting (the flags are ignored, the invocation notes them, and no
        // variable was read); `--config` the settings it holds.
        let config_file = spec
            .config_file_flag
            .as_ref()
            .and_then(|flag| args.last(flag).filter(|f| !f.value.is_empty()).cloned());
        let mut found = Configured {
            files: std::mem::take(&mut files),
            configs: Vec::new(),
            defaults,
            problems: Vec::new(),
        };
        let cwd = service.working_directory.clone();
        if let Some(f) = &config_file {
            load_config_file(image, spec, f, &cwd, &mut found)?;
        } else if let Some(kind) = &spec.config_kind {
            load_configs(image, spec, kind, &args, &cwd, &mut found)?;
        }
        let Configured {
            files,
            configs,
            defaults,
            problems,
        } = found;
        let mut refused = env_problems;
        refused.extend(problems);
        let mut inv = invocation::build(Parts {
            spec,
            db: &image.files,
            start,
            files,
            args,
            configs,
            defaults,
            version: version.cloned(),
            layout: Layout::SystemdUnit,
            source: Source::CommandLine,
        });
        inv.problems.extend(refused);
        inv.notes.extend(env_notes);
        let env: Vec<&str> = service.env.iter().map(String::as_str).collect();
        invocation::env_problems(&mut inv, spec, &env);
        invocation::webhook_client_problems(&mut inv, spec);
        out.push(inv);
    }
    Ok(out)
}

/// Flags set by variables of the process's environment (etcd's
/// `flags.SetFlagsFromEnv` in pkg/flags/flag.go: `ETCD_` and the flag's
/// name upper-cased with dashes as underscores, for every flag the command
/// line leaves out; an empty value sets nothing). They go before the
/// command-line flags, which therefore win. A variable shadowed by a flag
/// makes etcd exit (`verifyEnv`: "conflicting environment variable ... is
/// shadowed by corresponding command-line flag"). Returns what the
/// component refuses and notes on variables it ignores.
pub(crate) fn env_flags(
    spec: &ComponentSpec,
    prefix: &str,
    cooked: &HashMap<String, Cooked>,
    args: &mut Parsed,
) -> (Vec<Problem>, Vec<Problem>) {
    let mut problems = Vec::new();
    let var_of = |name: &str| format!("{prefix}_{}", name.replace('-', "_").to_uppercase());
    // The configuration file is looked up first, from the flag or its
    // variable: with it, etcd reads no other variable (and so refuses none).
    if let Some(flag) = &spec.config_file_flag
        && (args.last(flag).is_some_and(|f| !f.value.is_empty())
            || cooked.get(&var_of(flag)).is_some_and(|v| !v.is_empty()))
    {
        if args.last(flag).is_none()
            && let Some(value) = cooked.get(&var_of(flag))
        {
            let loc = value.loc();
            args.flags.insert(
                0,
                flags::Flag {
                    name: flag.clone(),
                    value: value.as_str().to_owned(),
                    loc: loc.clone(),
                    value_loc: loc,
                    separate_value: false,
                    via: None,
                },
            );
        }
        // With a configuration file etcd calls no SetFlagsFromEnv.
        let notes = spec
            .settings
            .iter()
            .filter_map(|s| s.flag.as_deref())
            .filter_map(|name| {
                let var = var_of(name);
                let value = cooked.get(&var).filter(|v| !v.is_empty())?;
                Some(Problem {
                    loc: value.loc(),
                    message: format!(
                        "{var}={} has no effect: {} is started with a configuration file (--{flag}) and reads no other variable",
                        value.as_str(),
                        spec.name
                    ),
                })
            })
            .collect();
        return (problems, notes);
    }
    let mut names: Vec<&str> = spec
        .settings
        .iter()
        .filter_map(|s| s.flag.as_deref())
        .chain(spec.config_file_flag.as_deref())
        .collect();
    names.dedup();
    let mut from_env = Vec::new();
    for name in names {
        let var = var_of(name);
        let Some(value) = cooked.get(&var).filter(|v| !v.is_empty()) else {
            continue;
        };
        let loc = value.loc();
        if let Some(f) = args.last(name) {
            problems.push(Problem {
                loc: f.loc.clone().or_else(|| loc.clone()),
                message: format!(
                    "--{name} is given on the command line and {var} in the environment: {} exits (the variable is shadowed by the flag)",
                    spec.name
                ),
            });
            continue;
        }
        from_env.push(flags::Flag {
            name: name.to_owned(),
            value: value.as_str().to_owned(),
            loc: loc.clone(),
            value_loc: loc,
            separate_value: false,
            via: None,
        });
    }
    from_env.append(&mut args.flags);
    args.flags = from_env;
    (problems, Vec::new())
}

/// Loads the YAML configuration file named by `flag` (etcd's
/// `--config-file`), whose keys are the flags' names.
fn load_config_file(
    image: &mut Image,
    spec: &ComponentSpec,
    flag: &flags::Flag,
    cwd: &str,
    out: &mut Configured,
) -> Result<(), InputError> {
    let path = source::join(cwd, &flag.value);
    match image.load(&path)? {
        Loaded::File(id) => {
            let parsed = image.memo(id, |file| yaml::parse(&file.text));
            out.take_config_file(&image.files, spec, id, parsed);
        }
        _ => {
            image.notice(&path, out.config_file_missing(spec, flag, &path, "image"));
        }
    }
    Ok(())
}

/// The files an invocation reads, its configuration documents and the
/// defaults that apply.
pub(crate) struct Configured {
    pub(crate) files: Vec<FileId>,
    pub(crate) configs: Vec<ConfigDoc>,
    pub(crate) defaults: Defaults,
    /// Configuration files the component refuses.
    pub(crate) problems: Vec<Problem>,
}

impl Configured {
    /// The file a component's `--config-file` names (etcd's, which then
    /// decides every setting), found as `id` and parsed as `parsed`.
    pub(crate) fn take_config_file(
        &mut self,
        db: &FileDb,
        spec: &ComponentSpec,
        id: FileId,
        parsed: Result<Vec<yaml::Document>, yaml::Error>,
    ) {
        let file = db.get(id);
        self.files.push(id);
        self.defaults = Defaults {
            mode: DefaultMode::Flags,
            reason: format!(
                "not set in {}, so {}'s default applies",
                file.path, spec.name
            ),
        };
        match parsed {
            Ok(docs) => {
                if let Some(d) = docs.into_iter().next() {
                    self.configs.push(ConfigDoc {
                        file: id,
                        root: d.root,
                    });
                }
            }
            Err(e) => {
                let at = e.offset.min(file.text.len());
                self.problems.push(Problem {
                    loc: Some(Loc::new(id, at..at)),
                    message: format!(
                        "{} is invalid YAML ({}): {} will not start with it",
                        file.path, e.message, spec.name
                    ),
                });
            }
        }
    }

    /// The file `--config-file` names is not among the files read (`where`:
    /// "image", "scanned files"): what it sets is unknown. Returns the note.
    pub(crate) fn config_file_missing(
        &mut self,
        spec: &ComponentSpec,
        flag: &flags::Flag,
        path: &str,
        place: &str,
    ) -> String {
        self.defaults = Defaults {
            mode: DefaultMode::Unknown,
            reason: format!(
                "{} is not in the {place}, and what it sets is unknown",
                source::display_path(path)
            ),
        };
        format!(
            "{} is started with --{}={} but the file is not in the {place}: what it sets is unknown, so no finding rests on a default",
            spec.name, flag.name, flag.value
        )
    }
}

/// Loads `--config` and the drop-ins of its directory flag (the kubelet's
/// `--config-dir`); sets the defaults that apply.
fn load_configs(
    image: &mut Image,
    spec: &ComponentSpec,
    kind: &ConfigKind,
    args: &Parsed,
    cwd: &str,
    out: &mut Configured,
) -> Result<(), InputError> {
    let Configured {
        files,
        configs,
        defaults,
        problems,
    } = out;
    // Relative paths resolve against the service's working directory.
    if let Some(flag) = args.last(&kind.flag).filter(|f| !f.value.is_empty()) {
        if defaults.mode != DefaultMode::Unknown {
            defaults.mode = DefaultMode::Config;
        }
        let path = source::join(cwd, &flag.value);
        match image.load(&path)? {
            Loaded::File(id) => {
                files.push(id);
                defaults.reason = format!(
                    "not set in {}, so the {} default applies",
                    image.files.get(id).path,
                    kind.api_version
                );
                match config_doc(image, id, kind, &spec.name) {
                    Ok(root) => configs.push(ConfigDoc { file: id, root }),
                    Err(p) => problems.push(p),
                }
            }
            _ if kind.kubeadm_path.as_deref() == Some(path.as_str()) => {
                defaults.reason = format!(
                    "{} is written by kubeadm at init/join (it is not in the image yet); kubeadm's KubeletConfiguration applies",
                    source::display_path(&path)
                );
            }
            _ => {
                // Like kubeadm's, the file may be written at boot (nodeadm
                // writes /etc/kubernetes/kubelet/config.json on Amazon Linux
                // 2023 EKS nodes): what it will hold is unknown.
                image.notice(
                    &path,
                    format!(
                        "{} is started with --{}={} but the file is not in the image: the image relies on something writing it at boot, and {} will not start until then; the settings it would hold are unknown, so no finding rests on a default",
                        spec.name, kind.flag, flag.value, spec.name
                    ),
                );
                defaults.mode = DefaultMode::Unknown;
                defaults.reason = format!(
                    "{} is written at boot, and what it sets is unknown",
                    source::display_path(&path)
                );
            }
        }
    }
    if let Some(dir_flag) = &kind.dir_flag
        && let Some(flag) = args.last(dir_flag).filter(|f| !f.value.is_empty())
    {
        let dir = source::join(cwd, &flag.value);
        if image
            .stat(&dir)?
            .is_none_or(|r| r.node != source::Node::Dir)
        {
            image.notice(
                &dir,
                format!("the {} is started with --{dir_flag}={} but the directory is not in the image: the {} will not start unless it is created first", spec.name, flag.value, spec.name),
            );
        }
        for path in conf_files(image, &dir)? {
            if let Loaded::File(id) = image.load(&path)? {
                files.push(id);
                match config_doc(image, id, kind, &spec.name) {
                    Ok(root) => configs.push(ConfigDoc { file: id, root }),
                    Err(p) => problems.push(p),
                }
            }
        }
    }
    Ok(())
}

/// Whether the unit runs a container runtime (`docker run …`), whose words
/// are the runtime's options and the container's command, not the
/// component's command line: a notice says the component is not judged.
fn started_in_container(
    image: &mut Image,
    spec: &ComponentSpec,
    unit: &str,
    service: &systemd::Service,
    start: &Loc,
) -> bool {
    let runner = service.exec.text.as_str();
    if !unjudged::is_container_runner(runner) {
        return false;
    }
    let word = unjudged::in_container(runner, &service.args, &[spec])
        .map_or_else(|| unit.to_owned(), |(_, w)| w);
    let f = image.files.get(start.file);
    let (path, line) = (f.path.clone(), f.line_col(start.span.start).0);
    let message = unjudged::container_note(unit, runner, &spec.name, &word);
    image.notice(&path, format!("line {line}: {message}"));
    true
}

/// A notice when the unit does not start the component's own binary.
fn check_executable(image: &mut Image, spec: &ComponentSpec, unit: &str, exec: &Word, start: &Loc) {
    let exe = exec.text.as_str();
    if !spec.runs(exe) {
        let f = image.files.get(start.file);
        let (path, line) = (f.path.clone(), f.line_col(start.span.start).0);
        image.notice(
            &path,
            format!("line {line}: {unit} starts `{exe}`, not {} itself; its arguments are read as {}'s flags", spec.name, spec.name),
        );
    }
}

/// The configuration document of a file, or why the component refuses
/// the file. Only the first document counts, and it must be of the right
/// kind and version.
pub(crate) fn config_doc(
    image: &mut Image,
    id: FileId,
    kind: &ConfigKind,
    component: &str,
) -> Result<yaml::Node, Problem> {
    // Parsed once per scan, however many invocations name the file.
    let parsed = image.memo(id, |file| yaml::parse(&file.text));
    let file = image.files.get(id);
    match parsed {
        Ok(docs) => {
            let first = docs.into_iter().next();
            let ok = first
                .as_ref()
                .and_then(yaml::Document::type_meta)
                .is_some_and(|(api, k)| k == kind.kind && api == kind.api_version);
            match first {
                Some(d) if ok => Ok(d.root),
                first => {
                    // On the document's `kind:` line, else its start.
                    let span = first.as_ref().map_or(0..0, |d| match d.root.entry("kind") {
                        Some((k, v)) => k.span.start..v.span.end,
                        None => d.root.span.start..d.root.span.start,
                    });
                    Err(Problem {
                        loc: Some(Loc::new(id, span)),
                        message: format!(
                            "the first document of {} is not a {} ({}): {component} refuses the file and will not start",
                            file.path, kind.kind, kind.api_version
                        ),
                    })
                }
            }
        }
        Err(e) => {
            // The character the parser stopped at.
            let text = &file.text;
            let start = (0..=e.offset.min(text.len()))
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            let end = text[start..]
                .chars()
                .next()
                .map_or(start, |c| start + c.len_utf8());
            Err(Problem {
                loc: Some(Loc::new(id, start..end)),
                message: format!(
                    "{} is invalid YAML ({}): {component} will not start with it",
                    file.path, e.message
                ),
            })
        }
    }
}

/// `*.conf` files below `dir` in the kubelet's order: Go's
/// `filepath.WalkDir`, each directory's entries sorted by name, depth first,
/// symlinked directories not followed.
fn conf_files(image: &mut Image, dir: &str) -> Result<Vec<String>, InputError> {
    let mut out = Vec::new();
    let Some(resolved) = image.stat(dir)? else {
        return Ok(out);
    };
    if resolved.node != source::Node::Dir {
        return Ok(out);
    }
    walk(image, &resolved.path, &mut out)?;
    Ok(out)
}

fn walk(image: &mut Image, dir: &str, out: &mut Vec<String>) -> Result<(), InputError> {
    // `dir` is resolved and the walk never follows links, so its entries
    // are listed and examined without resolving the path again.
    for name in image.list_resolved(dir)? {
        let path = format!("{dir}/{name}");
        match image.lstat(&path)? {
            source::Node::Dir => walk(image, &path, out)?,
            source::Node::File { .. } if name.ends_with(".conf") => out.push(path),
            _ => {}
        }
    }
    Ok(())
}
