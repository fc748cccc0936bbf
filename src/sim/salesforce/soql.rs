//! A parser for the SOQL subset a sync engine uses, built with nom.
//!
//! Grammar: `SELECT field, … | COUNT() FROM object [WHERE condition]
//! [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], …] [LIMIT n] [OFFSET n]`. Conditions
//! combine comparisons with AND, OR, NOT and parentheses; like Salesforce, AND and OR cannot
//! be mixed at one level without parentheses.

use chrono::{DateTime, NaiveDate, Utc};
use nom::branch::alt;
use nom::bytes::complete::{tag, take_while1};
use nom::character::complete::{char, digit1, multispace0};
use nom::combinator::{cut, map, opt, value};
use nom::error::{Error as NomError, ErrorKind};
use nom::multi::{many0, separated_list1};
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};

use super::store::parse_datetime;

type Res<'a, T> = IResult<&'a str, T>;

/// A parsed query. Positions are byte offsets into the query text.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub selection: Selection,
    pub object: Name,
    pub filter: Option<Condition>,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// A field or object name with where it starts in the query.
#[derive(Debug, Clone, PartialEq)]
pub struct Name {
    pub text: String,
    pub position: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    Count,
    Fields(Vec<Name>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    Compare {
        field: Name,
        operator: Operator,
        value: Literal,
    },
    In {
        field: Name,
        negated: bool,
        values: Vec<Literal>,
    },
    Like {
        field: Name,
        pattern: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Boolean(bool),
    Number(f64),
    Text(String),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    pub field: Name,
    pub descending: bool,
    pub nulls_last: bool,
}

/// A syntax error at a byte offset, with the token found there.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unexpected token: {token} at byte {position}")]
pub struct SyntaxError {
    pub position: usize,
    pub token: String,
}

const RESERVED: &[&str] = &[
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "ORDER", "BY", "LIMIT", "OFFSET", "IN", "LIKE",
    "ASC", "DESC", "NULLS", "FIRST", "LAST", "NULL", "TRUE", "FALSE", "GROUP", "HAVING",
];

/// Parses a SOQL query, or reports the first token that does not fit the grammar.
pub fn parse(text: &str) -> Result<Query, SyntaxError> {
    let total = text.len();
    let position_of = |rest: &str| total - rest.len();
    match query(total)(text) {
        Ok((rest, parsed)) => {
            let (rest, _) = multispace0::<&str, NomError<&str>>(rest).unwrap_or((rest, ""));
            if rest.is_empty() {
                Ok(parsed)
            } else {
                Err(syntax_error(position_of(rest), rest))
            }
        }
        Err(nom::Err::Error(error) | nom::Err::Failure(error)) => {
            let (rest, _) =
                multispace0::<&str, NomError<&str>>(error.input).unwrap_or((error.input, ""));
            Err(syntax_error(position_of(rest), rest))
        }
        Err(nom::Err::Incomplete(_)) => Err(syntax_error(total, "")),
    }
}

fn syntax_error(position: usize, rest: &str) -> SyntaxError {
    let token = match word(rest) {
        Ok((_, found)) => found.to_string(),
        Err(_) => rest
            .chars()
            .next()
            .map_or("<EOF>".to_string(), |c| c.to_string()),
    };
    SyntaxError { position, token }
}

/// Formats a position the way Salesforce does in query errors: the offending line, a caret
/// under the column, then `ERROR at Row:r:Column:c` and the detail.
pub fn positioned_message(text: &str, position: usize, detail: &str) -> String {
    let before = &text[..position.min(text.len())];
    let row = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    let column = before[line_start..].chars().count() + 1;
    let line = text[line_start..].lines().next().unwrap_or("");
    format!(
        "\n{line}\n{}^\nERROR at Row:{row}:Column:{column}\n{detail}",
        " ".repeat(column - 1)
    )
}

fn query(total: usize) -> impl FnMut(&str) -> Res<'_, Query> {
    move |input| {
        let (input, _) = keyword("SELECT")(input)?;
        let (input, selection) = cut(selection(total)).parse(input)?;
        let (input, _) = cut(keyword("FROM")).parse(input)?;
        let (input, object) = cut(name(total)).parse(input)?;
        let (input, filter) =
            opt(preceded(keyword("WHERE"), cut(condition(total)))).parse(input)?;
        let (input, order_by) = opt(preceded(
            (keyword("ORDER"), cut(keyword("BY"))),
            cut(separated_list1(comma, order_item(total))),
        ))
        .parse(input)?;
        let (input, limit) = opt(preceded(keyword("LIMIT"), cut(integer))).parse(input)?;
        let (input, offset) = opt(preceded(keyword("OFFSET"), cut(integer))).parse(input)?;
        let parsed = Query {
            selection,
            object,
            filter,
            order_by: order_by.unwrap_or_default(),
            limit,
            offset,
        };
        Ok((input, parsed))
    }
}

fn selection(total: usize) -> impl FnMut(&str) -> Res<'_, Selection> {
    move |input| {
        let mut count = map(
            (keyword("COUNT"), token(char('(')), token(char(')'))),
            |_| Selection::Count,
        );
        if let Ok((rest, count)) = count.parse(input) {
            return Ok((rest, count));
        }
        let (input, first) = name(total)(input)?;
        let (input, rest) = many0(preceded(comma, cut(name(total)))).parse(input)?;
        let fields = std::iter::once(first).chain(rest).collect();
        Ok((input, Selection::Fields(fields)))
    }
}

