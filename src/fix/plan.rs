//! From a finding's fix plan to byte edits at the place that decides the
//! value (the provenance chain): rewrite the deciding token or scalar, or,
//! when a default applied, add the setting next to its closest relative in
//! the same file.

use super::edit::{Edit, line_end, line_start, newline, whole_lines};
use super::yaml_edit::{self, Leaf};
use crate::discover::repo::args_form;
use crate::finding::Finding;
use crate::model::{
    ArgsForm, ComponentSpec, Invocation, Origin, SettingSpec, SettingType, Source, Version,
};
use crate::parse::flags::Flag;
use crate::source::FileDb;
use crate::span::Loc;

/// Edits that fix one finding.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    pub(crate) edits: Vec<Edit>,
}

/// The address used when rebinding off loopback.
pub(crate) struct Rebind<'a>(pub(crate) &'a str);

impl Rebind<'_> {
    /// `0.0.0.0` in a rule's value replaced by the chosen address
    /// (`[::]:10249`, `http://[::]:2381` for IPv6).
    fn apply(&self, value: &str) -> String {
        if self.0 == "0.0.0.0" || !value.contains("0.0.0.0") {
            return value.to_owned();
        }
        let v6 = self.0.contains(':');
        let with_port = value.contains("0.0.0.0:");
        let host = if v6 && with_port {
            format!("[{}]", self.0)
        } else {
            self.0.to_owned()
        };
        value.replace("0.0.0.0", &host)
    }

    fn unspecified(&self) -> bool {
        matches!(self.0, "0.0.0.0" | "::" | "[::]")
    }
}

/// The edits for `finding` of the invocation `inv`, whose files are
/// `files`, or why there are none.
pub(crate) fn plan(
    files: &FileDb,
    inv: &Invocation,
    finding: &Finding,
    spec: &ComponentSpec,
    rebind: &Rebind<'_>,
) -> Result<Plan, String> {
    let fix = finding
        .fix
        .as_ref()
        .ok_or("this rule has no automatic fix")?;
    let version = inv.version.as_ref().map(|v| v.version);
    let mut edits = Vec::new();
    for name in &fix.remove {
        for f in inv.flags.iter().filter(|f| f.name == *name) {
            edits.extend(remove_flag(files, inv, f)?);
        }
    }
    let mut skipped = Vec::new();
    for (setting, raw) in &fix.set {
        let s = spec
            .setting(setting)
            .ok_or_else(|| format!("unknown setting {setting}"))?;
        let current = inv.setting(setting).and_then(|x| x.value.clone());
        let value = new_value(s, raw, current.as_deref(), rebind);
        if current.as_deref() == Some(value.as_str()) {
            continue;
        }
        // Never write a flag the component's version refuses.
        let accepted = s.flag.is_none()
            || s.refusal(version.unwrap_or(Version::NEWEST), &value)
                .is_none();
        if !accepted {
            skipped.push(setting.clone());
            continue;
        }
        edits.push(set_setting(files, inv, finding, s, &value)?);
    }
    if edits.is_empty() {
        return Err(if skipped.is_empty() {
            "nothing to change".to_owned()
        } else {
            format!("{} is not accepted by this version", skipped.join(", "))
        });
    }
    let edits = merge_deletions(edits);
    for e in &edits {
        if !files.get(e.file).exact {
            return Err(format!(
                "{} is not valid UTF-8; edit it by hand",
                files.get(e.file).path
            ));
        }
    }
    Ok(Plan { edits })
}

/// Deletions that overlap or touch (two removals side by side, each taking
/// a neighbouring space) become one.
fn merge_deletions(mut edits: Vec<Edit>) -> Vec<Edit> {
    edits.sort_by_key(|e| (e.file, e.range.start, e.range.end));
    let mut out: Vec<Edit> = Vec::with_capacity(edits.len());
    for e in edits {
        match out.last_mut() {
            Some(last)
                if last.file == e.file
                    && last.text.is_empty()
                    && e.text.is_empty()
                    && e.range.start <= last.range.end =>
            {
                last.range.end = last.range.end.max(e.range.end);
            }
            _ => out.push(e),
        }
    }
    out
}

/// The value to write. For a URL list and a specific address, the new URL
/// is appended so that the first one (kubeadm's probe target) stays.
fn new_value(s: &SettingSpec, raw: &str, current: Option<&str>, rebind: &Rebind<'_>) -> String {
    let value = rebind.apply(raw);
    match (s.ty, current) {
        (SettingType::Urls, Some(cur)) if !rebind.unspecified() && !cur.is_empty() => {
            format!("{cur},{value}")
        }
        _ => value,
    }
}

