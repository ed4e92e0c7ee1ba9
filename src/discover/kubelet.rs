//! The kubelet of a node image: its systemd service, command line and
//! `KubeletConfiguration`, merged into effective settings exactly as the
//! kubelet merges them.
//!
//! Precedence (kubelet-config-file.md, "Kubelet configuration merging
//! order"): command-line flags > `--config-dir` drop-ins (lexical order) >
//! the `--config` file > defaults. Defaults are the legacy flag defaults
//! without `--config` and the `kubelet.config.k8s.io/v1beta1` defaults with
//! it (kubernetes/kubernetes#59666).

use std::collections::BTreeMap;

use super::systemd::{self, word_loc};
use crate::model::{ComponentSpec, DefaultMode, Invocation, Origin, Setting, SettingType};
use crate::parse::flags::{self, parse_bool};
use crate::parse::yaml::{self, Document};
use crate::source::{self, FileId, Image, InputError, Loaded, Loc};

/// Where kubeadm writes the kubelet's configuration at `init`/`join`.
pub(crate) const KUBEADM_CONFIG: &str = "/var/lib/kubelet/config.yaml";
const CONFIG_KIND: (&str, &str) = ("kubelet.config.k8s.io/v1beta1", "KubeletConfiguration");

/// A `KubeletConfiguration` document and the file it is in.
struct ConfigDoc {
    file: FileId,
    doc: Document,
}

/// Finds the kubelet started by `kubelet.service`.
pub(crate) fn discover(
    image: &mut Image,
    spec: &ComponentSpec,
) -> Result<Option<Invocation>, InputError> {
    let Some(service) = systemd::load_service(image, "kubelet.service")? else {
        return Ok(None);
    };
    let Some(start) = word_loc(&service.exec) else {
        return Ok(None);
    };
    let args = flags::parse(&service.args, &spec.bool_flags);
    report_command_line(image, spec, &service.exec, &args, &start);
    let mut files = service.files.clone();

    // --config, resolved against `/` (the kubelet's working directory under systemd).
    let mut defaults = DefaultMode::Flags;
    let mut default_reason =
        "the kubelet runs without --config, so the command-line defaults apply".to_owned();
    let mut configs: Vec<ConfigDoc> = Vec::new();
    if let Some(flag) = args.last("config").filter(|f| !f.value.is_empty()) {
        defaults = DefaultMode::Config;
        let path = source::join("/", &flag.value);
        match image.load(&path)? {
            Loaded::File(id) => {
                files.push(id);
                default_reason = format!(
                    "not set in {}, so the kubelet.config.k8s.io/v1beta1 default applies",
                    image.files.get(id).path
                );
                if let Some(doc) = config_doc(image, id) {
                    configs.push(ConfigDoc { file: id, doc });
                }
            }
            _ if path == KUBEADM_CONFIG => {
                default_reason = format!(
                    "{} is written by kubeadm at init/join (it is not in the image yet); kubeadm's KubeletConfiguration applies",
                    source::display_path(&path)
                );
            }
            _ => {
                image.notice(
                    &path,
                    format!("the kubelet is started with --config={} but the file is not in the image: the kubelet will not start unless it is created first; the config-file defaults are assumed", flag.value),
                );
                default_reason =
                    "the --config file is absent, so the config-file defaults are assumed"
                        .to_owned();
            }
        }
    }
    if let Some(flag) = args.last("config-dir").filter(|f| !f.value.is_empty()) {
        let dir = source::join("/", &flag.value);
        for path in conf_files(image, &dir)? {
            if let Loaded::File(id) = image.load(&path)? {
                files.push(id);
                if let Some(doc) = config_doc(image, id) {
                    configs.push(ConfigDoc { file: id, doc });
                }
            }
        }
    }

    let mut settings = BTreeMap::new();
    for s in &spec.settings {
        let flag = s.flag.as_deref().and_then(|f| args.last(f));
        let setting = if let Some(f) = flag {
            Setting {
                value: Some(normalize_flag_value(s.ty, &f.value)),
                origin: Origin::Flag(f.clone()),
            }
        } else if let Some((value, origin)) = s
            .config
            .as_deref()
            .and_then(|key| from_configs(&configs, key))
        {
            Setting { value, origin }
        } else {
            let value = match defaults {
                DefaultMode::Flags => s.default_flags.clone(),
                DefaultMode::Config => s.default_config.clone(),
            };
            let origin = if value.is_some() {
                Origin::Default {
                    mode: defaults,
                    reason: default_reason.clone(),
                }
            } else {
                Origin::Unset
            };
            Setting { value, origin }
        };
        settings.insert(s.name.clone(), setting);
    }
    Ok(Some(Invocation {
        component: spec.name.clone(),
        start,
        files,
        defaults,
        settings,
    }))
}