fn order_item(total: usize) -> impl FnMut(&str) -> Res<'_, OrderItem> {
    move |input| {
        let (input, field) = name(total)(input)?;
        let (input, direction) = opt(alt((keyword("ASC"), keyword("DESC")))).parse(input)?;
        let descending = direction.is_some_and(|word| word.eq_ignore_ascii_case("DESC"));
        let (input, nulls) = opt(preceded(
            keyword("NULLS"),
            cut(alt((keyword("FIRST"), keyword("LAST")))),
        ))
        .parse(input)?;
        // Salesforce puts nulls first in ascending order and last in descending order.
        let nulls_last = match nulls {
            Some(word) => word.eq_ignore_ascii_case("LAST"),
            None => descending,
        };
        Ok((
            input,
            OrderItem {
                field,
                descending,
                nulls_last,
            },
        ))
    }
}

/// Parses a condition: one unary condition, or a chain joined only by AND or only by OR.
fn condition(total: usize) -> impl FnMut(&str) -> Res<'_, Condition> {
    move |input| {
        let (input, first) = unary(total)(input)?;
        let (input, ands) = many0(preceded(keyword("AND"), cut(unary(total)))).parse(input)?;
        if !ands.is_empty() {
            return Ok((
                input,
                Condition::And(std::iter::once(first).chain(ands).collect()),
            ));
        }
        let (input, ors) = many0(preceded(keyword("OR"), cut(unary(total)))).parse(input)?;
        if !ors.is_empty() {
            return Ok((
                input,
                Condition::Or(std::iter::once(first).chain(ors).collect()),
            ));
        }
        Ok((input, first))
    }
}

fn unary(total: usize) -> impl FnMut(&str) -> Res<'_, Condition> {
    move |input| {
        if let Ok((rest, _)) = keyword("NOT")(input) {
            let (rest, inner) = cut(unary(total)).parse(rest)?;
            return Ok((rest, Condition::Not(Box::new(inner))));
        }
        if let Ok((rest, _)) = token(char('(')).parse(input) {
            let (rest, inner) = cut(condition(total)).parse(rest)?;
            let (rest, _) = cut(token(char(')'))).parse(rest)?;
            return Ok((rest, inner));
        }
        comparison(total)(input)
    }
}

fn comparison(total: usize) -> impl FnMut(&str) -> Res<'_, Condition> {
    move |input| {
        let (input, field) = name(total)(input)?;
        if let Ok((rest, _)) = keyword("LIKE")(input) {
            let (rest, pattern) = cut(token(string_literal)).parse(rest)?;
            return Ok((rest, Condition::Like { field, pattern }));
        }
        let (after_not, negated) = match keyword("NOT")(input) {
            Ok((rest, _)) => (rest, true),
            Err(_) => (input, false),
        };
        if let Ok((rest, _)) = keyword("IN")(after_not) {
            let (rest, values) = cut(delimited(
                token(char('(')),
                separated_list1(comma, literal),
                token(char(')')),
            ))
            .parse(rest)?;
            return Ok((
                rest,
                Condition::In {
                    field,
                    negated,
                    values,
                },
            ));
        }
        if negated {
            return Err(nom::Err::Failure(NomError::new(after_not, ErrorKind::Tag)));
        }
        let (input, operator) = cut(token(operator)).parse(input)?;
        let (input, value) = cut(literal).parse(input)?;
        Ok((
            input,
            Condition::Compare {
                field,
                operator,
                value,
            },
        ))
    }
}

fn operator(input: &str) -> Res<'_, Operator> {
    alt((
        value(Operator::NotEqual, tag("!=")),
        value(Operator::NotEqual, tag("<>")),
        value(Operator::LessOrEqual, tag("<=")),
        value(Operator::GreaterOrEqual, tag(">=")),
        value(Operator::Equal, tag("=")),
        value(Operator::Less, tag("<")),
        value(Operator::Greater, tag(">")),
    ))
    .parse(input)
}

