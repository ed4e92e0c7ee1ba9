//! Environment files read by `EnvironmentFile=` (systemd.exec(5)).
//!
//! The grammar is systemd's `parse_env_file`: `#`/`;` comment lines, lines
//! without `=` ignored, shell-like single and double quotes (which may span
//! lines), backslash escapes and continuations, and trailing white space of
//! unquoted values dropped.

use crate::span::FileId;
use crate::text::Cooked;

/// One `NAME=value` assignment.
#[derive(Debug, Clone)]
pub(crate) struct Assignment {
    pub(crate) name: String,
    pub(crate) value: Cooked,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    PreKey,
    Key,
    PreValue,
    Value,
    ValueEscape,
    Single,
    Double,
    DoubleEscape,
    Comment,
    CommentEscape,
}

/// Parses an environment file.
#[allow(clippy::too_many_lines)] // one state machine, as in systemd's env-file.c
pub(crate) fn parse(file: FileId, text: &str) -> Vec<Assignment> {
    let mut out = Vec::new();
    let mut state = State::PreKey;
    let mut key = String::new();
    let mut value = Cooked::new();
    // Length of `value` up to its last character that is not trailing,
    // unquoted white space.
    let mut keep = 0;
    // systemd does not skip a byte-order mark: it becomes part of the first
    // name, which is then invalid.
    let (body, base) = (text, 0);
    let mut commit = |key: &mut String, value: &mut Cooked, keep: usize| {
        let name = key.trim_end().to_owned();
        let mut v = std::mem::take(value);
        if keep < v.len() {
            v = v.slice(0..keep);
        }
        if is_env_name(&name) {
            out.push(Assignment { name, value: v });
        }
        key.clear();
    };
    for (i, c) in body.char_indices() {
        let at = base + i;
        let here = at..at + c.len_utf8();
        match state {
            State::PreKey => {
                if c == '#' || c == ';' {
                    state = State::Comment;
                } else if !is_space(c) {
                    state = State::Key;
                    key.push(c);
                }
            }
            State::Key => {
                if is_newline(c) {
                    key.clear();
                    state = State::PreKey;
                } else if c == '=' {
                    state = State::PreValue;
                    keep = 0;
                } else {
                    key.push(c);
                }
            }
            State::PreValue => match c {
                c if is_newline(c) => {
                    commit(&mut key, &mut value, keep);
                    state = State::PreKey;
                }
                '\'' => state = State::Single,
                '"' => state = State::Double,
                '\\' => state = State::ValueEscape,
                c if is_space(c) => {}
                c => {
                    value.push(c, file, here.clone());
                    keep = value.len();
                    state = State::Value;
                }
            },
            State::Value => match c {
                c if is_newline(c) => {
                    commit(&mut key, &mut value, keep);
                    state = State::PreKey;
                }
                '\\' => state = State::ValueEscape,
                c => {
                    value.push(c, file, here.clone());
                    if !is_space(c) {
                        keep = value.len();
                    }
                }
            },
            State::ValueEscape => {
                state = State::Value;
                if !is_newline(c) {
                    value.push(c, file, at - 1..here.end);
                    keep = value.len();
                }
            }
            State::Single => {
                if c == '\'' {
                    state = State::PreValue;
                } else {
                    value.push(c, file, here.clone());
                }
                keep = value.len();
            }
            State::Double => {
                match c {
                    '"' => state = State::PreValue,
                    '\\' => state = State::DoubleEscape,
                    c => value.push(c, file, here.clone()),
                }
                keep = value.len();
            }
            State::DoubleEscape => {
                state = State::Double;
                if matches!(c, '"' | '\\' | '`' | '$') {
                    value.push(c, file, at - 1..here.end);
                } else if !is_newline(c) {
                    value.push('\\', file, at - 1..at);
                    value.push(c, file, here.clone());
                }
                keep = value.len();
            }
            State::Comment => {
                if c == '\\' {
                    state = State::CommentEscape;
                } else if is_newline(c) {
                    state = State::PreKey;
                }
            }
            State::CommentEscape => state = State::Comment,
        }
    }
    if matches!(
        state,
        State::PreValue
            | State::Value
            | State::ValueEscape
            | State::Single
            | State::Double
            | State::DoubleEscape
    ) {
        commit(&mut key, &mut value, keep);
    }
    out
}

/// systemd's `WHITESPACE`.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// systemd's `NEWLINE`: a carriage return ends a line too.
fn is_newline(c: char) -> bool {
    matches!(c, '\n' | '\r')
}

/// Lines (1-based) of comments ending in a backslash, which swallow the next
/// line before systemd 254 and not since.
pub(crate) fn continued_comments(text: &str) -> Vec<usize> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter(|(i, l)| {
            let t = l.trim_start();
            t.starts_with(['#', ';']) && t.ends_with('\\') && i + 1 < lines.len()
        })
        .map(|(i, _)| i + 1)
        .collect()
}

/// Whether `name` is a valid environment variable name for systemd.
pub(crate) fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(text: &str) -> Vec<(String, String)> {
        parse(FileId::TEST, text)
            .into_iter()
            .map(|a| (a.name, a.value.as_str().to_owned()))
            .collect()
    }

    #[test]
    fn shell_like_quoting_comments_and_continuations() {
        let text = "# comment \\\n still comment\nA=plain value  \nB=\"dq \\\"x\\\" \\$y \\n\"\nC='sq \\ \"'\nD=one \\\n two\n  E = e\nnot an assignment\nF=\n9X=bad\n";
        assert_eq!(
            vars(text),
            [
                ("A".into(), "plain value".into()),
                ("B".into(), "dq \"x\" $y \\n".into()),
                ("C".into(), "sq \\ \"".into()),
                ("D".into(), "one  two".into()),
                ("E".into(), "e".into()),
                ("F".into(), String::new()),
            ]
        );
    }

    #[test]
    fn spans_point_into_quoted_values() {
        let text = "KUBELET_EXTRA_ARGS=\"--authorization-mode=AlwaysAllow\"\n";
        let a = &parse(FileId::TEST, text)[0];
        assert_eq!(
            &text[a.value.loc().unwrap().span],
            "--authorization-mode=AlwaysAllow"
        );
    }

    #[test]
    fn unterminated_quote_still_yields_the_value() {
        assert_eq!(
            vars("A=\"open\nstill"),
            [("A".into(), "open\nstill".into())]
        );
    }
}