/// Notices for command lines the kubelet would refuse or that are not the
/// kubelet's at all.
fn report_command_line(
    image: &mut Image,
    spec: &ComponentSpec,
    exec: &flags::Word,
    args: &flags::Parsed,
    start: &Loc,
) {
    let path = image.files.get(start.file).path.clone();
    let line = image.files.get(start.file).line_col(start.span.start).0;
    let exe = exec.text.as_str();
    let base = exe.rsplit('/').next().unwrap_or(exe);
    if !spec.binaries.iter().any(|b| b == base) {
        image.notice(
            &path,
            format!("line {line}: kubelet.service starts `{exe}`, not the kubelet itself; its arguments are read as kubelet flags"),
        );
    }
    for w in &args.positional {
        image.notice(
            &path,
            format!("line {line}: `{}` is not a flag: the kubelet refuses positional arguments (\"unknown command\") and will not start", w.text.as_str()),
        );
    }
    for f in &args.missing_value {
        image.notice(
            &path,
            format!(
                "line {line}: --{} needs a value: the kubelet will not start",
                f.name
            ),
        );
    }
}

/// A flag value as the setting's type reads it (`--x` bare is `true`; `T` is `true`).
fn normalize_flag_value(ty: SettingType, raw: &str) -> String {
    match ty {
        SettingType::Bool => parse_bool(raw).map_or_else(|| raw.to_owned(), |b| b.to_string()),
        _ => raw.to_owned(),
    }
}

/// The last configuration document that sets `key` (drop-ins come after
/// the main file, so the last one wins as in a merge patch).
fn from_configs(configs: &[ConfigDoc], key: &str) -> Option<(Option<String>, Origin)> {
    configs.iter().rev().find_map(|c| {
        let (k, v) = c.doc.root.lookup(key)?;
        let value = v.as_scalar()?.value().to_flag_text()?;
        Some((
            Some(value),
            Origin::Config {
                key: Loc::new(c.file, k.span.clone()),
                value: Loc::new(c.file, v.span.clone()),
            },
        ))
    })
}

/// The `KubeletConfiguration` document of a config file, or `None` with a notice.
fn config_doc(image: &mut Image, id: FileId) -> Option<Document> {
    let file = image.files.get(id);
    let path = file.path.clone();
    match yaml::parse(&file.text) {
        Ok(docs) => {
            let doc = docs
                .into_iter()
                .find(|d| d.type_meta().is_some_and(|(_, kind)| kind == CONFIG_KIND.1));
            if doc.is_none() {
                image.notice(
                    &path,
                    format!(
                        "not a {} ({}) document; the kubelet will refuse it",
                        CONFIG_KIND.1, CONFIG_KIND.0
                    ),
                );
            }
            doc
        }
        Err(e) => {
            let (line, col) = file.line_col(e.offset);
            image.notice(
                &path,
                format!(
                    "invalid YAML at {line}:{col}: {}; the kubelet will not start with it",
                    e.message
                ),
            );
            None
        }
    }
}

/// `*.conf` files below `dir`, in the kubelet's order (a lexical walk).
fn conf_files(image: &mut Image, dir: &str) -> Result<Vec<String>, InputError> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        let mut subdirs = Vec::new();
        for name in image.list_dir(&d)? {
            let path = format!("{d}/{name}");
            let is_dir = image
                .stat(&path)?
                .is_some_and(|r| r.node == source::Node::Dir);
            if is_dir {
                subdirs.push(path);
            } else if name.ends_with(".conf") {
                out.push(path);
            }
        }
        todo.extend(subdirs.into_iter().rev());
    }
    out.sort();
    Ok(out)
}
