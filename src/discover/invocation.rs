//! Effective settings of one invocation, merged as the components merge
//! them: command-line flags > configuration drop-ins > the configuration
//! file > defaults.

use std::collections::BTreeMap;

use crate::model::{
    ComponentSpec, DefaultMode, Invocation, Layout, Origin, Problem, Setting, SettingSpec,
    SettingType, Source, VersionInfo,
};
use crate::parse::flags::{Parsed, parse_bool};
use crate::parse::yaml::{Kind, Node, Value, go_parse_int};
use crate::source::FileDb;
use crate::span::{FileId, Loc};

/// A configuration document (the root of a `KubeletConfiguration`, say).
#[derive(Debug, Clone)]
pub(crate) struct ConfigDoc {
    pub(crate) file: FileId,
    pub(crate) root: Node,
}

/// Which defaults apply to unset settings, and why.
#[derive(Debug, Clone)]
pub(crate) struct Defaults {
    pub(crate) mode: DefaultMode,
    pub(crate) reason: String,
}

/// What an invocation is made of.
pub(crate) struct Parts<'a> {
    pub(crate) spec: &'a ComponentSpec,
    /// The files the locations point into.
    pub(crate) db: &'a FileDb,
    pub(crate) start: Loc,
    pub(crate) files: Vec<FileId>,
    pub(crate) args: Parsed,
    /// Configuration documents, the main file first, drop-ins after.
    pub(crate) configs: Vec<ConfigDoc>,
    pub(crate) defaults: Defaults,
    pub(crate) version: Option<VersionInfo>,
    pub(crate) layout: Layout,
    pub(crate) source: Source,
}

/// Computes every setting's effective value and origin, and notes what the
/// component would refuse.
pub(crate) fn build(parts: Parts<'_>) -> Invocation {
    let Parts {
        spec,
        db,
        start,
        files,
        args,
        configs,
        defaults,
        version,
        layout,
        source,
    } = parts;
    let mut problems = command_line_problems(spec, &args);
    let window = crate::model::Window::of(
        args.flags
            .iter()
            .filter_map(|f| spec.by_flag(&f.name)?.bound(&f.value))
            .collect(),
    );
    // What kubeadm generates follows the version: the detected one, else
    // the newest the flags allow.
    let judged = window.judged(version.as_ref().map(|v| v.version));
    // kube-proxy started with --config takes every setting the file can
    // hold from the file (or its defaults); the flags are ignored.
    let config_flag = spec
        .config_kind
        .as_ref()
        .and_then(|k| args.last(&k.flag))
        .filter(|f| !f.value.is_empty());
    // etcd started with --config-file reads only that file.
    let file_flag = spec
        .config_file_flag
        .as_deref()
        .and_then(|f| args.last(f))
        .filter(|f| !f.value.is_empty());
    let config_decides = (spec.flags_with_config == crate::model::FlagsWithConfig::Ignored
        && config_flag.is_some())
        || file_flag.is_some();
    let config_flag = config_flag.or(file_flag);
    let mut notes = Vec::new();
    let mut settings = BTreeMap::new();
    for s in &spec.settings {
        let mut flag = s.flag.as_deref().and_then(|f| args.last(f));
        if config_decides && s.config.is_some() {
            notes.extend(ignored_flags(spec, s, &args, config_flag));
            flag = None;
        }
        let setting = if let Some(f) = flag {
            let (value, problem) = flag_value(s, &f.value);
            if let Some(message) = problem {
                problems.push(Problem {
                    loc: f.loc.clone(),
                    message: format!("--{}: {message}; {} will not start", f.name, spec.name),
                });
            }
            Setting {
                value: Some(value),
                origin: Origin::Flag(f.clone()),
            }
        } else if let Some(found) = s
            .config
            .as_deref()
            .and_then(|key| from_configs(&configs, key, s, db))
        {
            if let (Some(message), Origin::Config { value, .. }) = (&found.1, &found.0.origin) {
                problems.push(Problem {
                    loc: Some(value.clone()),
                    message: format!(
                        "{}: {message}; {} will not start",
                        s.config.as_deref().unwrap_or(&s.name),
                        spec.name
                    ),
                });
            }
            found.0
        } else {
            default(s, &defaults, judged)
        };
        settings.insert(s.name.clone(), setting);
    }
    Invocation {
        component: spec.name.clone(),
        start,
        files,
        flags: args.flags,
        version,
        window,
        defaults: defaults.mode,
        settings,
        problems,
        notes,
        source,
        config_doc: configs.first().map(|c| (c.file, c.root.span.start)),
        config_decides,
        wrong_arg_forms: Vec::new(),
        shipped: Vec::new(),
        layout,
    }
}

