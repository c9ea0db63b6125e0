//! The SCIM filter grammar (RFC 7644 §3.4.2.2) parsed into a bounded AST. Translation to SQL
//! belongs to storage; this module only decides what a filter means, and refuses anything
//! too deep or too large to run as one indexed query.
use std::fmt;

/// More than this many comparisons, or deeper nesting, is `invalidFilter` ("too complex").
pub const MAX_TERMS: usize = 24;
pub const MAX_DEPTH: usize = 6;
const MAX_LEN: usize = 4096;

#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    /// The schema URI prefix, e.g. `urn:ietf:params:scim:schemas:core:2.0:User`.
    pub uri: Option<String>,
    pub attr: String,
    pub sub_attr: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Num(serde_json::Number),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: Value,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `emails[type eq "work"]`: the inner filter applies to one element of a multi-valued
    /// attribute; its paths are relative to that element.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

/// Why a filter was refused; the message is safe to return in a SCIM `invalidFilter` error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

fn fail<T>(msg: impl Into<String>) -> Result<T, FilterError> {
    Err(FilterError(msg.into()))
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
    LBracket,
    RBracket,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Word(w) => write!(f, "`{w}`"),
            Tok::Str(_) => f.write_str("a string"),
            Tok::Open => f.write_str("`(`"),
            Tok::Close => f.write_str("`)`"),
            Tok::LBracket => f.write_str("`[`"),
            Tok::RBracket => f.write_str("`]`"),
        }
    }
}

fn tokenize(input: &str) -> Result<Vec<Tok>, FilterError> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                out.push(match c {
                    '(' => Tok::Open,
                    ')' => Tok::Close,
                    '[' => Tok::LBracket,
                    _ => Tok::RBracket,
                });
            }
            '"' => {
                // A JSON string: parse it with the JSON rules, escapes included.
                let mut raw = String::from('"');
                chars.next();
                let mut closed = false;
                while let Some(ch) = chars.next() {
                    raw.push(ch);
                    match ch {
                        '\\' => match chars.next() {
                            Some(e) => raw.push(e),
                            None => break,
                        },
                        '"' => {
                            closed = true;
                            break;
                        }
                        _ => {}
                    }
                }
                if !closed {
                    return fail("unterminated string");
                }
                let s: String = serde_json::from_str(&raw)
                    .map_err(|_| FilterError("malformed string escape".into()))?;
                out.push(Tok::Str(s));
            }
            _ => {
                let mut w = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch.is_whitespace() || matches!(ch, '(' | ')' | '[' | ']' | '"') {
                        break;
                    }
                    w.push(ch);
                    chars.next();
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Ok(out)
}

pub(crate) fn parse_path(word: &str) -> Result<AttrPath, FilterError> {
    let (uri, rest) = match word.rfind(':') {
        Some(i) => (Some(word[..i].to_owned()), &word[i + 1..]),
        None => (None, word),
    };
    let (attr, sub) = match rest.split_once('.') {
        Some((a, s)) => (a, Some(s)),
        None => (rest, None),
    };
    let name_ok = |n: &str| {
        let mut cs = n.chars();
        cs.next().is_some_and(|c| c.is_ascii_alphabetic())
            && cs.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '$')
    };
    if !name_ok(attr)
        || sub.is_some_and(|s| !name_ok(s))
        // URNs are case-insensitive (RFC 8141), as schema URIs are matched everywhere else.
        || uri
            .as_deref()
            .is_some_and(|u| !u.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")))
    {
        return fail(format!(
            "`{}` is not an attribute path",
            word.chars().take(80).collect::<String>()
        ));
    }
    Ok(AttrPath {
        uri,
        attr: attr.to_owned(),
        sub_attr: sub.map(str::to_owned),
    })
}

