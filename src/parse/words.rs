//! systemd word splitting (`extract_first_word` in systemd's
//! `src/basic/extract-word.c`).
//!
//! Words are separated by white space; `"…"` and `'…'` quote anywhere in a
//! word and are removed. How backslashes and errors are treated depends on
//! where the text comes from ([`Mode`]).

use crate::text::Cooked;

const SEPARATORS: &[char] = &[' ', '\t', '\n', '\r'];

/// Which of systemd's word-splitting flavours to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `Environment=`: C escapes; an unknown escape or an unbalanced quote
    /// ends the line ("Invalid syntax, ignoring"), keeping earlier words.
    Environ,
    /// `ExecStart=`: C escapes, an unknown escape kept as written
    /// (`EXTRACT_UNESCAPE_RELAX`); an unbalanced quote makes the unit fail
    /// to load. A bare `;` separates commands.
    Exec,
    /// The value of `$VAR` on a command line (`EXTRACT_RELAX |
    /// EXTRACT_UNQUOTE`): a backslash makes the next character literal, a
    /// trailing one is dropped, unbalanced quotes are accepted.
    Value,
}

/// Why splitting stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SplitError {
    UnknownEscape,
    UnbalancedQuote,
}

/// The words of a text.
#[derive(Debug, Clone, Default)]
pub(crate) struct Split {
    pub(crate) words: Vec<Cooked>,
    /// Indexes of words that were a bare `;` (only in [`Mode::Exec`]).
    pub(crate) separators: Vec<usize>,
    /// Set when the text is invalid; `words` holds what came before.
    pub(crate) error: Option<SplitError>,
}

/// Splits `s` into words, keeping each character's origin.
pub(crate) fn split(s: &Cooked, mode: Mode) -> Split {
    let text = s.as_str();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Split::default();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && SEPARATORS.contains(&chars[i].1) {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let mut word = Cooked::new();
        let mut quote: Option<char> = None;
        let mut plain = true;
        while i < chars.len() {
            let (at, c) = chars[i];
            match (quote, c) {
                (None, c) if SEPARATORS.contains(&c) => break,
                (Some(q), c) if c == q => {
                    quote = None;
                    i += 1;
                }
                (None, '"' | '\'') => {
                    quote = Some(c);
                    plain = false;
                    i += 1;
                }
                (_, '\\') => {
                    plain = false;
                    let end_of = |idx: usize| chars.get(idx).map_or(text.len(), |&(a, _)| a);
                    if mode == Mode::Value {
                        if let Some(&(a, c2)) = chars.get(i + 1) {
                            append(&mut word, s, c2, at..a + c2.len_utf8());
                        }
                        i += 2;
                        continue;
                    }
                    match unescape(&chars[i + 1..]) {
                        Some((ch, used)) => {
                            append(&mut word, s, ch, at..end_of(i + 1 + used));
                            i += 1 + used;
                        }
                        None if mode == Mode::Exec => {
                            // Kept as written: the backslash and the
                            // character after it, which stays literal.
                            append(&mut word, s, '\\', at..at + 1);
                            if let Some(&(a, c2)) = chars.get(i + 1) {
                                append(&mut word, s, c2, a..a + c2.len_utf8());
                            }
                            i += 2;
                        }
                        None => {
                            out.error = Some(SplitError::UnknownEscape);
                            return out;
                        }
                    }
                }
                (_, c) => {
                    append(&mut word, s, c, at..at + c.len_utf8());
                    i += 1;
                }
            }
        }
        if quote.is_some() && mode != Mode::Value {
            out.error = Some(SplitError::UnbalancedQuote);
            return out;
        }
        if mode == Mode::Exec && plain && word.as_str() == ";" {
            out.separators.push(out.words.len());
        }
        out.words.push(word);
    }
    out
}