/// Flags that some versions refuse unless a variable is set in the
/// component's environment (`--config-dir` on kubelet 1.28–1.29 needs
/// `KUBELET_CONFIG_DROPIN_DIR_ALPHA`): a problem when the version is
/// detected and refuses it, a note when it was not detected and the flags
/// allow such a version.
pub(crate) fn env_problems(inv: &mut Invocation, spec: &ComponentSpec, env: &[&str]) {
    for f in inv.flags.clone() {
        let Some((name, versions)) = spec.by_flag(&f.name).and_then(|s| s.needs_env.as_ref())
        else {
            continue;
        };
        if env.contains(&name.as_str()) {
            continue;
        }
        let (message, fatal) = match inv.version.as_ref().map(|v| v.version) {
            Some(v) if v.satisfies(versions) => (
                format!(
                    "--{}: {} {v} refuses this flag unless {name} is set in its environment, and no Environment= or EnvironmentFile= sets it: {} will not start",
                    f.name, spec.name, spec.name
                ),
                true,
            ),
            Some(_) => continue,
            None => {
                let (from, before) = (inv.window.from, inv.window.before);
                // Whether some version the flags allow needs the variable.
                let possible = [from, before.and_then(crate::model::Version::previous_minor)]
                    .into_iter()
                    .flatten()
                    .any(|v| v.satisfies(versions))
                    || (from.is_none() && before.is_none());
                if !possible {
                    continue;
                }
                (
                    format!(
                        "--{}: the Kubernetes version was not detected; {} refuses this flag in versions {} unless {name} is set in its environment, and nothing sets it",
                        f.name,
                        spec.name,
                        describe_constraint(versions, inv.window.from)
                    ),
                    false,
                )
            }
        };
        let p = Problem {
            loc: f.loc.clone(),
            message,
        };
        if fatal {
            inv.problems.push(p);
        } else {
            inv.notes.push(p);
        }
    }
}

/// A kubelet that authenticates or authorizes with the API server's
/// webhooks needs a client for it: without `--kubeconfig` (or a bootstrap
/// kubeconfig it turns into one) it exits with "no client provided, cannot
/// use webhook authentication". From which version, and which settings give
/// a client, is the component's `webhook_client` (`rules/components/`).
pub(crate) fn webhook_client_problems(inv: &mut Invocation, spec: &ComponentSpec) {
    let Some(client) = &spec.webhook_client else {
        return;
    };
    let version = inv.judged_version();
    if (version.major, version.minor) < (client.from.major, client.from.minor) {
        return;
    }
    let value = |name: &str| inv.setting(name).and_then(|s| s.value.clone());
    let has_client = client
        .settings
        .iter()
        .any(|n| value(n).is_some_and(|v| !v.is_empty()));
    if has_client {
        return;
    }
    let uses_token_webhook = value("authentication.webhook.enabled").as_deref() == Some("true");
    let uses_authz_webhook =
        value("authorization.mode").is_some_and(|m| m.split(',').any(|x| x.trim() == "Webhook"));
    let (what, setting) = match (uses_token_webhook, uses_authz_webhook) {
        (true, _) => ("authentication", "authentication.webhook.enabled"),
        (false, true) => ("authorization", "authorization.mode"),
        (false, false) => return,
    };
    let loc = inv
        .setting(setting)
        .and_then(|s| s.origin.loc().cloned())
        .or_else(|| Some(inv.start.clone()));
    inv.problems.push(Problem {
        loc,
        message: format!(
            "the kubelet uses Webhook {what} but has no --kubeconfig: it exits with \"no client provided, cannot use webhook {what}\" and will not start"
        ),
    });
}