fn parse_op(word: &str) -> Option<CompareOp> {
    Some(match word.to_ascii_lowercase().as_str() {
        "eq" => CompareOp::Eq,
        "ne" => CompareOp::Ne,
        "co" => CompareOp::Co,
        "sw" => CompareOp::Sw,
        "ew" => CompareOp::Ew,
        "gt" => CompareOp::Gt,
        "ge" => CompareOp::Ge,
        "lt" => CompareOp::Lt,
        "le" => CompareOp::Le,
        _ => return None,
    })
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    terms: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn or_expr(&mut self, depth: usize, in_value_path: bool) -> Result<Filter, FilterError> {
        let mut left = self.and_expr(depth, in_value_path)?;
        while self.keyword("or") {
            self.pos += 1;
            let right = self.and_expr(depth, in_value_path)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self, depth: usize, in_value_path: bool) -> Result<Filter, FilterError> {
        let mut left = self.unary(depth, in_value_path)?;
        while self.keyword("and") {
            self.pos += 1;
            let right = self.unary(depth, in_value_path)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn group(&mut self, depth: usize, in_value_path: bool) -> Result<Filter, FilterError> {
        if depth >= MAX_DEPTH {
            return fail("the filter is nested too deeply");
        }
        if self.next() != Some(Tok::Open) {
            return fail("expected `(`");
        }
        let inner = self.or_expr(depth + 1, in_value_path)?;
        if self.next() != Some(Tok::Close) {
            return fail("expected `)`");
        }
        Ok(inner)
    }

    fn unary(&mut self, depth: usize, in_value_path: bool) -> Result<Filter, FilterError> {
        if self.keyword("not") {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.group(depth, in_value_path)?)));
        }
        if self.peek() == Some(&Tok::Open) {
            return self.group(depth, in_value_path);
        }
        self.attr_expr(depth, in_value_path)
    }

    fn attr_expr(&mut self, depth: usize, in_value_path: bool) -> Result<Filter, FilterError> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return fail(format!("the filter has more than {MAX_TERMS} comparisons"));
        }
        let path = match self.next() {
            Some(Tok::Word(w)) => parse_path(&w)?,
            Some(other) => return fail(format!("expected an attribute, found {other}")),
            None => return fail("expected an attribute, found the end"),
        };
        if self.peek() == Some(&Tok::LBracket) {
            if in_value_path {
                return fail("value filters cannot be nested");
            }
            if depth >= MAX_DEPTH {
                return fail("the filter is nested too deeply");
            }
            self.pos += 1;
            let mut inner = self.or_expr(depth + 1, true)?;
            if self.next() != Some(Tok::RBracket) {
                return fail("expected `]`");
            }
            // Entra ID: `emails[type eq "work"].value eq "x"`, outside RFC 7644's grammar,
            // means a work email whose value is "x".
            if let Some(Tok::Word(w)) = self.peek()
                && let Some(sub) = w.strip_prefix('.')
            {
                let sub = parse_path(sub)?;
                if sub.uri.is_some() || sub.sub_attr.is_some() {
                    return fail("expected a sub-attribute after `].`");
                }
                self.pos += 1;
                self.terms += 1;
                if self.terms > MAX_TERMS {
                    return fail(format!("the filter has more than {MAX_TERMS} comparisons"));
                }
                let tail = self.attr_tail(sub)?;
                inner = Filter::And(Box::new(inner), Box::new(tail));
            }
            return Ok(Filter::ValuePath {
                path,
                filter: Box::new(inner),
            });
        }
        self.attr_tail(path)
    }

    /// The operator and value after an attribute path.
    fn attr_tail(&mut self, path: AttrPath) -> Result<Filter, FilterError> {
        let op_word = match self.next() {
            Some(Tok::Word(w)) => w,
            Some(other) => return fail(format!("expected an operator, found {other}")),
            None => return fail("expected an operator, found the end"),
        };
        if op_word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = parse_op(&op_word).ok_or_else(|| {
            FilterError(format!(
                "`{}` is not an operator",
                op_word.chars().take(20).collect::<String>()
            ))
        })?;
        let value = match self.next() {
            Some(Tok::Str(s)) => Value::Str(s),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") => Value::Bool(true),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("false") => Value::Bool(false),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("null") => Value::Null,
            Some(Tok::Word(w)) => match serde_json::from_str::<serde_json::Number>(&w) {
                Ok(n) => Value::Num(n),
                Err(_) => {
                    return fail(format!(
                        "`{}` is not a value (quote strings)",
                        w.chars().take(40).collect::<String>()
                    ));
                }
            },
            Some(other) => return fail(format!("expected a value, found {other}")),
            None => return fail("expected a value, found the end"),
        };
        Ok(Filter::Compare { path, op, value })
    }
}

