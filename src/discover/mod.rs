//! Discovery: from files to the components they start.
//!
//! In an image: systemd services (the kubelet, and any component installed
//! as a service), then the static pods in the kubelet's manifest directory.
//! In a configuration repository or named files: every file, classified by
//! its content ([`repo`]).

pub(crate) mod capi;
pub(crate) mod invocation;
pub(crate) mod json6902;
pub(crate) mod k3s;
pub(crate) mod kind;
pub(crate) mod repo;
pub(crate) mod rpmdb;
pub(crate) mod service;
pub(crate) mod serving;
pub(crate) mod staticpod;
pub(crate) mod systemd;
pub(crate) mod unjudged;
pub(crate) mod version;

use std::collections::BTreeMap;

use crate::model::{ComponentSpec, Invocation, VersionInfo};
use crate::parse::yaml;
use crate::source::{Image, InputError, Loaded, join};

/// Every component an image starts.
pub(crate) fn image(
    image: &mut Image,
    components: &BTreeMap<String, ComponentSpec>,
    version: Option<&VersionInfo>,
) -> Result<Vec<Invocation>, InputError> {
    let mut out = Vec::new();
    for spec in components.values() {
        out.extend(service::discover(image, spec, version)?);
    }
    out.extend(k3s::discover(image, components, version)?);
    let kubelet = out.iter().find(|i| i.component == "kubelet");
    let dir = match kubelet.and_then(|k| k.setting("staticPodPath")) {
        Some(s) => s.value.clone().filter(|v| !v.is_empty()),
        None => Some(staticpod::KUBEADM_MANIFESTS.to_owned()),
    };
    if let Some(dir) = dir {
        let dir = join("/", &dir);
        for name in image.list_dir(&dir)? {
            // The kubelet skips hidden files in its manifest directory.
            if name.starts_with('.') {
                continue;
            }
            let path = format!("{dir}/{name}");
            let Loaded::File(id) = image.load(&path)? else {
                continue;
            };
            match yaml::parse(&image.files.get(id).text) {
                Ok(docs) => out.extend(staticpod::from_file(
                    &image.files,
                    id,
                    &docs,
                    components,
                    version,
                )),
                Err(e) => {
                    let f = image.files.get(id);
                    let (line, col) = f.line_col(e.offset);
                    let msg = format!(
                        "invalid YAML at {line}:{col}: {}; the kubelet will not run this static pod",
                        e.message
                    );
                    // When the manifest is recognisably a component's, that
                    // component does not start: a finding (PR012).
                    let text = &f.text;
                    let spec = components.values().find(|s| {
                        s.binaries.iter().any(|b| {
                            name.starts_with(b.as_str()) || text.contains(&format!("- {b}\n"))
                        })
                    });
                    match spec {
                        Some(spec) => {
                            let at = crate::span::Loc::new(id, e.offset..e.offset);
                            let mut inv = invocation::build(invocation::Parts {
                                spec,
                                db: &image.files,
                                start: at.clone(),
                                files: vec![id],
                                args: crate::parse::flags::Parsed::default(),
                                configs: Vec::new(),
                                defaults: invocation::Defaults {
                                    mode: crate::model::DefaultMode::Unknown,
                                    reason: format!("{path} does not parse"),
                                },
                                version: version.cloned(),
                                layout: crate::model::Layout::StaticPod,
                                source: crate::model::Source::CommandLine,
                            });
                            inv.problems.push(crate::model::Problem {
                                loc: Some(at),
                                message: msg,
                            });
                            out.push(inv);
                        }
                        None => image.notice(&path, msg),
                    }
                }
            }
        }
    }
    for inv in &mut out {
        if let Some(spec) = components.get(&inv.component) {
            inv.shipped = serving::shipped(image, spec, inv)?;
        }
    }
    Ok(out)
}
