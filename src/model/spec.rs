//! Component specifications: `rules/components/*.yaml`.
//!
//! What starts a component (binaries, systemd units), which settings it has
//! (flag, config key, type, defaults with and without a config file, what
//! kubeadm generates) and in which versions each flag is accepted.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use super::{Constraint, Version};
use crate::data::{At, Builtin, DataError, ScalarText, Source, builtin, from_data};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SettingType {
    String,
    Bool,
    Int,
    /// An IP address or host name, possibly with a port.
    Address,
    /// A comma-separated list of URLs.
    Urls,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SerializableDefaults {
    flags: Option<ScalarText>,
    config: Option<ScalarText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SerializableKubeadm {
    value: ScalarText,
    versions: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SerializableOnlyValues {
    from: String,
    values: Vec<ScalarText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SerializableNeedsEnv {
    name: String,
    versions: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SerializableSetting {
    name: String,
    flag: Option<String>,
    config: Option<String>,
    #[serde(rename = "type")]
    ty: SettingType,
    default: Option<SerializableDefaults>,
    kubeadm: Option<SerializableKubeadm>,
    /// What k3s passes to its embedded component (same shape as `kubeadm`).
    k3s: Option<SerializableKubeadm>,
    /// What RKE2 passes to the component it runs (same shape).
    rke2: Option<SerializableKubeadm>,
    introduced_in: Option<String>,
    deprecated_in: Option<String>,
    removed_in: Option<String>,
    only_values: Option<SerializableOnlyValues>,
    needs_env: Option<SerializableNeedsEnv>,
    reported_by: Option<String>,
    earlier_default: Option<SerializableEarlierDefault>,
    kubeadm_dropin: Option<ScalarText>,
    #[serde(rename = "doc")]
    _doc: Option<String>,
    #[serde(default, rename = "references")]
    _references: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SerializableEarlierDefault {
    before: String,
    value: ScalarText,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SerializableConfigKind {
    api_version: String,
    kind: String,
    flag: String,
    dir_flag: Option<String>,
    kubeadm_path: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SerializableServingFiles {
    dir_setting: String,
    pairs: Vec<(String, String)>,
    #[serde(rename = "references")]
    _references: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SerializableWebhookClient {
    from: String,
    settings: Vec<String>,
    #[serde(rename = "references")]
    _references: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SerializableRewritten {
    path: String,
    note: String,
    #[serde(rename = "references")]
    _references: Vec<String>,
}

/// What a component makes of a flag whose setting its `--config` file can
/// hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum FlagsWithConfig {
    /// The flag wins over the file (the kubelet).
    #[default]
    Override,
    /// The file decides and the flag has no effect (kube-proxy).
    Ignored,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SerializableComponent {
    component: String,
    binaries: Vec<String>,
    #[serde(default)]
    systemd_units: Vec<String>,
    config_kind: Option<SerializableConfigKind>,
    #[serde(default)]
    flags_with_config: FlagsWithConfig,
    #[serde(default)]
    bool_flags: Vec<String>,
    env_prefix: Option<String>,
    config_file_flag: Option<String>,
    webhook_client: Option<SerializableWebhookClient>,
    serving_files: Option<SerializableServingFiles>,
    #[serde(default)]
    rewritten: Vec<SerializableRewritten>,
    settings: Vec<SerializableSetting>,
}

/// What kubeadm writes for a setting the user's `extraArgs` leave out.
#[derive(Debug, Clone)]
pub(crate) struct KubeadmDefault {
    pub(crate) value: String,
    /// The kubeadm versions that write it (all must hold); empty: every one.
    pub(crate) versions: Vec<Constraint>,
}

/// A setting of a component.
#[derive(Debug, Clone)]
pub(crate) struct SettingSpec {
    pub(crate) name: String,
    pub(crate) flag: Option<String>,
    /// Dotted key path in the component's configuration file.
    pub(crate) config: Option<String>,
    pub(crate) ty: SettingType,
    /// The binary's default without a configuration file.
    pub(crate) default_flags: Option<String>,
    /// The configuration file API's default.
    pub(crate) default_config: Option<String>,
    pub(crate) kubeadm: Option<KubeadmDefault>,
    /// What k3s passes to the component it embeds when the user's
    /// `*-arg` options leave the setting out.
    pub(crate) k3s: Option<KubeadmDefault>,
    /// The same for RKE2.
    pub(crate) rke2: Option<KubeadmDefault>,
    pub(crate) introduced_in: Option<Version>,
    pub(crate) removed_in: Option<Version>,
    /// From this version only these values are accepted.
    pub(crate) only_values: Option<(Version, Vec<String>)>,
    /// In these versions the flag is refused unless this variable is set
    /// in the component's environment (any value).
    pub(crate) needs_env: Option<(String, Constraint)>,
    /// Another rule reports this flag's removal.
    pub(crate) reported_by: Option<String>,
    /// The binary's default before a version, where it changed (the fix's
    /// exposure check uses it; evaluation takes the flag as unset).
    pub(crate) earlier_default: Option<(Version, String)>,
    /// The value kubeadm's drop-in for the component (`10-kubeadm.conf`)
    /// passes with the flag.
    pub(crate) kubeadm_dropin: Option<String>,
}

/// Why a version does not accept a flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    Removed(Version),
    NotYet(Version),
    OnlyValues(Version, Vec<String>),
}

impl SettingSpec {
    /// Whether `version` refuses this flag with `value`.
    pub(crate) fn refusal(&self, version: Version, value: &str) -> Option<Refusal> {
        let at_least = |v: Version| (version.major, version.minor) >= (v.major, v.minor);
        if let Some(r) = self.removed_in.filter(|&r| at_least(r)) {
            return Some(Refusal::Removed(r));
        }
        if let Some(i) = self.introduced_in.filter(|&i| !at_least(i)) {
            return Some(Refusal::NotYet(i));
        }
        match &self.only_values {
            Some((from, values)) if at_least(*from) && !values.iter().any(|v| v == value) => {
                Some(Refusal::OnlyValues(*from, values.clone()))
            }
            _ => None,
        }
    }
}

impl SettingSpec {
    /// The versions that accept this flag with `value`, when they are
    /// bounded: from `introduced_in`, before `removed_in` (or before the
    /// version from which only other values are accepted).
    pub(crate) fn bound(&self, value: &str) -> Option<super::Bound> {
        let refused_from = self
            .only_values
            .as_ref()
            .filter(|(_, values)| !values.iter().any(|v| v == value))
            .map(|(from, _)| *from);
        let before = [self.removed_in, refused_from]
            .into_iter()
            .flatten()
            .min_by_key(|v| (v.major, v.minor));
        (self.introduced_in.is_some() || before.is_some()).then(|| super::Bound {
            flag: self.flag.clone().unwrap_or_else(|| self.name.clone()),
            from: self.introduced_in,
            before,
        })
    }
}

/// The configuration file API a component reads with a flag.
#[derive(Debug, Clone)]
pub(crate) struct ConfigKind {
    pub(crate) api_version: String,
    pub(crate) kind: String,
    pub(crate) flag: String,
    /// The flag that names a directory of drop-ins of the same kind
    /// (`*.conf`, merged over the file in lexical order).
    pub(crate) dir_flag: Option<String>,
    /// Where kubeadm writes the file at init and join (an in-image path),
    /// so that its absence from an image is expected.
    pub(crate) kubeadm_path: Option<String>,
}

/// Where a component keeps the serving certificate and key it made or
/// was issued, and reuses at start (`serving_files`).
#[derive(Debug, Clone)]
pub(crate) struct ServingFiles {
    /// The setting that names their directory (`cert-dir`).
    pub(crate) dir_setting: String,
    /// Certificate and key file names in it (the same name for a file
    /// that holds both).
    pub(crate) pairs: Vec<(String, String)>,
}

/// From which version Webhook authentication or authorization needs a
/// client for the API server, and the settings that give one.
#[derive(Debug, Clone)]
pub(crate) struct WebhookClient {
    pub(crate) from: Version,
    pub(crate) settings: Vec<String>,
}

/// A file that is rewritten at boot or by a tool, and where the lasting
/// change belongs.
#[derive(Debug, Clone)]
pub(crate) struct Rewritten {
    /// An in-image path without the leading `/`; ending in `/`, every file
    /// below that directory.
    pub(crate) path: String,
    pub(crate) note: String,
}

/// A component: what starts it and which settings it has.
#[derive(Debug, Clone)]
pub(crate) struct ComponentSpec {
    pub(crate) name: String,
    pub(crate) binaries: Vec<String>,
    pub(crate) systemd_units: Vec<String>,
    pub(crate) config_kind: Option<ConfigKind>,
    pub(crate) flags_with_config: FlagsWithConfig,
    pub(crate) bool_flags: HashSet<String>,
    /// Variables named `<prefix>_<FLAG>` set flags the command line leaves
    /// out (etcd's `ETCD_LISTEN_METRICS_URLS`).
    pub(crate) env_prefix: Option<String>,
    /// A flag naming a YAML file whose keys are flag names; when it is
    /// given, the file decides and the flags and variables are ignored
    /// (etcd's `--config-file`).
    pub(crate) config_file_flag: Option<String>,
    pub(crate) webhook_client: Option<WebhookClient>,
    pub(crate) serving_files: Option<ServingFiles>,
    pub(crate) rewritten: Vec<Rewritten>,
    pub(crate) settings: Vec<SettingSpec>,
}

impl ComponentSpec {
    pub(crate) fn setting(&self, name: &str) -> Option<&SettingSpec> {
        self.settings.iter().find(|s| s.name == name)
    }

    /// The setting a flag sets.
    pub(crate) fn by_flag(&self, flag: &str) -> Option<&SettingSpec> {
        self.settings
            .iter()
            .find(|s| s.flag.as_deref() == Some(flag))
    }

    /// The note on a file of this component that is rewritten (`path`
    /// in-image, without the leading `/`).
    pub(crate) fn rewritten_note(&self, path: &str) -> Option<&str> {
        self.rewritten
            .iter()
            .find(|r| match r.path.strip_suffix('/') {
                Some(dir) => path.strip_prefix(dir).is_some_and(|p| p.starts_with('/')),
                None => r.path == path,
            })
            .map(|r| r.note.as_str())
    }

    /// Whether `exe` (a path or a name) starts this component.
    pub(crate) fn runs(&self, exe: &str) -> bool {
        let base = exe.rsplit('/').next().unwrap_or(exe);
        self.binaries.iter().any(|b| b == base)
    }
}

/// The component files built into promready, sorted by file name (the
/// build lists every `rules/components/*.yaml`).
pub(crate) const BUILTIN: &[Builtin] = builtin!("components");

/// Loads the built-in components.
pub(crate) fn load_components()
-> Result<BTreeMap<String, ComponentSpec>, (String, String, DataError)> {
    let mut out = BTreeMap::new();
    for (path, text, json) in BUILTIN {
        let c =
            compile(text, Some(json)).map_err(|e| ((*path).to_owned(), (*text).to_owned(), e))?;
        out.insert(c.name.clone(), c);
    }
    Ok(out)
}

fn version(src: &Source, v: Option<String>, at: &At) -> Result<Option<Version>, DataError> {
    v.map(|t| {
        Version::parse(&t)
            .ok_or_else(|| src.error(format!("`{t}` is not a Kubernetes version"), at))
    })
    .transpose()
}

fn constraint(src: &Source, c: &str, at: &At) -> Result<Constraint, DataError> {
    Constraint::parse(c).ok_or_else(|| {
        src.error(
            format!("`{c}` is not a version constraint like `>=1.14`"),
            at,
        )
    })
}

/// Compiles the setting `s`, found at `at`.
fn setting(src: &Source, s: SerializableSetting, at: &At) -> Result<SettingSpec, DataError> {
    version(src, s.deprecated_in, &at.key("deprecated_in"))?;
    let generated = |g: Option<SerializableKubeadm>, key: &str| -> Result<_, DataError> {
        Ok(match g {
            None => None,
            Some(k) => Some(KubeadmDefault {
                value: k.value.text(),
                versions: match k.versions {
                    None => Vec::new(),
                    // `>=1.19, <1.23`: a range.
                    Some(c) => c
                        .split(',')
                        .map(|one| {
                            let one = one.trim();
                            constraint(src, one, &at.key(key).key("versions").within(one))
                        })
                        .collect::<Result<_, _>>()?,
                },
            }),
        })
    };
    let kubeadm = generated(s.kubeadm, "kubeadm")?;
    let k3s = generated(s.k3s, "k3s")?;
    let rke2 = generated(s.rke2, "rke2")?;
    let only_values = match s.only_values {
        None => None,
        Some(o) => Some((
            version(src, Some(o.from), &at.key("only_values").key("from"))?.unwrap_or(Version {
                major: 0,
                minor: 0,
                patch: None,
            }),
            o.values.iter().map(ScalarText::text).collect(),
        )),
    };
    let needs_env = match s.needs_env {
        None => None,
        Some(n) => Some((
            n.name,
            constraint(src, &n.versions, &at.key("needs_env").key("versions"))?,
        )),
    };
    let earlier_default = match s.earlier_default {
        None => None,
        Some(d) => version(
            src,
            Some(d.before),
            &at.key("earlier_default").key("before"),
        )?
        .map(|v| (v, d.value.text())),
    };
    if s.kubeadm_dropin.is_some() && s.flag.is_none() {
        return Err(src.error(
            format!("`{}` has no flag for kubeadm's drop-in to pass", s.name),
            &at.key("kubeadm_dropin").the_key(),
        ));
    }
    Ok(SettingSpec {
        kubeadm_dropin: s.kubeadm_dropin.as_ref().map(ScalarText::text),
        earlier_default,
        needs_env,
        flag: s.flag,
        config: s.config,
        ty: s.ty,
        default_flags: s
            .default
            .as_ref()
            .and_then(|d| d.flags.as_ref().map(ScalarText::text)),
        default_config: s
            .default
            .as_ref()
            .and_then(|d| d.config.as_ref().map(ScalarText::text)),
        kubeadm,
        k3s,
        rke2,
        introduced_in: version(src, s.introduced_in, &at.key("introduced_in"))?,
        removed_in: version(src, s.removed_in, &at.key("removed_in"))?,
        only_values,
        reported_by: s.reported_by,
        name: s.name,
    })
}

/// The facts of a component beyond its settings, checked against them.
fn component_facts(
    src: &Source,
    raw: &SerializableComponent,
    settings: &[SettingSpec],
) -> Result<(Option<WebhookClient>, Vec<Rewritten>), DataError> {
    let known = |name: &str| settings.iter().any(|s| s.name == name);
    let has_flag = |flag: &str| settings.iter().any(|s| s.flag.as_deref() == Some(flag));
    let root = At::root();
    if let Some(c) = &raw.config_kind {
        let at = root.key("config_kind");
        // The drop-in directory's flag is a setting, with the versions that
        // accept it.
        if let Some(flag) = c.dir_flag.as_ref().filter(|f| !has_flag(f)) {
            return Err(src.error(
                format!("`{flag}` is not the flag of a setting of {}", raw.component),
                &at.key("dir_flag"),
            ));
        }
        if let Some(p) = c.kubeadm_path.as_ref().filter(|p| !p.starts_with('/')) {
            return Err(src.error(
                format!("`{p}` is not an absolute path"),
                &at.key("kubeadm_path"),
            ));
        }
    }
    let webhook_client = match &raw.webhook_client {
        None => None,
        Some(w) => {
            let at = root.key("webhook_client");
            if let Some(i) = w.settings.iter().position(|s| !known(s)) {
                return Err(src.error(
                    format!("unknown setting `{}` of {}", w.settings[i], raw.component),
                    &at.key("settings").index(i),
                ));
            }
            let from = version(src, Some(w.from.clone()), &at.key("from"))?;
            from.map(|from| WebhookClient {
                from,
                settings: w.settings.clone(),
            })
        }
    };
    let mut rewritten = Vec::new();
    for (i, r) in raw.rewritten.iter().enumerate() {
        let Some(path) = r.path.strip_prefix('/').filter(|p| !p.is_empty()) else {
            return Err(src.error(
                format!("`{}` is not an absolute path", r.path),
                &root.key("rewritten").index(i).key("path"),
            ));
        };
        rewritten.push(Rewritten {
            path: path.to_owned(),
            note: r.note.clone(),
        });
    }
    Ok((webhook_client, rewritten))
}

fn compile(text: &str, json: Option<&str>) -> Result<ComponentSpec, DataError> {
    let mut raw: SerializableComponent = from_data(text, json)?;
    let src = &Source::new(text);
    let mut settings = Vec::new();
    let mut seen = HashSet::new();
    for (i, s) in std::mem::take(&mut raw.settings).into_iter().enumerate() {
        let at = At::root().key("settings").index(i);
        if !seen.insert(s.name.clone()) {
            return Err(src.error(
                format!("setting `{}` is defined twice", s.name),
                &at.key("name"),
            ));
        }
        settings.push(setting(src, s, &at)?);
    }
    let (webhook_client, rewritten) = component_facts(src, &raw, &settings)?;
    let serving_files = match &raw.serving_files {
        None => None,
        Some(f) => {
            if !settings.iter().any(|s| s.name == f.dir_setting) {
                return Err(src.error(
                    format!("unknown setting `{}` of {}", f.dir_setting, raw.component),
                    &At::root().key("serving_files").key("dir_setting"),
                ));
            }
            Some(ServingFiles {
                dir_setting: f.dir_setting.clone(),
                pairs: f.pairs.clone(),
            })
        }
    };
    Ok(ComponentSpec {
        name: raw.component,
        binaries: raw.binaries,
        systemd_units: raw.systemd_units,
        config_kind: raw.config_kind.map(|c| ConfigKind {
            api_version: c.api_version,
            kind: c.kind,
            flag: c.flag,
            dir_flag: c.dir_flag,
            kubeadm_path: c.kubeadm_path,
        }),
        flags_with_config: raw.flags_with_config,
        bool_flags: raw.bool_flags.into_iter().collect(),
        env_prefix: raw.env_prefix,
        config_file_flag: raw.config_file_flag,
        webhook_client,
        serving_files,
        rewritten,
        settings,
    })
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn builtin_components_load() {
        let c = load_components().map_err(|e| e.2.message).unwrap();
        let k = &c["kubelet"];
        assert!(k.bool_flags.contains("authentication-token-webhook"));
        assert!(!k.bool_flags.contains("read-only-port"));
        let s = k.setting("readOnlyPort").unwrap();
        assert_eq!(s.default_flags.as_deref(), Some("10255"));
        assert_eq!(s.default_config.as_deref(), Some("0"));
        assert!(k.runs("/usr/bin/kubelet"));
    }

    #[test]
    fn builtin_list_matches_the_components_directory() {
        crate::data::assert_registered("rules/components", BUILTIN);
    }

    #[test]
    fn refusals_follow_the_version() {
        let v = |s: &str| Version::parse(s).unwrap();
        let port = SettingSpec {
            name: "port".into(),
            flag: Some("port".into()),
            config: None,
            ty: SettingType::Int,
            default_flags: Some("10252".into()),
            default_config: None,
            kubeadm: None,
            k3s: None,
            rke2: None,
            introduced_in: None,
            removed_in: Some(v("1.24")),
            only_values: Some((v("1.22"), vec!["0".into()])),
            needs_env: None,
            reported_by: None,
            earlier_default: None,
            kubeadm_dropin: None,
        };
        assert_eq!(port.refusal(v("1.21.9"), "10252"), None);
        assert!(matches!(
            port.refusal(v("1.22.0"), "10252"),
            Some(Refusal::OnlyValues(..))
        ));
        assert_eq!(port.refusal(v("1.23.1"), "0"), None);
        assert!(matches!(
            port.refusal(v("1.24"), "0"),
            Some(Refusal::Removed(_))
        ));
    }

    #[test]
    fn schema_errors_point_into_the_file() {
        let text = "component: x\nbinaries: [x]\nsettings:\n  - name: a\n    type: colour\n";
        let e = compile(text, None).unwrap_err();
        assert!(e.message.starts_with("settings[0].type"), "{}", e.message);
        assert_eq!(&text[e.span], "type");
    }

    #[test]
    fn semantic_errors_point_at_the_offending_key() {
        let line = |text: &str, e: &DataError| text[..e.span.start].matches('\n').count() + 1;
        // The second `port` is the one defined twice, not the last word
        // `port` of the file.
        let text = "component: x\nbinaries: [x]\nsettings:\n  - name: port\n    type: int\n  - name: port\n    type: int\n    doc: \"another port\"\n";
        let e = compile(text, None).unwrap_err();
        assert!(e.message.contains("defined twice"), "{}", e.message);
        assert_eq!((line(text, &e), &text[e.span.clone()]), (6, "port"));
        // The version is the `removed_in`, not its first mention in `doc`.
        let text = "component: x\nbinaries: [x]\nsettings:\n  - name: a\n    type: int\n    doc: \"removed in 1.x\"\n    removed_in: \"1.x\"\n";
        let e = compile(text, None).unwrap_err();
        assert!(
            e.message.contains("not a Kubernetes version"),
            "{}",
            e.message
        );
        assert_eq!((line(text, &e), &text[e.span.clone()]), (7, "\"1.x\""));
        // One constraint of a range.
        let text = "component: x\nbinaries: [x]\nsettings:\n  - name: a\n    type: int\n    doc: \"<1.x\"\n    kubeadm:\n      value: \"1\"\n      versions: \">=1.19, <1.x\"\n";
        let e = compile(text, None).unwrap_err();
        assert_eq!((line(text, &e), &text[e.span.clone()]), (9, "<1.x"));
    }

    #[test]
    fn kubernetes_facts_are_data() {
        let c = load_components().map_err(|e| e.2.message).unwrap();
        let k = &c["kubelet"];
        let kind = k.config_kind.as_ref().unwrap();
        assert_eq!(kind.dir_flag.as_deref(), Some("config-dir"));
        assert_eq!(
            kind.kubeadm_path.as_deref(),
            Some("/var/lib/kubelet/config.yaml")
        );
        let client = k.webhook_client.as_ref().unwrap();
        assert_eq!(client.from, Version::parse("1.10").unwrap());
        assert!(client.settings.iter().any(|s| s == "kubeconfig"));
        let cadvisor = k.setting("cadvisor-port").unwrap();
        assert_eq!(
            cadvisor.earlier_default,
            Some((Version::parse("1.11").unwrap(), "4194".to_owned()))
        );
        assert!(
            k.rewritten_note("var/lib/kubelet/config.yaml")
                .unwrap()
                .contains("kubelet-config ConfigMap")
        );
        assert!(
            k.rewritten_note("var/lib/kubelet/config.yaml.bak")
                .is_none()
        );
        assert!(
            k.rewritten_note("etc/kubernetes/manifests/etcd.yaml")
                .is_some()
        );
        assert!(k.rewritten_note("etc/kubernetes/manifests").is_none());
        assert_eq!(
            k.setting("kubeconfig").unwrap().kubeadm_dropin.as_deref(),
            Some("/etc/kubernetes/kubelet.conf")
        );
    }

    #[test]
    fn component_facts_are_validated() {
        let base = "component: x\nbinaries: [x]\nsettings:\n  - name: kubeconfig\n    flag: kubeconfig\n    type: string\n";
        let cases = [
            (
                format!(
                    "{base}webhook_client:\n  from: \"1.10\"\n  settings: [kubeconfig, kubeconfg]\n  references: []\n"
                ),
                "unknown setting `kubeconfg`",
                "kubeconfg",
            ),
            (
                format!("{base}webhook_client:\n  from: \"1.10\"\n  settings: [kubeconfig]\n"),
                "missing field `references`",
                "webhook_client",
            ),
            (
                format!(
                    "{base}rewritten:\n  - path: etc/x\n    note: a note\n    references: []\n"
                ),
                "not an absolute path",
                "etc/x",
            ),
            (
                format!(
                    "{base}rewritten:\n  - path: /etc/x\n    note: a note\n    by: kubeadm\n    references: []\n"
                ),
                "unknown field `by`",
                "by",
            ),
            (
                format!(
                    "{base}config_kind:\n  api_version: v1\n  kind: X\n  flag: config\n  dir_flag: config-dir\n"
                ),
                "`config-dir` is not the flag of a setting",
                "config-dir",
            ),
            (
                format!("{base}    earlier_default:\n      before: \"1.x\"\n      value: \"1\"\n"),
                "not a Kubernetes version",
                "\"1.x\"",
            ),
        ];
        for (text, want, span) in cases {
            let e = compile(&text, None).unwrap_err();
            assert!(e.message.contains(want), "{}", e.message);
            assert_eq!(&text[e.span], span, "{want}");
        }
    }
}
