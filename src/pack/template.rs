//! Prompt templates: `{column}` placeholders filled from a row, `{{` and `}}` literal braces.

use crate::error::Error;

#[derive(Clone, Debug, PartialEq)]
enum Segment {
    Literal(String),
    Field(String),
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    segments: Vec<Segment>,
}

impl Template {
    /// Parses `{name}` placeholders; `{{`/`}}` are literal braces. A lone brace is an error that
    /// says where it is.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut segments = Vec::new();
        let mut lit = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|p| p.1) == Some('{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek().map(|p| p.1) == Some('}') => {
                    chars.next();
                    lit.push('}');
                }
                '{' => {
                    let rest = &text[i + 1..];
                    let Some(end) = rest.find('}') else {
                        return Err(Error::InvalidArgument(format!(
                            "template: '{{' at character {} is never closed (write '{{{{' for a literal brace)",
                            text[..i].chars().count()
                        )));
                    };
                    let name = rest[..end].trim();
                    if name.is_empty() || name.contains('{') {
                        return Err(Error::InvalidArgument(format!(
                            "template: empty or malformed placeholder at character {} (write '{{{{' for a literal brace)",
                            text[..i].chars().count()
                        )));
                    }
                    if !lit.is_empty() {
                        segments.push(Segment::Literal(std::mem::take(&mut lit)));
                    }
                    segments.push(Segment::Field(name.to_string()));
                    for _ in 0..rest[..=end].chars().count() {
                        chars.next();
                    }
                }
                '}' => {
                    return Err(Error::InvalidArgument(format!(
                        "template: '}}' at character {} has no opening brace (write '}}}}' for a literal brace)",
                        text[..i].chars().count()
                    )))
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            segments.push(Segment::Literal(lit));
        }
        Ok(Template { segments })
    }

    /// The column names the template reads, in order of first use.
    pub fn fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for s in &self.segments {
            if let Segment::Field(f) = s {
                if !out.contains(&f.as_str()) {
                    out.push(f);
                }
            }
        }
        out
    }

    /// Renders with `value(name)` giving each placeholder's text.
    pub fn render<'a>(&'a self, mut value: impl FnMut(&'a str) -> &'a str) -> String {
        let mut out = String::new();
        for s in &self.segments {
            match s {
                Segment::Literal(l) => out.push_str(l),
                Segment::Field(f) => out.push_str(value(f)),
            }
        }
        out
    }

    /// Appends the rendered text to `out`, with `value(name, out)` appending each placeholder's.
    pub fn render_into(&self, out: &mut String, mut value: impl FnMut(&str, &mut String)) {
        for s in &self.segments {
            match s {
                Segment::Literal(l) => out.push_str(l),
                Segment::Field(f) => value(f, out),
            }
        }
    }

    /// The template's pieces in order: `Ok(literal text)` or `Err(column name)`.
    pub fn pieces(&self) -> impl Iterator<Item = Result<&str, &str>> {
        self.segments.iter().map(|s| match s {
            Segment::Literal(l) => Ok(l.as_str()),
            Segment::Field(f) => Err(f.as_str()),
        })
    }

    /// True when the template has no placeholder (e.g. a fixed system prompt).
    pub fn is_static(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Literal(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_braces() {
        let t = Template::parse("タイトル: {title}\n\n{{json}} {content} {title}").unwrap();
        assert_eq!(t.fields(), ["title", "content"]);
        let out = t.render(|f| if f == "title" { "T" } else { "本文" });
        assert_eq!(out, "タイトル: T\n\n{json} 本文 T");
    }

    #[test]
    fn lone_braces_are_errors() {
        assert!(Template::parse("a {b")
            .unwrap_err()
            .to_string()
            .contains("never closed"));
        assert!(Template::parse("a } b")
            .unwrap_err()
            .to_string()
            .contains("no opening brace"));
        assert!(Template::parse("{}").is_err());
        assert!(Template::parse("{{}}").unwrap().is_static());
    }
}