/// `<1.30` as a range, starting where the flags put it: `1.28–1.29`.
fn describe_constraint(
    c: &crate::model::Constraint,
    from: Option<crate::model::Version>,
) -> String {
    match (c.op, from) {
        (crate::model::version::Op::Lt, Some(f)) => match c.version.previous_minor() {
            Some(last) if last == f => format!("{f}"),
            Some(last) => format!("{f}–{last}"),
            None => format!("before {}", c.version),
        },
        (crate::model::version::Op::Lt, None) => format!("before {}", c.version),
        _ => format!("{:?} {}", c.op, c.version),
    }
}

/// Notes for the flags of a setting that the `--config` file decides.
fn ignored_flags(
    spec: &ComponentSpec,
    s: &SettingSpec,
    args: &Parsed,
    config: Option<&crate::parse::flags::Flag>,
) -> Vec<Problem> {
    args.flags
        .iter()
        .filter(|f| Some(f.name.as_str()) == s.flag.as_deref())
        .map(|f| Problem {
            loc: f.loc.clone(),
            message: {
                // etcd's `--config-file` replaces every flag; kube-proxy's
                // `--config` only the flags it holds.
                let (verb, why) = if config
                    .is_some_and(|c| spec.config_file_flag.as_deref() == Some(&c.name))
                {
                    (
                        " and reads only that file, which decides",
                        "\"other configuration command line flags and environment variables will be ignored if provided\"",
                    )
                } else {
                    (
                        ", and that file decides",
                        "the flag's help: \"This parameter is ignored if a config file is specified by --config\"",
                    )
                };
                format!(
                    "--{}={} has no effect: {} is started with --{}={}{verb} `{}` ({why})",
                    f.name,
                    f.value,
                    spec.name,
                    config.map_or("config", |c| c.name.as_str()),
                    config.map_or("", |c| c.value.as_str()),
                    s.config.as_deref().unwrap_or_default(),
                )
            },
        })
        .collect()
}

/// Command lines the component refuses: positional arguments, a flag
/// without its value, a long name after a single dash.
fn command_line_problems(spec: &ComponentSpec, args: &Parsed) -> Vec<Problem> {
    let mut out = Vec::new();
    for w in &args.positional {
        out.push(Problem {
            loc: w.text.loc().or_else(|| w.via.clone()),
            message: format!(
                "`{}` is not a flag: {} refuses positional arguments and will not start",
                w.text.as_str(),
                spec.name
            ),
        });
    }
    for f in &args.missing_value {
        out.push(Problem {
            loc: f.loc.clone(),
            message: format!("--{} needs a value: {} will not start", f.name, spec.name),
        });
    }
    for w in &args.bad_shorthand {
        out.push(Problem {
            loc: w.text.loc().or_else(|| w.via.clone()),
            message: format!(
                "`{}` is read as single-letter flags (a long flag needs `--`): {} will not start",
                w.text.as_str(),
                spec.name
            ),
        });
    }
    out
}

fn default(s: &SettingSpec, defaults: &Defaults, version: crate::model::Version) -> Setting {
    let (value, mode) = match defaults.mode {
        DefaultMode::Unknown => (None, DefaultMode::Unknown),
        DefaultMode::Flags => (s.default_flags.clone(), DefaultMode::Flags),
        DefaultMode::Config => (
            s.default_config.clone().or_else(|| s.default_flags.clone()),
            DefaultMode::Config,
        ),
        DefaultMode::Kubeadm | DefaultMode::K3s | DefaultMode::Rke2 => {
            let by = match defaults.mode {
                DefaultMode::K3s => &s.k3s,
                DefaultMode::Rke2 => &s.rke2,
                _ => &s.kubeadm,
            };
            let generated = by
                .as_ref()
                .filter(|k| k.versions.iter().all(|c| version.satisfies(c)));
            match generated {
                Some(k) => (Some(k.value.clone()), defaults.mode),
                None => (s.default_flags.clone(), DefaultMode::Flags),
            }
        }
    };
    let origin = match value {
        Some(_) => Origin::Default {
            mode,
            reason: defaults.reason.clone(),
        },
        None => Origin::Unset,
    };
    Setting { value, origin }
}

