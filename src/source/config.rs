//! Configuration files the user pointed at: every file of a configuration
//! directory (a kubeadm config repository), or files named on the command
//! line. Unlike an image, these are read as they are on this machine; their
//! paths in reports are relative to the directory, or as given.

use std::path::{Path, PathBuf};

use super::{FileDb, InRootError, InputError, MAX_FILE_SIZE, Notice, Overlay, Root};
use crate::span::FileId;

/// The files read from one directory, or from the named files.
#[derive(Default)]
pub(crate) struct ConfigFiles {
    pub(crate) files: FileDb,
    /// The files read as configuration, in the order read.
    pub(crate) ids: Vec<FileId>,
    pub(crate) notices: Vec<Notice>,
    /// Named files that are not text (shown with `--verbose`).
    pub(crate) skipped: Vec<Notice>,
}

impl InputError {
    /// The error for a host path that cannot be read.
    pub(crate) fn io(path: &Path, source: std::io::Error) -> InputError {
        match source.kind() {
            std::io::ErrorKind::NotFound => InputError::Missing {
                path: path.to_path_buf(),
            },
            _ => InputError::Io {
                path: path.to_path_buf(),
                source,
            },
        }
    }
}

/// Whether a path below `root` has a hidden component (the walk skips those).
fn hidden(path: &Path, root: &Path) -> bool {
    path.strip_prefix(root).is_ok_and(|rel| {
        rel.components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
    })
}

/// Reads a configuration file that the user pointed at (directly or in a
/// directory): regular files under the size cap that hold text. A file of
/// a scanned directory is read inside it (`inside`: the directory and the
/// file's path in it), as image files are.
fn read_config_file(
    path: &Path,
    overlay: &Overlay,
    inside: Option<(&Root, &Path)>,
) -> Result<Option<Vec<u8>>, InputError> {
    if let Some(bytes) = overlay.get(path) {
        return Ok(Some(bytes.clone()));
    }
    let bytes = match inside {
        Some((root, rel)) => match root.read(&format!("/{}", rel.display()), MAX_FILE_SIZE) {
            Ok(b) => b,
            Err(InRootError::Io(e)) => return Err(InputError::io(path, e)),
            Err(_) => return Ok(None),
        },
        None => {
            let meta = std::fs::metadata(path).map_err(|e| InputError::io(path, e))?;
            if !meta.is_file() || meta.len() > MAX_FILE_SIZE {
                return Ok(None);
            }
            std::fs::read(path).map_err(|e| InputError::io(path, e))?
        }
    };
    // Binary files are not configuration.
    if bytes.iter().take(8192).any(|&b| b == 0) {
        return Ok(None);
    }
    Ok(Some(bytes))
}

/// Reads every text file of a configuration directory, in file-name order,
/// skipping hidden entries and links that lead outside it (with a notice)
/// or to a file that is read under its own name.
pub(crate) fn read_directory(input: &Path, overlay: &Overlay) -> Result<ConfigFiles, InputError> {
    let mut out = ConfigFiles::default();
    let root = input.canonicalize().map_err(|e| InputError::io(input, e))?;
    let inroot = Root::open(&root).map_err(|e| InputError::io(input, e))?;
    let walker = walkdir::WalkDir::new(input)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(input).to_path_buf();
            let source = e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("directory loop"));
            InputError::io(&path, source)
        })?;
        let path = entry.path();
        let shown = path
            .strip_prefix(input)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned();
        // Where the file is read inside the directory: its own path, or
        // for a link the path it leads to.
        let mut real = path.strip_prefix(input).unwrap_or(path).to_path_buf();
        if entry.path_is_symlink() {
            // Follow a link only if it stays inside the scanned directory.
            match path.canonicalize() {
                // A link to a file that is scanned under its own name
                // would report the same findings twice.
                Ok(target)
                    if target.starts_with(&root) && target.is_file() && !hidden(&target, &root) =>
                {
                    continue;
                }
                Ok(target) if target.starts_with(&root) && target.is_file() => {
                    real = target.strip_prefix(&root).unwrap_or(&target).to_path_buf();
                }
                Ok(target) if !target.starts_with(&root) => {
                    out.notices.push(Notice {
                        path: shown,
                        message: "symlink leads outside the scanned directory; not followed"
                            .to_owned(),
                    });
                    continue;
                }
                _ => continue,
            }
        } else if !entry.file_type().is_file() {
            continue;
        }
        match read_config_file(path, overlay, Some((&inroot, &real)))? {
            Some(bytes) => out
                .ids
                .push(out.files.add(shown, None, &bytes, path.to_path_buf())),
            None if std::fs::metadata(path).is_ok_and(|m| m.len() > MAX_FILE_SIZE) => {
                out.notices.push(Notice {
                    path: shown,
                    message: format!(
                        "over the {MAX_FILE_SIZE}-byte limit for configuration files; skipped"
                    ),
                });
            }
            None => {}
        }
    }
    Ok(out)
}

/// Reads the files named on the command line; a file that cannot be read
/// is an error of its own, pushed to `errors`. Also returns the first path
/// that was read (the target's name), if any.
pub(crate) fn read_named(
    paths: &[PathBuf],
    overlay: &Overlay,
    errors: &mut Vec<InputError>,
) -> (ConfigFiles, Option<PathBuf>) {
    let mut out = ConfigFiles::default();
    let mut first = None;
    for p in paths {
        let shown = p.display().to_string();
        match read_config_file(p, overlay, None) {
            Ok(Some(bytes)) => out.ids.push(out.files.add(shown, None, &bytes, p.clone())),
            Ok(None) => match std::fs::metadata(p) {
                // It may be configuration: say so as a note.
                Ok(m) if m.len() > MAX_FILE_SIZE => out.notices.push(Notice {
                    path: shown,
                    message: format!(
                        "{} bytes is over the size limit for configuration files ({MAX_FILE_SIZE} bytes); skipped",
                        m.len(),
                    ),
                }),
                _ => out.skipped.push(Notice {
                    path: shown,
                    message: "not a text file; skipped".to_owned(),
                }),
            },
            Err(e) => {
                errors.push(e);
                continue;
            }
        }
        first.get_or_insert_with(|| p.clone());
    }
    (out, first)
}