fn literal(input: &str) -> Res<'_, Literal> {
    let (input, _) = multispace0(input)?;
    if let Ok((rest, text)) = string_literal(input) {
        return Ok((rest, Literal::Text(text)));
    }
    let (rest, found) = take_while1(|c: char| {
        c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | ':' | '.' | '_')
    })(input)?;
    let upper = found.to_ascii_uppercase();
    let parsed = match upper.as_str() {
        "NULL" => Some(Literal::Null),
        "TRUE" => Some(Literal::Boolean(true)),
        "FALSE" => Some(Literal::Boolean(false)),
        _ if upper.contains('T') && found.as_bytes()[0].is_ascii_digit() => {
            parse_datetime(found).map(Literal::DateTime)
        }
        _ if found.len() == 10 && found.as_bytes().get(4) == Some(&b'-') => {
            NaiveDate::parse_from_str(found, "%Y-%m-%d")
                .ok()
                .map(Literal::Date)
        }
        _ => found.parse::<f64>().ok().map(Literal::Number),
    };
    match parsed {
        Some(literal) => Ok((rest, literal)),
        None => Err(nom::Err::Failure(NomError::new(input, ErrorKind::Verify))),
    }
}

/// Parses a quoted string with backslash escapes and returns it unescaped.
fn string_literal(input: &str) -> Res<'_, String> {
    let (mut rest, _) = char('\'')(input)?;
    let mut text = String::new();
    loop {
        let mut chars = rest.chars();
        match chars.next() {
            None => return Err(nom::Err::Failure(NomError::new(input, ErrorKind::Char))),
            Some('\'') => return Ok((chars.as_str(), text)),
            Some('\\') => {
                let escaped = chars
                    .next()
                    .ok_or_else(|| nom::Err::Failure(NomError::new(input, ErrorKind::Escaped)))?;
                text.push(match escaped {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    other => other,
                });
                rest = chars.as_str();
            }
            Some(other) => {
                text.push(other);
                rest = chars.as_str();
            }
        }
    }
}

fn integer(input: &str) -> Res<'_, usize> {
    let (rest, digits) = token(digit1).parse(input)?;
    match digits.parse() {
        Ok(number) => Ok((rest, number)),
        Err(_) => Err(nom::Err::Failure(NomError::new(input, ErrorKind::Digit))),
    }
}

fn word(input: &str) -> Res<'_, &str> {
    take_while1(|c: char| c.is_alphanumeric() || c == '_' || c == '.')(input)
}

/// Parses a field or object name, a word that is not a reserved keyword.
fn name(total: usize) -> impl FnMut(&str) -> Res<'_, Name> {
    move |input| {
        let (start, _) = multispace0(input)?;
        let (rest, found) = word(start)?;
        let is_reserved = RESERVED
            .iter()
            .any(|reserved| reserved.eq_ignore_ascii_case(found));
        if is_reserved || found.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(nom::Err::Error(NomError::new(start, ErrorKind::Tag)));
        }
        let position = total - start.len();
        Ok((
            rest,
            Name {
                text: found.to_string(),
                position,
            },
        ))
    }
}

fn keyword(expected: &'static str) -> impl Fn(&str) -> Res<'_, &str> {
    move |input| {
        let (start, _) = multispace0(input)?;
        let (rest, found) = word(start)?;
        if found.eq_ignore_ascii_case(expected) {
            Ok((rest, found))
        } else {
            Err(nom::Err::Error(NomError::new(start, ErrorKind::Tag)))
        }
    }
}

fn token<'a, O>(
    inner: impl Parser<&'a str, Output = O, Error = NomError<&'a str>>,
) -> impl Parser<&'a str, Output = O, Error = NomError<&'a str>> {
    preceded(multispace0, inner)
}

fn comma(input: &str) -> Res<'_, char> {
    token(char(',')).parse(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_watermark_query() {
        let parsed = parse(
            "SELECT Id, Email FROM Lead WHERE SystemModstamp > 2024-05-01T12:00:00Z \
             AND (IsConverted = false OR Email LIKE '%@x.com') ORDER BY SystemModstamp, Id LIMIT 10",
        )
        .unwrap();
        assert_eq!(parsed.object.text, "Lead");
        assert_eq!(parsed.order_by.len(), 2);
        assert_eq!(parsed.limit, Some(10));
        assert!(matches!(parsed.filter, Some(Condition::And(ref parts)) if parts.len() == 2));
    }

    #[test]
    fn reports_position_of_bad_token() {
        let error = parse("SELEKT Id FROM Lead").unwrap_err();
        assert_eq!(
            error,
            SyntaxError {
                position: 0,
                token: "SELEKT".to_string()
            }
        );
        let error = parse("SELECT Id FROM Lead WHERE").unwrap_err();
        assert_eq!(error.token, "<EOF>");
        assert_eq!(error.position, 25);
    }

    #[test]
    fn rejects_mixed_and_or() {
        let error = parse("SELECT Id FROM Lead WHERE A = 1 AND B = 2 OR C = 3").unwrap_err();
        assert_eq!(error.token, "OR");
    }
}