/// A flag value as the component parses it (pflag: `strconv.ParseBool`,
/// `strconv.ParseInt(s, 0, 32)`), and why it would be refused.
fn flag_value(s: &SettingSpec, raw: &str) -> (String, Option<String>) {
    match s.ty {
        SettingType::Bool => match parse_bool(raw) {
            Some(b) => (b.to_string(), None),
            None => (raw.to_owned(), Some(format!("`{raw}` is not a boolean"))),
        },
        SettingType::Int => match go_parse_int(raw).filter(|v| i32::try_from(*v).is_ok()) {
            Some(v) => (v.to_string(), None),
            None => (raw.to_owned(), Some(format!("`{raw}` is not an integer"))),
        },
        _ => (raw.to_owned(), None),
    }
}

/// What a key path holds in one document.
enum Lookup<'a> {
    Found(&'a Node, &'a Node),
    /// The key, or a map above it, is `null`.
    Null(&'a Node),
    Absent,
}

fn lookup<'a>(root: &'a Node, path: &str) -> Lookup<'a> {
    let mut node = root;
    let mut found = None;
    for part in path.split('.') {
        let Some((k, v)) = node.entry(part) else {
            return Lookup::Absent;
        };
        if v.as_scalar().is_some_and(|s| s.value() == Value::Null) {
            return Lookup::Null(k);
        }
        found = Some((k, v));
        node = v;
    }
    found.map_or(Lookup::Absent, |(k, v)| Lookup::Found(k, v))
}

/// The setting from the configuration documents: the last one that sets
/// the key wins (drop-ins are JSON merge patches over the main file, so a
/// `null` there resets the field to its config-file default). Also returns
/// why the component would refuse the value, if it would.
fn from_configs(
    configs: &[ConfigDoc],
    key: &str,
    s: &SettingSpec,
    files: &FileDb,
) -> Option<(Setting, Option<String>)> {
    for (i, c) in configs.iter().enumerate().rev() {
        match lookup(&c.root, key) {
            Lookup::Absent => {}
            Lookup::Null(_) if i == 0 => return None,
            Lookup::Null(k) => {
                let value = s.default_config.clone().or_else(|| s.default_flags.clone());
                let reason = format!(
                    "reset by `null` in {}:{}, so the config-file default applies",
                    files.get(c.file).path,
                    files.get(c.file).line_col(k.span.start).0
                );
                let origin = Origin::Default {
                    mode: DefaultMode::Config,
                    reason,
                };
                return Some((Setting { value, origin }, None));
            }
            Lookup::Found(k, v) => {
                let origin = Origin::Config {
                    key: Loc::new(c.file, k.span.clone()),
                    value: Loc::new(c.file, v.span.clone()),
                };
                let Some(scalar) = v.as_scalar() else {
                    let problem = Some(format!(
                        "expected a {} here, found a {}",
                        type_name(s.ty),
                        if matches!(v.kind, Kind::Seq(_)) {
                            "list"
                        } else {
                            "map"
                        }
                    ));
                    return Some((
                        Setting {
                            value: None,
                            origin,
                        },
                        problem,
                    ));
                };
                let value = scalar.value();
                let problem = type_problem(s.ty, &value);
                // An empty string is Go's zero value, which the
                // configuration's defaulting replaces (`if obj.X == ""` in
                // the components' `SetDefaults_*`): kubeadm writes
                // `metricsBindAddress: ""` into kube-proxy's ConfigMap. The
                // key still decides it, and a fix rewrites it there.
                let value = match (&value, &s.default_config) {
                    (Value::Str(v), Some(default)) if v.is_empty() => Some(default.clone()),
                    _ => value.to_flag_text(),
                };
                return Some((Setting { value, origin }, problem));
            }
        }
    }
    None
}

fn type_name(ty: SettingType) -> &'static str {
    match ty {
        SettingType::Bool => "boolean",
        SettingType::Int => "number",
        SettingType::String | SettingType::Address | SettingType::Urls => "string",
    }
}