fn text<'a>(files: &'a FileDb, loc: &Loc) -> &'a str {
    files.get(loc.file).text.get(loc.span.clone()).unwrap_or("")
}

/// Sets a setting: rewrites the token or scalar that decides it, or adds it.
fn set_setting(
    files: &FileDb,
    inv: &Invocation,
    finding: &Finding,
    s: &SettingSpec,
    value: &str,
) -> Result<Edit, String> {
    if matches!(inv.source, Source::K3s { .. }) {
        return super::k3s::set_setting(files, inv, s, value);
    }
    let origin = inv.setting(&s.name).map(|x| &x.origin);
    match origin {
        Some(Origin::Flag(f)) => match &f.value_loc {
            // kubeadm `extraArgs` values are YAML scalars: keep their quoting.
            Some(vl)
                if matches!(
                    inv.source,
                    Source::Kubeadm { .. } | Source::KubeletExtraArgs { .. }
                ) =>
            {
                Ok(Edit {
                    file: vl.file,
                    range: vl.span.clone(),
                    text: yaml_edit::rewrite_scalar(text(files, vl), value, SettingType::String),
                })
            }
            // The value's bytes are exactly the value: rewrite them.
            Some(vl) if text(files, vl) == f.value => Ok(Edit {
                file: vl.file,
                range: vl.span.clone(),
                text: value.to_owned(),
            }),
            Some(_) => Err("the value is written with escapes; edit it by hand".to_owned()),
            None => {
                let loc = f.loc.as_ref().ok_or("the flag has no location")?;
                Ok(Edit {
                    file: loc.file,
                    range: loc.span.clone(),
                    text: format!("{}={value}", text(files, loc)),
                })
            }
        },
        Some(Origin::Config { value: vl, .. }) => Ok(Edit {
            file: vl.file,
            range: vl.span.clone(),
            text: yaml_edit::rewrite_scalar(text(files, vl), value, s.ty),
        }),
        Some(Origin::Default { .. } | Origin::Unset) | None => {
            add_setting(files, inv, finding, s, value)
        }
    }
}

/// Adds a setting that a default decided, next to its closest relative.
fn add_setting(
    files: &FileDb,
    inv: &Invocation,
    finding: &Finding,
    s: &SettingSpec,
    value: &str,
) -> Result<Edit, String> {
    match &inv.source {
        // kube-proxy with --config: the file decides, so the setting goes there.
        Source::CommandLine if inv.config_decides => {
            let (file, doc_start) = inv
                .config_doc
                .ok_or("the configuration file is not in the image; fix it where it is written")?;
            add_to_config(files, file, doc_start, s, value)
        }
        Source::CommandLine => {
            let flag = s.flag.as_deref().ok_or("this setting has no flag")?;
            // Beside the related token the finding points at (the
            // `--authorization-mode=Webhook` that makes the token webhook
            // matter), else right after the executable.
            let related = inv
                .flags
                .iter()
                .find(|f| f.loc.as_ref() == Some(&finding.primary.loc));
            // A relative set by an environment variable (etcd's
            // `ETCD_CLIENT_CERT_AUTH=true` in kubespray's etcd.env): the new
            // setting is a variable of the same file, on the next line.
            if let Some(f) = related
                && let Some(loc) = &f.loc
                && !text(files, loc).starts_with('-')
            {
                return env_line(files, loc, &f.name, flag, value);
            }
            let anchor = related
                .and_then(|f| {
                    if f.separate_value {
                        f.value_loc.as_ref()
                    } else {
                        f.loc.as_ref()
                    }
                })
                .unwrap_or(&inv.start);
            Ok(Edit {
                file: anchor.file,
                range: anchor.span.end..anchor.span.end,
                text: format!(" --{flag}={value}"),
            })
        }
        Source::StaticPod { last } => {
            let flag = s.flag.as_deref().ok_or("this setting has no flag")?;
            let t = &files.get(last.file).text;
            let start = line_start(t, last.span.start);
            let prefix = &t[start..last.span.start];
            let prefix = prefix.trim_end_matches(['"', '\'']);
            if !prefix.trim_start().starts_with('-') {
                return Err("the command is a flow-style list; edit it by hand".to_owned());
            }
            let end = line_end(t, last.span.end);
            Ok(Edit {
                file: last.file,
                range: end..end,
                text: format!("{}{prefix}--{flag}={value}", newline(t)),
            })
        }
        Source::Kubeadm {
            file,
            doc_start,
            section,
            api_version,
        } => {
            let flag = s.flag.as_deref().ok_or("this setting has no flag")?;
            let t = &files.get(*file).text;
            let list = extra_args_form(t, *doc_start, section, api_version)? == ArgsForm::List;
            let rendered = yaml_edit::render(value, SettingType::String);
            let mut path: Vec<&str> = section.split('.').collect();
            path.push("extraArgs");
            let leaf = if list {
                Leaf::NamedItem {
                    name: flag.to_owned(),
                    value: rendered,
                }
            } else {
                path.push(flag);
                Leaf::Value(rendered)
            };
            let (range, text) = yaml_edit::add(t, *doc_start, &path, &leaf)?;
            Ok(Edit {
                file: *file,
                range,
                text,
            })
        }
        Source::ConfigDoc { file, doc_start } => add_to_config(files, *file, *doc_start, s, value),
        Source::KubeletExtraArgs { .. } => {
            Err("only what the file sets is known; nothing to add".to_owned())
        }
        Source::K3s { .. } => super::k3s::set_setting(files, inv, s, value),
        Source::KindDefault { kind } => Err(kind_patch(kind, inv, s, value)),
    }
}

