//! Small helpers for building requests and reporting responses, shared by both connectors.

/// Returns the first 200 characters of a body, for error messages about non-JSON bodies.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    match trimmed.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &trimmed[..cut]),
        None => trimmed.to_owned(),
    }
}

/// Percent-encodes a value for use as one URL path segment.
pub(crate) fn path_segment(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segment_escapes_reserved() {
        assert_eq!(path_segment("a b/c?d"), "a%20b%2Fc%3Fd");
        assert_eq!(path_segment("plain-id_1.2~"), "plain-id_1.2~");
    }

    #[test]
    fn excerpt_cuts_long_bodies() {
        let body = "x".repeat(500);
        assert_eq!(excerpt(body.as_bytes()).chars().count(), 201);
        assert_eq!(excerpt(b"  <html>down</html> "), "<html>down</html>");
    }
}