/// The configuration is decoded into typed fields: a quoted `"10255"` where
/// a number belongs is a decoding error, fatal at start.
fn type_problem(ty: SettingType, v: &Value) -> Option<String> {
    let ok = matches!(
        (ty, v),
        (_, Value::Null)
            | (SettingType::Bool, Value::Bool(_))
            | (SettingType::Int, Value::Int(_))
            | (
                SettingType::String | SettingType::Address | SettingType::Urls,
                Value::Str(_)
            )
    );
    let found = match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Int(_) | Value::Float(_) => "number",
        Value::Str(_) => "string",
    };
    (!ok).then(|| format!("expected a {}, found a {found}", type_name(ty)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::load_components;
    use crate::parse::yaml;

    fn kubelet(docs: &[&str], defaults: DefaultMode) -> Invocation {
        let components = load_components().map_err(|e| e.2.message).unwrap();
        let spec = &components["kubelet"];
        let mut db = FileDb::default();
        let mut configs = Vec::new();
        for (i, text) in docs.iter().enumerate() {
            let id = db.add(
                format!("c{i}.yaml"),
                None,
                text.as_bytes(),
                std::path::PathBuf::new(),
            );
            let root = yaml::parse(text).unwrap().remove(0).root;
            configs.push(ConfigDoc { file: id, root });
        }
        let start = Loc::new(db.lookup("c0.yaml").unwrap(), 0..0);
        build(Parts {
            spec,
            db: &db,
            start,
            files: Vec::new(),
            args: Parsed::default(),
            configs,
            defaults: Defaults {
                mode: defaults,
                reason: String::new(),
            },
            version: None,
            layout: Layout::SystemdUnit,
            source: Source::CommandLine,
        })
    }

    fn value(inv: &Invocation, name: &str) -> Option<String> {
        inv.setting(name).and_then(|s| s.value.clone())
    }

    #[test]
    fn null_in_a_dropin_resets_to_the_config_default() {
        let inv = kubelet(
            &["readOnlyPort: 10255\n", "readOnlyPort: null\n"],
            DefaultMode::Config,
        );
        assert_eq!(value(&inv, "readOnlyPort").as_deref(), Some("0"));
        let inv = kubelet(
            &["x: 1\n", "authentication:\n  anonymous: ~\n"],
            DefaultMode::Flags,
        );
        assert_eq!(
            value(&inv, "authentication.anonymous.enabled").as_deref(),
            Some("false")
        );
        // In the main file, null is simply unset: the defaults apply.
        let inv = kubelet(&["readOnlyPort: null\n"], DefaultMode::Flags);
        assert_eq!(value(&inv, "readOnlyPort").as_deref(), Some("10255"));
    }

    #[test]
    fn an_empty_string_takes_the_config_default_where_the_key_is() {
        let inv = kubelet(
            &["address: \"\"\nauthorization:\n  mode: ''\nstaticPodPath: \"\"\n"],
            DefaultMode::Config,
        );
        let s = inv.setting("address").unwrap();
        assert_eq!(s.value.as_deref(), Some("0.0.0.0"));
        assert!(matches!(s.origin, Origin::Config { .. }));
        assert_eq!(
            inv.setting("authorization.mode").unwrap().value.as_deref(),
            Some("Webhook")
        );
        assert!(inv.problems.is_empty(), "{:?}", inv.problems);
    }

    #[test]
    fn values_of_the_wrong_type_stop_the_kubelet() {
        let inv = kubelet(
            &["readOnlyPort: \"10255\"\nauthentication:\n  webhook:\n    enabled: 1\n"],
            DefaultMode::Config,
        );
        let messages: Vec<&str> = inv.problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(
            messages
                .iter()
                .any(|m| m.contains("readOnlyPort: expected a number, found a string"))
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("expected a boolean, found a number"))
        );
    }

    #[test]
    fn flag_values_parse_as_pflag_does() {
        let components = load_components().map_err(|e| e.2.message).unwrap();
        let port = components["kubelet"].setting("readOnlyPort").unwrap();
        assert_eq!(flag_value(port, "010"), ("8".to_owned(), None));
        assert_eq!(flag_value(port, "0x2817"), ("10263".to_owned(), None));
        assert!(flag_value(port, "ten").1.is_some());
        let anon = components["kubelet"]
            .setting("authentication.anonymous.enabled")
            .unwrap();
        assert_eq!(flag_value(anon, "F"), ("false".to_owned(), None));
        assert!(flag_value(anon, "yes").1.is_some());
    }
}