/// A variable line for `flag` after the environment-file line of the
/// variable that set `related` (`ETCD_CLIENT_CERT_AUTH=true` gives the
/// prefix `ETCD`, so `listen-metrics-urls` becomes
/// `ETCD_LISTEN_METRICS_URLS=value`).
fn env_line(
    files: &FileDb,
    at: &Loc,
    related: &str,
    flag: &str,
    value: &str,
) -> Result<Edit, String> {
    let var_of = |name: &str| name.replace('-', "_").to_uppercase();
    let t = &files.get(at.file).text;
    let start = line_start(t, at.span.start);
    let line = t[start..at.span.start].trim_start();
    let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
    let name = line.split_once('=').map(|(n, _)| n.trim_end());
    let prefix = name.and_then(|n| n.strip_suffix(&format!("_{}", var_of(related))));
    match prefix {
        Some(prefix)
            if !prefix.is_empty()
                && prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
        {
            let end = line_end(t, at.span.end);
            Ok(Edit {
                file: at.file,
                range: end..end,
                text: format!("{}{prefix}_{}={value}", newline(t), var_of(flag)),
            })
        }
        _ => Err(format!(
            "--{related} comes from an environment variable here; set --{flag}={value} (or its variable) by hand"
        )),
    }
}

/// Why a kind cluster without a patch of `kind` is not fixed in place, and
/// the patch that would fix it: a new entry of `kubeadmConfigPatches` is a
/// block scalar in a list, written by hand.
fn kind_patch(kind: &str, inv: &Invocation, s: &SettingSpec, value: &str) -> String {
    let mut lines = vec![format!("kind: {kind}")];
    if kind == "KubeProxyConfiguration" {
        lines.push(format!(
            "{}: {value}",
            s.config.as_deref().unwrap_or(&s.name)
        ));
    } else {
        let sections: &[&str] = match inv.component.as_str() {
            "kube-controller-manager" => &["controllerManager:"],
            "kube-scheduler" => &["scheduler:"],
            _ => &["etcd:", "local:"],
        };
        for (depth, key) in sections.iter().chain(&["extraArgs:"]).enumerate() {
            lines.push(format!("{}{key}", "  ".repeat(depth)));
        }
        lines.push(format!(
            "{}{}: \"{value}\"",
            "  ".repeat(sections.len() + 1),
            s.flag.as_deref().unwrap_or(&s.name)
        ));
    }
    let shown: Vec<String> = lines.iter().map(|l| format!("`{l}`")).collect();
    format!(
        "the cluster has no {kind} patch to edit; add one to kubeadmConfigPatches by hand: `- |`, then these lines indented below it: {}",
        shown.join(", ")
    )
}

/// Adds a setting's key to a component configuration document.
fn add_to_config(
    files: &FileDb,
    file: crate::span::FileId,
    doc_start: usize,
    s: &SettingSpec,
    value: &str,
) -> Result<Edit, String> {
    let key = s
        .config
        .as_deref()
        .ok_or("this setting has no configuration key")?;
    let t = &files.get(file).text;
    let path: Vec<&str> = key.split('.').collect();
    let (range, text) = yaml_edit::add(
        t,
        doc_start,
        &path,
        &Leaf::Value(yaml_edit::render(value, s.ty)),
    )?;
    Ok(Edit { file, range, text })
}

