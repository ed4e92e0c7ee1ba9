//! Component specifications: `rules/components/*.yaml`.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use super::Version;
use crate::data::{DataError, ScalarText, from_yaml};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SettingType {
    String,
    Bool,
    Int,
    /// An IP address or host name.
    Address,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SerializableDefaults {
    flags: ScalarText,
    config: ScalarText,
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
    deprecated_in: Option<String>,
    removed_in: Option<String>,
    #[serde(rename = "doc")]
    _doc: Option<String>,
    #[serde(default, rename = "references")]
    _references: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SerializableComponent {
    component: String,
    binaries: Vec<String>,
    #[serde(default)]
    bool_flags: Vec<String>,
    settings: Vec<SerializableSetting>,
}

/// A setting of a component.
#[derive(Debug, Clone)]
pub(crate) struct SettingSpec {
    pub(crate) name: String,
    pub(crate) flag: Option<String>,
    /// Dotted key path in the component's configuration file.
    pub(crate) config: Option<String>,
    pub(crate) ty: SettingType,
    /// Defaults without and with a configuration file.
    pub(crate) default_flags: Option<String>,
    pub(crate) default_config: Option<String>,
}

/// A component: what starts it and which settings it has.
#[derive(Debug, Clone)]
pub(crate) struct ComponentSpec {
    pub(crate) name: String,
    pub(crate) binaries: Vec<String>,
    pub(crate) bool_flags: HashSet<String>,
    pub(crate) settings: Vec<SettingSpec>,
}

impl ComponentSpec {
    pub(crate) fn setting(&self, name: &str) -> Option<&SettingSpec> {
        self.settings.iter().find(|s| s.name == name)
    }
}

/// The component files built into promready.
const BUILTIN: &[(&str, &str)] = &[(
    "rules/components/kubelet.yaml",
    include_str!("../../rules/components/kubelet.yaml"),
)];

/// Loads the built-in components.
pub(crate) fn load_components()
-> Result<BTreeMap<String, ComponentSpec>, (String, String, DataError)> {
    let mut out = BTreeMap::new();
    for (path, text) in BUILTIN {
        let c = compile(text).map_err(|e| ((*path).to_owned(), (*text).to_owned(), e))?;
        out.insert(c.name.clone(), c);
    }
    Ok(out)
}

fn compile(text: &str) -> Result<ComponentSpec, DataError> {
    let raw: SerializableComponent = from_yaml(text)?;
    let mut settings = Vec::new();
    let mut seen = HashSet::new();
    for s in raw.settings {
        if !seen.insert(s.name.clone()) {
            return Err(DataError {
                message: format!("setting `{}` is defined twice", s.name),
                span: 0..0,
            });
        }
        let version = |v: Option<String>| -> Result<Option<Version>, DataError> {
            v.map(|t| {
                Version::parse(&t).ok_or_else(|| DataError {
                    message: format!("`{t}` is not a Kubernetes version"),
                    span: 0..0,
                })
            })
            .transpose()
        };
        version(s.deprecated_in)?;
        version(s.removed_in)?;
        settings.push(SettingSpec {
            flag: s.flag,
            config: s.config,
            ty: s.ty,
            default_flags: s.default.as_ref().map(|d| d.flags.text()),
            default_config: s.default.as_ref().map(|d| d.config.text()),
            name: s.name,
        });
    }
    Ok(ComponentSpec {
        name: raw.component,
        binaries: raw.binaries,
        bool_flags: raw.bool_flags.into_iter().collect(),
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
    }

    #[test]
    fn schema_errors_point_into_the_file() {
        let text = "component: x\nbinaries: [x]\nsettings:\n  - name: a\n    type: colour\n";
        let e = compile(text).unwrap_err();
        assert!(e.message.starts_with("settings[0].type"), "{}", e.message);
        assert_eq!(&text[e.span], "type");
    }
}