/// Appends `c`, produced by the cooked bytes `range` of `src`.
fn append(word: &mut Cooked, src: &Cooked, c: char, range: std::ops::Range<usize>) {
    if let Some(loc) = src.loc_of(range) {
        word.push(c, loc.file, loc.span);
    }
}

/// Reads one C escape after a backslash (systemd's `cunescape_one`):
/// the character and how many characters it used, or `None` if invalid.
fn unescape(rest: &[(usize, char)]) -> Option<(char, usize)> {
    let &(_, c) = rest.first()?;
    let simple = match c {
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        's' => Some(' '),
        '\\' | '"' | '\'' => Some(c),
        _ => None,
    };
    if let Some(ch) = simple {
        return Some((ch, 1));
    }
    let digits = |radix: u32, n: usize, skip: usize| -> Option<u32> {
        let s: String = rest.get(skip..skip + n)?.iter().map(|&(_, c)| c).collect();
        if s.chars().all(|c| c.is_digit(radix)) {
            u32::from_str_radix(&s, radix).ok()
        } else {
            None
        }
    };
    let (code, used) = match c {
        'x' => (digits(16, 2, 1)?, 3),
        'u' => (digits(16, 4, 1)?, 5),
        'U' => (digits(16, 8, 1)?, 9),
        '0'..='7' => (digits(8, 3, 0)?, 3),
        _ => return None,
    };
    // A NUL is refused.
    if code == 0 {
        return None;
    }
    Some((char::from_u32(code)?, used))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::FileId;

    fn run(s: &str, mode: Mode) -> (Vec<String>, Option<SplitError>) {
        let c = Cooked::verbatim(FileId::TEST, s, 0..s.len());
        let out = split(&c, mode);
        (
            out.words.iter().map(|w| w.as_str().to_owned()).collect(),
            out.error,
        )
    }

    #[test]
    fn quotes_and_c_escapes() {
        let (w, e) = run(
            r#"ONE='one' "TWO='two two' too" THREE= a"b c"d"#,
            Mode::Environ,
        );
        assert_eq!(w, ["ONE=one", "TWO='two two' too", "THREE=", "ab cd"]);
        assert_eq!(e, None);
        assert_eq!(run(r"a\sb c\x41 \101", Mode::Environ).0, ["a b", "cA", "A"]);
    }

    #[test]
    fn unknown_escapes_depend_on_the_setting() {
        // Environment=: the bad word and the rest of the line are dropped.
        assert_eq!(
            run(r#"A=1 "B=x\ y" C=3"#, Mode::Environ),
            (vec!["A=1".to_owned()], Some(SplitError::UnknownEscape))
        );
        // ExecStart=: kept as written.
        assert_eq!(run(r"--x=a\ b \$y", Mode::Exec).0, [r"--x=a\ b", r"\$y"]);
        assert_eq!(
            run(r#"kubelet "--a=1"#, Mode::Exec).1,
            Some(SplitError::UnbalancedQuote)
        );
    }

    #[test]
    fn variable_values_escape_literally() {
        assert_eq!(
            run(r"a\ b 'c d x\", Mode::Value),
            (vec!["a b".to_owned(), "c d x".to_owned()], None)
        );
        assert_eq!(run(r"fooo\", Mode::Value).0, ["fooo"]);
    }

    #[test]
    fn only_bare_semicolons_separate_commands() {
        let c = Cooked::verbatim(FileId::TEST, r#"/a ; /b ";" \;"#, 0..13);
        let out = split(&c, Mode::Exec);
        assert_eq!(out.separators, [1]);
        assert_eq!(out.words.len(), 5);
    }

    #[test]
    fn spans_survive_unquoting() {
        let s = r#"X="--a=1 --b""#;
        let c = Cooked::verbatim(FileId::TEST, s, 0..s.len());
        let w = &split(&c, Mode::Environ).words[0];
        let at = w.as_str().find("--b").unwrap();
        assert_eq!(&s[w.loc_of(at..at + 3).unwrap().span], "--b");
    }
}