/// The form in which `section.extraArgs` takes a new entry: the one the
/// document's API version decodes (v1beta4 a list of `{name, value}`,
/// earlier versions a map). An existing node of another form is refused:
/// kubeadm rejects the file (PR013) and an entry of either form would
/// leave it wrong.
fn extra_args_form(
    text: &str,
    doc_start: usize,
    section: &str,
    api: &str,
) -> Result<ArgsForm, String> {
    let root = yaml_edit::document(text, doc_start)?;
    let wants = ArgsForm::wanted_by(api).ok_or_else(|| {
        format!("promready does not know how `{api}` writes extraArgs; edit it by hand")
    })?;
    let key = format!("{section}.extraArgs");
    if let Some(found) = root
        .lookup(&key)
        .and_then(|(_, node)| args_form(node))
        .filter(|f| *f != wants)
    {
        return Err(format!(
            "`{key}` is {}, but {api} wants {} (PR013): an entry of either form would leave the file wrong, so nothing is added; convert it by hand first",
            found.describe(),
            wants.describe()
        ));
    }
    Ok(wants)
}

/// Removes a flag and its value: whole YAML lines for list items and
/// `extraArgs` entries, the token and one neighbouring space in text.
fn remove_flag(files: &FileDb, inv: &Invocation, f: &Flag) -> Result<Vec<Edit>, String> {
    let loc = f.loc.as_ref().ok_or("the flag has no location")?;
    let t = &files.get(loc.file).text;
    match &inv.source {
        Source::StaticPod { .. } | Source::Kubeadm { .. } | Source::KubeletExtraArgs { .. } => {
            let mut edits = vec![yaml_item_removal(t, loc)?];
            if f.separate_value
                && let Some(vl) = &f.value_loc
            {
                edits.push(yaml_item_removal(t, vl)?);
            }
            Ok(edits)
        }
        Source::K3s { files: configs, .. } if super::k3s::is_yaml(files, loc, configs) => {
            Ok(vec![yaml_item_removal(t, loc)?])
        }
        Source::CommandLine | Source::K3s { .. } => {
            let end = match (&f.value_loc, f.separate_value) {
                (Some(vl), true) if vl.file == loc.file => vl.span.end,
                _ => loc.span.end,
            };
            let bytes = t.as_bytes();
            let mut range = loc.span.start..end;
            if range.start > 0 && matches!(bytes[range.start - 1], b' ' | b'\t') {
                range.start -= 1;
            } else if matches!(bytes.get(range.end), Some(b' ' | b'\t')) {
                range.end += 1;
            }
            Ok(vec![Edit {
                file: loc.file,
                range,
                text: String::new(),
            }])
        }
        Source::ConfigDoc { .. } => {
            Err("flags cannot be removed from a configuration file".to_owned())
        }
        Source::KindDefault { .. } => Err("kind's own configuration sets no flag here".to_owned()),
    }
}