pub fn parse(input: &str) -> Result<Filter, FilterError> {
    if input.len() > MAX_LEN {
        return fail(format!("the filter is longer than {MAX_LEN} characters"));
    }
    let toks = tokenize(input)?;
    if toks.is_empty() {
        return fail("the filter is empty");
    }
    let mut p = Parser {
        toks,
        pos: 0,
        terms: 0,
    };
    let f = p.or_expr(0, false)?;
    if let Some(extra) = p.peek() {
        return fail(format!("unexpected {extra} after the filter"));
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(attr: &str, sub: Option<&str>) -> AttrPath {
        AttrPath {
            uri: None,
            attr: attr.into(),
            sub_attr: sub.map(Into::into),
        }
    }

    fn eq(attr: &str, v: &str) -> Filter {
        Filter::Compare {
            path: path(attr, None),
            op: CompareOp::Eq,
            value: Value::Str(v.into()),
        }
    }

    #[test]
    fn rfc7644_examples_parse() {
        for f in [
            r#"userName Eq "john""#,
            r#"name.familyName co "O'Malley""#,
            r#"userName sw "J""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            "title pr",
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            r#"title pr and userType eq "Employee""#,
            r#"title pr or userType eq "Intern""#,
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType eq "Employee" and (emails.type eq "work")"#,
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
            r#"emails[type eq "work"].value eq "a@b.c""#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
            "active eq true",
            "meta.version eq null",
            "x.y gt 10.5",
        ] {
            assert!(parse(f).is_ok(), "{f}: {:?}", parse(f));
        }
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let f = parse(r#"a eq "1" or b eq "2" and c eq "3""#).unwrap();
        assert_eq!(
            f,
            Filter::Or(
                Box::new(eq("a", "1")),
                Box::new(Filter::And(Box::new(eq("b", "2")), Box::new(eq("c", "3"))))
            )
        );
    }

    #[test]
    fn uris_sub_attributes_and_escapes() {
        let f = parse(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "a\"b\u00e9""#).unwrap();
        let Filter::Compare { path, value, .. } = f else {
            panic!()
        };
        assert_eq!(
            path.uri.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(
            (path.attr.as_str(), path.sub_attr.as_deref()),
            ("manager", Some("value"))
        );
        assert_eq!(value, Value::Str("a\"bé".into()));
        let upper = parse(r#"URN:ietf:params:scim:schemas:core:2.0:User:userName eq "x""#);
        assert!(upper.is_ok(), "{upper:?}");
    }

    #[test]
    fn value_paths_are_relative_and_not_nested() {
        let f = parse(r#"emails[type eq "work"]"#).unwrap();
        assert_eq!(
            f,
            Filter::ValuePath {
                path: path("emails", None),
                filter: Box::new(eq("type", "work"))
            }
        );
        assert!(parse(r#"emails[type eq "work" and x[y eq "1"]]"#).is_err());
    }

    #[test]
    fn malformed_filters_are_refused_with_a_reason() {
        for bad in [
            "",
            "userName eq",
            r#"userName zz "x""#,
            r#"(userName eq "x""#,
            r#"userName eq "x"#,
            r#"userName eq x"#,
            r#"userName eq "x" extra"#,
            r#"1abc eq "x""#,
            r#"http://evil:attr eq "x""#,
            r#"emails[type eq "work""#,
            r#"not userName eq "x""#,
        ] {
            assert!(parse(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn complexity_is_bounded() {
        let many = (0..=MAX_TERMS)
            .map(|i| format!(r#"a{i} eq "x""#))
            .collect::<Vec<_>>()
            .join(" or ");
        assert!(parse(&many).unwrap_err().0.contains("more than"));
        let deep = format!(
            "{}a eq \"x\"{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        assert!(parse(&deep).unwrap_err().0.contains("nested"));
        assert!(parse(&"a".repeat(MAX_LEN + 1)).is_err());
    }
}