/// The whole lines of a YAML list item or mapping entry, if nothing else
/// shares them.
fn yaml_item_removal(t: &str, loc: &Loc) -> Result<Edit, String> {
    let lines = whole_lines(t, &loc.span);
    let before = &t[lines.start..loc.span.start];
    let after = &t[loc.span.end..lines.end];
    let before_ok = before
        .trim_start()
        .trim_start_matches('-')
        .trim()
        .trim_matches(['"', '\''])
        .is_empty();
    let after_ok =
        after.trim().trim_matches(['"', '\'']).is_empty() || after.trim_start().starts_with('#');
    if !before_ok || !after_ok {
        return Err("the flag shares its line with other YAML; edit it by hand".to_owned());
    }
    Ok(Edit {
        file: loc.file,
        range: lines,
        text: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_args_take_entries_only_in_the_form_the_version_wants() {
        let doc = |api: &str, scheduler: &str| {
            format!(
                "apiVersion: kubeadm.k8s.io/{api}\nkind: ClusterConfiguration\nscheduler:{scheduler}\n"
            )
        };
        let form = |api: &str, scheduler: &str| {
            extra_args_form(
                &doc(api, scheduler),
                0,
                "scheduler",
                &format!("kubeadm.k8s.io/{api}"),
            )
        };
        assert_eq!(form("v1beta4", " {}"), Ok(ArgsForm::List));
        assert_eq!(form("v1beta4", "\n  extraArgs: []"), Ok(ArgsForm::List));
        assert_eq!(form("v1beta3", "\n  extraArgs:"), Ok(ArgsForm::Map));
        assert_eq!(
            form("v1beta2", " {extraArgs: {v: \"2\"}}"),
            Ok(ArgsForm::Map)
        );
        let e = form("v1beta4", "\n  extraArgs: {}").unwrap_err();
        assert!(
            e.contains("`scheduler.extraArgs` is a map")
                && e.contains("kubeadm.k8s.io/v1beta4 wants a list"),
            "{e}"
        );
        let e = form("v1beta3", "\n  extraArgs:\n  - name: v\n    value: \"2\"").unwrap_err();
        assert!(e.contains("kubeadm.k8s.io/v1beta3 wants a map"), "{e}");
        assert!(form("v1", " {}").unwrap_err().contains("does not know"));
        // A ClusterConfiguration inside a Cluster API object: the mapping
        // at the offset, in the form of the object's API version.
        let capi = "kind: KubeadmControlPlane\nspec:\n  kubeadmConfigSpec:\n    clusterConfiguration:\n      scheduler:\n        extraArgs: {v: \"2\"}\n";
        let at = capi.find("scheduler:").unwrap_or_default();
        assert_eq!(
            extra_args_form(
                capi,
                at,
                "scheduler",
                "controlplane.cluster.x-k8s.io/v1beta1"
            ),
            Ok(ArgsForm::Map)
        );
        let e = extra_args_form(
            capi,
            at,
            "scheduler",
            "controlplane.cluster.x-k8s.io/v1beta2",
        )
        .unwrap_err();
        assert!(e.contains("v1beta2 wants a list"), "{e}");
        assert!(
            extra_args_form(
                capi,
                at + 1,
                "scheduler",
                "controlplane.cluster.x-k8s.io/v1beta1"
            )
            .unwrap_err()
            .contains("moved")
        );
    }

    #[test]
    fn a_setting_beside_an_environment_variable_takes_its_prefix() {
        let edit = |text: &str, value: &str| {
            let mut db = FileDb::default();
            let id = db.add("e".into(), None, text.as_bytes(), std::path::PathBuf::new());
            let at = text.find(value).unwrap();
            let loc = Loc::new(id, at..at + value.len());
            env_line(
                &db,
                &loc,
                "client-cert-auth",
                "listen-metrics-urls",
                "http://0.0.0.0:2381",
            )
            .map(|e| {
                let mut out = text.to_owned();
                out.replace_range(e.range, &e.text);
                out
            })
        };
        assert_eq!(
            edit("ETCD_NAME=a\nETCD_CLIENT_CERT_AUTH=true\nETCD_DATA_DIR=/d\n", "true"),
            Ok("ETCD_NAME=a\nETCD_CLIENT_CERT_AUTH=true\nETCD_LISTEN_METRICS_URLS=http://0.0.0.0:2381\nETCD_DATA_DIR=/d\n".to_owned())
        );
        // After `export` and a quoted value; the file's CRLF line ends are kept.
        assert_eq!(
            edit("export ETCD_CLIENT_CERT_AUTH=\"true\"\r\n", "true"),
            Ok("export ETCD_CLIENT_CERT_AUTH=\"true\"\r\nETCD_LISTEN_METRICS_URLS=http://0.0.0.0:2381\r\n".to_owned())
        );
        // A unit's `Environment=` line, or a variable without a prefix, is
        // not an environment file's own line: edited by hand.
        for text in [
            "Environment=ETCD_CLIENT_CERT_AUTH=true\n",
            "Environment=\"ETCD_CLIENT_CERT_AUTH=true\"\n",
            "CLIENT_CERT_AUTH=true\n",
        ] {
            let e = edit(text, "true").unwrap_err();
            assert!(e.contains("by hand"), "{text}: {e}");
        }
    }

    #[test]
    fn rebinding_keeps_ports_and_brackets_v6() {
        assert_eq!(Rebind("0.0.0.0").apply("0.0.0.0:10249"), "0.0.0.0:10249");
        assert_eq!(Rebind("::").apply("0.0.0.0:10249"), "[::]:10249");
        assert_eq!(Rebind("::").apply("0.0.0.0"), "::");
        assert_eq!(
            Rebind("10.0.0.5").apply("http://0.0.0.0:2381"),
            "http://10.0.0.5:2381"
        );
    }
}
